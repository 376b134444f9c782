"""Catalog writers: the bytes of ``catalog.json`` (:func:`dumps_catalog`) and the text of
each CSV table (:func:`csv_text`, :func:`write_csv`); the edge (:func:`write_catalog_dir`)
picks the paths and writes each file atomically, from each service's share of every file
(:func:`render_service`, which a build may make ahead, see ``output.build``)."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from iam_catalog.output.gc_pause import cyclic_gc_paused
from iam_catalog.parsers.model import Catalog, Service, catalog_to_dict, service_to_dict

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


_JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def dumps_catalog(catalog: Catalog) -> bytes:
    """The canonical bytes of ``catalog.json``: sorted keys, 2-space indent, final newline."""
    return orjson.dumps(catalog_to_dict(catalog), option=_JSON_OPTIONS) + b"\n"


def _services(services: Iterable[Service]) -> Iterator[tuple[str, ...]]:
    for s in services:
        yield (
            s.prefix,
            s.name,
            LIST_SEP.join(p.page for p in s.pages),
            str(len(s.actions)),
            str(len(s.resource_types)),
            str(len(s.condition_keys)),
        )


def _actions(services: Iterable[Service]) -> Iterator[tuple[str, ...]]:
    join = LIST_SEP.join
    for s in services:
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


def _action_resource_types(services: Iterable[Service]) -> Iterator[tuple[str, ...]]:
    join = LIST_SEP.join
    for s in services:
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


def _resource_types(services: Iterable[Service]) -> Iterator[tuple[str, ...]]:
    join = LIST_SEP.join
    for s in services:
        for rt in s.resource_types:
            yield (s.prefix, rt.name, join(rt.arn_formats), join(rt.condition_keys))


def _condition_keys(services: Iterable[Service]) -> Iterator[tuple[str, ...]]:
    for s in services:
        for k in s.condition_keys:
            yield (s.prefix, k.name, k.description, LIST_SEP.join(k.types))


# The rows of each CSV table, in the column order of CSV_COLUMNS.
_ROWS: dict[str, Callable[[Iterable[Service]], Iterator[tuple[str, ...]]]] = {
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
    return _csv_header(name) + _csv_rows(catalog.services, name)


def _csv_header(name: str) -> str:
    return ",".join(CSV_COLUMNS[name]) + "\n"


def _csv_rows(services: Iterable[Service], name: str) -> str:
    """The lines of the services' rows of one CSV table, each with its line break."""
    commas = len(CSV_COLUMNS[name]) - 1
    lines = _Lines()
    formatted = csv.writer(lines, lineterminator="\n")
    for row in _ROWS[name](services):
        line = ",".join(row)
        if line.count(",") == commas and '"' not in line and "\n" not in line and "\r" not in line:
            lines.append(line)
        else:
            formatted.writerow(row)
    if not lines:
        return ""
    lines.append("")  # the last line's break
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


class ServiceOutput(NamedTuple):
    """One service's share of every output file, as written there."""

    json: bytes
    """Its value in ``catalog.json``'s ``services`` object, indented for that depth."""
    csv: tuple[bytes, ...]
    """Its rows of each CSV table, in the order of :data:`CSV_COLUMNS` (UTF-8)."""


# catalog.json holds each service two levels down (top object -> "services" -> prefix).
_SERVICE_INDENT = b"\n    "


def render_service(service: Service) -> ServiceOutput:
    """A service's share of every output file. Made for one service at a time, ahead of
    writing when a build has the time to spare (see ``build(render=True)``)."""
    # orjson indents from depth 0; a JSON text holds line breaks only between its tokens
    # (never inside a string), so indenting every line puts it at its depth.
    body = orjson.dumps(service_to_dict(service), option=_JSON_OPTIONS)
    one = (service,)
    return ServiceOutput(
        body.replace(b"\n", _SERVICE_INDENT),
        tuple(_csv_rows(one, name).encode("utf-8") for name in CSV_COLUMNS),
    )


# Where the services go in catalog.json with none: the top object's keys are sorted, and
# "services" is neither its first nor its last key.
_NO_SERVICES = b'\n  "services": {},\n'


def _json_chunks(catalog: Catalog, outputs: list[ServiceOutput]) -> list[bytes]:
    """The bytes of ``catalog.json`` (without its final newline), in chunks: the top
    object with its services' shares spliced in."""
    top = orjson.dumps(catalog_to_dict(replace(catalog, services=())), option=_JSON_OPTIONS)
    head, found, tail = top.partition(_NO_SERVICES)
    assert found, "catalog.json has no empty services object to fill"
    if not outputs:
        return [top]
    chunks = [head, b'\n  "services": {']
    for service, output in zip(catalog.services, outputs, strict=True):
        chunks += (_SERVICE_INDENT, orjson.dumps(service.prefix), b": ", output.json, b",")
    chunks[-1] = b"\n  },\n"
    chunks.append(tail)
    return chunks


# A service and its share of every output file, rendered ahead (``BuildResult.rendered``).
Rendered = Mapping[str, tuple[Service, ServiceOutput]]


def write_catalog_dir(
    catalog: Catalog, out_dir: Path, rendered: Rendered | None = None
) -> list[Path]:
    """Write ``catalog.json`` and ``csv/*.csv`` under ``out_dir``, each file atomically
    (a failure leaves the previous version of that file in place, never half a file).

    ``rendered`` gives services' shares made ahead, by prefix; one is used only for the
    very service object it was made from, and every other service is rendered here.
    Helper threads, one per file, write the files to disk (which needs no GIL) while this
    thread makes the next one's bytes; their fsyncs overlap (the first error is raised)."""
    json_path = out_dir / "catalog.json"
    csv_paths = [out_dir / "csv" / name for name in CSV_COLUMNS]
    ahead = rendered or {}
    with (
        cyclic_gc_paused(),
        ThreadPoolExecutor(
            max_workers=1 + len(csv_paths), thread_name_prefix="iam-catalog-write"
        ) as disk,
    ):
        outputs = []
        for service in catalog.services:
            made = ahead.get(service.prefix)
            outputs.append(made[1] if made and made[0] is service else render_service(service))
        # Written in chunks: no 18 MB copy to join them.
        writes = [disk.submit(_write_file, json_path, *_json_chunks(catalog, outputs), b"\n")]
        for i, path in enumerate(csv_paths):
            header = _csv_header(path.name).encode("utf-8")
            writes.append(disk.submit(_write_file, path, header, *(o.csv[i] for o in outputs)))
        for write in writes:
            write.result()
    return [json_path, *csv_paths]


def _write_file(path: Path, *chunks: bytes) -> None:
    with atomic_open(path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
