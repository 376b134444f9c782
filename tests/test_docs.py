"""The README is tested: its first commands, its examples run, every command documented."""

from __future__ import annotations

import re
import shlex

from iam_catalog.output.cli import main, make_parser

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(text: str) -> list[list[str]]:
    return [b.strip().splitlines() for b in re.findall(r"```sh\n(.*?)```", text, re.S)]


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


def test_every_example_of_help_and_readme_runs_from_a_checkout_after_make_catalog(
    tmp_path, monkeypatch, capsys
):
    """As written, in a folder holding what a fresh clone has after `make catalog` with no
    network (the sample pages' catalog in build/catalog). fetch and regenerate go to a
    local copy of the site: the one change, as tests never touch the internet."""
    from .servers import INDEX, SAR_BASE, SiteServer, sar_index

    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    monkeypatch.chdir(tmp_path)
    nowhere = "http://iam-catalog-test.invalid/service-authorization/latest/reference/"
    assert main(["regenerate", "--base-url", nowhere]) == 0  # what `make catalog` runs
    examples = _help_examples() + _readme_examples()
    assert len(examples) >= 10
    pages = [ROOT / "fixtures/html" / n for n in ("sar2023_rowspan.html", "colspan.html")]
    site = {SAR_BASE + f"list_{p.stem}.html": p.read_bytes() for p in pages}
    site[SAR_BASE + INDEX] = sar_index(f"list_{p.stem}.html" for p in pages)
    with SiteServer(site) as server:
        for line in examples:
            argv = shlex.split(line)[1:]
            if argv[0] in ("fetch", "regenerate"):
                argv += ["--base-url", server.url(SAR_BASE), "--rate", "0"]
            try:
                code = main(argv)
            except SystemExit as e:  # --version
                code = int(e.code or 0)
            captured = capsys.readouterr()
            assert code in ((0, 1) if argv[0] == "diff" else (0,)), (line, captured.err)
            assert "Traceback" not in captured.err
    assert (tmp_path / "report.html").is_file()
