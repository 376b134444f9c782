"""A checkout without ../shared beside it (no corpus, no seeds): the suite collects every
test and runs every one that does not need the corpus; under CI (CI=true) the corpus is
still required."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

# The test files that read the sample pages (they read ../shared/seeds before).
SAMPLE_READERS = (
    "tests/test_build_inputs.py",
    "tests/test_flat_text.py",
    "tests/test_pipe_text.py",
    "tests/test_service_reference.py",
    "tests/test_cross_format.py",
)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A clone of this checkout's committed files, alone in its folder (no ../shared)."""
    folder = tmp_path_factory.mktemp("alone") / "iam-catalog"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(folder)], check=True
    )
    assert not (folder.parent / "shared").exists()
    return folder


def _pytest(clone: Path, *argv: str, ci: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "IAM_CATALOG_CORPUS")}
    env["PYTHONPATH"] = str(clone)  # the clone's iam_catalog, not this checkout's
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *argv],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _count(output: str, what: str) -> int:
    found = re.search(rf"(\d+) {what}", output.strip().splitlines()[-1])
    return int(found.group(1)) if found else 0


def test_the_clone_imports_its_own_package(clone):
    env = {**os.environ, "PYTHONPATH": str(clone)}
    code = "import iam_catalog; print(iam_catalog.__file__)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=clone, env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == str(clone / "iam_catalog" / "__init__.py")


def test_every_test_is_collected_without_the_shared_folder(clone):
    here = _pytest(ROOT, "--collect-only")
    there = _pytest(clone, "--collect-only")
    assert there.returncode == 0, there.stdout[-3000:]
    assert "error" not in there.stdout.splitlines()[-1]
    # Every test of the clone's files: as many as here, less the ones of files not
    # committed yet (none in a clean checkout).
    committed = set(
        subprocess.run(
            ["git", "ls-files", "tests"], cwd=ROOT, capture_output=True, text=True
        ).stdout.split()
    )
    here_ids = [i for i in here.stdout.splitlines() if i.split("::")[0] in committed]
    there_ids = [i for i in there.stdout.splitlines() if "::" in i]
    assert there_ids == here_ids
    assert len(there_ids) > 1000


def test_the_tests_of_the_sample_pages_run_without_the_shared_folder(clone):
    done = _pytest(clone, "-rs", *SAMPLE_READERS)
    assert done.returncode == 0, done.stdout[-3000:]
    passed, skipped = _count(done.stdout, "passed"), _count(done.stdout, "skipped")
    collected = _pytest(clone, "--collect-only", *SAMPLE_READERS).stdout.count("::")
    assert passed + skipped == collected
    assert passed >= 50  # 52 when written: every one that reads only the sample pages
    # What is skipped is skipped for want of the corpus, and only that.
    reasons = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skipped > 0 and len(reasons) > 0
    assert all("corpus not found" in line for line in reasons)


def test_under_ci_a_missing_corpus_fails_instead_of_skipping(clone):
    done = _pytest(clone, "tests/test_corpus_build.py", "-x", ci=True)
    assert done.returncode == 1
    assert "Failed: corpus not found" in done.stdout
