"""The combined build of html/2026-04-01_110d32e3 (528 SAR pages) and AWS's programmatic
JSON of 2026-03-31 (455 documents), whole corpus: its cross-check (``crosscheck.json``,
:mod:`iam_catalog.combine.crosscheck`, the one comparison of the two sources) must EQUAL
the list in tests/expected/servicereference_differences.json: every disagreement on a field
both sources carry (actions, access levels, resource types of each action and the keys of
each row, action keys, every resource type's ARN formats and keys, every condition key and
its types), each with its cause, and every field not compared, with the reason. A new
difference and a fixed one both fail. Causes that can be checked from the corpus (another
page of the same prefix matches the JSON, the JSON has no annotations, ...) are checked.

Regenerate the list with IAM_CATALOG_REGEN=1: listed causes are kept, a new difference
gets the cause "UNEXPLAINED", which fails until a person investigates it and writes one.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from iam_catalog.combine import value_of
from iam_catalog.output.build import BuildResult, build, parse_text
from iam_catalog.parsers.model import ParsedPage

from .conftest import ROOT

EXPECTED = ROOT / "tests" / "expected" / "servicereference_differences.json"
HTML_2026 = "html/2026-04-01_110d32e3"
SERVICEREFERENCE = "servicereference/2026-03-31"
UNEXPLAINED = "UNEXPLAINED"
REGEN = os.environ.get("IAM_CATALOG_REGEN") == "1"


def _key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry["service"], entry["field"], entry["item"])


def _comparable(entry: dict[str, Any]) -> bytes:
    return orjson.dumps({k: entry[k] for k in ("service", "field", "item", "html", "json")})


def _nc_key(entry: dict[str, Any]) -> tuple[str, str]:
    return (entry["field"], entry["reason"])


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def combined(corpus: Path) -> BuildResult:
    """One build of both sources (the cross-check is the build's)."""
    return build([corpus / HTML_2026, corpus / SERVICEREFERENCE])


@pytest.fixture(scope="module")
def report(combined) -> dict[str, Any]:
    assert combined.crosscheck is not None
    # As crosscheck.json holds it.
    return orjson.loads(orjson.dumps(combined.crosscheck.to_dict()))


@pytest.fixture(scope="module")
def expected(report) -> dict[str, Any]:
    if REGEN:
        _regenerate(report)
    return orjson.loads(EXPECTED.read_bytes())


def _regenerate(report: dict[str, Any]) -> None:
    old = orjson.loads(EXPECTED.read_bytes()) if EXPECTED.exists() else {"causes": {}}
    causes = {_comparable(e): e["cause"] for e in old.get("differences", [])}
    nc_causes = {_nc_key(e): e["cause"] for e in old.get("not_compared", [])}
    entries = [
        {**e, "cause": causes.get(_comparable(e), UNEXPLAINED)} for e in report["disagreements"]
    ]
    not_compared = [
        {**e, "cause": nc_causes.get(_nc_key(e), UNEXPLAINED)} for e in report["not_compared"]
    ]
    document = {
        **old,
        "differences": sorted(entries, key=_key),
        "not_compared": sorted(not_compared, key=_nc_key),
    }
    EXPECTED.parent.mkdir(parents=True, exist_ok=True)
    EXPECTED.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


# --------------------------------------------------------------------------- tests


def test_crosscheck_equals_the_listed_differences(report, expected):
    listed = {_comparable(e) for e in expected["differences"]}
    found = {_comparable(e) for e in report["disagreements"]}
    new = sorted(found - listed)
    fixed = sorted(listed - found)
    assert not new and not fixed, (
        f"{len(new)} new difference(s), first: {new[:3]}; "
        f"{len(fixed)} listed difference(s) gone, first: {fixed[:3]}"
    )
    assert len(report["disagreements"]) == len(expected["differences"])  # none listed twice
    # Exactly these two sources, each entry with both values.
    assert all(
        set(e) == {"service", "field", "item", "html", "json"} for e in report["disagreements"]
    )


def test_crosscheck_names_every_field_not_compared_as_listed(report, expected):
    found = [{k: e[k] for k in ("field", "reason", "services")} for e in report["not_compared"]]
    listed = [{k: e[k] for k in ("field", "reason", "services")} for e in expected["not_compared"]]
    assert found == listed


def test_the_comparison_covers_the_whole_corpus(report):
    compared = Counter(report["compared"])
    assert compared["service"] >= 440
    assert compared["action"] >= 20_000
    assert compared["action.access_level"] >= 20_000
    assert compared["action.resource_row_keys"] >= 20_000
    assert compared["resource_type"] >= 2_000
    assert compared["condition_key"] >= 2_000
    summary = report["summary"]
    assert summary["disagreements"] == len(report["disagreements"])
    assert summary["actions"] >= 20_000


def test_every_listed_difference_has_an_investigated_cause(expected):
    causes = expected["causes"]
    assert all(isinstance(text, str) and len(text) > 80 for text in causes.values())
    used = Counter(e["cause"] for e in (*expected["differences"], *expected["not_compared"]))
    assert UNEXPLAINED not in used, f"{used[UNEXPLAINED]} difference(s) without a cause"
    assert set(used) == set(causes), "every cause is used, every used cause is written"


# --------------------------------------------------------------------------- causes, checked


@pytest.fixture(scope="module")
def pages_of(corpus: Path, html_2026):
    """prefix -> every page of the 2026 folder declaring it, each parsed on its own."""
    folder = corpus / HTML_2026
    cache: dict[str, list[ParsedPage]] = {}

    def get(prefix: str) -> list[ParsedPage]:
        if prefix not in cache:
            service = next((s for s in html_2026.catalog.services if s.prefix == prefix), None)
            refs = service.pages if service else ()
            cache[prefix] = [
                parse_text((folder / f"{r.page}.html").read_text(), source=r.page) for r in refs
            ]
        return cache[prefix]

    return get


def _entries(expected: dict[str, Any], cause: str) -> list[dict[str, Any]]:
    found = [e for e in expected["differences"] if e["cause"] == cause]
    assert found, cause
    return found


def _raw_json(corpus: Path, prefix: str) -> dict[str, Any]:
    return orjson.loads((corpus / SERVICEREFERENCE / prefix / f"{prefix}.json").read_bytes())


def test_cause_json_without_annotations(expected, corpus, combined):
    """The access level of these services is not compared (their JSON has none): the
    combined catalog takes the page's."""
    found = [e for e in expected["not_compared"] if e["cause"] == "json-without-annotations"]
    assert [e["field"] for e in found] == ["action.access_level"]
    services = {s.prefix: s for s in combined.catalog.services}
    for prefix in found[0]["services"]:
        raw = _raw_json(corpus, prefix)
        assert raw["Version"] == "v1.1"
        assert all("Annotations" not in a for a in raw["Actions"]), prefix
        assert dict(services[prefix].field_sources)["action.access_levels"] == ("html",)
        assert all(a.access_level is not None for a in services[prefix].actions), prefix


def test_cause_not_carried_by_the_format(expected):
    """Every other field not compared is one a source's format has no place for
    (parsers/carried.py), and the reason names that source's format."""
    for e in expected["not_compared"]:
        if e["cause"] != "not-carried-by-the-format":
            continue
        source = e["reason"].removeprefix("not carried by ").split(" ", 1)[0]
        fmt = {"html": "html", "json": "service-reference"}[source]
        assert f"({fmt} " in e["reason"], e


def test_cause_json_lists_a_resource_type_twice(expected, corpus):
    for e in _entries(expected, "json-duplicate-resource-row"):
        raw = _raw_json(corpus, e["service"])
        entry = next(a for a in raw["Actions"] if a["Name"] == e["item"].split("/")[0])
        names = [r["Name"] for r in entry["Resources"]]
        assert len(names) > len(set(names)), e


def test_cause_single_page_items_come_from_one_page(expected, pages_of):
    for cause in ("page-newer-than-json", "access-level-differs"):
        for e in _entries(expected, cause):
            pages = pages_of(e["service"])
            assert len(pages) == 1, e
            assert value_of(pages[0], e["field"], e["item"]) == e["html"], e


def test_cause_services_on_one_side_only(expected, corpus, html_2026):
    folder = corpus / HTML_2026
    for e in _entries(expected, "page-without-json-document"):
        assert (e["field"], e["html"], e["json"]) == ("service", "present", "absent"), e
        assert not (corpus / SERVICEREFERENCE / e["service"]).exists(), e
    for e in _entries(expected, "json-without-page"):
        assert (e["field"], e["html"], e["json"]) == ("service", "absent", "present"), e
    redirect = _entries(expected, "page-is-a-saved-redirect")
    assert [e["service"] for e in redirect] == ["iot1click"]
    codes = [d.code for d in html_2026.catalog.diagnostics if d.page == "list_awsiot1-click"]
    assert codes == ["no-tables"]
    assert "301 Moved Permanently" in (folder / "list_awsiot1-click.html").read_text()
    for e in _entries(expected, "json-only-deprecated-copy"):
        copy = {a["Name"] for a in _raw_json(corpus, e["service"])["Actions"]}
        portal = {a["Name"] for a in _raw_json(corpus, "aws-portal")["Actions"]}
        assert copy <= portal, e
