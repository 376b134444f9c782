"""Shared test fixtures. Corpus tests find the unpacked corpus through
IAM_CATALOG_CORPUS; under CI (CI=true) a missing corpus is a failure, not a skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEEDS = ROOT.parent / "shared" / "seeds"


def corpus_dir() -> Path:
    value = os.environ.get("IAM_CATALOG_CORPUS")
    if value and (Path(value) / "html").is_dir():
        return Path(value)
    message = (
        "corpus not found: set IAM_CATALOG_CORPUS to the folder unpacked by "
        "../shared/corpus/unpack.sh (make test does this)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The unpacked corpus folder."""
    return corpus_dir()
