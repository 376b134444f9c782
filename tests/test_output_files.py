"""Files a person or another program can read: every file and folder the tool writes gets
the mode an ordinary open() / mkdir() gives under the caller's umask, and a build's output
folder is one unit (the old set or the new one, never a mix, even after `kill -9`)."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from iam_catalog.atomic import atomic_folder
from iam_catalog.output.build import build
from iam_catalog.output.writers import CSV_COLUMNS, DIAGNOSTICS_CSV, write_catalog_dir
from iam_catalog.parsers.errors import OutputError

from .conftest import FIXTURES
from .servers import SAR_BASE, SiteServer, sar_site

EXE = str(Path(sys.executable).parent / "iam-catalog")
# Three pages of the 2026 release: enough for fetch and regenerate, quick to serve.
SITE_PAGES = ("list_amazons3.html", "list_awsdeepracer.html", "list_amazonec2.html")


def _run(argv: list[str], umask: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *argv], cwd=cwd, umask=umask, capture_output=True, text=True, timeout=120
    )


def _modes(root: Path) -> dict[str, int]:
    """Mode bits of everything below ``root`` (not ``root`` itself), by relative path."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            found[path.relative_to(root).as_posix()] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _assert_ordinary_modes(root: Path, umask: int) -> None:
    modes = _modes(root)
    assert modes  # something was written
    for rel, mode in modes.items():
        is_dir = (root / rel).is_dir()
        expected = (0o777 if is_dir else 0o666) & ~umask
        assert (rel, oct(mode)) == (rel, oct(expected))


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_build_diff_and_their_overwrites_write_what_open_and_mkdir_give(tmp_path, umask):
    work = tmp_path / "work"
    work.mkdir()
    for _ in range(2):  # the second run overwrites every file
        done = _run(["build", str(FIXTURES / "pages"), "--out", "out/catalog"], umask, work)
        assert done.returncode == 0, done.stderr
        catalog = "out/catalog/catalog.json"
        done = _run(["diff", str(FIXTURES / "html"), catalog, "--output", "r/d.md"], umask, work)
        assert done.returncode == 1, done.stderr
        done = _run(
            ["history", "add", "--db", "h.sqlite", "--date", "2026-12-01", catalog], umask, work
        )
        assert done.returncode == 0, done.stderr
    assert (work / "out/catalog" / DIAGNOSTICS_CSV).is_file()
    assert (work / "r/d.md").read_text().startswith("#")
    _assert_ordinary_modes(work, umask)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_fetch_and_regenerate_write_what_open_and_mkdir_give(tmp_path, corpus, umask):
    pages = [corpus / "html" / "2026-04-01_110d32e3" / name for name in SITE_PAGES]
    work = tmp_path / "work"
    work.mkdir()
    with SiteServer(sar_site(pages)) as site:
        base = ["--base-url", site.url(SAR_BASE), "--rate", "0"]
        for argv in (
            ["fetch", "--out", "snap/a", *base],
            ["fetch", "--out", "snap/a", "--previous", "snap/a", *base],  # overwrites
            ["fetch", "--out", "snap/b", "--previous", "snap/a", *base],  # hard links
            ["regenerate", "--snapshots", "snaps", "--out", "cat", *base],
            ["regenerate", "--snapshots", "snaps", "--out", "cat", *base],
        ):
            done = _run(argv, umask, work)
            assert done.returncode == 0, (argv, done.stderr)
    assert sorted(p.name for p in (work / "snap" / "a" / "html").iterdir()) == sorted(SITE_PAGES)
    assert (work / "cat" / "catalog.json").is_file()
    _assert_ordinary_modes(work, umask)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_regenerate_with_no_network_writes_what_open_and_mkdir_give(tmp_path, umask):
    work = tmp_path / "work"
    work.mkdir()
    nowhere = "http://iam-catalog-test.invalid/service-authorization/latest/reference/"
    argv = ["regenerate", "--snapshots", "snaps", "--out", "fallback", "--base-url", nowhere]
    done = _run([*argv, "--fixtures", str(FIXTURES / "pages")], umask, work)
    assert done.returncode == 0, done.stderr
    assert orjson.loads((work / "fallback/catalog.json").read_bytes())["source"]["kind"] == (
        "fixtures"
    )
    _assert_ordinary_modes(work, umask)


# A sample export of each shape, registered by the test (see output/exports): the edge
# that writes an export into place is what is tested, with every export registered.
NAME, DESCRIPTION, EXAMPLE = "sample", "a sample export", "iam-catalog export sample C --output x"
OUTPUT = "folder"


def write(catalog, out: Path) -> None:  # type: ignore[no-untyped-def]
    """A folder holding a file and a folder, as an export module writes it."""
    (out / "services").mkdir(parents=True)
    (out / "services" / "all.txt").write_text("\n".join(s.prefix for s in catalog.services))
    (out / "README").write_text("sample\n")


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_exports_write_what_open_and_mkdir_give(tmp_path, monkeypatch, umask):
    from iam_catalog.output.exports import EXPORTS, export, load

    monkeypatch.setitem(EXPORTS, "sample", __name__)
    catalog = build([FIXTURES / "pages"], jobs=1).catalog
    work = tmp_path / "work"
    work.mkdir()
    previous = os.umask(umask)
    try:
        for name in EXPORTS:
            suffix = "" if load(name).OUTPUT == "folder" else ".out"
            for _ in range(2):  # the second one replaces the first
                export(name, catalog, work / "exports" / f"{name}{suffix}")
    finally:
        os.umask(previous)
    assert (work / "exports" / "sample" / "services" / "all.txt").is_file()
    _assert_ordinary_modes(work, umask)


def _written_set(out: Path) -> dict[str, bytes]:
    """Every file of an output folder, hidden ones included, by relative path."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


def test_the_output_folder_is_written_whole_with_every_file(tmp_path):
    catalog = build([FIXTURES / "pages"], jobs=1).catalog
    out = tmp_path / "out"
    written = write_catalog_dir(catalog, out)
    names = sorted(p.relative_to(out).as_posix() for p in written)
    expected = ["catalog.json", *(f"csv/{n}" for n in CSV_COLUMNS), DIAGNOSTICS_CSV]
    assert names == sorted(expected)
    assert sorted(_written_set(out)) == names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing hidden beside it


def test_a_folder_holding_other_files_is_refused_and_left_as_it_was(tmp_path):
    catalog = build([FIXTURES / "pages"], jobs=1).catalog
    out = tmp_path / "home"
    (out / "csv").mkdir(parents=True)
    (out / "notes.txt").write_text("mine\n")
    (out / "csv" / "mine.xlsx").write_text("mine\n")
    with pytest.raises(OutputError) as raised:
        write_catalog_dir(catalog, out)
    assert str(raised.value) == (
        f"{out}: holds files a build does not write (csv/mine.xlsx, notes.txt); the build "
        "replaces the folder whole: give --out a new or empty folder, or one a build wrote"
    )
    assert _written_set(out) == {"notes.txt": b"mine\n", "csv/mine.xlsx": b"mine\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_a_failure_while_filling_leaves_the_previous_set_and_no_temp_folder(tmp_path):
    out = tmp_path / "out"
    write_catalog_dir(build([FIXTURES / "pages"], jobs=1).catalog, out)
    before = _written_set(out)
    with pytest.raises(RuntimeError), atomic_folder(out) as staging:
        (staging / "catalog.json").write_text("half")
        raise RuntimeError("disk full")
    assert _written_set(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_reader_holding_the_old_folder_open_keeps_reading_the_old_set(tmp_path):
    """The swap replaces the folder, not the files in it: a file opened before the swap
    still reads the old bytes to the end (its folder is removed, its data is not)."""
    out = tmp_path / "out"
    first = build([FIXTURES / "pages"], jobs=1).catalog
    write_catalog_dir(first, out)
    old = (out / "catalog.json").read_bytes()
    with (out / "catalog.json").open("rb") as held:
        write_catalog_dir(build([FIXTURES / "html"], jobs=1).catalog, out)
        assert held.read() == old
    assert (out / "catalog.json").read_bytes() != old


# The kill -9 trials: a child process writes set A and set B into the same folder in turn,
# and is killed at a random moment; the folder must then be A or B whole.
KILL_TRIALS = 50
KILL_SEED = 20261206


def _writer_child(out: Path, catalogs: list, done: int) -> None:  # type: ignore[type-arg]
    """In a forked child: write the catalogs into ``out`` in turn, forever, writing a byte
    to ``done`` after each."""
    try:
        while True:
            for catalog in catalogs:
                write_catalog_dir(catalog, out)
                os.write(done, b".")
    finally:
        os._exit(0)


def test_kill_9_at_random_points_leaves_the_old_or_the_new_set_never_a_mix(tmp_path):
    a = build([FIXTURES / "pages"], jobs=1).catalog
    b = build([FIXTURES / "html"], jobs=1).catalog
    expected = []
    for i, catalog in enumerate((a, b)):
        write_catalog_dir(catalog, tmp_path / f"expected-{i}")
        expected.append(_written_set(tmp_path / f"expected-{i}"))
    # Every file differs between the two sets, so a mix cannot pass for either.
    assert all(expected[0][name] != expected[1][name] for name in expected[0])
    # How long one write takes here and now (the machine may be busy): each kill falls
    # after 0 to 3 writes of the child, somewhere in the next one, wherever the child is.
    started = time.monotonic()
    write_catalog_dir(b, tmp_path / "timing")
    one = time.monotonic() - started
    out = tmp_path / "runs" / "out"
    write_catalog_dir(a, out)
    rng = random.Random(KILL_SEED)
    seen = {0: 0, 1: 0}
    leftovers = 0
    for _ in range(KILL_TRIALS):
        done_r, done_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(done_r)
            _writer_child(out, [b, a], done_w)
        os.close(done_w)
        for _ in range(rng.randrange(4)):
            assert os.read(done_r, 1) == b"."
        time.sleep(rng.uniform(0.0, one))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(done_r)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        found = _written_set(out)
        assert found in expected, sorted(found)
        seen[expected.index(found)] += 1
        leftovers += len(list(out.parent.iterdir())) - 1
    # The kills fell on both sides of swaps, and in the middle of writes.
    assert seen[0] > 0 and seen[1] > 0, seen
    assert leftovers > 0
    # The next run removes what the killed ones left.
    write_catalog_dir(a, out)
    assert [p.name for p in out.parent.iterdir()] == ["out"]
    assert _written_set(out) == expected[0]


def test_kill_9_of_the_command_at_random_points_leaves_a_whole_set(tmp_path):
    """The same, through the command line: the build's own write phase killed."""
    sources = [FIXTURES / "pages", FIXTURES / "html"]
    expected = []
    for i, source in enumerate(sources):
        subprocess.run([EXE, "build", str(source), "--out", str(tmp_path / f"e{i}")], check=True)
        expected.append(_written_set(tmp_path / f"e{i}"))
    out = tmp_path / "runs" / "out"
    subprocess.run([EXE, "build", str(sources[0]), "--out", str(out)], check=True)
    started = time.monotonic()
    subprocess.run([EXE, "build", str(sources[1]), "--out", str(out)], check=True)
    whole_run = time.monotonic() - started
    rng = random.Random(KILL_SEED)
    for trial in range(10):
        source = sources[(trial + 1) % 2]
        proc = subprocess.Popen(
            [EXE, "build", str(source), "--out", str(out)], stderr=subprocess.DEVNULL
        )
        # The second half of a run is where it writes.
        time.sleep(rng.uniform(whole_run * 0.5, whole_run * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _written_set(out) in expected
    subprocess.run([EXE, "build", str(sources[0]), "--out", str(out)], check=True)
    assert [p.name for p in out.parent.iterdir()] == ["out"]
