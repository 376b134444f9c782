"""Run one ``iam-catalog`` command in this process and report what happened, as JSON.

``python -m tests.hostile_child REPORT -- ARGS...`` runs ``iam_catalog.output.cli.main(ARGS)``
with stdout and stderr captured and writes REPORT: the exit code, stderr, a traceback if
``main`` raised, the CPU seconds and peak RSS of this program, and, when ARGS has ``--out
DIR`` and the build wrote ``DIR/catalog.json``, the actions and diagnostics in it. The
hostile-input tests start it under a memory limit and a timeout (see
``tests/test_hostile_inputs.py``): a report that never comes is a hang or a blow-up.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import traceback
from pathlib import Path


def _catalog(args: list[str]) -> dict[str, object] | None:
    if "--out" not in args:
        return None
    path = Path(args[args.index("--out") + 1]) / "catalog.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_bytes())
    return {
        "actions": sorted(
            f"{prefix}:{name}"
            for prefix, service in data["services"].items()
            for name in service["actions"]
        ),
        "diagnostics": [[d["severity"], d["code"], d["message"]] for d in data["diagnostics"]],
    }


def _peak_rss_mb() -> float:
    """This program's peak resident memory. VmHWM starts afresh at exec; ru_maxrss does
    not, so under a forking parent (pytest holding built catalogs) it reports the
    parent's size as the child's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    report_path, sep, *args = argv
    assert sep == "--", "usage: python -m tests.hostile_child REPORT -- ARGS..."
    out, err = io.StringIO(), io.StringIO()
    error = None
    code = None
    try:
        from iam_catalog.output.cli import main as cli_main

        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_main(args)
    except MemoryError:
        error = "MemoryError"
    except BaseException:  # a traceback is what the suite counts as a crash
        error = traceback.format_exc()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "exit": code,
        "stderr": err.getvalue(),
        "error": error,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": _peak_rss_mb(),
        "catalog": _catalog(args),
    }
    Path(report_path).write_text(json.dumps(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
