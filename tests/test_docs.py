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
