"""Fuzz run over mutants of corpus pages of every format (issue 17, must show 2).

1,040 mutants (40 of each of 26 seeds: html of 2026 and 2020, markdown-table,
markdown-list, service-reference, pipe-text and flat-text), fixed seed, each read the
way ``build`` reads a file (:func:`output.build.parse_bytes`: decode, detect, parse)
under a per-mutant alarm. Counted: tracebacks (an exception out of ``parse_bytes`` or a
``parser-crash`` diagnostic), hangs (the alarm), and silent losses: a mutant that
yields fewer actions than its seed without an error or warning diagnostic.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.fuzz_pages import MUTATIONS, Mutant, mutants, seeds

MUTANTS_PER_SEED = 40
HANG_SECONDS = 10


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang


def _actions(page: object) -> int:
    from iam_catalog.parsers.model import ParsedPage

    return len(page.actions) if isinstance(page, ParsedPage) else 0


def _verdict(mutant: Mutant, original: int) -> str:
    from iam_catalog.output.build import PARSER_CRASH, parse_bytes
    from iam_catalog.parsers.model import Diagnostic, Severity

    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        page = parse_bytes(Path(mutant.seed.name), mutant.data)
    except _Hang:
        return "hang"
    except Exception:
        return "traceback"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    diagnostics = [page] if isinstance(page, Diagnostic) else list(page.diagnostics)
    if any(d.code == PARSER_CRASH for d in diagnostics):
        return "traceback"
    if _actions(page) < original:
        said = any(d.severity in (Severity.ERROR, Severity.WARNING) for d in diagnostics)
        return "diagnosed loss" if said else "silent loss"
    return "ok"


def test_fuzzed_corpus_pages_never_crash_hang_or_lose_actions_silently(corpus, capsys):
    from iam_catalog.output.build import parse_bytes

    start = time.perf_counter()
    originals = {s.name: _actions(parse_bytes(Path(s.name), s.data)) for s in seeds(corpus)}
    formats = Counter(s.format for s in seeds(corpus))
    assert set(formats) == {
        "html",
        "markdown-table",
        "markdown-list",
        "service-reference",
        "pipe-text",
        "flat-text",
    }
    assert len(originals) == sum(formats.values())  # names are unique
    assert all(originals.values()), originals  # every seed has actions to lose

    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        verdicts: Counter[str] = Counter()
        losses: list[tuple[str, tuple[str, ...]]] = []
        for mutant in mutants(corpus, MUTANTS_PER_SEED):
            verdict = _verdict(mutant, originals[mutant.seed.name])
            verdicts[verdict] += 1
            if verdict not in ("ok", "diagnosed loss"):
                losses.append((f"{verdict}: {mutant.seed.name}", mutant.mutations))
    finally:
        signal.signal(signal.SIGALRM, previous)
    seconds = time.perf_counter() - start
    with capsys.disabled():
        print(
            f"\nfuzz: {sum(verdicts.values())} mutants of {formats} in {seconds:.1f}s: {verdicts}"
        )
    assert sum(verdicts.values()) == len(originals) * MUTANTS_PER_SEED >= 1000
    assert verdicts["diagnosed loss"] > 100  # the mutations do damage, and it is seen
    assert losses == []


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_changes_a_page(name):
    import random

    data = b"<html><body><table><tr><td>GetObject</td></tr></table></body></html>\n" * 3
    rng = random.Random(1)
    assert any(MUTATIONS[name](data, rng) != data for _ in range(5))
