"""Snapshots meet the build: `build` on a snapshot, incomplete snapshots, `--allow-incomplete`,
the `fetch` and `regenerate` commands (against a real local server, and with no network)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import orjson
import pytest

from iam_catalog.output.build import build, regenerate
from iam_catalog.output.cli import main, make_parser
from iam_catalog.output.writers import dumps_catalog
from iam_catalog.parsers.errors import SourceError
from iam_catalog.parsers.model import CATALOG_SCHEMA, Severity, catalog_from_dict
from iam_catalog.scraper.snapshot import read_manifest

from .conftest import FIXTURES
from .servers import SAR_BASE, Fault, SiteServer, marked, sar_site
from .test_scraper_fetch import FAST, assert_consistent, html_pages

PAGES = 12
# A host name that can never resolve (RFC 6761): the no-network case, without waiting.
NOWHERE = "http://iam-catalog-test.invalid/service-authorization/latest/reference/"


@pytest.fixture(scope="module")
def pages(corpus) -> list[Path]:
    return html_pages(corpus)[5 : 5 + PAGES]


@pytest.fixture
def site(pages):
    with SiteServer(sar_site(pages)) as server:
        yield server


@pytest.fixture
def snapshot(site, tmp_path) -> Path:
    out = tmp_path / "snapshots" / "complete"
    assert fetch_from(site, out).complete
    return out


def fetch_from(site: SiteServer, out: Path, **kwargs):  # type: ignore[no-untyped-def]
    from iam_catalog.scraper.fetch import fetch_snapshot

    return fetch_snapshot(out, base_url=site.url(SAR_BASE), config=FAST, **kwargs)


def incomplete(site: SiteServer, pages: list[Path], out: Path) -> str:
    """Fetch into ``out`` with one page failing; its name."""
    name = pages[3].name
    site.add_faults(SAR_BASE + name, *[Fault("status", 500)] * 3)
    assert not fetch_from(site, out).complete
    return name


def test_build_of_a_snapshot_records_kind_snapshot_and_its_id(snapshot, pages):
    result = build([snapshot])
    manifest = read_manifest(snapshot)
    assert (result.catalog.source.kind, result.catalog.source.id) == ("snapshot", manifest.id)
    assert result.files == PAGES and result.catalog.source.pages == PAGES
    # when the snapshot was taken, for the reports that name a release by its date
    assert result.catalog.source.created_at == manifest.created_at
    data = orjson.loads(dumps_catalog(result.catalog))
    assert data["source"]["created_at"] == manifest.created_at
    jsonschema.validate(data, CATALOG_SCHEMA)
    assert catalog_from_dict(data).source == result.catalog.source
    # and a build of loose files has none
    assert build(pages).catalog.source.created_at is None
    # Only the pages are read: never manifest.json, never the index.
    assert not [d for d in result.catalog.diagnostics if "manifest" in d.page or "index" in d.page]
    # The snapshot holds the served bytes, so it builds the same services as the pages.
    assert result.catalog.services == build(pages).catalog.services


def test_build_of_a_snapshot_whose_file_changed_is_refused(snapshot, pages):
    changed = snapshot / "html" / pages[0].name
    size = changed.stat().st_size
    changed.write_bytes(changed.read_bytes() + b"\n<!-- edited -->\n")
    with pytest.raises(SourceError) as refused:
        build([snapshot])
    assert str(refused.value) == (
        f"{snapshot}: snapshot {read_manifest(snapshot).id} does not verify, 1 of "
        f"{PAGES + 1} files are not as its manifest says (first: html/{pages[0].name}: "
        f"more than {size} bytes on disk, {size} in the manifest); use --allow-incomplete "
        "--previous DIR to build with older copies"
    )


def test_cli_build_of_an_incomplete_snapshot_exits_2_with_one_line(site, pages, tmp_path, capsys):
    out = tmp_path / "snap"
    name = incomplete(site, pages, out)
    code = main(["build", str(out), "--out", str(tmp_path / "catalog")])
    err = capsys.readouterr().err
    snapshot_id = read_manifest(out).id
    assert code == 2
    assert err == (
        f"iam-catalog: error: {out}: snapshot {snapshot_id} is incomplete, 1 of {PAGES + 1} "
        f"files failed (first: html/{name}: HTTP 500 Internal Server Error (after 2 retries)); "
        "use --allow-incomplete --previous DIR to build with older copies\n"
    )
    assert not (tmp_path / "catalog").exists()


def test_allow_incomplete_takes_failed_pages_from_previous_as_stale(
    site, pages, snapshot, tmp_path, capsys
):
    out = tmp_path / "snap"
    name = incomplete(site, pages, out)
    code = main(
        [
            "build",
            str(out),
            "--out",
            str(tmp_path / "catalog"),
            "--allow-incomplete",
            "--previous",
            str(snapshot),
        ]
    )
    assert code == 0, capsys.readouterr().err
    catalog = json.loads((tmp_path / "catalog" / "catalog.json").read_text())
    assert catalog["source"]["kind"] == "snapshot"
    assert catalog["source"]["id"] == read_manifest(out).id
    assert catalog["source"]["pages"] == PAGES
    stale = [d for d in catalog["diagnostics"] if d["code"] == "stale-page"]
    prev = read_manifest(snapshot)
    assert stale == [
        {
            "page": str(out / "html" / name),
            "line": None,
            "severity": "warning",
            "code": "stale-page",
            "message": f"{out / 'html' / name}: fetch failed (HTTP 500 Internal Server Error "
            f"(after 2 retries)); built from the copy in snapshot {prev.id} "
            f"({snapshot / 'html' / name}, fetched {prev.files['html/' + name].fetched_at})",
        }
    ]
    # The stale copy is parsed: the catalog equals the complete snapshot's.
    assert build([out], allow_incomplete=True, previous=snapshot).catalog.services == (
        build([snapshot]).catalog.services
    )


def test_allow_incomplete_without_a_previous_copy_reports_the_page_missing(site, pages, tmp_path):
    out = tmp_path / "snap"
    name = incomplete(site, pages, out)
    result = build([out], allow_incomplete=True)
    missing = [d for d in result.catalog.diagnostics if d.code == "missing-page"]
    assert [(d.severity, d.message) for d in missing] == [
        (
            Severity.ERROR,
            f"{out / 'html' / name}: fetch failed (HTTP 500 Internal Server Error (after 2 "
            "retries)); no --previous snapshot given",
        )
    ]
    assert result.files == PAGES - 1


def test_cli_fetch_prints_one_summary_line_and_exits_0(site, tmp_path, capsys):
    out = tmp_path / "snap"
    argv = ["fetch", "--out", str(out), "--base-url", site.url(SAR_BASE), "--rate", "0"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    snapshot_id = read_manifest(out).id
    assert re.fullmatch(
        rf"fetched {PAGES}, unchanged 0, failed 0, \d+\.\d MB, \d+\.\d s -> {re.escape(str(out))} "
        rf"\(snapshot {snapshot_id}, complete\)\n",
        err,
    ), err
    assert main([*argv, "--previous", str(out)]) == 0
    assert capsys.readouterr().err.startswith(f"fetched 0, unchanged {PAGES}, failed 0, ")
    assert_consistent(out)


def test_cli_fetch_of_an_incomplete_snapshot_exits_2(site, pages, tmp_path, capsys):
    site.add_faults(SAR_BASE + pages[0].name, *[Fault("status", 503)] * 5)
    argv = ["fetch", "--out", str(tmp_path / "s"), "--base-url", site.url(SAR_BASE)]
    assert main([*argv, "--rate", "0", "--concurrency", "2", "--retries", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "INCOMPLETE; first failure html/" + pages[0].name in err
    assert read_manifest(tmp_path / "s").complete is False


def test_cli_fetch_with_no_network_exits_2_with_one_line(tmp_path, capsys):
    argv = ["fetch", "--out", str(tmp_path / "s"), "--base-url", NOWHERE, "--retries", "0"]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"iam-catalog: error: {NOWHERE}reference_policies_actions-")
    assert "cannot resolve host" in err
    assert list(tmp_path.iterdir()) == []


def test_cli_fetch_rejects_unknown_formats(tmp_path, capsys):
    code = main(["fetch", "--out", str(tmp_path / "s"), "--formats", "html,pdf"])
    assert code == 2
    assert capsys.readouterr().err == (
        "iam-catalog: error: unknown --formats 'pdf' (known: html,md,json)\n"
    )


def test_regenerate_with_no_network_builds_the_fixtures_and_says_so(tmp_path, capsys):
    fixtures = FIXTURES / "pages"
    argv = ["regenerate", "--snapshots", str(tmp_path / "snapshots"), "--out"]
    code = main(
        [*argv, str(tmp_path / "catalog"), "--fixtures", str(fixtures), "--base-url", NOWHERE]
    )
    lines = capsys.readouterr().err.splitlines()
    assert code == 0, lines
    assert lines[0].startswith("iam-catalog: no network (cannot resolve iam-catalog-test.invalid (")
    assert lines[0].endswith(f"); building from {fixtures} instead (source.kind = fixtures)")
    assert len(lines) == 2 and " -> " + str(tmp_path / "catalog") in lines[1]
    source = json.loads((tmp_path / "catalog" / "catalog.json").read_text())["source"]
    assert source["kind"] == "fixtures"
    assert source["note"].startswith(f"built from the sample pages in {fixtures}/: no network (")
    assert source["pages"] >= 1
    assert not (tmp_path / "snapshots").exists()


def test_regenerate_fetches_a_dated_snapshot_against_the_newest_one_and_builds_it(
    site, pages, tmp_path
):
    snaps = tmp_path / "snapshots"
    kwargs = {"snapshots": snaps, "fixtures": FIXTURES / "pages", "base_url": site.url(SAR_BASE)}
    first = regenerate(**kwargs, config=FAST, today="2026-04-01")
    assert first.fallback_reason is None and first.snapshot == snaps / "2026-04-01"
    assert first.fetch is not None and first.fetch.fetched == PAGES
    site.put(SAR_BASE + pages[0].name, marked(pages[0].read_bytes(), "changed"))
    second = regenerate(**kwargs, config=FAST, today="2026-04-02")
    assert second.fetch is not None
    assert (second.fetch.fetched, second.fetch.unchanged) == (1, PAGES - 1)
    manifest = read_manifest(snaps / "2026-04-02")
    assert manifest.previous == {
        "id": read_manifest(snaps / "2026-04-01").id,
        "path": str(snaps / "2026-04-01"),
    }
    source = second.result.catalog.source
    assert (source.kind, source.id) == ("snapshot", manifest.id)
    assert sorted(p.name for p in snaps.iterdir()) == ["2026-04-01", "2026-04-02"]


def test_regenerate_refuses_an_incomplete_fetch_unless_allowed(site, pages, tmp_path):
    snaps = tmp_path / "snapshots"
    kwargs = {"snapshots": snaps, "fixtures": FIXTURES / "pages", "base_url": site.url(SAR_BASE)}
    regenerate(**kwargs, config=FAST, today="2026-04-01")
    site.add_faults(SAR_BASE + pages[1].name, *[Fault("status", 500)] * 6)
    with pytest.raises(SourceError, match="is incomplete, 1 of"):
        regenerate(**kwargs, config=FAST, today="2026-04-02")
    outcome = regenerate(**kwargs, config=FAST, today="2026-04-03", allow_incomplete=True)
    codes = [d.code for d in outcome.result.catalog.diagnostics if d.code == "stale-page"]
    assert codes == ["stale-page"]


def test_regenerate_has_help_with_an_example_that_parses(capsys):
    with pytest.raises(SystemExit):
        main(["regenerate", "--help"])
    example = capsys.readouterr().out.split("example:", 1)[1].strip().splitlines()[0].strip()
    assert example.startswith("iam-catalog regenerate ")
    args = make_parser().parse_args(example.split()[1:])
    assert (args.snapshots, args.out, args.fixtures) == (
        "snapshots",
        "build/catalog",
        "fixtures/pages",
    )


def test_makefile_catalog_target_is_one_regenerate_line():
    makefile = (FIXTURES.parent / "Makefile").read_text()
    recipe = makefile.split("\ncatalog:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert recipe == [
        "\t$(BIN)/iam-catalog regenerate --snapshots snapshots --out build/catalog "
        "--fixtures fixtures/pages"
    ]


def test_snapshot_copy_keeps_working_after_the_original_is_moved(snapshot, tmp_path):
    moved = tmp_path / "moved"
    shutil.move(snapshot, moved)
    assert build([moved]).catalog.source.id == read_manifest(moved).id


@pytest.mark.parametrize("option", ["--base-url", "--json-base-url"])
def test_cli_fetch_rejects_a_base_url_that_is_not_http(option, tmp_path, capsys):
    argv = ["fetch", "--out", str(tmp_path / "s"), "--formats", "html,json"]
    assert main([*argv, option, "file:///etc/"]) == 2
    assert capsys.readouterr().err == "iam-catalog: error: file:///etc/: not an http(s) URL\n"
    assert list(tmp_path.iterdir()) == []
