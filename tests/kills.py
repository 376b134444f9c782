"""Real kills of real processes for the crash tests: start a command in a session of its
own, kill it with a signal, and list what is left of its process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "iam_catalog"]


def group_members(pgid: int) -> list[int]:
    """Pids of the live (not zombie) processes in process group ``pgid``, from /proc."""
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:  # it ended while we looked
            continue
        fields = stat.rsplit(")", 1)[1].split()  # state, ppid, pgrp, ...
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(name))
    return members


def start(args: list[str], **env: str) -> subprocess.Popen[bytes]:
    """``python -m iam_catalog ARGS`` in a new session (its own process group)."""
    return subprocess.Popen(
        [*CLI, *args],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )


def wait_for_members(process: subprocess.Popen[bytes], count: int, timeout: float = 30.0) -> None:
    """Wait until ``process``'s group has ``count`` live members (its workers started)."""
    deadline = time.monotonic() + timeout
    while len(group_members(process.pid)) < count:
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{process.args}: never had {count} processes")
        time.sleep(0.005)


def kill_and_count_orphans(
    process: subprocess.Popen[bytes], sig: signal.Signals, grace: float = 0.5
) -> int:
    """Send ``sig`` to ``process`` only (not its group), wait ``grace`` seconds, and
    return how many processes of its group are still alive (then kill those)."""
    process.send_signal(sig)
    process.wait()
    assert process.stderr is not None
    process.stderr.close()
    time.sleep(grace)
    left = group_members(process.pid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return len(left)
