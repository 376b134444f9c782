"""Bad input: each unusable file gives one diagnostic naming the file and the reason,
and the rest of the build goes on; `build` exits 2 only when nothing usable was found."""

from __future__ import annotations

import shutil

import orjson
import pytest

from iam_catalog.output.build import build
from iam_catalog.output.cli import main

from .conftest import SEEDS

GOOD_SEED = next(SEEDS.glob("002_*.txt"))  # Amazon Personalize, GitHub markdown


def _errors_by_file(catalog, path):
    return [d for d in catalog.diagnostics if d.page == str(path)]


@pytest.fixture
def mixed(tmp_path, corpus):
    """A folder with one good page of each of two formats and one bad file of each kind."""
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(GOOD_SEED, src / "good_personalize.md")
    shutil.copy(corpus / "html/2026-04-01_110d32e3/list_awsdeepracer.html", src)
    bad = {
        "empty.html": b"",
        "blank.md": b"  \n\n \t\n",
        "binary.html": bytes(range(256)) * 4,
        "latin1.html": "<html><body>Actions d\u00e9finies</body></html>".encode("latin-1"),
        "prose.txt": b"Lorem ipsum dolor sit amet.\nNothing about IAM here.\n",
        "big.html": b"<html>" + b"x" * 600_000 + b"</html>",
    }
    for name, data in bad.items():
        (src / name).write_bytes(data)
    return src, bad


EXPECTED_CODES = {
    "empty.html": "empty-file",
    "blank.md": "empty-file",
    "binary.html": "binary-file",
    "latin1.html": "not-utf8",
    "prose.txt": "unknown-format",
    "big.html": "too-large",
}


def test_each_bad_file_gives_one_diagnostic_naming_it_and_the_build_goes_on(mixed):
    src, _ = mixed
    result = build([src], size_cap=500_000)
    catalog = result.catalog
    for name, code in EXPECTED_CODES.items():
        diags = _errors_by_file(catalog, src / name)
        assert [(d.code, d.severity.value) for d in diags] == [(code, "error")], name
        assert diags[0].message.startswith(f"{src / name}: ")
    assert {s.prefix for s in catalog.services} == {"personalize", "deepracer"}
    assert result.files == 8
    assert catalog.source.pages == 2


def test_reasons_are_specific(mixed):
    src, _ = mixed
    catalog = build([src], size_cap=500_000).catalog
    by_code = {d.code: d.message for d in catalog.diagnostics if d.page.startswith(str(src))}
    assert "byte 0xe9 at offset" in by_code["not-utf8"]
    assert "over the size cap of 500000 bytes" in by_code["too-large"]
    assert by_code["unknown-format"].endswith("content matches no known format")


def test_build_exits_2_only_when_nothing_usable(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "empty.html").write_bytes(b"")
    assert main(["build", str(src), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert (
        err == "iam-catalog: error: nothing usable in the sources "
        f"({src / 'empty.html'}: empty file)\n"
    )
    assert not (tmp_path / "out").exists()


def test_build_with_some_bad_files_exits_0_and_strict_exits_2(mixed, tmp_path, capsys):
    src, _ = mixed
    out = tmp_path / "out"
    assert main(["build", str(src), "--out", str(out), "--size-cap", "500000"]) == 0
    catalog = orjson.loads((out / "catalog.json").read_bytes())
    assert sorted(catalog["services"]) == ["deepracer", "personalize"]
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert summary.startswith("8 files, 2 pages, 2 services, ")
    assert main(["build", str(src), "--out", str(out), "--size-cap", "500000", "--strict"]) == 2
    assert "(--strict: the first of 6 error diagnostics; " in capsys.readouterr().err


def test_missing_source_is_a_one_line_error(tmp_path, capsys):
    assert main(["build", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert (
        capsys.readouterr().err
        == f"iam-catalog: error: {tmp_path / 'nope'}: no such file or folder\n"
    )
