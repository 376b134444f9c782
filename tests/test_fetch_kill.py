"""``kill -9`` of ``iam-catalog fetch`` at random points, against a real server on
127.0.0.1: the snapshot folder is always the old snapshot or the new one, whole, and the
next run leaves nothing of the killed one behind."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sys
import time
from pathlib import Path

import pytest

from iam_catalog.scraper.fetch import fetch_snapshot
from iam_catalog.scraper.snapshot import read_manifest, snapshot_pages

from .servers import SAR_BASE, SiteServer, marked, sar_site
from .test_scraper_fetch import FAST, html_pages

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="renameat2 and /proc")

FORK = multiprocessing.get_context("fork")
TRIALS = 50
PAGES = 8
# Per response: spreads the fetch (index, 8 pages, 2 at a time) over some 0.1 s, so that
# the kill points fall on requests, the manifest and the swap alike.
LATENCY = 0.02


def whole_snapshot_id(out: Path) -> str:
    """The id of the snapshot at ``out`` after checking it is whole: a manifest, every page
    it lists there and verified, nothing else inside."""
    manifest = read_manifest(out)
    assert manifest.complete
    assert len(snapshot_pages(out).files) == PAGES
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk == {*manifest.files, "manifest.json"}
    return manifest.id


def hidden_beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith("."))


def test_kill_9_at_random_points_of_a_fetch_leaves_old_or_new_whole(corpus, tmp_path):
    pages = html_pages(corpus)[100 : 100 + PAGES]
    rng = random.Random(9)
    out = tmp_path / "snapshots" / "snap"
    outcomes = {"old": 0, "new": 0}
    with SiteServer(sar_site(pages), latency=LATENCY) as site:
        base = site.url(SAR_BASE)
        began = time.monotonic()
        old_id = fetch_snapshot(out, base_url=base, config=FAST, concurrency=2).id
        # Kill points from the first request to half again the time a whole fetch takes.
        window = (time.monotonic() - began) * 1.5
        for trial in range(TRIALS):
            # A new version of one page: the fetch that gets killed would make a new id.
            name = pages[trial % PAGES].name
            site.put(SAR_BASE + name, marked(site.data(SAR_BASE + name), str(trial)))
            site.reset_counts()
            # A real process doing the real fetch, forked rather than started afresh (an
            # interpreter start would take most of the time of each trial).
            fetch = FORK.Process(
                target=fetch_snapshot,
                args=(out,),
                kwargs={"base_url": base, "config": FAST, "concurrency": 2},
            )
            fetch.start()
            while not site.requests and fetch.is_alive():  # it is up and fetching
                time.sleep(0.001)
            time.sleep(rng.uniform(0.0, window))
            assert fetch.pid is not None
            os.kill(fetch.pid, signal.SIGKILL)
            fetch.join()
            killed_id = whole_snapshot_id(out)  # never missing, never a mix
            # The next run: it finishes, and nothing of the killed one is left.
            new_id = fetch_snapshot(out, base_url=base, config=FAST, concurrency=2).id
            assert killed_id in (old_id, new_id), trial
            outcomes["old" if killed_id == old_id else "new"] += 1
            assert whole_snapshot_id(out) == new_id
            assert hidden_beside(out) == [], trial
            old_id = new_id
    # The kill points fell before the swap and after it, not all on one side.
    assert outcomes["old"] > 0 and outcomes["new"] > 0, outcomes
    print(f"kill -9 of fetch: {TRIALS} trials, {outcomes}")


def test_leftovers_of_killed_fetches_are_removed_unless_a_live_fetch_holds_them(tmp_path):
    import fcntl

    from iam_catalog.scraper.fetch import remove_stale_fetches

    snapshots = tmp_path / "snapshots"
    (snapshots / "2026-12-05").mkdir(parents=True)
    (snapshots / "2026-12-05" / "manifest.json").write_text("{}")
    legacy = snapshots / ".2026-12-04.partial-k2x9_q1"  # before atomic_folder
    killed = snapshots / ".2026-12-05.new-0123456789ab"
    cut = snapshots / ".2026-12-03.old-0123456789ab"  # swapped out, never swapped back
    live = snapshots / ".2026-12-06.new-ba9876543210"
    for folder in (legacy, killed, cut, live):
        (folder / "html").mkdir(parents=True)
        (folder / "html" / "list_x.html").write_text("x")
    held = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a fetch running now holds its folder
        remove_stale_fetches(snapshots)
    finally:
        os.close(held)
    assert sorted(p.name for p in snapshots.iterdir()) == [
        live.name,
        "2026-12-03",  # the snapshot cut off between two renames, put back
        "2026-12-05",
    ]
    assert (snapshots / "2026-12-03" / "html" / "list_x.html").read_text() == "x"
