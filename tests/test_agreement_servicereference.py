"""Our HTML build of 2026-04-01 against AWS's programmatic JSON of 2026-03-31, whole corpus.

Every action, its access level, the names of its resource types, its condition keys (own
row and each resource row), every resource type's ARN formats and condition keys, every
condition key and its types must agree, except the differences listed one by one, each
with its cause, in tests/expected/servicereference_differences.json. The actual
differences must EQUAL the listed ones: a new difference and a fixed one both fail.
Causes that can be checked from the corpus (another page of the same prefix matches the
JSON, the JSON is the union of the pages, the JSON has no annotations, ...) are checked.

Regenerate the list with IAM_CATALOG_REGEN=1: listed causes are kept, a new difference
gets the cause "UNEXPLAINED", which fails until a person investigates it and writes one.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import orjson
import pytest

from iam_catalog.output.build import build, parse_text
from iam_catalog.parsers.model import Action, Catalog, ConditionKey, ParsedPage, ResourceType

from .conftest import ROOT

EXPECTED = ROOT / "tests" / "expected" / "servicereference_differences.json"
HTML_2026 = "html/2026-04-01_110d32e3"
SERVICEREFERENCE = "servicereference/2026-03-31"
UNEXPLAINED = "UNEXPLAINED"
REGEN = os.environ.get("IAM_CATALOG_REGEN") == "1"

Value = Any  # "present" / "absent", a name, an access level, or a sorted list


class _Holder(Protocol):
    """A merged Service or one ParsedPage: both hold actions, resource types and keys."""

    actions: tuple[Action, ...]
    resource_types: tuple[ResourceType, ...]
    condition_keys: tuple[ConditionKey, ...]


def _by_name(items: tuple[Any, ...]) -> dict[str, Any]:
    return {i.name.lower(): i for i in items}


# --------------------------------------------------------------------------- comparison

ACTION_FIELDS = (
    "action.name",
    "action.access_level",
    "action.resource_types",
    "action.condition_keys",
)
RESOURCE_FIELDS = (
    "resource_type.name",
    "resource_type.arn_formats",
    "resource_type.condition_keys",
)
KEY_FIELDS = ("condition_key.name", "condition_key.types")


def action_value(a: Action, field: str) -> Value:
    if field == "action.name":
        return a.name
    if field == "action.access_level":
        return a.access_level.value if a.access_level else None
    if field == "action.resource_types":
        return sorted(r.name for r in a.resource_types)
    if field == "action.condition_keys":
        return sorted(a.condition_keys)
    raise ValueError(field)


def row_keys(a: Action, resource: str) -> Value:
    """The condition keys of each row of ``a`` naming ``resource`` (a page may list one
    resource type on two rows)."""
    return sorted(sorted(r.condition_keys) for r in a.resource_types if r.name == resource)


def resource_value(r: ResourceType, field: str) -> Value:
    if field == "resource_type.name":
        return r.name
    if field == "resource_type.arn_formats":
        return sorted(r.arn_formats)
    if field == "resource_type.condition_keys":
        return sorted(r.condition_keys)
    raise ValueError(field)


def key_value(k: ConditionKey, field: str) -> Value:
    if field == "condition_key.name":
        return k.name
    if field == "condition_key.types":
        return sorted(k.types)
    raise ValueError(field)


def value_of(holder: _Holder, field: str, item: str) -> Value:
    """The value ``field`` of ``item`` in a service or page; "absent" when it lacks the item."""
    kind = field.split(".", 1)[0]
    if kind == "action":
        name, _, resource = item.partition("/")
        a = _by_name(holder.actions).get(name.lower())
        if a is None:
            return "absent"
        if field == "action":
            return "present"
        return (
            row_keys(a, resource) if field == "action.resource_row_keys" else action_value(a, field)
        )
    if kind == "resource_type":
        r = _by_name(holder.resource_types).get(item.lower())
        return "absent" if r is None else "present" if field == kind else resource_value(r, field)
    k = _by_name(holder.condition_keys).get(item.lower())
    return "absent" if k is None else "present" if field == kind else key_value(k, field)


def differences(html: Catalog, json: Catalog, compared: Counter[str]) -> list[dict[str, Any]]:
    """Every field where the two catalogs disagree; ``compared`` counts what was compared."""
    out: list[dict[str, Any]] = []

    def add(service: str, field: str, item: str, h: Value, j: Value) -> None:
        out.append({"service": service, "field": field, "item": item, "html": h, "json": j})

    def presence(
        service: str, kind: str, hs: dict[str, Any], js: dict[str, Any]
    ) -> Iterator[tuple[Any, Any]]:
        for key in sorted(hs.keys() | js.keys()):
            if key not in js:
                add(service, kind, hs[key].name, "present", "absent")
            elif key not in hs:
                add(service, kind, js[key].name, "absent", "present")
            else:
                compared[kind] += 1
                yield hs[key], js[key]

    h_services = {s.prefix: s for s in html.services}
    j_services = {s.prefix: s for s in json.services}
    for prefix in sorted(h_services.keys() | j_services.keys()):
        if prefix not in j_services or prefix not in h_services:
            add(
                prefix,
                "service",
                "",
                *(("present", "absent") if prefix in h_services else ("absent", "present")),
            )
            continue
        compared["service"] += 1
        hs, js = h_services[prefix], j_services[prefix]
        for ha, ja in presence(prefix, "action", _by_name(hs.actions), _by_name(js.actions)):
            for field in ACTION_FIELDS:
                compared[field] += 1
                if action_value(ha, field) != action_value(ja, field):
                    add(prefix, field, ha.name, action_value(ha, field), action_value(ja, field))
            shared = {r.name for r in ha.resource_types} & {r.name for r in ja.resource_types}
            for resource in sorted(shared):
                compared["action.resource_row_keys"] += 1
                h, j = row_keys(ha, resource), row_keys(ja, resource)
                if h != j:
                    add(prefix, "action.resource_row_keys", f"{ha.name}/{resource}", h, j)
        hr, jr = _by_name(hs.resource_types), _by_name(js.resource_types)
        for h_r, j_r in presence(prefix, "resource_type", hr, jr):
            for field in RESOURCE_FIELDS:
                compared[field] += 1
                if resource_value(h_r, field) != resource_value(j_r, field):
                    add(
                        prefix,
                        field,
                        h_r.name,
                        resource_value(h_r, field),
                        resource_value(j_r, field),
                    )
        hk, jk = _by_name(hs.condition_keys), _by_name(js.condition_keys)
        for h_k, j_k in presence(prefix, "condition_key", hk, jk):
            for field in KEY_FIELDS:
                compared[field] += 1
                if key_value(h_k, field) != key_value(j_k, field):
                    add(prefix, field, h_k.name, key_value(h_k, field), key_value(j_k, field))
    return out


def _key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry["service"], entry["field"], entry["item"])


def _comparable(entry: dict[str, Any]) -> bytes:
    return orjson.dumps({k: entry[k] for k in ("service", "field", "item", "html", "json")})


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def json_2026(corpus: Path) -> Catalog:
    return build([corpus / SERVICEREFERENCE]).catalog


@pytest.fixture(scope="module")
def compared_and_actual(html_2026, json_2026) -> tuple[Counter[str], list[dict[str, Any]]]:
    compared: Counter[str] = Counter()
    return compared, differences(html_2026.catalog, json_2026, compared)


@pytest.fixture(scope="module")
def expected(compared_and_actual) -> dict[str, Any]:
    if REGEN:
        _regenerate(compared_and_actual[1])
    return orjson.loads(EXPECTED.read_bytes())


def _regenerate(actual: list[dict[str, Any]]) -> None:
    old = orjson.loads(EXPECTED.read_bytes()) if EXPECTED.exists() else {"causes": {}}
    causes = {_comparable(e): e["cause"] for e in old.get("differences", [])}
    entries = [{**e, "cause": causes.get(_comparable(e), UNEXPLAINED)} for e in actual]
    document = {**old, "differences": sorted(entries, key=_key)}
    EXPECTED.parent.mkdir(parents=True, exist_ok=True)
    EXPECTED.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


# --------------------------------------------------------------------------- tests


def test_html_and_json_agree_except_the_listed_differences(compared_and_actual, expected):
    _, actual = compared_and_actual
    listed = {_comparable(e) for e in expected["differences"]}
    found = {_comparable(e) for e in actual}
    new = sorted(found - listed)
    fixed = sorted(listed - found)
    assert not new and not fixed, (
        f"{len(new)} new difference(s), first: {new[:3]}; "
        f"{len(fixed)} listed difference(s) gone, first: {fixed[:3]}"
    )
    assert len(actual) == len(expected["differences"])  # no entry listed twice


def test_the_comparison_covers_the_whole_corpus(compared_and_actual):
    compared, _ = compared_and_actual
    assert compared["service"] >= 440
    assert compared["action"] >= 20_000
    assert compared["action.resource_row_keys"] >= 20_000
    assert compared["resource_type"] >= 2_000
    assert compared["condition_key"] >= 2_000


def test_every_listed_difference_has_an_investigated_cause(expected):
    causes = expected["causes"]
    assert all(isinstance(text, str) and len(text) > 80 for text in causes.values())
    used = Counter(e["cause"] for e in expected["differences"])
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


def test_cause_json_without_annotations(expected, corpus):
    for e in _entries(expected, "json-without-annotations"):
        raw = _raw_json(corpus, e["service"])
        entry = next(a for a in raw["Actions"] if a["Name"] == e["item"])
        assert "Annotations" not in entry and e["json"] is None and e["html"], e


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
