"""`kill -9` at 20 random points of a night (the whole process group, a real `iam-catalog
nightly` process against a real local server) leaves `latest`, `index.json`,
`CHANGELOG.md`, `feed.xml` and every earlier release whole and readable; the next night
succeeds and catches up."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from .nightly_helpers import (
    OLDER,
    check_release,
    check_releases,
    load_corpus_pages,
    night_args,
    serve,
    small_pages,
    swappable,
)
from .servers import SAR_BASE, SiteServer

KILLS = 20
SEED = 14


def _night(base_url: str, root: Path, day: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "iam_catalog", "nightly", *night_args(base_url, root, day)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill takes its workers too
    )


def _release_digests(releases: Path) -> dict[str, dict[str, str]]:
    return {
        p.name: check_release(p)["files"]
        for p in releases.iterdir()
        if p.is_dir() and not p.is_symlink() and (p / "manifest.json").is_file()
        if not p.name.startswith(".") and p.name != "quarantine"
    }


def test_kill_9_at_20_random_points_of_a_night_leaves_every_release_whole(corpus, tmp_path):
    base = small_pages(load_corpus_pages(corpus))
    older = corpus / "html" / OLDER
    # Two versions of the site, served in turn, so that every night has a release to make;
    # a third for the last night, unlike both.
    swapped = [n for n in swappable(base, older) if "s3" not in n][:3]
    assert len(swapped) == 3
    variants = [
        base,
        {**base, **{n: (older / n).read_bytes() for n in swapped}},
        {**base, **{n: (older / n).read_bytes() for n in swapped[:1]}},
    ]
    releases = tmp_path / "releases"
    rng = random.Random(SEED)
    outcomes = {"killed": 0, "finished": 0, "killed after publishing": 0}
    with SiteServer() as site:
        url = site.url(SAR_BASE)
        # Two whole nights; the second (page cache warm, like the ones killed) sets the
        # window the kills are drawn from.
        for day, variant in (("2026-12-01", variants[0]), ("2026-12-02", variants[1])):
            serve(site, variant)
            started = time.monotonic()
            whole = _night(url, tmp_path, day)
            assert whole.wait(300) == 0, whole.stderr.read() if whole.stderr else ""
            duration = time.monotonic() - started
        for i in range(KILLS):
            serve(site, variants[i % 2])
            before = _release_digests(releases)
            proc = _night(url, tmp_path, f"2026-12-{i + 3:02d}")
            time.sleep(rng.uniform(0, duration))
            killed = proc.poll() is None
            if killed:
                os.killpg(proc.pid, signal.SIGKILL)
            outcomes["killed" if killed else "finished"] += 1
            proc.wait(60)
            assert proc.stderr is not None
            proc.stderr.close()
            # Whole and readable: latest, the index, the changelog, the feed, each release.
            names_now = check_releases(releases, up_to_date=False)
            after = _release_digests(releases)
            for rid, files in before.items():
                assert after[rid] == files, f"release {rid} changed by kill {i}"
            outcomes["killed after publishing"] += killed and len(after) > len(before)
            assert set(names_now) == set(after)
        # The next night succeeds, and brings the index, changelog, feed and latest up to
        # the newest release.
        serve(site, variants[2])
        last = _night(url, tmp_path, "2026-12-31")
        assert last.wait(300) == 0, last.stderr.read() if last.stderr else ""
    names_final = check_releases(releases)
    index = json.loads((releases / "index.json").read_text())
    assert [e["id"] for e in index["releases"]] == names_final
    assert (releases / "latest").readlink().as_posix() == names_final[-1]
    assert names_final[-1] == "2026-12-31"
    print(f"kill -9 trials: {outcomes}, night of {duration:.1f} s")
