"""The README is tested: its first commands, its examples run, every command documented."""

from __future__ import annotations

import glob
import re
import shlex

import pytest

from iam_catalog.output.cli import main, make_parser

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(text: str) -> list[list[str]]:
    """The README's code blocks (```sh and plain ```), as lists of lines."""
    return [b.strip().splitlines() for b in re.findall(r"```(?:sh)?\n(.*?)```", text, re.S)]


def test_readme_starts_with_make_catalog_and_make_test():
    first = _blocks(README)[0]
    assert [line.split("#")[0].strip() for line in first] == ["make catalog", "make test"]


def test_readme_examples_run(tmp_path, monkeypatch, capsys):
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    monkeypatch.chdir(tmp_path)
    examples = next(b for b in _blocks(README) if b[0].startswith("iam-catalog formats"))
    codes = []
    for line in examples:
        argv = shlex.split(line)
        assert argv[0] == "iam-catalog"
        codes.append(main(argv[1:]))
    # formats ok, build ok, diff of the sample pages against their own catalog: no change
    assert codes == [0, 0, 0]
    assert (tmp_path / "build" / "catalog" / "catalog.json").is_file()
    assert "no changes" in capsys.readouterr().out.lower()


def test_every_command_is_documented_in_the_readme():
    sub = next(a for a in make_parser()._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"iam-catalog {name}" in README, name


def _help_examples() -> list[str]:
    """Every example line of every --help, the top level's and each command's."""
    parsers = [make_parser()]
    found: list[str] = []
    while parsers:
        parser = parsers.pop(0)
        epilog = parser.epilog or ""
        found += [line.strip() for line in epilog.splitlines() if line.startswith("  iam-catalog")]
        for action in parser._actions:
            if action.choices and isinstance(action.choices, dict):
                parsers += list(action.choices.values())
    return found


def _readme_examples() -> list[str]:
    """Every `iam-catalog` line of the README's shell blocks, but the synopsis (its
    placeholders are upper case: SOURCE, DIR, ...)."""
    lines = [line.split("  #")[0].strip() for block in _blocks(README) for line in block]
    return [
        line
        for line in lines
        if line.startswith("iam-catalog ") and not re.search(r"\b[A-Z]{3,}\b|\[", line)
    ]


def _shell_words(line: str) -> list[str]:
    """The words a shell makes of ``line``: split, and each pattern that matches files
    replaced by them, sorted (one that matches none stays as it is, as in bash)."""
    words: list[str] = []
    for word in shlex.split(line):
        matches = sorted(glob.glob(word)) if glob.has_magic(word) else []
        words += matches or [word]
    return words


@pytest.mark.parametrize("where", ["help", "readme"])
def test_every_example_of_help_and_readme_runs_from_a_checkout_after_make_catalog(
    where, tmp_path, monkeypatch, capsys
):
    """As written, in a folder holding what a checkout has after `make catalog` (a snapshot
    in snapshots/ and its catalog in build/catalog). fetch and regenerate, `make catalog`'s
    included, go to a local copy of the site (S3, EC2 and DeepRacer pages of the corpus, or
    two sample pages without it): the one change, as tests never touch the internet."""
    from .conftest import corpus_dir
    from .servers import INDEX, SAR_BASE, SiteServer, sar_index

    try:
        release = corpus_dir() / "html" / "2026-04-01_110d32e3"
        names = (
            "list_amazons3.html",
            "list_amazonec2.html",
            "list_awsdeepracer.html",
            # the services of the nightly's smoke actions (iam:PassRole, sts:AssumeRole, ...)
            "list_awsidentityandaccessmanagementiam.html",
            "list_awssecuritytokenservice.html",
            "list_awskeymanagementservice.html",
        )
        pages = [release / name for name in names]
    except pytest.skip.Exception:
        pages = [
            ROOT / "fixtures/html" / n
            for n in ("sar2023_rowspan.html", "constructed_2026-07_layout.html")
        ]
    site = {SAR_BASE + f"list_{p.stem.removeprefix('list_')}.html": p.read_bytes() for p in pages}
    site[SAR_BASE + INDEX] = sar_index(path.rsplit("/", 1)[1] for path in site)
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    monkeypatch.chdir(tmp_path)
    # In turn, as a reader would try them: those of --help, or those of the README.
    examples = _help_examples() if where == "help" else _readme_examples()
    assert len(examples) >= 8
    with SiteServer(site) as server:
        local = ["--base-url", server.url(SAR_BASE), "--rate", "0"]
        assert main(["regenerate", *local]) == 0  # what `make catalog` runs
        for line in examples:
            argv = _shell_words(line)[1:]
            if argv[0] in ("fetch", "regenerate") or argv[:2] == ["nightly", "--snapshots"]:
                argv += local
            try:
                code = main(argv)
            except SystemExit as e:  # --version
                code = int(e.code or 0)
            captured = capsys.readouterr()
            expected = (0, 1) if argv[0] == "diff" else (0,)
            if argv[0] == "nightly" and not pages[0].name.startswith("list_"):
                expected = (0, 3)  # the sample pages lack the smoke actions: quarantined
            assert code in expected, (line, captured.err)
            assert "Traceback" not in captured.err
    assert (tmp_path / "build" / "catalog" / "catalog.json").is_file()
