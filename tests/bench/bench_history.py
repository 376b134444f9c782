"""History (iam_catalog.history): 365 synthetic daily releases and the corpus backfill.

- 365 releases: the 2026 HTML catalog, then each day the previous one with
  tests.bench.synthetic's changes (20 actions edited, 5 added, 3 removed, one ARN format
  added): database size and the time of each ``add`` (catalog already in memory, as the
  nightly job has it), median and max. Target: < 100 MB, < 1 s per release.
- Backfill of every HTML date of the corpus (``iam-catalog history backfill``, building
  each folder as ``build`` would), in a child process: wall time and database size.
  Target: < 1 minute.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

DAYS = 365
TARGET_MB, TARGET_ADD_S, TARGET_BACKFILL_S = 100, 1.0, 60.0


def run(corpus: Path) -> None:
    from iam_catalog.history import History
    from iam_catalog.output.build import build
    from tests.bench.synthetic import daily_releases

    base = build([corpus / "html" / "2026-04-01_110d32e3"]).catalog
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.sqlite"
        start = date(2027, 1, 1)
        times = []
        with History.open(db, create=True) as history:
            t = time.perf_counter()
            history.add(base, start.isoformat())
            first = time.perf_counter() - t
            for day, catalog in enumerate(daily_releases(base, DAYS), 1):
                t = time.perf_counter()
                history.add(catalog, (start + timedelta(days=day)).isoformat())
                times.append(time.perf_counter() - t)
        size = db.stat().st_size / 1e6
        print(
            f"history: {DAYS} synthetic daily releases after the 2026 catalog: "
            f"{size:.1f} MB (target < {TARGET_MB}); add median {statistics.median(times):.3f} s, "
            f"max {max(times):.3f} s (target < {TARGET_ADD_S}); the first, full release "
            f"{first:.2f} s"
        )

        folders = sorted(str(p) for p in (corpus / "html").iterdir())
        db2 = Path(tmp) / "backfill.sqlite"
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "iam_catalog",
                "history",
                "backfill",
                "--db",
                str(db2),
                *folders,
            ],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        took = time.perf_counter() - t
        print(
            f"history: backfill of the {len(folders)} HTML dates of the corpus "
            f"({sum(1 for f in folders for _ in Path(f).iterdir())} pages): {took:.1f} s "
            f"(target < {TARGET_BACKFILL_S:.0f}), {db2.stat().st_size / 1e6:.1f} MB"
        )
