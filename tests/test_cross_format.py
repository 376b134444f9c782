"""One shared suite over source formats (STYLE 15): the same service read from several
formats agrees with its HTML page on every field the poorer format can carry.

- 2026: the HTML page of 2026-04-01, its flat-text and pipe-text renderings
  (``tests/textrender.py``) and AWS's service-reference JSON of 2026-03-31;
- 2020: the HTML page of 2020-11-01, its renderings, and the User Guide markdown of
  2020-11-06 (pages whose actions table is not a placeholder).

Every source goes through format detection and its parser (``iam_catalog.output.build.parse_text``),
as ``iam-catalog build`` does. The second half builds one folder mixing every format
through the command line and checks each file is detected as its true format.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from iam_catalog.output.build import parse_text
from iam_catalog.output.cli import main
from iam_catalog.parsers.model import Action, ParsedPage
from tests.conftest import SEEDS
from tests.test_roundtrip_text import FIELDS, _last_rows_own_keys, _rows
from tests.textrender import read_page, render_flat, render_pipe

HTML = {"2026": "html/2026-04-01_110d32e3", "2020": "html/2020-11-01_65f99eab"}
MARKDOWN_2020 = "markdown/2020-11-06_b585974"
SERVICE_REFERENCE = "servicereference/2026-03-31"

# Pages of each era: varied tables (required and optional types, keys on rows and on
# the action, dependent actions, resource names with spaces, SCENARIO rows in ec2).
PAGES = {
    "2026": {
        "list_awsdeepracer": "deepracer",
        "list_amazonbedrock": "bedrock",
        "list_amazons3": "s3",
        "list_amazonec2": "ec2",
        "list_amazongameliftstreams": "gameliftstreams",
        "list_awslambda": "lambda",
    },
    "2020": {
        "list_amazoncloudwatchlogs": "logs",
        "list_amazonpersonalize": "personalize",
        "list_amazonworkmail": "workmail",
        "list_amazonmanagedblockchain": "managedblockchain",
        "list_amazontranscribe": "transcribe",
        "list_amazondetective": "detective",
    },
}

ALL_FIELDS = set(FIELDS)
EXTRA_FIELDS: dict[str, Callable[[ParsedPage], set[object]]] = {
    "access_level": lambda p: {(a.name, a.access_level) for a in p.actions},
    "resource_type_names": lambda p: {
        (a.name, r.name) for a in p.actions for r in a.resource_types
    },
    "rows": lambda p: {_rows(a) for a in p.actions},
}
FIELD_OF = {**FIELDS, **EXTRA_FIELDS}

# What each format carries, compared with the HTML page of its era.
CARRIES: dict[str, set[str]] = {
    "flat-text": ALL_FIELDS | {"access_level", "resource_type_names"},
    "pipe-text": ALL_FIELDS | {"access_level", "resource_type_names", "rows"},
    "markdown-table": ALL_FIELDS | {"access_level", "resource_type_names", "rows"},
    # no descriptions, required flags, dependent actions, service name or key descriptions
    "service-reference": {
        "prefix",
        "actions",
        "access_level",
        "resource_type_names",
        "condition_keys",
        "arns",
        "resource_type_keys",
        "condition_key_types",
    },
}
FORMATS_OF_ERA = {
    "2026": ("flat-text", "pipe-text", "service-reference"),
    "2020": ("flat-text", "pipe-text", "markdown-table"),
}
CASES = [
    (era, page, fmt, field)
    for era, pages in PAGES.items()
    for page in pages
    for fmt in FORMATS_OF_ERA[era]
    for field in sorted(CARRIES[fmt])
]


class Sources:
    """Every (era, page, format) read once, lazily."""

    def __init__(self, corpus: Path) -> None:
        self.corpus = corpus
        self.cache: dict[tuple[str, str, str], ParsedPage] = {}

    def text(self, era: str, page: str, fmt: str) -> str:
        html_path = self.corpus / HTML[era] / f"{page}.html"
        if fmt == "html":
            return html_path.read_text(encoding="utf-8")
        if fmt in ("flat-text", "pipe-text"):
            render = render_flat if fmt == "flat-text" else render_pipe
            source = html_path.read_text(encoding="utf-8")
            return render(read_page(source), random.Random(f"{era}:{page}:{fmt}"))
        if fmt == "markdown-table":
            return (self.corpus / MARKDOWN_2020 / f"{page}.md").read_text(encoding="utf-8")
        if fmt == "service-reference":
            svc = PAGES[era][page]
            return (self.corpus / SERVICE_REFERENCE / svc / f"{svc}.json").read_text(
                encoding="utf-8"
            )
        raise AssertionError(fmt)

    def get(self, era: str, page: str, fmt: str) -> ParsedPage:
        key = (era, page, fmt)
        if key not in self.cache:
            self.cache[key] = parse_text(self.text(era, page, fmt), source=page)
        return self.cache[key]


@pytest.fixture(scope="module")
def sources(corpus: Path) -> Sources:
    return Sources(corpus)


@pytest.mark.parametrize(("era", "page", "fmt", "field"), CASES)
def test_format_agrees_with_the_html_page_on_a_field_it_carries(
    sources: Sources, era: str, page: str, fmt: str, field: str
) -> None:
    html_page = sources.get(era, page, "html")
    other = sources.get(era, page, fmt)
    assert (html_page.ref.format, other.ref.format) == ("html", fmt)  # detected, not forced
    get = FIELD_OF[field]
    want, got = get(html_page), get(other)
    if fmt == "flat-text" and field == "condition_keys":
        # after the last resource type flat text cannot tell the action's keys from that
        # type's own, which the page may print on the row (and the model does not keep there)
        got -= _last_rows_own_keys(html_page) - want
    assert got == want, {
        "missing": sorted(want - got, key=repr)[:5],
        "extra": sorted(got - want, key=repr)[:5],
    }


@pytest.mark.parametrize("fmt", sorted(CARRIES))
def test_every_carried_field_has_values_to_compare(sources: Sources, fmt: str) -> None:
    """Guard: no field agrees only because both sides are empty on every page."""
    eras = [e for e, fmts in FORMATS_OF_ERA.items() if fmt in fmts]
    for field in CARRIES[fmt]:
        values = [
            v
            for era in eras
            for page in PAGES[era]
            for v in FIELD_OF[field](sources.get(era, page, "html"))
            if v not in (None, "")
        ]
        assert values, field


def _action(page: ParsedPage, name: str) -> Action:
    return next(a for a in page.actions if a.name == name)


def test_flat_text_is_the_poorer_format_for_rows(sources: Sources) -> None:
    """Flat text loses which row a value after the last resource type sits on; the
    suite above therefore compares rows for pipe text and markdown, not flat text."""
    html_page = sources.get("2026", "list_amazons3", "html")
    flat = sources.get("2026", "list_amazons3", "flat-text")
    pipe = sources.get("2026", "list_amazons3", "pipe-text")
    assert EXTRA_FIELDS["rows"](pipe) == EXTRA_FIELDS["rows"](html_page)
    assert EXTRA_FIELDS["rows"](flat) != EXTRA_FIELDS["rows"](html_page)
    assert "row-structure-lost" in {d.code for d in flat.diagnostics}


# --------------------------------------------------------------------------- mixed folder

# corpus file -> (name in the mixed folder, true format)
CORPUS_FILES = {
    "html/2026-04-01_110d32e3/list_amazonbedrock.html": "html",
    "html/2026-04-01_110d32e3/list_amazonsqs.html": "html",
    "html/2020-11-01_65f99eab/list_amazonpolly.html": "html",
    "markdown/2020-11-06_b585974/list_amazonpersonalize.md": "markdown-table",
    "markdown/2017-12-01_f7b9df6/list_polly.md": "markdown-table",
    "new-layout-md/2026-08_8d3f1c7/list_simpledb.md": "markdown-list",
    "new-layout-md/2026-07_d2837ee/list_braket.md": "markdown-list",
    "servicereference/2026-03-31/lambda/lambda.json": "service-reference",
    "servicereference/2026-03-31/deepracer/deepracer.json": "service-reference",
}
SEED_FORMATS = {
    "000_eb27edc695326bc8": "markdown-table",
    "001_ef8b5ee01b7960a7": "flat-text",
    "002_f8ee0784d18e5bdf": "markdown-table",
    "003_676e93ce77deaca0": "pipe-text",
    "004_80ef2678a57afe3b": "flat-text",
}
RENDERED = {"list_awslambda": ("flat-text", "pipe-text"), "list_amazonec2": ("pipe-text",)}


def test_a_folder_mixing_every_format_builds_in_one_call(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "mixed"
    src.mkdir()
    expected: dict[str, str] = {}
    for rel, fmt in CORPUS_FILES.items():
        path = corpus / rel
        # distinct page ids: the folder (era) in front of the file name
        name = f"{path.parent.name.replace('-', '_')}__{path.name}"
        shutil.copyfile(path, src / name)
        expected[Path(name).stem] = fmt
    for stem, fmt in SEED_FORMATS.items():
        shutil.copyfile(SEEDS / f"{stem}.txt", src / f"seed_{stem}.txt")
        expected[f"seed_{stem}"] = fmt
    for page, fmts in RENDERED.items():
        source = (corpus / HTML["2026"] / f"{page}.html").read_text(encoding="utf-8")
        for fmt in fmts:
            render = render_flat if fmt == "flat-text" else render_pipe
            text = render(read_page(source), random.Random(f"mixed:{page}:{fmt}"))
            name = f"{fmt.replace('-', '_')}__{page}"
            (src / f"{name}.txt").write_text(text, encoding="utf-8")
            expected[name] = fmt
    assert len(set(expected.values())) == 6  # every format of the registry

    out = tmp_path / "out"
    assert main(["build", str(src), "--out", str(out)]) == 0
    assert "-> " in capsys.readouterr().err

    catalog = orjson.loads((out / "catalog.json").read_bytes())
    detected = {p["page"]: p["format"] for s in catalog["services"].values() for p in s["pages"]}
    assert detected == expected
    counts: dict[str, int] = {}
    for fmt in expected.values():
        counts[fmt] = counts.get(fmt, 0) + 1
    assert catalog["source"]["formats"] == counts
    assert catalog["source"]["pages"] == len(expected)
    assert not [
        d for d in catalog["diagnostics"] if d["code"] in ("unknown-format", "parse-failed")
    ]
    # the flat rendering of lambda and the service-reference JSON merge into one service
    lam = catalog["services"]["lambda"]
    assert {p["format"] for p in lam["pages"]} == {"flat-text", "pipe-text", "service-reference"}
    assert len(lam["actions"]) > 50
