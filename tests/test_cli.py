"""The command line: help with an example for every command, `formats`, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from iam_catalog.output.cli import main, make_parser
from iam_catalog.parsers.detect import FORMATS
from tests.conftest import FIXTURES

COMMANDS = ("build", "diagnostics", "diff", "fetch", "formats", "regenerate")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out
    example = out.split("example:", 1)[1].strip().splitlines()[0].strip()
    assert example.startswith(f"iam-catalog {command}")
    # the example parses with the real argument parser
    make_parser().parse_args(example.split()[1:])


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"iam-catalog {command}" in out


def test_formats_prints_one_line_per_registered_format(capsys):
    assert main(["formats"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(FORMATS)
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)


def test_unknown_option_exits_2_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "--frobnicate"])
    assert exit_info.value.code == 2
    assert "usage: iam-catalog build" in capsys.readouterr().err


def test_console_script_is_installed_and_runs():
    exe = sys.executable.rsplit("/", 1)[0] + "/iam-catalog"
    result = subprocess.run([exe, "formats"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].startswith("service-reference")


def test_build_shows_progress_on_a_terminal(tmp_path):
    import fcntl
    import os
    import pty
    import struct
    import termios

    from .conftest import SEEDS

    exe = sys.executable.rsplit("/", 1)[0] + "/iam-catalog"
    primary, secondary = pty.openpty()
    # a new pseudo-terminal is 0 columns wide, and tqdm draws nothing in 0 columns
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        result = subprocess.run(
            [exe, "build", str(SEEDS), "--out", str(tmp_path / "out"), "--jobs", "1"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=secondary,
            check=False,
            timeout=60,
        )
        os.close(secondary)
        secondary = -1
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
        if secondary != -1:
            os.close(secondary)
    text = shown.decode("utf-8", "replace")
    assert result.returncode == 0, text
    assert "parsing:   0%" in text and "0/5 [" in text  # the tqdm bar, drawn at its start
    assert "5 files, 5 pages, 5 services" in text


def test_a_build_imports_no_http_stack(tmp_path):
    """requests and urllib3 are a third of the import time of `iam-catalog build`, which
    fetches nothing: only fetch and regenerate load them."""
    code = (
        "import sys\n"
        "from iam_catalog.output.cli import main\n"
        f"status = main(['build', {str(FIXTURES / 'html')!r}, '--out', {str(tmp_path)!r}])\n"
        "print(status, sorted(m for m in ('requests', 'urllib3') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[0] == "0 []"
