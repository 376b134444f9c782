"""Catalog writers: the bytes of ``catalog.json`` (:func:`dumps_catalog`) and the text of
each CSV table (:func:`csv_text`, :func:`write_csv`); the edge (:func:`write_catalog_dir`)
picks the paths and writes each file atomically, from each service's share of every file
(:func:`render_service`, which a build may make ahead, see ``output.build``)."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple

import orjson

from iam_catalog.atomic import FOLDER_MODE, atomic_folder
from iam_catalog.atomic import atomic_open as atomic_open  # where the diff report is written
from iam_catalog.output.gc_pause import cyclic_gc_paused
from iam_catalog.parsers.errors import OutputError
from iam_catalog.parsers.model import (
    Catalog,
    Diagnostic,
    Service,
    Severity,
    catalog_to_dict,
    service_to_dict,
)

if TYPE_CHECKING:
    from iam_catalog.combine import CrossCheck

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
        "not_carried",
        "field_sources",
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
        "supported_by",
        "not_carried",
        "sources",
    ),
    "action_resource_types.csv": (
        "service",
        "action",
        "resource_type",
        "required",
        "condition_keys",
        "dependent_actions",
        "not_carried",
    ),
    "resource_types.csv": (
        "service",
        "resource_type",
        "arn_formats",
        "condition_keys",
        "not_carried",
        "sources",
    ),
    "condition_keys.csv": (
        "service",
        "condition_key",
        "description",
        "types",
        "not_carried",
        "sources",
    ),
    "operations.csv": (
        "service",
        "operation",
        "authorized_actions",
        "context",
        "sdk",
        "not_carried",
    ),
}
"""Columns of each CSV table. A field its source does not carry is an empty cell, and the
row's ``not_carried`` cell names those fields (``;``-joined, sorted): an empty list and a
list not carried are both empty cells otherwise. In a build from several sources, an item's
``sources`` cell names those that hold it (``html;json``) and a service's
``field_sources`` the order each field is taken in (``action.access_levels=json>html;...``);
both are empty in a build from one source."""


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
            str(len(s.actions)) if s.carries("actions") else "",
            str(len(s.resource_types)),
            str(len(s.condition_keys)),
            _not_carried(s.not_carried),
            LIST_SEP.join(f"{f}={'>'.join(order)}" for f, order in s.field_sources),
        )


def _not_carried(names: frozenset[str]) -> str:
    return LIST_SEP.join(sorted(names)) if names else ""


def _flag(value: bool, carried: bool = True) -> str:
    return ("true" if value else "false") if carried else ""


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
                _flag(a.permission_only, a.carries("permission_only")),
                a.api_reference or "",
                join([r.name + "*" if r.required else r.name for r in a.resource_types])
                if a.resource_types
                else "",
                join(a.condition_keys),
                join(a.dependent_actions),
                join(a.operations),
                join([f"{k}={'true' if v else 'false'}" for k, v in a.supported_by]),
                _not_carried(a.not_carried),
                join(a.sources),
            )


def _action_resource_types(services: Iterable[Service]) -> Iterator[tuple[str, ...]]:
    join = LIST_SEP.join
    for s in services:
        prefix = s.prefix
        for a in s.actions:
            name = a.name
            required = a.carries("resource_types.required")
            not_carried = _not_carried(_row_fields(a.not_carried)) if a.not_carried else ""
            for r in a.resource_types:
                yield (
                    prefix,
                    name,
                    r.name,
                    _flag(r.required, required),
                    join(r.condition_keys),
                    join(r.dependent_actions),
                    not_carried,
                )


def _row_fields(names: frozenset[str]) -> frozenset[str]:
    """The row fields among an action's fields not carried, by their row names."""
    return frozenset(f.partition(".")[2] for f in names if f.startswith("resource_types."))


def _resource_types(services: Iterable[Service]) -> Iterator[tuple[str, ...]]:
    join = LIST_SEP.join
    for s in services:
        for rt in s.resource_types:
            yield (
                s.prefix,
                rt.name,
                join(rt.arn_formats),
                join(rt.condition_keys),
                _not_carried(rt.not_carried),
                join(rt.sources),
            )


def _condition_keys(services: Iterable[Service]) -> Iterator[tuple[str, ...]]:
    for s in services:
        for k in s.condition_keys:
            yield (
                s.prefix,
                k.name,
                k.description,
                LIST_SEP.join(k.types),
                _not_carried(k.not_carried),
                LIST_SEP.join(k.sources),
            )


def _operations(services: Iterable[Service]) -> Iterator[tuple[str, ...]]:
    join = LIST_SEP.join
    for s in services:
        for o in s.operations:
            yield (
                s.prefix,
                o.name,
                join([a.qualified for a in o.authorized_actions]),
                # iam:PassRole[iam:PassedToService=a.amazonaws.com|b.amazonaws.com]
                join(
                    [
                        f"{a.qualified}[{k}={'|'.join(values)}]"
                        for a in o.authorized_actions
                        for k, values in a.context
                    ]
                ),
                join([str(m) for m in o.sdk]),
                _not_carried(o.not_carried),
            )


# The rows of each CSV table, in the column order of CSV_COLUMNS.
_ROWS: dict[str, Callable[[Iterable[Service]], Iterator[tuple[str, ...]]]] = {
    "services.csv": _services,
    "actions.csv": _actions,
    "action_resource_types.csv": _action_resource_types,
    "resource_types.csv": _resource_types,
    "condition_keys.csv": _condition_keys,
    "operations.csv": _operations,
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


# CSV injection (OWASP): a spreadsheet runs a cell that starts with one of these as a
# formula (`=HYPERLINK(...)` in a description). Such a cell is written with a `'` in
# front, which spreadsheets show as text; so is a cell that starts with `'` itself, so
# that a reader gets every value back exactly by dropping the first character of each
# cell that starts with `'` (see the README).
_FORMULA_START = frozenset("=+-@\t\r'")


def defuse(field: str) -> str:
    """``field`` as written in a CSV cell: with a `'` in front when it starts with a
    character that makes a spreadsheet read a formula (or with `'`)."""
    return f"'{field}" if field[:1] in _FORMULA_START and field else field


def _defused(row: tuple[str, ...]) -> tuple[str, ...]:
    for field in row:
        if field[:1] in _FORMULA_START and field:
            return tuple(map(defuse, row))
    return row


def _csv_rows(services: Iterable[Service], name: str) -> str:
    """The lines of the services' rows of one CSV table, each with its line break."""
    commas = len(CSV_COLUMNS[name]) - 1
    lines = _Lines()
    formatted = csv.writer(lines, lineterminator="\n")
    for row in map(_defused, _ROWS[name](services)):
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
    catalog: Catalog,
    out_dir: Path,
    rendered: Rendered | None = None,
    files: Mapping[Diagnostic | str, str] | None = None,
    crosscheck: CrossCheck | None = None,
) -> list[Path]:
    """Write ``catalog.json``, ``csv/*.csv`` and ``csv/diagnostics.csv`` (and with
    ``crosscheck``, a build's from several sources, ``crosscheck.json`` and
    ``crosscheck.md``) as one folder,
    ``out_dir``, swapped in whole (:func:`atomic_folder`): a failure, or a kill, leaves the
    previous set in place, never a mix. ``out_dir`` must be new, empty or hold only what a
    build writes (:func:`check_output_folder`).

    ``rendered`` gives services' shares made ahead, by prefix; one is used only for the
    very service object it was made from, and every other service is rendered here.
    ``files`` names the file of each diagnostic (by the diagnostic, or by its page id) for
    ``diagnostics.csv``; a diagnostic it does not know is named by its page.
    Helper threads, one per file, write the files to disk (which needs no GIL) while this
    thread makes the next one's bytes; their fsyncs overlap (the first error is raised)."""
    check_output_folder(out_dir)
    names = [CATALOG_JSON, *(f"{CSV_FOLDER}/{name}" for name in CSV_COLUMNS), DIAGNOSTICS_CSV]
    if crosscheck is not None:
        names += [CROSSCHECK_JSON, CROSSCHECK_MD]
    ahead = rendered or {}
    with atomic_folder(out_dir) as staging:
        (staging / CSV_FOLDER).mkdir(FOLDER_MODE)
        csv_paths = [staging / CSV_FOLDER / name for name in CSV_COLUMNS]
        with (
            cyclic_gc_paused(),
            ThreadPoolExecutor(
                max_workers=2 + len(csv_paths), thread_name_prefix="iam-catalog-write"
            ) as disk,
        ):
            outputs = []
            for service in catalog.services:
                made = ahead.get(service.prefix)
                outputs.append(made[1] if made and made[0] is service else render_service(service))
            # Written in chunks: no 18 MB copy to join them.
            json_chunks = _json_chunks(catalog, outputs)
            writes = [disk.submit(_write_file, staging / CATALOG_JSON, *json_chunks, b"\n")]
            for i, path in enumerate(csv_paths):
                header = _csv_header(path.name).encode("utf-8")
                writes.append(disk.submit(_write_file, path, header, *(o.csv[i] for o in outputs)))
            diagnostics = diagnostics_csv_text(catalog.diagnostics, files or {}).encode("utf-8")
            writes.append(disk.submit(_write_file, staging / DIAGNOSTICS_CSV, diagnostics))
            if crosscheck is not None:
                from iam_catalog.combine import render_markdown

                report = orjson.dumps(crosscheck.to_dict(), option=_JSON_OPTIONS) + b"\n"
                text = render_markdown(crosscheck).encode("utf-8")
                writes.append(disk.submit(_write_file, staging / CROSSCHECK_JSON, report))
                writes.append(disk.submit(_write_file, staging / CROSSCHECK_MD, text))
            for write in writes:
                write.result()
    return [out_dir / name for name in names]


def _write_file(path: Path, *chunks: bytes) -> None:
    """A new file in the folder being written (``x``: never over another one)."""
    with path.open("xb") as f:
        for chunk in chunks:
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())


# What a build writes in its output folder (besides the hidden folders of atomic_folder).
CATALOG_JSON = "catalog.json"
CSV_FOLDER = "csv"
DIAGNOSTICS_CSV = f"{CSV_FOLDER}/diagnostics.csv"
CROSSCHECK_JSON = "crosscheck.json"
CROSSCHECK_MD = "crosscheck.md"


def check_output_folder(out_dir: Path) -> None:
    """Refuse an output folder that holds anything a build does not write there (a build
    replaces the folder whole: ``--out .`` or ``--out ~`` would take everything with it)."""
    if not out_dir.is_dir() or out_dir.is_symlink():
        if os.path.lexists(out_dir) and not out_dir.is_dir():
            raise OutputError(f"{out_dir}: not a folder")
        if out_dir.is_symlink():
            raise OutputError(f"{out_dir}: a symbolic link; give the folder it points to")
        return
    foreign = []
    for entry in sorted(out_dir.iterdir()):
        if (entry.name in _TOP_FILES and entry.is_file()) or _old_temp_file(entry):
            continue
        if entry.name == CSV_FOLDER and entry.is_dir():
            foreign += [
                f
                for f in sorted(entry.iterdir())
                if not ((f.suffix == ".csv" and f.is_file()) or _old_temp_file(f))
            ]
            continue
        foreign.append(entry)
    if foreign:
        shown = ", ".join(str(f.relative_to(out_dir)) for f in foreign[:_FOREIGN_SHOWN])
        more = f" and {len(foreign) - _FOREIGN_SHOWN} more" if len(foreign) > _FOREIGN_SHOWN else ""
        raise OutputError(
            f"{out_dir}: holds files a build does not write ({shown}{more}); the build "
            "replaces the folder whole: give --out a new or empty folder, or one a build wrote"
        )


_FOREIGN_SHOWN = 3
# The files a build writes at the top of its folder.
_TOP_FILES = frozenset({CATALOG_JSON, CROSSCHECK_JSON, CROSSCHECK_MD})


def _old_temp_file(path: Path) -> bool:
    """A temp file of a killed build that wrote each file atomically in place
    (``.catalog.json.XXXX.tmp``): the swap leaves it behind with the rest."""
    return path.name.startswith(".") and path.name.endswith(".tmp") and path.is_file()


DIAGNOSTICS_COLUMNS = ("file", "line", "severity", "code", "message")
"""Columns of ``diagnostics.csv``: one row per diagnostic of ``catalog.json``, in its order,
with the file it names (``file``) instead of the page id where the build knew it."""


def diagnostic_file(d: Diagnostic, files: Mapping[Diagnostic | str, str]) -> str:
    """The file a diagnostic is about: known by the diagnostic itself, or by its page id,
    else its page (the file path already, for a file that could not be read)."""
    return files.get(d) or files.get(d.page) or d.page


def diagnostic_where(d: Diagnostic, files: Mapping[Diagnostic | str, str]) -> tuple[str, str]:
    """``file:line`` (``file`` without a line) and the message without the file name a
    message about a whole file starts with."""
    file = diagnostic_file(d, files)
    where = file if d.line is None else f"{file}:{d.line}"
    return where, d.message.removeprefix(f"{file}: ").removeprefix(f"{d.page}: ")


def diagnostic_line(d: Diagnostic, files: Mapping[Diagnostic | str, str]) -> str:
    """``file:line: severity code: message``, the line a person reads (``--show-diagnostics``,
    ``iam-catalog diagnostics``)."""
    where, message = diagnostic_where(d, files)
    return f"{where}: {d.severity.value} {d.code}: {message}"


def file_and_message(d: Diagnostic, files: Mapping[Diagnostic | str, str]) -> str:
    """``file:line: message``, as an error line says a problem."""
    return "{}: {}".format(*diagnostic_where(d, files))


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def at_least(d: Diagnostic, severity: str) -> bool:
    """Whether ``d`` is of ``severity`` (``error``, ``warning``, ``info``) or worse."""
    return _SEVERITY_RANK[d.severity] <= _SEVERITY_RANK[Severity(severity)]


def read_diagnostic_files(
    path: Path, diagnostics: Sequence[Diagnostic]
) -> dict[Diagnostic | str, str]:
    """The file of each diagnostic, from a ``diagnostics.csv`` written with them (row by
    row, in their order); none when it is missing or does not match them."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
    except OSError:
        return {}
    if len(rows) != len(diagnostics):
        return {}
    files: dict[Diagnostic | str, str] = {}
    for row, d in zip(rows, diagnostics, strict=True):
        if len(row) != len(DIAGNOSTICS_COLUMNS) or row[3:] != [d.code, d.message]:
            return {}
        files[d] = row[0]
    return files


def diagnostics_csv_text(
    diagnostics: Iterable[Diagnostic], files: Mapping[Diagnostic | str, str]
) -> str:
    """The text of ``diagnostics.csv`` (columns :data:`DIAGNOSTICS_COLUMNS`)."""
    lines = _Lines()
    lines.append(",".join(DIAGNOSTICS_COLUMNS))
    out = csv.writer(lines, lineterminator="\n")
    for d in diagnostics:
        line = "" if d.line is None else str(d.line)
        row = (diagnostic_file(d, files), line, d.severity.value, d.code, d.message)
        out.writerow(_defused(row))
    lines.append("")
    return "\n".join(lines)
