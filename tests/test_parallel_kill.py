"""``build --jobs N`` killed from outside (SIGKILL, SIGTERM): no worker outlives it."""

from __future__ import annotations

import random
import signal
import sys
import time

import pytest

from .kills import kill_and_count_orphans, start, wait_for_members

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="counts processes in /proc")

TRIALS = 12
JOBS = 3


def test_workers_exit_when_build_is_killed(corpus, tmp_path):
    rng = random.Random(17)
    orphans = []
    for trial in range(TRIALS):
        sig = signal.SIGKILL if trial % 2 == 0 else signal.SIGTERM
        build = start(
            [
                "build",
                str(corpus / "html" / "2026-04-01_110d32e3"),
                "--out",
                str(tmp_path / "out"),
                "--jobs",
                str(JOBS),
            ]
        )
        wait_for_members(build, JOBS)  # the workers are reading
        # A random point of the parse (the whole build takes some 2 s with 2 CPUs).
        time.sleep(rng.uniform(0.0, 0.6))
        orphans.append(kill_and_count_orphans(build, sig))
    assert orphans == [0] * TRIALS
