"""Diff reports a person opens: the HTML report of 2020-11-01 -> 2026-04-01 and of
2025-11-01 -> 2026-04-01 in headless Chromium, and the HTML of one resource type whose
ARN formats all changed.

Load time is measured by the page itself: a script added at the end of a copy of the
report logs ``performance.now()`` (milliseconds since navigation started) once the load
event has fired and the next frame was drawn, and Chromium's log carries that line out.
Chromium's own start-up is not in the figure. Median of ROUNDS fresh browser profiles.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROUNDS = 3
TARGET_MS = 2000
ARN_FORMATS = (400, 1600)

PROBE = (
    '<script>addEventListener("load",function(){requestAnimationFrame(function(){'
    'setTimeout(function(){console.log("IAMLOAD "+Math.round(performance.now()));},0);});});'
    "</script>\n"
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1400,1000",
)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def load_ms(browser: str, page: Path) -> int:
    """Milliseconds from navigation start to the first frame after load, in a fresh
    profile."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / page.name
        probe.write_text(page.read_text(encoding="utf-8") + PROBE, encoding="utf-8")
        result = subprocess.run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp}/profile",
                f"--screenshot={tmp}/shot.png",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    found = re.search(r"IAMLOAD (\d+)", result.stderr)
    if found is None:
        raise SystemExit(f"bench: no load time from chromium ({result.stderr[-500:]})")
    return int(found.group(1))


def _arn_catalogs(n: int):  # type: ignore[no-untyped-def]
    from iam_catalog.parsers.model import Catalog, CatalogSource, PageRef, ResourceType, Service

    def catalog(fmt: str, id: str) -> Catalog:
        rt = ResourceType("thing", tuple(fmt.format(i) for i in range(n)))
        page = PageRef("p", "html", "x")
        return Catalog(
            CatalogSource("files", id, 1, ()), (Service("svc", "Svc", (page,), (), (rt,)),)
        )

    return (
        catalog("arn:${{Partition}}:svc:${{Region}}:${{Account}}:thing/{}/${{ThingId}}", "o"),
        catalog("arn:${{Partition}}:svc:${{Region}}:${{Account}}:thing-v2/{}/${{Name}}", "n"),
    )


def run(corpus: Path) -> None:
    from iam_catalog.output.build import build
    from iam_catalog.output.diff import diff
    from iam_catalog.output.report import render_html

    html = corpus / "html"
    new = build([html / "2026-04-01_110d32e3"]).catalog
    browser = chromium()
    for old_folder in ("2020-11-01_65f99eab", "2025-11-01_f2b93173"):
        old = build([html / old_folder]).catalog
        d = diff(old, new)
        start = time.perf_counter()
        page = render_html(d)
        seconds = time.perf_counter() - start
        line = (
            f"html {old_folder[:10]} -> 2026-04-01: {len(d.changes)} changes, "
            f"{len(page.encode('utf-8')) / 1e6:.1f} MB, rendered in {seconds:.2f} s"
        )
        if browser is None:
            print(line + "; chromium not installed, no load time")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "report.html"
            path.write_text(page, encoding="utf-8")
            times = [load_ms(browser, path) for _ in range(ROUNDS)]
        median = statistics.median(times)
        verdict = "ok" if median < TARGET_MS else "OVER TARGET"
        runs = ", ".join(str(t) for t in times)
        print(
            f"{line}; opens in {median:.0f} ms in headless Chromium (median of {ROUNDS}: "
            f"{runs}); target < {TARGET_MS} ms: {verdict}"
        )
    for n in ARN_FORMATS:
        d = diff(*_arn_catalogs(n))
        start = time.perf_counter()
        render_html(d)
        print(
            f"html of one resource type with {n} ARN formats all changed: "
            f"{time.perf_counter() - start:.2f} s"
        )
