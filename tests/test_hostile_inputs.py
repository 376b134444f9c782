"""Hostile inputs (issue 17, the parsing half): every case of ``tests/hostile_cases.py``
runs the real command in a child process under a memory limit and a timeout, and is
judged on five counts that must all be zero:

- crash: a traceback (in the child or as a ``parser-crash`` diagnostic), an exit code
  other than the one expected, or a refusal that is not one line naming the file and
  the place;
- hang: no answer within :data:`TIMEOUT_SECONDS`;
- blow-up: more than :data:`CPU_SECONDS` of CPU or :data:`PEAK_RSS_MB` of memory
  (a small multiple of the 20 MB size cap), or killed by the address-space limit;
- silent loss: fewer actions than the undamaged input with no error or warning
  diagnostic saying why, or an action the case names missing;
- undiagnosed: none of the diagnostic codes the case expects.

The inputs are generated from corpus pages into a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from collections import Counter
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import ROOT, corpus_dir
from tests.hostile_cases import CASES, COMPANION, COMPANION_ACTION, Case

TIMEOUT_SECONDS = 60
CPU_SECONDS = 10.0
PEAK_RSS_MB = 600
# The child's address space: Python, lxml and the libraries map some 400 MB before
# reading anything; past this a case is a blow-up (MemoryError or killed).
ADDRESS_SPACE = 2 * 1024**3


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _baseline(original: Path, corpus: Path) -> int:
    """Actions the undamaged input and the companion page yield."""
    from iam_catalog.output.build import build

    result = build([original, corpus / COMPANION], jobs=1)
    return sum(len(s.actions) for s in result.catalog.services)


def run_case(case: Case, corpus: Path, tmp: Path) -> tuple[str, dict[str, object]]:
    """The verdict on one case (``ok`` or the first count it falls under) and the
    child's report."""
    args, original = case.make(corpus, tmp)
    report_path = tmp / "report.json"
    command = [sys.executable, "-m", "tests.hostile_child", str(report_path), "--", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            preexec_fn=_limit_memory,
            timeout=TIMEOUT_SECONDS,
            capture_output=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "hang", {}
    if not report_path.exists():  # killed: the address-space limit or a signal
        return "blow-up", {}
    report = json.loads(report_path.read_text(encoding="utf-8"))
    if report["error"] == "MemoryError":
        return "blow-up", report
    if report["error"] is not None:
        return "crash", report
    if report["cpu_seconds"] > CPU_SECONDS or report["peak_rss_mb"] > PEAK_RSS_MB:
        return "blow-up", report
    if report["exit"] != case.exit:
        return "crash", report
    if case.refusal is not None:
        lines = str(report["stderr"]).splitlines()
        return ("ok" if len(lines) == 1 and re.match(case.refusal, lines[0]) else "crash"), report
    catalog = report["catalog"]
    assert isinstance(catalog, dict)
    diagnostics = catalog["diagnostics"]
    codes = {code for _, code, _ in diagnostics}
    if "parser-crash" in codes:
        return "crash", report
    actions = set(catalog["actions"])
    if original is not None:
        report["baseline_actions"] = baseline = _baseline(original, corpus)
        said = {code for severity, code, _ in diagnostics if severity in ("error", "warning")}
        if len(actions) < baseline and not said & case.codes:
            return "silent loss", report
    must_have = case.must_have if case.exit else (*case.must_have, COMPANION_ACTION)
    if any(name not in actions for name in must_have):
        return "silent loss", report
    if not codes & case.codes:
        return "undiagnosed", report
    return "ok", report


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, dict]]:
    corpus = corpus_dir()
    run = partial(run_case, corpus=corpus)
    return {case.name: run(case, tmp=tmp_path_factory.mktemp(case.name)) for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_answered_within_bounds(case: Case, verdicts) -> None:
    verdict, report = verdicts[case.name]
    assert verdict == "ok", (case.covers, report)


def test_hostile_input_counts_are_all_zero(verdicts, capsys) -> None:
    counts = Counter(verdict for verdict, _ in verdicts.values())
    reports = [r for _, r in verdicts.values() if r]
    figures = {
        "cases": len(verdicts),
        "crashes": counts["crash"],
        "hangs": counts["hang"],
        "blow-ups": counts["blow-up"],
        "silent losses": counts["silent loss"],
        "undiagnosed": counts["undiagnosed"],
        "max CPU s": round(max(float(r["cpu_seconds"]) for r in reports), 2),
        "max peak RSS MB": round(max(float(r["peak_rss_mb"]) for r in reports)),
    }
    with capsys.disabled():
        print(f"\nhostile inputs: {figures}")
    assert len(verdicts) == len(CASES) >= 35
    assert counts == Counter({"ok": len(CASES)}), figures


def test_one_wrongly_typed_json_among_455_costs_one_diagnostic_not_the_build(corpus, tmp_path):
    """AWS's JSON of 2026-03-31, all 455 services, with s3's first action's Annotations a
    number and ec2's first action's Resources a number: the build goes on, every service
    and action is there, and each bad file is reported once."""
    from iam_catalog.output.build import build

    source = corpus / "servicereference" / "2026-03-31"
    folder = tmp_path / "json"
    for path in source.rglob("*.json"):
        target = folder / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    for service, field in (("s3", "Annotations"), ("ec2", "Resources")):
        path = folder / service / f"{service}.json"
        data = json.loads(path.read_bytes())
        data["Actions"][0][field] = 5
        path.write_text(json.dumps(data), encoding="utf-8")

    clean = build([source], jobs=1).catalog
    result = build([folder], jobs=1).catalog
    assert len(result.services) == len(clean.services) == 455
    assert sum(len(s.actions) for s in result.services) == sum(
        len(s.actions) for s in clean.services
    )
    bad = [d for d in result.diagnostics if d.code == "bad-field"]
    assert sorted((d.page, d.severity.value) for d in bad) == [("ec2", "error"), ("s3", "error")]
    assert not [d for d in result.diagnostics if d.code == "parser-crash"]
