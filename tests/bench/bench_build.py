"""Full build of html/2026-04-01_110d32e3 versus the bare lxml.html parse of the same files.

Each measurement runs in a fresh child process (so peak RSS is its own); the time is
taken inside the child around the work only (imports excluded), median of REPEATS runs
alternating the two, so both see the same machine load.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPEATS = 3

BARE_LXML = """
import sys, time
from pathlib import Path
import lxml.html
files = sorted(Path(sys.argv[1]).glob("*.html"))
t = time.perf_counter()
for f in files:
    lxml.html.document_fromstring(f.read_bytes())
print(time.perf_counter() - t)
"""

FULL_BUILD = """
import sys, time
from pathlib import Path
from output.build import build
from output.writers import write_catalog_dir
t = time.perf_counter()
result = build([Path(sys.argv[1])])
write_catalog_dir(result.catalog, Path(sys.argv[2]))
print(time.perf_counter() - t)
"""


def measure(code: str, *args: str) -> tuple[float, int]:
    """(seconds reported by the child, child's peak RSS in KiB)."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bench child failed with exit {proc.returncode}")
    return float(out.strip().splitlines()[-1]), usage.ru_maxrss


def run(corpus: Path) -> None:
    pages = corpus / "html" / "2026-04-01_110d32e3"
    files = sorted(pages.glob("*.html"))
    size = sum(f.stat().st_size for f in files)
    print(f"input: {len(files)} pages, {size / 1e6:.1f} MB ({pages})")
    bare, full = [], []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(REPEATS):
            bare.append(measure(BARE_LXML, str(pages)))
            full.append(measure(FULL_BUILD, str(pages), out))
    b = statistics.median(t for t, _ in bare)
    f = statistics.median(t for t, _ in full)
    for label, secs, runs in (("bare lxml.html parse", b, bare), ("full build (+ write)", f, full)):
        rss = max(m for _, m in runs) / 1024
        print(f"{label:<21}: {secs:7.3f} s  (median of {REPEATS}; peak RSS {rss:.0f} MiB)")
    print(f"ratio full / bare    : {f / b:7.2f}x  (target <= 2.0x)")
