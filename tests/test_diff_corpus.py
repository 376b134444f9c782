"""The diff on real release pairs of the corpus, checked against set differences
and field comparisons computed here directly from the two catalogs' JSON dicts
(not through the diff code), plus hand-checked excerpts from the real pages.

Pairs: markdown 2019-08-12 -> 2020-11-06 and HTML 2020-11-01 -> 2026-04-01.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from iam_catalog.output.build import BuildResult, build
from iam_catalog.output.diff import CatalogDiff, diff
from iam_catalog.output.report import MD_LIMIT, render
from iam_catalog.output.writers import dumps_catalog

Dict = dict[str, Any]
ITEM_TYPES = ("action", "resource_type", "condition_key")
SENSITIVE = {"Permissions management", "Write"}


def _folder(corpus: Path, kind: str, date: str) -> Path:
    (found,) = sorted((corpus / kind).glob(f"{date}_*"))
    return found


@pytest.fixture(scope="module")
def markdown_2019(corpus: Path) -> BuildResult:
    return build([_folder(corpus, "markdown", "2019-08-12")])


@pytest.fixture(scope="module")
def markdown_2020(corpus: Path) -> BuildResult:
    return build([_folder(corpus, "markdown", "2020-11-06")])


class Pair:
    """A release pair: both catalogs as JSON dicts, the diff and its JSON report."""

    def __init__(self, old: BuildResult, new: BuildResult) -> None:
        self.old = orjson.loads(dumps_catalog(old.catalog))
        self.new = orjson.loads(dumps_catalog(new.catalog))
        self.diff: CatalogDiff = diff(old.catalog, new.catalog)
        self.report: Dict = orjson.loads(render(self.diff, "json"))
        self.again: CatalogDiff = diff(old.catalog, new.catalog)


@pytest.fixture(scope="module")
def markdown_pair(markdown_2019, markdown_2020) -> Pair:
    return Pair(markdown_2019, markdown_2020)


@pytest.fixture(scope="module")
def html_pair(html_2020, html_2026) -> Pair:
    return Pair(html_2020, html_2026)


PAIRS = ["markdown_pair", "html_pair"]


@pytest.fixture(params=PAIRS)
def pair(request) -> Pair:
    return request.getfixturevalue(request.param)


# --------------------------------------------------------------------------- independent model


def _services(catalog: Dict) -> dict[str, Dict]:
    return {prefix.lower(): s for prefix, s in catalog["services"].items()}


def _items(catalog: Dict, item_type: str) -> dict[tuple[str, str], Dict]:
    """(service, item) lower-cased -> the item's dict, over every service."""
    out = {}
    for prefix, s in _services(catalog).items():
        # null: the source does not carry the service's actions (a placeholder link)
        for name, item in (s[f"{item_type}s"] or {}).items():
            out[(prefix, name.lower())] = item
    return out


def _fold(values: list[str]) -> set[str]:
    return {v.lower() for v in values}


def _rows(action: Dict) -> dict[tuple[str, int], Dict]:
    seen: Counter[str] = Counter()
    out = {}
    for r in action["resource_types"]:
        seen[r["name"].lower()] += 1
        out[(r["name"].lower(), seen[r["name"].lower()])] = r
    return out


def _label(row: Dict, ordinal: int) -> str:
    return row["name"] if ordinal == 1 else f"{row['name']}#{ordinal}"


def _both(old: Dict, new: Dict, field: str) -> bool:
    """Both sides carry the field (null: not carried by that side's source)."""
    return old[field] is not None and new[field] is not None


def expected_action_fields(old: Dict, new: Dict) -> dict[str, tuple[Any, Any]]:
    out: dict[str, tuple[Any, Any]] = {}
    if old["name"] != new["name"]:
        out["name"] = (old["name"], new["name"])
    for f in ("description", "permission_only"):
        if old[f] != new[f] and _both(old, new, f):
            out[f] = (old[f], new[f])
    # Every layout of these pairs carries access levels and links (null: none on the page).
    for f in ("access_level", "api_reference"):
        if old[f] != new[f]:
            out[f] = (old[f], new[f])
    if _both(old, new, "access_levels"):
        ol, nl = set(old["access_levels"]), set(new["access_levels"])
        echoes = ol <= {old["access_level"]} and nl <= {new["access_level"]}
        if ol != nl and not echoes:
            out["access_levels"] = (old["access_levels"], new["access_levels"])
    for f in ("operations", "condition_keys", "dependent_actions"):
        if _both(old, new, f) and _fold(old[f]) != _fold(new[f]):
            out[f] = (old[f], new[f])
    if not _both(old, new, "resource_types"):
        return out
    old_rows, new_rows = _rows(old), _rows(new)
    for key in old_rows.keys() | new_rows.keys():
        o, n = old_rows.get(key), new_rows.get(key)
        if o is None or n is None:
            out[f"resource_types[{_label(n or o, key[1])}]"] = (o, n)  # type: ignore[arg-type]
            continue
        base = f"resource_types[{_label(n, key[1])}]"
        if o["name"] != n["name"]:
            out[f"{base}.name"] = (o["name"], n["name"])
        if o["required"] != n["required"] and _both(o, n, "required"):
            out[f"{base}.required"] = (o["required"], n["required"])
        for f in ("condition_keys", "dependent_actions"):
            if _both(o, n, f) and _fold(o[f]) != _fold(n[f]):
                out[f"{base}.{f}"] = (o[f], n[f])
    return out


def expected_resource_type_fields(old: Dict, new: Dict) -> dict[str, tuple[Any, Any]]:
    out: dict[str, tuple[Any, Any]] = {}
    if old["name"] != new["name"]:
        out["name"] = (old["name"], new["name"])
    if set(old["arn_formats"]) != set(new["arn_formats"]):
        out["arn_formats"] = (old["arn_formats"], new["arn_formats"])
    if _fold(old["condition_keys"]) != _fold(new["condition_keys"]):
        out["condition_keys"] = (old["condition_keys"], new["condition_keys"])
    return out


def expected_condition_key_fields(old: Dict, new: Dict) -> dict[str, tuple[Any, Any]]:
    out: dict[str, tuple[Any, Any]] = {}
    for f in ("name", "description"):
        if old[f] != new[f]:
            out[f] = (old[f], new[f])
    if _fold(old["types"]) != _fold(new["types"]):
        out["types"] = (old["types"], new["types"])
    return out


EXPECTED_FIELDS = {
    "action": expected_action_fields,
    "resource_type": expected_resource_type_fields,
    "condition_key": expected_condition_key_fields,
}


def reported(pair: Pair, kind: str) -> list[Dict]:
    return [c for c in pair.report["changes"] if c["kind"] == kind]


# --------------------------------------------------------------------------- whole-pair checks


def test_added_and_removed_services_equal_the_set_differences(pair):
    old, new = _services(pair.old), _services(pair.new)
    assert {
        c["service"].lower() for c in reported(pair, "service_added")
    } == new.keys() - old.keys()
    assert {c["service"].lower() for c in reported(pair, "service_removed")} == (
        old.keys() - new.keys()
    )
    assert len(reported(pair, "service_added")) == len(new.keys() - old.keys())


@pytest.mark.parametrize("item_type", ITEM_TYPES)
def test_added_and_removed_items_equal_the_set_differences(pair, item_type):
    old, new = _items(pair.old, item_type), _items(pair.new, item_type)

    def keys(kind: str) -> list[tuple[str, str]]:
        return [(c["service"].lower(), c[item_type].lower()) for c in reported(pair, kind)]

    added, removed = keys(f"{item_type}_added"), keys(f"{item_type}_removed")
    assert len(added) == len(set(added)) and len(removed) == len(set(removed))
    assert set(added) == new.keys() - old.keys()
    assert set(removed) == old.keys() - new.keys()
    assert added or removed  # real releases add or remove some of each


@pytest.mark.parametrize("item_type", ITEM_TYPES)
def test_every_changed_field_is_reported_and_nothing_else(pair, item_type):
    old, new = _items(pair.old, item_type), _items(pair.new, item_type)
    expected: dict[tuple[str, str, str], tuple[Any, Any]] = {}
    for key in old.keys() & new.keys():
        for field, values in EXPECTED_FIELDS[item_type](old[key], new[key]).items():
            expected[(*key, field)] = values
    got: dict[tuple[str, str, str], tuple[Any, Any]] = {}
    for c in reported(pair, f"{item_type}_changed"):
        key = (c["service"].lower(), c[item_type].lower(), c["field"])
        assert key not in got, f"field reported twice: {key}"
        got[key] = (c["old"], c["new"])
    assert got.keys() == expected.keys()
    assert got == expected
    assert got, f"no {item_type} changed between two real releases"
    changed_items = {(s, i) for s, i, _ in got}
    assert pair.report["summary"][f"{item_type}s_changed"] == len(changed_items)


def test_service_name_changes_are_reported_field_by_field(pair):
    old, new = _services(pair.old), _services(pair.new)
    expected = {
        (p, "name"): (old[p]["name"], new[p]["name"])
        for p in old.keys() & new.keys()
        if old[p]["name"] != new[p]["name"]
    }
    got = {
        (c["service"].lower(), c["field"]): (c["old"], c["new"])
        for c in reported(pair, "service_changed")
    }
    assert got == expected


def test_summary_counts_equal_the_entries(pair):
    summary = pair.report["summary"]
    for kind, n in Counter(c["kind"] for c in pair.report["changes"]).items():
        if not kind.endswith("_changed"):
            item, verb = kind.rsplit("_", 1)
            assert summary[f"{item}s_{verb}"] == n


def _rated_security(action: Dict) -> bool:
    """A new action with Permissions management access, or one that can pass roles."""
    # a field the source does not carry is null in catalog.json
    levels = {action["access_level"], *(action["access_levels"] or ())}
    deps = {d.lower() for d in action["dependent_actions"] or ()}
    deps |= {
        d.lower() for r in action["resource_types"] or () for d in r["dependent_actions"] or ()
    }
    return "Permissions management" in levels or "iam:passrole" in deps


def test_severities_follow_the_documented_rules(pair):
    gaps = {p.lower() for p, side in pair.diff.source_gaps if side == "new"}
    old_gaps = {p.lower() for p, side in pair.diff.source_gaps if side == "old"}
    new_actions = _items(pair.new, "action")
    rated = Counter()
    for c in pair.report["changes"]:
        kind, field, sev = c["kind"], c.get("field", ""), c["severity"]
        if kind == "action_removed":
            assert sev == ("info" if c["service"].lower() in gaps else "breaking"), c
        elif kind.endswith("_removed"):
            assert sev == "breaking", c
        elif kind == "action_added":
            action = new_actions[(c["service"].lower(), c["action"].lower())]
            security = _rated_security(action) and c["service"].lower() not in old_gaps
            assert sev == ("security" if security else "info"), c
            rated[sev] += 1
        elif kind.endswith("_added"):
            assert sev == "info", c
        elif field == "access_level":
            touched = {c["old"], c["new"]} & SENSITIVE
            assert sev == ("security" if touched else "info"), c
        elif field.endswith(".required"):
            assert sev == ("breaking" if c["new"] else "info"), c
        elif re.fullmatch(r"resource_types\[[^\]]+\]", field) and c["new"] is None:
            assert sev == "breaking", c
        elif field in ("name", "description", "api_reference", "operations", "types"):
            assert sev == "info", c
    if pair.report["summary"]["actions_added"] > 100:
        assert rated["security"] > 0, "new Permissions management actions rated security"


def test_changes_come_in_a_deterministic_order(pair):
    assert pair.again == pair.diff
    services = [c["service"].lower() for c in pair.report["changes"]]
    assert services == sorted(services)


def test_reports_of_a_real_pair_render_whole(pair):
    md = render(pair.diff, "md")
    assert len(md) <= MD_LIMIT
    breaking = {c["service"] for c in pair.report["changes"] if c["severity"] == "breaking"}
    section = md[
        md.index("\n### Breaking changes") : md.index("\n### ", md.index("\n### Breaking") + 1)
    ]
    shown = set(re.findall(r"^#### `([^`]+)`", section, flags=re.M))
    shown |= set(re.findall(r"^- `([^`]+)`", section, flags=re.M))
    assert breaking == shown  # every service with a breaking change shows up
    page = render(pair.diff, "html")
    data = orjson.loads(re.search(r'id="data">(.*?)</script>', page, re.S).group(1))
    assert sum(len(rows) for _, rows, *_ in data) == len(pair.diff.changes)


# --------------------------------------------------------------------------- hand-checked excerpts


def _one(pair: Pair, **match: Any) -> Dict:
    found = [c for c in pair.report["changes"] if all(c.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def test_html_appmesh_tag_resource_became_tagging(html_pair):
    # 2020 list_awsappmesh: "Write"; 2026 list_awsappmesh: "Tagging"
    c = _one(html_pair, service="appmesh", action="TagResource", field="access_level")
    assert (c["old"], c["new"], c["severity"]) == ("Write", "Tagging", "security")


def test_html_sso_actions_only_on_a_superseded_page_are_removed(html_pair):
    # 2026 keeps DeletePermissionsPolicy only on list_awssso (2020 layout) and
    # list_awsiamidentitycentersuccessortoawssinglesign-on (2021-12 template), both
    # superseded by list_awsiamidentitycenter: the action is gone from the current docs.
    c = _one(html_pair, service="sso", action="DeletePermissionsPolicy")
    assert (c["kind"], c["severity"]) == ("action_removed", "breaking")


def test_html_cognito_identity_untag_resource_now_requires_identitypool(html_pair):
    # 2020: resource cell "identitypool"; 2026: "identitypool*"
    c = _one(
        html_pair,
        service="cognito-identity",
        action="UntagResource",
        field="resource_types[identitypool].required",
    )
    assert (c["old"], c["new"], c["severity"]) == (False, True, "breaking")


def test_html_s3_delete_object_no_longer_requires_object(html_pair):
    # 2020: "object*"; 2026: "accesspointobject" and "object", neither required
    c = _one(
        html_pair, service="s3", action="DeleteObject", field="resource_types[object].required"
    )
    assert (c["old"], c["new"], c["severity"]) == (True, False, "info")
    added = _one(
        html_pair, service="s3", action="DeleteObject", field="resource_types[accesspointobject]"
    )
    assert added["old"] is None and added["new"]["required"] is False


def test_html_ecs_service_arn_gained_the_cluster_name(html_pair):
    c = _one(html_pair, service="ecs", resource_type="service", field="arn_formats")
    assert c["old"] == ["arn:${Partition}:ecs:${Region}:${Account}:service/${ServiceName}"]
    assert c["new"] == [
        "arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}"
    ]
    assert c["severity"] == "breaking"


def test_html_s3_object_lock_retain_until_date_became_a_date(html_pair):
    c = _one(
        html_pair,
        service="s3",
        condition_key="s3:object-lock-retain-until-date",
        field="types",
    )
    assert (c["old"], c["new"], c["severity"]) == (["String"], ["Date"], "info")


def test_markdown_cloudtrail_describe_trails_moved_from_list_to_read(markdown_pair):
    c = _one(markdown_pair, service="cloudtrail", action="DescribeTrails", field="access_level")
    assert (c["old"], c["new"], c["severity"]) == ("List", "Read", "info")


def test_markdown_dlm_delete_lifecycle_policy_gained_a_required_policy_row(markdown_pair):
    # 2019: empty resource cell; 2020: "policy\*"
    c = _one(
        markdown_pair,
        service="dlm",
        action="DeleteLifecyclePolicy",
        field="resource_types[policy]",
    )
    assert c["old"] is None
    assert c["new"] == {
        "name": "policy",
        "required": True,
        "condition_keys": [],
        "dependent_actions": [],
    }
    assert c["severity"] == "breaking"


def test_markdown_backup_vault_arn_gained_the_region(markdown_pair):
    c = _one(markdown_pair, service="backup", resource_type="backupVault", field="arn_formats")
    assert c["old"] == ["arn:${Partition}:backup::${Account}:backup-vault:${BackupVaultName}"]
    assert c["new"] == [
        "arn:${Partition}:backup:${Region}:${Account}:backup-vault:${BackupVaultName}"
    ]
    assert c["severity"] == "breaking"


def test_markdown_ec2_ebs_optimized_became_a_bool(markdown_pair):
    c = _one(markdown_pair, service="ec2", condition_key="ec2:EbsOptimized", field="types")
    assert (c["old"], c["new"]) == (["String"], ["Bool"])


def test_markdown_actions_lost_to_placeholder_links_are_not_called_breaking(markdown_pair):
    # list_awscertificatemanager.md of 2020-11-06 replaces its actions table with a
    # link; the 2019 page listed the actions.
    removed = reported(markdown_pair, "action_removed")
    acm = [c for c in removed if c["service"] == "acm"]
    assert {c["action"] for c in acm} >= {"DeleteCertificate", "RequestCertificate"}
    assert {c["severity"] for c in acm} == {"info"}
    assert ("acm", "new") in markdown_pair.diff.source_gaps
    md = render(markdown_pair.diff, "md")
    assert "the new source lists no actions for" in md and "`acm`" in md
