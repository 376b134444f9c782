"""Fetch all pages of html/2026-04-01_110d32e3 from a local server that adds 50 ms to
every response, at concurrency 4 and 8, then again with ``--previous``.

The ideal wall time is ``pages x latency / concurrency``; the target is within 1.3x.
The per-host rate limit is set well above what the ideal needs (so it is not what makes
a fetch slow) and the time spent waiting on it is printed. The re-run should transfer
no page body: every page answers 304 and is copied from the first snapshot.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from iam_catalog.scraper.fetch import fetch_snapshot
from iam_catalog.scraper.http import HttpConfig
from tests.servers import INDEX, SAR_BASE, SiteServer, sar_site

LATENCY = 0.05
CONCURRENCY = (4, 8)
TARGET_RATIO = 1.3
# Requests per second per host for the bench: twice what concurrency 8 needs at 50 ms
# (160/s), so the limit never binds. The default (10/s) is for the real site.
BENCH_RATE = 400.0


def run(corpus: Path) -> None:
    pages = sorted((corpus / "html" / "2026-04-01_110d32e3").glob("*.html"))
    n = len(pages)
    size = sum(p.stat().st_size for p in pages)
    print(
        f"input: {n} pages, {size / 1e6:.1f} MB; server latency {LATENCY * 1000:.0f} ms per "
        f"response; rate limit {BENCH_RATE:.0f}/s per host (default {HttpConfig().rate:.0f}/s)"
    )
    with (
        SiteServer(sar_site(pages), latency=LATENCY) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        index_path = SAR_BASE + INDEX
        for c in CONCURRENCY:
            config = HttpConfig(rate=BENCH_RATE, burst=c)
            ideal = n * LATENCY / c
            first = Path(tmp) / f"c{c}-first"
            server.reset_counts()
            t = time.perf_counter()
            s1 = fetch_snapshot(first, base_url=server.url(SAR_BASE), concurrency=c, config=config)
            full = time.perf_counter() - t
            served_full = server.body_bytes - server.bytes_by_path[index_path]
            server.reset_counts()
            t = time.perf_counter()
            s2 = fetch_snapshot(
                Path(tmp) / f"c{c}-again",
                base_url=server.url(SAR_BASE),
                concurrency=c,
                previous=first,
                config=config,
            )
            again = time.perf_counter() - t
            served_again = server.body_bytes - server.bytes_by_path[index_path]
            assert s1.complete and s2.complete and s1.fetched == n and s2.unchanged == n
            for label, secs, served, summary in (
                ("full fetch", full, served_full, s1),
                ("with --previous", again, served_again, s2),
            ):
                ratio = secs / ideal
                verdict = "ok" if ratio <= TARGET_RATIO else "SLOW"
                print(
                    f"concurrency {c} {label:<16}: {secs:6.2f} s, ideal {ideal:5.2f} s, "
                    f"{ratio:4.2f}x ({verdict}, target <= {TARGET_RATIO}x); page bytes served "
                    f"{served:,}; rate-limit wait {summary.rate_wait:.2f} s"
                )
