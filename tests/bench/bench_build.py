"""Full build of html/2026-04-01_110d32e3 versus the bare lxml.html parse of the same files.

Each measurement runs in a fresh child process (so peak RSS is its own); the time is
taken inside the child around the work only (imports excluded), median of REPEATS runs
alternating the three, so all see the same machine load. Nine rounds, not five: on the
shared 2-CPU machine single rounds of the two-process build ranged from 1.0x to 2.5x the
bare parse within one run, and the median of five ranged from 1.56x to 2.20x over twelve
runs of the same code.

The full build is the command a user runs, ``iam-catalog build PAGES --out DIR``, called
in the child (its summary line discarded), measured twice: serial (``--jobs 1``,
everything in one process, like the bare parse) and with the default number of jobs
(worker processes read and parse pages beside the main process, which also merges and
writes). The bare parse is always serial. A parallel build's memory is its main process
plus each worker: both are printed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPEATS = 9
TARGET = 2.0

BARE_LXML = """
import json, resource, sys, time
from pathlib import Path
import lxml.html
files = sorted(Path(sys.argv[1]).glob("*.html"))
t = time.perf_counter()
for f in files:
    lxml.html.document_fromstring(f.read_bytes())
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

FULL_BUILD = """
import contextlib, json, os, resource, sys, time
from iam_catalog.output.cli import main
# what the command imports when it runs: not timed
import iam_catalog.output.build, iam_catalog.output.writers
jobs = sys.argv[3]
t = time.perf_counter()
with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):  # its summary line
    status = main(["build", sys.argv[1], "--out", sys.argv[2], "--jobs", jobs])
seconds = time.perf_counter() - t
assert status == 0, status
print(json.dumps({
    "seconds": seconds,
    "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "workers_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
}))
"""


def measure(code: str, *args: str) -> dict[str, float]:
    """What the child reports: seconds of work, its peak RSS in KiB (``rss``) and, for a
    build, the largest peak RSS of its worker processes (``workers_rss``)."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, _ = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bench child failed with exit {proc.returncode}")
    data: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return data


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def run(corpus: Path) -> None:
    from iam_catalog.output.build import default_jobs

    pages = corpus / "html" / "2026-04-01_110d32e3"
    files = sorted(pages.glob("*.html"))
    size = sum(f.stat().st_size for f in files)
    jobs = default_jobs()
    print(f"input: {len(files)} pages, {size / 1e6:.1f} MB ({pages}); {jobs} CPU(s) usable")
    bare: list[dict[str, float]] = []
    serial: list[dict[str, float]] = []
    parallel: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(REPEATS):
            bare.append(measure(BARE_LXML, str(pages)))
            serial.append(measure(FULL_BUILD, str(pages), out, "1"))
            parallel.append(measure(FULL_BUILD, str(pages), out, str(jobs)))
    b = _median(bare, "seconds")
    rss = max(r["rss"] for r in bare)
    print(f"bare lxml.html parse      : {b:7.3f} s  (median of {REPEATS}; peak RSS {_mib(rss)})")
    for label, runs in (("full build, jobs=1", serial), (f"full build, jobs={jobs}", parallel)):
        f = _median(runs, "seconds")
        main_rss = max(r["rss"] for r in runs)
        workers_rss = max(r["workers_rss"] for r in runs)
        memory = f"peak RSS {_mib(main_rss)}"
        if runs is parallel and jobs > 1:
            memory += f" main + children of up to {_mib(workers_rss)} each"
        print(f"{label:<26}: {f:7.3f} s  (median of {REPEATS}; {memory})")
    for label, runs in (("jobs=1", serial), (f"jobs={jobs}", parallel)):
        ratio = _median(runs, "seconds") / b
        verdict = "ok" if ratio <= TARGET else "OVER TARGET"
        # Each round measures the bare parse and the builds back to back: the spread of
        # their ratios shows how much the machine moved during the run.
        rounds = sorted(r["seconds"] / p["seconds"] for r, p in zip(runs, bare, strict=True))
        print(
            f"ratio full / bare, {label:<7}: {ratio:7.2f}x  (target <= {TARGET}x: {verdict}; "
            f"per round {rounds[0]:.2f}-{rounds[-1]:.2f}x)"
        )
