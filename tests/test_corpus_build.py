"""Whole-corpus builds: every page parses, every declared prefix lands, output is
byte-for-byte reproducible and valid against the catalog schema."""

from __future__ import annotations

import csv
import io
import re

import jsonschema
import orjson
import pytest

from iam_catalog.output.build import build
from iam_catalog.output.cli import main
from iam_catalog.output.writers import (
    _ROWS,
    CSV_COLUMNS,
    csv_text,
    dumps_catalog,
    write_catalog_dir,
    write_csv,
)
from iam_catalog.parsers.model import CATALOG_SCHEMA, Severity

# What a page declares, read with a regex independent of the parser: the
# "(service prefix: <code>x</code>)" paragraph of every SAR page.
PREFIX_RE = re.compile(r"service prefix:\s*<code[^>]*>\s*([^<\s]+)\s*</code>")


def declared_prefixes(folder):
    found = {}
    for f in sorted(folder.glob("*.html")):
        m = PREFIX_RE.search(f.read_text(encoding="utf-8"))
        found[f.stem] = m.group(1) if m else None
    return found


def test_2026_build_reads_every_page_and_yields_every_declared_prefix(corpus, html_2026):
    folder = corpus / "html" / "2026-04-01_110d32e3"
    declared = declared_prefixes(folder)
    catalog = html_2026.catalog
    assert html_2026.files == 528
    assert {s.prefix for s in catalog.services} == {p for p in declared.values() if p}
    assert len(catalog.services) == 459
    pages_in_catalog = {p.page for s in catalog.services for p in s.pages}
    assert pages_in_catalog == {page for page, p in declared.items() if p}
    # the saved "301 Moved Permanently" body is the only page without a prefix
    assert [page for page, p in declared.items() if p is None] == ["list_awsiot1-click"]
    codes = {d.code for d in catalog.diagnostics if d.page == "list_awsiot1-click"}
    assert codes and all(
        d.severity is Severity.ERROR for d in catalog.diagnostics if d.page == "list_awsiot1-click"
    )
    assert not [d for d in catalog.diagnostics if d.code in ("parse-failed", "unknown-format")]


@pytest.mark.parametrize("prefix", ["deepracer", "deepcomposer"])
def test_services_policy_sentry_loses_are_present_with_actions(html_2026, prefix):
    service = next(s for s in html_2026.catalog.services if s.prefix == prefix)
    assert len(service.actions) > 10
    assert all(a.access_level is not None for a in service.actions)


def test_2020_build_reads_every_page(corpus, html_2020):
    declared = declared_prefixes(corpus / "html" / "2020-11-01_65f99eab")
    catalog = html_2020.catalog
    assert html_2020.files == 243
    assert {s.prefix for s in catalog.services} == {p for p in declared.values() if p}
    assert not [d for d in catalog.diagnostics if d.code in ("parse-failed", "unknown-format")]


def test_catalog_validates_against_the_schema(html_2026, html_2020):
    for result in (html_2026, html_2020):
        jsonschema.validate(orjson.loads(dumps_catalog(result.catalog)), CATALOG_SCHEMA)


def test_two_builds_of_the_same_input_are_byte_identical(corpus, tmp_path, html_2026):
    folder = corpus / "html" / "2026-04-01_110d32e3"
    # a second, independent build through the command line, files in another order of discovery
    assert main(["build", str(folder), "--out", str(tmp_path / "a")]) == 0
    first = (tmp_path / "a" / "catalog.json").read_bytes()
    assert first == dumps_catalog(html_2026.catalog)
    assert main(["build", str(folder), "--out", str(tmp_path / "b")]) == 0
    for rel in ["catalog.json", *(f"csv/{p.name}" for p in (tmp_path / "a" / "csv").iterdir())]:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_same_pages_from_another_path_give_the_same_source_id(corpus, tmp_path):
    import shutil

    src = corpus / "html" / "2026-04-01_110d32e3"
    picked = sorted(src.glob("list_amazons3*.html"))
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    for f in picked:
        shutil.copy(f, copy / f.name)
    a = build(picked).catalog
    b = build([copy]).catalog
    assert dumps_catalog(a) == dumps_catalog(b)


@pytest.mark.parametrize("which", ["html_2026", "html_2020"])
def test_csv_tables_are_the_bytes_the_csv_module_writes(request, which):
    """write_csv joins the rows that need no quoting itself: every table of both corpus
    catalogs is exactly what ``csv.writer`` writes for the same rows."""
    catalog = request.getfixturevalue(which).catalog
    quoted = 0
    for name, columns in CSV_COLUMNS.items():
        ours = io.StringIO()
        write_csv(catalog, name, ours)
        reference = io.StringIO()
        writer = csv.writer(reference, lineterminator="\n")
        writer.writerow(columns)
        rows = list(_ROWS[name](catalog.services))
        writer.writerows(rows)
        assert ours.getvalue() == reference.getvalue(), name
        quoted += sum(1 for r in rows if any("," in f or '"' in f for f in r))
    assert quoted > 100  # the csv path is exercised too


def test_a_build_rendering_ahead_writes_the_same_files(corpus, tmp_path, html_2026):
    """``build(render=True)`` renders every one-page service while the pages are read (in
    this process, beside a worker); the files written from those shares are the bytes of
    ``dumps_catalog`` and ``csv_text`` for the catalog built without."""
    result = build([corpus / "html" / "2026-04-01_110d32e3"], jobs=2, render=True)
    assert result.catalog == html_2026.catalog
    assert html_2026.rendered == {}  # built without render=True
    singles = [s for s in result.catalog.services if len(s.pages) == 1]
    assert len(singles) == 409 and len(result.catalog.services) == 459
    assert {p: made[0] for p, made in result.rendered.items()} == {s.prefix: s for s in singles}
    assert all(result.rendered[s.prefix][0] is s for s in singles)
    write_catalog_dir(result.catalog, tmp_path, result.rendered)
    assert (tmp_path / "catalog.json").read_bytes() == dumps_catalog(html_2026.catalog)
    for name in CSV_COLUMNS:
        written = (tmp_path / "csv" / name).read_bytes()
        assert written == csv_text(html_2026.catalog, name).encode("utf-8"), name
