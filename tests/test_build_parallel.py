"""Parallel builds (``build(..., jobs=N)``, ``iam-catalog build --jobs N``): worker
processes read and parse the pages, and the output is byte-identical for any N."""

from __future__ import annotations

import dataclasses
import gc
import os
import pickle
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from iam_catalog.output.build import (
    _MIN_FILES_FOR_WORKERS,
    _dumps,
    _map_files,
    build,
    load_catalog,
    parse_bytes,
)
from iam_catalog.output.cli import main
from iam_catalog.output.writers import CSV_COLUMNS, dumps_catalog, write_catalog_dir
from tests.conftest import FIXTURES


def _output_bytes(out: Path) -> dict[str, bytes]:
    return {
        name: (out / name).read_bytes()
        for name in ["catalog.json", *(f"csv/{n}" for n in CSV_COLUMNS)]
    }


def _fields(obj: Any) -> Any:
    """Every field of a model value, compare=False ones (page, line) included."""
    if dataclasses.is_dataclass(obj):
        return (
            type(obj).__name__,
            *(_fields(getattr(obj, f.name)) for f in dataclasses.fields(obj)),
        )
    if isinstance(obj, tuple | list):
        return tuple(_fields(v) for v in obj)
    return obj


def _pid(item: tuple[Path, str | None]) -> tuple[int, bytes]:
    return os.getpid(), b""


def _slow_pid(item: tuple[Path, str | None]) -> tuple[int, bytes]:
    """The process that read the item, taking long enough that a worker starts meanwhile."""
    time.sleep(0.02)
    return os.getpid(), b""


@pytest.fixture(scope="module")
def html_2020_outputs(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The 2020 HTML folder built and written with jobs=1 and with jobs=2 (pages parsed
    in worker processes)."""
    folder = corpus / "html" / "2020-11-01_65f99eab"
    outs = {}
    for jobs in (1, 2):
        out = tmp_path_factory.mktemp(f"jobs{jobs}")
        write_catalog_dir(build([folder], jobs=jobs).catalog, out)
        outs[jobs] = out
    return outs


def test_jobs_1_and_2_write_byte_identical_catalog_and_csv(
    html_2020_outputs: dict[int, Path],
) -> None:
    serial = _output_bytes(html_2020_outputs[1])
    parallel = _output_bytes(html_2020_outputs[2])
    assert serial.keys() == parallel.keys()
    for name in serial:
        assert serial[name] == parallel[name], name
    assert b'"pages": 243' in serial["catalog.json"]


def test_parallel_build_parses_here_and_in_worker_processes() -> None:
    """jobs=2: this process and one worker each read a part, every item exactly once."""
    work: list[tuple[Path, str | None]] = [(Path(f"p{i}"), None) for i in range(40)]
    got = list(_map_files(_slow_pid, work, 2))
    assert sorted(i for i, _ in got) == list(range(40))
    pids = {pid for _, (pid, _) in got}
    assert os.getpid() in pids
    assert len(pids) == 2
    # This process reads from the front, the worker from the back.
    here = sorted(i for i, (pid, _) in got if pid == os.getpid())
    there = sorted(i for i, (pid, _) in got if pid != os.getpid())
    assert here[0] == 0 and there[-1] == 39 and here[-1] < there[0]
    assert {pid for _, (pid, _) in _map_files(_pid, work, 1)} == {os.getpid()}


def test_few_files_are_parsed_in_this_process_whatever_the_jobs() -> None:
    work: list[tuple[Path, str | None]] = [(Path("p"), None)] * (_MIN_FILES_FOR_WORKERS - 1)
    assert {pid for _, (pid, _) in _map_files(_pid, work, 4)} == {os.getpid()}


def test_jobs_below_one_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jobs must be at least 1, not 0"):
        build([FIXTURES / "html"], jobs=0)


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """The hand-written HTML fixtures twice, an empty, a binary and a non-UTF-8 file:
    enough files for worker processes."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i in range(2):
        for page in sorted((FIXTURES / "html").glob("*.html")):
            shutil.copy(page, folder / f"{i}_{page.name}")
    (folder / "empty.html").write_bytes(b"")
    (folder / "binary.html").write_bytes(b"\x00\x01\x02" * 10)
    (folder / "latin1.html").write_bytes("<html><p>caf\xe9</p></html>".encode("latin-1"))
    assert len(list(folder.iterdir())) >= _MIN_FILES_FOR_WORKERS
    return folder


def test_bad_files_give_the_same_diagnostics_in_order_with_any_jobs(mixed_folder: Path) -> None:
    folder = mixed_folder
    seen: dict[int, list[Path]] = {1: [], 3: []}
    results = {
        jobs: build([folder], jobs=jobs, on_file=seen[jobs].append).catalog for jobs in (1, 3)
    }
    # Each file is reported once; with workers, in the order they finish.
    assert seen[1] == sorted(seen[3]) == sorted(folder.iterdir())
    assert dumps_catalog(results[1]) == dumps_catalog(results[3])
    codes = {d.code for d in results[3].diagnostics}
    assert {"empty-file", "binary-file", "not-utf8"} <= codes


def test_worker_pickling_keeps_every_field_including_provenance(corpus: Path) -> None:
    """What a worker sends back is rebuilt with page and line, which equality ignores."""
    path = corpus / "html" / "2026-04-01_110d32e3" / "list_amazons3.html"
    page = parse_bytes(path, path.read_bytes())
    back = pickle.loads(_dumps(parse_bytes(path, path.read_bytes())))
    assert _fields(back) == _fields(page)
    assert back.actions[0].line is not None and back.actions[0].page == "list_amazons3"


def test_cli_jobs_option_builds_the_same_output(mixed_folder: Path, tmp_path: Path) -> None:
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        assert main(["build", str(mixed_folder), "--out", str(out), "--jobs", jobs]) == 0
    assert _output_bytes(tmp_path / "out1") == _output_bytes(tmp_path / "out2")


def test_cli_rejects_jobs_zero(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["build", str(FIXTURES / "html"), "--out", str(tmp_path), "--jobs", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --jobs: must be a whole number of at least 1, not '0'" in err


@pytest.mark.parametrize("enabled", [True, False])
def test_build_write_and_load_leave_the_garbage_collector_as_they_found_it(
    enabled: bool, tmp_path: Path
) -> None:
    """Building, writing and loading a catalog pause the cyclic collector while objects
    pile up, then restore it."""
    if enabled:
        gc.enable()
    else:
        gc.disable()
    try:
        catalog = build([FIXTURES / "html"], jobs=1).catalog
        assert gc.isenabled() is enabled
        write_catalog_dir(catalog, tmp_path)
        assert gc.isenabled() is enabled
        assert dumps_catalog(load_catalog(tmp_path / "catalog.json")) == dumps_catalog(catalog)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
