"""Diff of the two full HTML catalogs (2020-11-01 -> 2026-04-01): time and peak memory.

The two catalogs are built once, here, and written as catalog.json; a fresh child
process loads them (not timed) and then times ``diff`` (median of REPEATS runs) and
each report renderer. Peak memory is measured two ways in the child: tracemalloc's
peak of what ``diff`` itself allocates, and the child's max RSS (which includes the
interpreter and both loaded catalogs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 5
TARGET_SECONDS = 1.0

CHILD = """
import json, statistics, sys, time, tracemalloc
from pathlib import Path
from iam_catalog.output.build import load_catalog
from iam_catalog.output.diff import diff
from iam_catalog.output.report import render

old = load_catalog(Path(sys.argv[1]))
new = load_catalog(Path(sys.argv[2]))
repeats = int(sys.argv[3])
times = []
for _ in range(repeats):
    t = time.perf_counter()
    result = diff(old, new)
    times.append(time.perf_counter() - t)
tracemalloc.start()
result = diff(old, new)
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
renders = {}
for fmt in ("json", "md", "html"):
    t = time.perf_counter()
    text = render(result, fmt)
    renders[fmt] = (time.perf_counter() - t, len(text.encode("utf-8")))
print(json.dumps({
    "median": statistics.median(times),
    "runs": times,
    "tracemalloc_peak": peak,
    "changes": len(result.changes),
    "summary": result.summary.to_dict(),
    "renders": renders,
}))
"""


def run(corpus: Path) -> None:
    from iam_catalog.output.build import build
    from iam_catalog.output.writers import dumps_catalog

    folders = [corpus / "html" / "2020-11-01_65f99eab", corpus / "html" / "2026-04-01_110d32e3"]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for folder in folders:
            t = time.perf_counter()
            catalog = build([folder]).catalog
            path = Path(tmp) / f"{folder.name}.json"
            path.write_bytes(dumps_catalog(catalog))
            actions = sum(len(s.actions) for s in catalog.services)
            print(
                f"built {folder.name}: {len(catalog.services)} services, {actions} actions "
                f"in {time.perf_counter() - t:.1f} s"
            )
            paths.append(str(path))
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, *paths, str(REPEATS)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("bench child failed")
    data = json.loads(out.strip().splitlines()[-1])
    runs = ", ".join(f"{t:.3f}" for t in data["runs"])
    verdict = "ok" if data["median"] < TARGET_SECONDS else "OVER TARGET"
    print(
        f"diff: {data['changes']} changes, median {data['median']:.3f} s over {REPEATS} runs "
        f"({runs}); target < {TARGET_SECONDS:.0f} s: {verdict}"
    )
    print(
        f"diff peak memory: {data['tracemalloc_peak'] / 2**20:.1f} MiB allocated by diff "
        f"(tracemalloc); child max RSS {usage.ru_maxrss / 1024:.0f} MiB incl. both catalogs"
    )
    for fmt, (seconds, size) in data["renders"].items():
        print(f"render {fmt}: {seconds:.3f} s, {size / 1e6:.2f} MB")
