"""The hostile inputs of issue 17 (the parsing half, and snapshots and source folders of
the I/O half), generated from real corpus pages.

Each :class:`Case` writes its input under a temporary folder (never a committed file)
and says which command to run on it, what the undamaged input yields, and how the
tool must answer: the diagnostic codes one of which must appear (or, for an input
that is refused, the exit code 2 and the start of the one-line message). The runner is
``tests/test_hostile_inputs.py``.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.textrender import read_page, render_flat, render_pipe

HTML_2026 = "html/2026-04-01_110d32e3"
SR_2026 = "servicereference/2026-03-31"
MD_TABLE = "markdown/2020-11-06_b585974/list_amazoncloudwatchlogs.md"
MD_LIST = "new-layout-md/2026-08_8d3f1c7/list_account.md"
RUM = f"{HTML_2026}/list_awscloudwatchrum.html"
S3 = f"{HTML_2026}/list_amazons3.html"
SIZE_CAP = 20 * 1024 * 1024


@dataclass(frozen=True)
class Case:
    """One hostile input and what the tool must make of it."""

    name: str
    covers: str
    """The item of issue 17 it reproduces."""
    make: Callable[[Path, Path], tuple[list[str], Path | None]]
    """(corpus, tmp) -> the command's arguments (input written below tmp) and the
    undamaged input to compare the number of actions with (None: nothing to compare)."""
    codes: frozenset[str] = frozenset()
    """Diagnostic codes of which at least one must appear."""
    exit: int = 0
    refusal: str | None = None
    """For exit 2: a regular expression the single stderr line must match."""
    must_have: tuple[str, ...] = ()
    """Actions (``prefix:Name``) the catalog must hold."""


# A good page built beside every hostile one: the build must go on and keep it.
COMPANION = f"{HTML_2026}/list_amazonsqs.html"
COMPANION_ACTION = "sqs:SendMessage"


def _build(corpus: Path, page: Path, tmp: Path) -> list[str]:
    """Build the folder of ``page`` with the companion page beside it."""
    companion = corpus / COMPANION
    (page.parent / companion.name).write_bytes(companion.read_bytes())
    return ["build", str(page.parent), "--out", str(tmp / "out"), "--jobs", "1"]


def _write(tmp: Path, name: str, data: str | bytes) -> Path:
    path = tmp / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- service reference


def _sr_case(
    name: str, mutate: Callable[[dict], None], codes: frozenset[str] = frozenset({"bad-field"})
) -> Case:
    def make(corpus: Path, tmp: Path) -> tuple[list[str], Path | None]:
        original = corpus / SR_2026 / "s3" / "s3.json"
        data = json.loads(original.read_bytes())
        mutate(data)
        return _build(corpus, _write(tmp, "s3.json", json.dumps(data)), tmp), original

    return Case(f"service-reference-{name}", "crash: wrong-typed JSON", make, frozenset(codes))


def _first_action(field: str, value: object) -> Callable[[dict], None]:
    return lambda data: data["Actions"][0].__setitem__(field, value)


SERVICE_REFERENCE = [
    _sr_case("annotations-number", _first_action("Annotations", 5)),
    _sr_case("annotations-list", _first_action("Annotations", [{"Properties": {}}])),
    _sr_case("properties-string", _first_action("Annotations", {"Properties": "IsWrite"})),
    _sr_case("resources-number", _first_action("Resources", 7)),
    _sr_case("resources-object", _first_action("Resources", {"Name": "object"})),
    _sr_case("top-resources-string", lambda data: data.__setitem__("Resources", "bucket")),
    _sr_case(
        "bidi-override-in-action",
        lambda data: data["Actions"][0].update(Name=data["Actions"][0]["Name"] + "\u202e"),
        codes=frozenset({"bidi-control"}),
    ),
]


# --------------------------------------------------------------------------- markdown


def _insert_paragraph(text: str, paragraph: str) -> str:
    """``paragraph`` as a block of its own before the page's first table."""
    at = text.index("\n|")
    return f"{text[:at]}\n\n{paragraph}\n\n{text[at:].lstrip(chr(10))}"


def _md_case(
    name: str, covers: str, page: str, change: Callable[[str], str], codes: set[str]
) -> Case:
    def make(corpus: Path, tmp: Path) -> tuple[list[str], Path | None]:
        original = corpus / page
        text = change(original.read_text(encoding="utf-8"))
        return _build(corpus, _write(tmp, original.name, text), tmp), original

    return Case(name, covers, make, frozenset(codes))


def _stars(text: str) -> str:
    return _insert_paragraph(text, "*" * 500 + "word" + "*" * 500)


def _wide_table(text: str) -> str:
    """1,000 columns x 5,000 rows (20 MB, under the size cap)."""
    columns, rows = 1000, 5000
    header = "| Actions | Description | Access level |" + " c |" * (columns - 3)
    table = "\n".join([header, "|" + "---|" * columns, *(["|" + " a |" * columns] * rows)])
    return _insert_paragraph(text, table)


def _quotes(text: str) -> str:
    return _insert_paragraph(text, ">" * 100 + " quoted")


def _dense_markup(text: str) -> str:
    """18 MB of paragraphs of 16,000 markup characters each (`![` costs markdown-it the
    most per character)."""
    return _insert_paragraph(text, "\n\n".join(["![" * 8000] * 1100))


def _short_lines(text: str) -> str:
    return text + "a\n\n" * (19 * 1024 * 1024 // 3)


MARKDOWN = [
    _md_case(
        "md-table-500-stars", "crash: RecursionError", MD_TABLE, _stars, {"markdown-not-read"}
    ),
    _md_case("md-list-500-stars", "crash: RecursionError", MD_LIST, _stars, {"markdown-not-read"}),
    _md_case("md-table-1000x5000", "memory: 10 GB peak", MD_TABLE, _wide_table, {"too-complex"}),
    _md_case("md-list-1000x5000", "memory: 10 GB peak", MD_LIST, _wide_table, {"too-complex"}),
    _md_case(
        "md-table-100-quotes", "silent loss: maxNesting", MD_TABLE, _quotes, {"nested-too-deep"}
    ),
    _md_case(
        "md-list-dense-markup",
        "work: inline parsing",
        MD_LIST,
        _dense_markup,
        {"markdown-not-read"},
    ),
    _md_case(
        "md-table-6m-lines", "memory: one line per block", MD_TABLE, _short_lines, {"too-complex"}
    ),
]


# --------------------------------------------------------------------------- html


def _html_case(
    name: str,
    covers: str,
    page: str,
    change: Callable[[str], str],
    codes: set[str],
    must_have: tuple[str, ...] = (),
) -> Case:
    def make(corpus: Path, tmp: Path) -> tuple[list[str], Path | None]:
        original = corpus / page
        text = change(original.read_text(encoding="utf-8"))
        return _build(corpus, _write(tmp, original.name, text), tmp), original

    return Case(name, covers, make, frozenset(codes), must_have=must_have)


def _colspan_headers(copies: int) -> Callable[[str], str]:
    """Every header cell of the page with colspan=100, and the page's tables repeated
    (62 KB and 278 KB took 15 s and > 120 s)."""

    def change(text: str) -> str:
        text = re.sub(r"<th(\s|>)", r'<th colspan="100"\1', text)
        start, end = text.index("<table"), text.rindex("</table>") + len("</table>")
        return text[:end] + text[start:end] * copies + text[end:]

    return change


def _deep_cell(text: str) -> str:
    """300 nested elements inside the first cell of the actions table."""
    at = text.index("<td", text.index("<table"))
    at = text.index(">", at) + 1
    return text[:at] + "<span>" * 300 + "x" + "</span>" * 300 + text[at:]


def _missing_tr(action: str) -> Callable[[str], str]:
    """The <tr> start tag of ``action``'s first row removed."""

    def change(text: str) -> str:
        cell = text.index(f'id="{action}"')
        tr = text.rindex("<tr", 0, cell)
        return text[:tr] + text[text.index(">", tr) + 1 :]

    return change


def _many_cells(text: str) -> str:
    """200,000 empty cells directly under one table (cells without rows; 400,000 tags,
    under the page's bound)."""
    end = text.index("</table>")
    return text[:end] + "<td></td>" * 200_000 + text[end:]


def _dense(unit: str, inside_cell: bool = False) -> Callable[[str], str]:
    """19 MB of ``unit`` at the end of the first table (or in its first cell)."""

    def change(text: str) -> str:
        at = text.index("</table>")
        if inside_cell:
            at = text.index(">", text.index("<td", text.index("<table"))) + 1
        return text[:at] + unit * (19 * 1024 * 1024 // len(unit)) + text[at:]

    return change


HTML = [
    _html_case(
        "html-colspan-62kb", "work: colspan=100", RUM, _colspan_headers(0), {"table-too-wide"}
    ),
    _html_case(
        "html-colspan-278kb", "work: colspan=100", RUM, _colspan_headers(4), {"table-too-wide"}
    ),
    _html_case(
        "html-depth-300-rum", "silent loss: libxml2 depth", RUM, _deep_cell, {"read-in-part"}
    ),
    _html_case("html-depth-300-s3", "silent loss: libxml2 depth", S3, _deep_cell, {"read-in-part"}),
    _html_case(
        "html-missing-tr",
        "silent loss: cells under <table>",
        RUM,
        _missing_tr("awscloudwatchrum-GetAppMonitor"),
        {"row-without-tr"},
        must_have=("rum:GetAppMonitor",),
    ),
    _html_case(
        "html-bidi-override-in-action",
        "smaller: bidi controls in names",
        RUM,
        lambda text: text.replace("GetAppMonitor\n", "GetApp\u202erotinoM\n", 1),
        {"bidi-control"},
    ),
    _html_case(
        "html-bidi-isolate-in-prefix",
        "smaller: bidi controls in names",
        RUM,
        lambda text: text.replace("\n             rum\n", "\n             r\u2067um\u2069\n", 1),
        {"bidi-control"},
    ),
    _html_case(
        "html-20mb-of-short-rows",
        "memory: a diagnostic per row",
        RUM,
        _dense("<tr><td>a</td></tr>"),
        {"too-complex"},
    ),
    _html_case("html-20mb-of-paragraphs", "memory: tags", RUM, _dense("<p>x</p>"), {"too-complex"}),
    _html_case(
        "html-20mb-of-line-breaks-in-a-cell",
        "memory: tags",
        RUM,
        _dense("<br>", inside_cell=True),
        {"too-complex"},
    ),
    _html_case(
        "html-200k-cells-outside-rows",
        "memory: cells without rows",
        RUM,
        _many_cells,
        {"cells-outside-rows"},
    ),
]


# --------------------------------------------------------------------------- text formats


def _text_case(name: str, covers: str, render: Callable[[str], str], codes: set[str]) -> Case:
    def make(corpus: Path, tmp: Path) -> tuple[list[str], Path | None]:
        html = (corpus / RUM).read_text(encoding="utf-8")
        page = read_page(html)
        kind = "pipe" if "pipe" in name else "flat"
        clean = (render_pipe if kind == "pipe" else render_flat)(page, random.Random(17))
        original = _write(tmp / "original", f"list_rum.{kind}.txt", clean)
        changed = _write(tmp, f"list_rum.{kind}.txt", render(clean))
        return _build(corpus, changed, tmp), original

    return Case(name, covers, make, frozenset(codes))


def _after_line(pattern: str, extra: list[str]) -> Callable[[str], str]:
    def change(text: str) -> str:
        lines = text.split("\n")
        at = next(i for i, line in enumerate(lines) if re.match(pattern, line)) + 1
        return "\n".join(lines[:at] + extra + lines[at:])

    return change


def _wrapped_row(action: str, words: list[str]) -> Callable[[str], str]:
    """``action``'s row cut after its third cell, with ``words`` on lines of their own
    (no ``|``) before the rest of the row: one row wrapped over thousands of lines."""

    def change(text: str) -> str:
        lines = text.split("\n")
        at = next(i for i, line in enumerate(lines) if line.lstrip().startswith(action))
        line = lines[at]
        cut = [i for i, c in enumerate(line) if c == "|"][2] + 1
        return "\n".join([*lines[:at], line[:cut], *words, line[cut:], *lines[at + 1 :]])

    return change


TEXT = [
    _text_case(
        "pipe-row-wrapped-over-20000-lines",
        "work: cubic",
        _wrapped_row("BatchCreateRumMetricDefinitions", [f"word{i}" for i in range(20_000)]),
        {"several-resource-types", "row-structure-lost"},
    ),
    _text_case(
        "flat-20000-unparseable-lines",
        "work: quadratic",
        _after_line(
            r"^\s*BatchCreateRumMetricDefinitions\b",
            [f"not a value {i} of any row" for i in range(20_000)],
        ),
        {"unparsed-line"},
    ),
    _text_case(
        "flat-7m-short-lines",
        "memory: one object per line",
        lambda text: text + "a\n" * (19 * 1024 * 1024 // 2 - len(text)),
        {"unparsed-line", "too-complex"},
    ),
]


# --------------------------------------------------------------------------- size cap


def _sparse(corpus: Path, tmp: Path) -> tuple[list[str], Path | None]:
    path = tmp / "in" / "list_sparse.html"
    path.parent.mkdir(parents=True)
    with path.open("wb") as f:
        f.truncate(4 * 1024**3)  # 4 GB of holes: reading it whole costs 4 GB
    return _build(corpus, path, tmp), None


SIZE = [
    Case("sparse-4gb-file", "memory: size cap after reading", _sparse, frozenset({"too-large"}))
]


# --------------------------------------------------------------------------- catalogs


def _catalog_case(name: str, mutate: Callable[[dict], None], where: str) -> Case:
    def make(corpus: Path, tmp: Path) -> tuple[list[str], Path | None]:
        from iam_catalog.output.build import build
        from iam_catalog.output.writers import dumps_catalog

        good = tmp / "good.json"
        good.write_bytes(dumps_catalog(build([corpus / S3], jobs=1).catalog))
        data = json.loads(good.read_bytes())
        mutate(data)
        bad = _write(tmp, "catalog.json", json.dumps(data))
        return ["diff", str(bad), str(good)], None

    return Case(
        f"catalog-{name}",
        "crash or misread: wrongly typed catalog.json",
        make,
        exit=2,
        refusal=rf"iam-catalog: error: \S+/catalog\.json: not a valid catalog\.json \({where}",
    )


def _s3(data: dict) -> dict:
    return data["services"]["s3"]


def _action(data: dict) -> dict:
    return _s3(data)["actions"]["AbortMultipartUpload"]


_ACTION_AT = re.escape("at $.services.s3.actions.AbortMultipartUpload.")
CATALOGS = [
    _catalog_case("action-name-number", lambda d: _action(d).update(name=5), _ACTION_AT + "name:"),
    _catalog_case("action-name-null", lambda d: _action(d).update(name=None), _ACTION_AT + "name:"),
    _catalog_case(
        "service-name-number", lambda d: _s3(d).update(name=3), re.escape("at $.services.s3.name:")
    ),
    _catalog_case(
        "service-name-object",
        lambda d: _s3(d).update(name={}),
        re.escape("at $.services.s3.name:"),
    ),
    _catalog_case(
        "row-name-null",
        lambda d: _action(d)["resource_types"][0].update(name=None),
        _ACTION_AT + re.escape("resource_types"),
    ),
    _catalog_case(
        "condition-keys-numbers",
        lambda d: _action(d).update(condition_keys=[1, 2]),
        _ACTION_AT + re.escape("condition_keys"),
    ),
    _catalog_case(
        "condition-keys-string",
        lambda d: _action(d).update(condition_keys="abc"),
        _ACTION_AT + "condition_keys:",
    ),
    _catalog_case(
        "permission-only-string",
        lambda d: _action(d).update(permission_only="false"),
        _ACTION_AT + "permission_only:",
    ),
    _catalog_case(
        "actions-list", lambda d: _s3(d).update(actions=[]), re.escape("at $.services.s3.actions:")
    ),
    _catalog_case(
        "formats-list", lambda d: d["source"].update(formats=[]), re.escape("at $.source.formats:")
    ),
    _catalog_case(
        "schema-version-1.0",
        lambda d: d.update(schema_version=1.0),
        "unsupported catalog schema_version 1.0",
    ),
    _catalog_case(
        "schema-version-true",
        lambda d: d.update(schema_version=True),
        "unsupported catalog schema_version true",
    ),
]


# --------------------------------------------------------------------------- snapshot manifests


def _manifest_case(name: str, mutate: Callable[[str], str], where: str) -> Case:
    def make(corpus: Path, tmp: Path) -> tuple[list[str], Path | None]:
        from iam_catalog.scraper.snapshot import FileEntry, Manifest, file_sha256, write_manifest

        snapshot = tmp / "snapshot"
        page = snapshot / "html" / "list_awscloudwatchrum.html"
        page.parent.mkdir(parents=True)
        page.write_bytes((corpus / RUM).read_bytes())
        manifest = Manifest(
            "2026-12-06T00:00:00Z", "http://127.0.0.1/", None, ["html"], {"name": "t"}
        )
        manifest.files["html/list_awscloudwatchrum.html"] = FileEntry(
            "http://127.0.0.1/list_awscloudwatchrum.html",
            "html",
            "page",
            200,
            sha256=file_sha256(page),
            bytes=page.stat().st_size,
        )
        write_manifest(snapshot, manifest)
        path = snapshot / "manifest.json"
        path.write_text(mutate(path.read_text(encoding="utf-8")), encoding="utf-8")
        return ["build", str(snapshot), "--out", str(tmp / "out"), "--jobs", "1"], None

    return Case(
        f"manifest-{name}",
        "crash: wrongly shaped snapshot manifest",
        make,
        exit=2,
        refusal=rf"iam-catalog: error: \S+/manifest\.json: not a valid snapshot manifest.*{where}",
    )


def _files_as_list(text: str) -> str:
    data = json.loads(text)
    data["files"] = [{"path": p, **e} for p, e in data["files"].items()]
    return json.dumps(data)


def _sha256_null(text: str) -> str:
    data = json.loads(text)
    for entry in data["files"].values():
        entry["sha256"] = None
    return json.dumps(data)


MANIFESTS = [
    _manifest_case("files-list", _files_as_list, re.escape("$.files is not an object")),
    _manifest_case("sha256-null", _sha256_null, re.escape(".sha256 is not")),
    _manifest_case("nested-100k", lambda text: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
]


# ------------------------------------------------------- snapshots and source folders (I/O half)


def _snapshot(corpus: Path, tmp: Path) -> Path:
    """A snapshot of two pages (rum and the companion) written as fetch writes one."""
    from iam_catalog.scraper.snapshot import FileEntry, Manifest, file_sha256, write_manifest

    snapshot = tmp / "snapshot"
    manifest = Manifest("2026-12-06T00:00:00Z", "http://127.0.0.1/", None, ["html"], {"name": "t"})
    for source in (RUM, COMPANION):
        page = snapshot / "html" / Path(source).name
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_bytes((corpus / source).read_bytes())
        manifest.files[f"html/{page.name}"] = FileEntry(
            f"http://127.0.0.1/{page.name}",
            "html",
            "page",
            200,
            sha256=file_sha256(page),
            bytes=page.stat().st_size,
        )
    write_manifest(snapshot, manifest)
    return snapshot


def _snapshot_case(name: str, tamper: Callable[[Path, Path], None], why: str) -> Case:
    """A snapshot whose rum page is tampered with after the fetch: refused in one line."""

    def make(corpus: Path, tmp: Path) -> tuple[list[str], Path | None]:
        snapshot = _snapshot(corpus, tmp)
        tamper(snapshot / "html" / Path(RUM).name, tmp)
        return ["build", str(snapshot), "--out", str(tmp / "out"), "--jobs", "1"], None

    return Case(
        f"snapshot-{name}",
        "trust: a snapshot page that is not a regular file inside it, or not its bytes",
        make,
        exit=2,
        refusal=rf"iam-catalog: error: \S+: snapshot \w+ does not verify, 1 of 2 files are not "
        rf"as its manifest says \(first: html/list_awscloudwatchrum\.html: {why}.*\); ",
    )


def _relink(target: str) -> Callable[[Path, Path], None]:
    def tamper(page: Path, tmp: Path) -> None:
        page.unlink()
        page.symlink_to(target)

    return tamper


def _fifo(page: Path, tmp: Path) -> None:
    page.unlink()
    os.mkfifo(page)


def _edit(page: Path, tmp: Path) -> None:
    data = page.read_bytes()
    page.write_bytes(data.replace(b"Grants permission", b"Grants PERMISSION", 1))  # same size


SNAPSHOTS = [
    _snapshot_case("dev-zero", _relink("/dev/zero"), "a symbolic link to /dev/zero, not a regular"),
    _snapshot_case(
        "passwd", _relink("/etc/passwd"), "a symbolic link to /etc/passwd, not a regular"
    ),
    _snapshot_case(
        "other-page", _relink("list_amazonsqs.html"), "a symbolic link to list_amazonsqs"
    ),
    _snapshot_case("fifo", _fifo, re.escape("a FIFO (named pipe), not a regular file")),
    _snapshot_case("edited", _edit, "bytes do not match the sha256 in the manifest"),
    _snapshot_case(
        "truncated", lambda p, t: p.write_bytes(p.read_bytes()[:999]), "999 bytes on disk"
    ),
    _snapshot_case("deleted", lambda p, t: p.unlink(), "missing from the snapshot folder"),
]


def _source_case(name: str, plant: Callable[[Path], None]) -> Case:
    """A source folder holding, beside a page, something that is not a regular file."""

    def make(corpus: Path, tmp: Path) -> tuple[list[str], Path | None]:
        page = _write(tmp, Path(RUM).name, (corpus / RUM).read_bytes())
        plant(page.parent / "odd.html")
        return _build(corpus, page, tmp), corpus / RUM

    return Case(
        f"source-{name}",
        "trust: FIFOs, devices and dangling links in a source folder",
        make,
        frozenset({"not-a-file"}),
    )


def _fifo_source(corpus: Path, tmp: Path) -> tuple[list[str], Path | None]:
    (tmp / "in").mkdir()
    os.mkfifo(tmp / "in" / "pipe.md")
    return ["build", str(tmp / "in" / "pipe.md"), "--out", str(tmp / "out")], None


SOURCES = [
    _source_case("fifo", os.mkfifo),
    _source_case("device", lambda p: p.symlink_to("/dev/zero")),
    _source_case("dangling", lambda p: p.symlink_to(p.parent / "nowhere.html")),
    Case(
        "source-fifo-named",
        "trust: a FIFO given as SOURCE",
        _fifo_source,
        exit=2,
        refusal=r"iam-catalog: error: nothing usable in the sources \(\S+pipe\.md: a FIFO",
    ),
]


CASES: list[Case] = [
    *SERVICE_REFERENCE,
    *MARKDOWN,
    *HTML,
    *TEXT,
    *SIZE,
    *CATALOGS,
    *MANIFESTS,
    *SNAPSHOTS,
    *SOURCES,
]
