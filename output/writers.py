"""Catalog writers: the bytes of ``catalog.json`` (:func:`dumps_catalog`) and the text of
each CSV table (:func:`csv_text`, :func:`write_csv`); the edge (:func:`write_catalog_dir`)
picks the paths and writes each file atomically."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from output.gc_pause import cyclic_gc_paused
from parsers.model import Catalog, catalog_to_dict

# Lists inside a CSV cell are joined with this.
LIST_SEP = ";"

CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "services.csv": (
        "prefix",
        "name",
        "pages",
        "actions",
        "resource_types",
        "condition_keys",
    ),
    "actions.csv": (
        "service",
        "action",
        "description",
        "access_level",
        "access_levels",
        "permission_only",
        "api_reference",
        "resource_types",
        "condition_keys",
        "dependent_actions",
        "operations",
    ),
    "action_resource_types.csv": (
        "service",
        "action",
        "resource_type",
        "required",
        "condition_keys",
        "dependent_actions",
    ),
    "resource_types.csv": ("service", "resource_type", "arn_formats", "condition_keys"),
    "condition_keys.csv": ("service", "condition_key", "description", "types"),
}


def dumps_catalog(catalog: Catalog) -> bytes:
    """The canonical bytes of ``catalog.json``: sorted keys, 2-space indent, final newline."""
    return _json_body(catalog) + b"\n"


def _json_body(catalog: Catalog) -> bytes:
    """``catalog.json`` without its final newline."""
    return orjson.dumps(catalog_to_dict(catalog), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def _services(catalog: Catalog) -> Iterator[tuple[str, ...]]:
    for s in catalog.services:
        yield (
            s.prefix,
            s.name,
            LIST_SEP.join(p.page for p in s.pages),
            str(len(s.actions)),
            str(len(s.resource_types)),
            str(len(s.condition_keys)),
        )


def _actions(catalog: Catalog) -> Iterator[tuple[str, ...]]:
    join = LIST_SEP.join
    for s in catalog.services:
        prefix = s.prefix
        for a in s.actions:
            # Access levels are StrEnum members: each is its value string.
            yield (
                prefix,
                a.name,
                a.description,
                a.access_level or "",
                join(a.access_levels),
                "true" if a.permission_only else "false",
                a.api_reference or "",
                join([r.name + "*" if r.required else r.name for r in a.resource_types])
                if a.resource_types
                else "",
                join(a.condition_keys),
                join(a.dependent_actions),
                join(a.operations),
            )


def _action_resource_types(catalog: Catalog) -> Iterator[tuple[str, ...]]:
    join = LIST_SEP.join
    for s in catalog.services:
        prefix = s.prefix
        for a in s.actions:
            name = a.name
            for r in a.resource_types:
                yield (
                    prefix,
                    name,
                    r.name,
                    "true" if r.required else "false",
                    join(r.condition_keys),
                    join(r.dependent_actions),
                )


def _resource_types(catalog: Catalog) -> Iterator[tuple[str, ...]]:
    join = LIST_SEP.join
    for s in catalog.services:
        for rt in s.resource_types:
            yield (s.prefix, rt.name, join(rt.arn_formats), join(rt.condition_keys))


def _condition_keys(catalog: Catalog) -> Iterator[tuple[str, ...]]:
    for s in catalog.services:
        for k in s.condition_keys:
            yield (s.prefix, k.name, k.description, LIST_SEP.join(k.types))


# The rows of each CSV table, in the column order of CSV_COLUMNS.
_ROWS: dict[str, Callable[[Catalog], Iterator[tuple[str, ...]]]] = {
    "services.csv": _services,
    "actions.csv": _actions,
    "action_resource_types.csv": _action_resource_types,
    "resource_types.csv": _resource_types,
    "condition_keys.csv": _condition_keys,
}


def write_csv(catalog: Catalog, name: str, out: IO[str]) -> None:
    """Write one of the CSV tables (a key of :data:`CSV_COLUMNS`) to an open text file
    (opened with ``newline=""``)."""
    out.write(csv_text(catalog, name))


def csv_text(catalog: Catalog, name: str) -> str:
    """One of the CSV tables (a key of :data:`CSV_COLUMNS`): the text
    ``csv.writer(out, lineterminator="\\n")`` writes for its header and rows.

    A row none of whose fields holds a comma, a quote or a line break is written as its
    fields joined by commas, which is what ``csv`` writes for it; ``csv`` formats the rest
    (some 4% of the actions, none of the other tables' rows), at half the cost."""
    columns = CSV_COLUMNS[name]
    commas = len(columns) - 1
    lines = _Lines([",".join(columns)])
    formatted = csv.writer(lines, lineterminator="\n")
    for row in _ROWS[name](catalog):
        line = ",".join(row)
        if line.count(",") == commas and '"' not in line and "\n" not in line and "\r" not in line:
            lines.append(line)
        else:
            formatted.writerow(row)
    lines.append("")  # the final line break
    return "\n".join(lines)


class _Lines(list[str]):
    """Lines of text; as the file of a ``csv.writer`` (lineterminator ``"\\n"``), each
    row it writes becomes one line, without the line break."""

    def write(self, text: str) -> None:
        self.append(text[:-1])


@contextmanager
def atomic_open(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it over ``path`` only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            os.replace(tmp, path)
        except OSError as e:  # name the file being written, not the temporary one
            raise type(e)(e.errno, e.strerror, str(path)) from e
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_catalog_dir(catalog: Catalog, out_dir: Path) -> list[Path]:
    """Write ``catalog.json`` and ``csv/*.csv`` under ``out_dir``, each file atomically
    (a failure leaves the previous version of that file in place, never half a file).

    This thread makes each file's bytes; one helper thread writes them to disk, which
    needs no GIL, while this thread makes the next file's (the first error is raised)."""
    json_path = out_dir / "catalog.json"
    csv_paths = [out_dir / "csv" / name for name in CSV_COLUMNS]
    with (
        cyclic_gc_paused(),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="iam-catalog-write") as disk,
    ):
        # The JSON and its final newline are written apart: no 18 MB copy to join them.
        writes = [disk.submit(_write_file, json_path, _json_body(catalog), b"\n")]
        for path in csv_paths:
            text = csv_text(catalog, path.name).encode("utf-8")
            writes.append(disk.submit(_write_file, path, text))
        for write in writes:
            write.result()
    return [json_path, *csv_paths]


def _write_file(path: Path, *chunks: bytes) -> None:
    with atomic_open(path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
