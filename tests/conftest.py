"""Shared test fixtures. Corpus tests find the unpacked corpus through
IAM_CATALOG_CORPUS; under CI (CI=true) a missing corpus is a failure, not a skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
# The sample pages (the same files as ../shared/seeds, which a checkout may not have beside it).
SEEDS = FIXTURES / "pages"

# The July 2026 layout's folder of the corpus with the most services (six, seven pages), and
# the names of those services' pages in the corpus's HTML of 2026-04-01 (the older layout).
NEW_LAYOUT_MD = ("new-layout-md", "2026-08_8d3f1c7")
NEW_LAYOUT_SERVICES_HTML = (
    "list_awsaccountmanagement",
    "list_amazonbraket",
    "list_databasequerymetadataservice",
    "list_amazonec2instanceconnect",
    "list_awsmarketplaceentitlementservice",
    "list_awsmarketplacemeteringservice",
    "list_amazonsimpledb",
)


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


@pytest.fixture(scope="session")
def html_2026(corpus: Path):
    """BuildResult of the whole html/2026-04-01_110d32e3 folder (built once per session)."""
    from iam_catalog.output.build import build

    return build([corpus / "html" / "2026-04-01_110d32e3"])


@pytest.fixture(scope="session")
def html_2020(corpus: Path):
    """BuildResult of the whole html/2020-11-01_65f99eab folder (built once per session)."""
    from iam_catalog.output.build import build

    return build([corpus / "html" / "2020-11-01_65f99eab"])
