"""Diffs across sources and layouts compare only the fields both sides carry (issue 13,
"Must show" 1 and 2): a change reported between two formats of the same day is one the
sources really disagree on, never a field one of them has no place for."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from iam_catalog.output.build import BuildResult, build
from iam_catalog.output.diff import CatalogDiff, ChangeKind, diff
from iam_catalog.output.report import render

from .conftest import NEW_LAYOUT_MD, NEW_LAYOUT_SERVICES_HTML

JSON_2026 = ("servicereference", "2026-03-31")
# Fields AWS's JSON has no place for: a change of one would be invented by the diff.
NOT_IN_JSON = ("description", "permission_only", "dependent_actions", "required", "name")


@pytest.fixture(scope="module")
def json_2026(corpus: Path) -> BuildResult:
    return build([corpus.joinpath(*JSON_2026)])


@pytest.fixture(scope="module")
def html_vs_json(html_2026, json_2026) -> CatalogDiff:
    return diff(html_2026.catalog, json_2026.catalog)


def _field_tail(field: str | None) -> str:
    """``resource_types[object].required`` -> ``required``."""
    return (field or "").rsplit(".", 1)[-1].rsplit("]", 1)[-1] or (field or "")


def test_html_against_aws_json_reports_no_change_of_a_field_the_json_lacks(html_vs_json):
    changed = [c for c in html_vs_json.changes if c.kind.verb == "changed"]
    assert changed, "the two sources disagree on some rows and one access level"
    assert not [c for c in changed if _field_tail(c.field) in NOT_IN_JSON]
    assert not [c for c in html_vs_json.changes if c.kind is ChangeKind.SERVICE_CHANGED]
    # A whole row added or removed is a real difference of the two; never one "becoming
    # required" (the JSON has no required flag).
    rows = [c for c in changed if c.field and c.field.startswith("resource_types[")]
    assert all(c.field.endswith("]") for c in rows if c.field)


def test_html_against_aws_json_access_levels_differ_only_where_the_projection_does(
    html_vs_json, corpus
):
    levels = [
        (c.service, c.item, c.field, c.old, c.new)
        for c in html_vs_json.changes
        if c.field in ("access_level", "access_levels")
    ]
    assert levels == [
        ("sqs", "SetQueueAttributes", "access_level", "Write", "Permissions management")
    ]
    # AWS's JSON flags both; its most specific level is Permissions management, the page
    # prints Write.
    raw = orjson.loads(corpus.joinpath(*JSON_2026, "sqs", "sqs.json").read_bytes())
    (entry,) = [a for a in raw["Actions"] if a["Name"] == "SetQueueAttributes"]
    flags = entry["Annotations"]["Properties"]
    assert flags["IsPermissionManagement"] and flags["IsWrite"]


def test_html_against_aws_json_summary_names_the_fields_not_compared(html_vs_json):
    by_service = html_vs_json.not_compared_by_service()
    s3 = {n.field: n for n in by_service["s3"]}
    for field in (
        "action.description",
        "action.permission_only",
        "action.dependent_actions",
        "action.resource_types.required",
        "action.resource_types.dependent_actions",
        "condition_key.description",
        "service.name",
    ):
        assert s3[field].old == () and s3[field].new == ("service-reference v1.4",), field
        assert s3[field].reason == "not carried by the new side (service-reference v1.4)"
    # The older HTML has one access level per action and no operations.
    assert s3["action.access_levels"].old == ("html sar-2023",)
    assert s3["action.operations"].new == ()
    md = render(html_vs_json, "md")
    assert (
        "- `action.resource_types.required`: not carried by the new side "
        "(service-reference v1.4) — "
    ) in md
    data = orjson.loads(render(html_vs_json, "json"))
    assert {(n["service"], n["field"]) for n in data["not_compared"]} >= {
        ("s3", "action.dependent_actions"),
        ("sqs", "service.name"),
    }
    html = render(html_vs_json, "html")
    assert 'id="not-compared"' in html and "<code>action.resource_types.required</code>" in html


@pytest.fixture(scope="module")
def html_vs_new_layout(corpus: Path) -> CatalogDiff:
    folder = corpus / "html" / "2026-04-01_110d32e3"
    old = build([folder / f"{page}.html" for page in NEW_LAYOUT_SERVICES_HTML]).catalog
    new = build([corpus.joinpath(*NEW_LAYOUT_MD)]).catalog
    assert {s.prefix for s in old.services} == {s.prefix for s in new.services}
    return diff(old, new)


def test_html_against_the_july_2026_layout_reports_no_change_from_the_layout_alone(
    html_vs_new_layout,
):
    """Before: 102 changes, 1 real. The new layout prints action keys and resource-type keys
    on every row, lists access levels as sets, adds operations, drops dependent actions and
    stars both rows of OpenTunnel's instance-connect-endpoint: none of it is a change."""
    outside_braket = [
        (c.service, c.kind.value, c.item, c.field)
        for c in html_vs_new_layout.changes
        if c.service != "braket"
    ]
    assert outside_braket == [
        # AWS added the action after April (the JSON of 2026-03-31 lacks it too).
        ("account", "action_added", "GetPrimaryEmailUpdateStatus", None),
        # The new page links the action; the April page had no link on it.
        ("dbqms", "action_changed", "CreateQueryHistory", "api_reference"),
    ]
    fields = {c.field for c in html_vs_new_layout.changes}
    assert not {"operations", "access_levels", "dependent_actions"} & fields
    assert not [f for f in fields if f and f.endswith((".required", ".dependent_actions"))]


def test_braket_changes_are_the_pages_own(html_vs_new_layout, corpus):
    """Braket changed between the April page (which AWS's JSON of 2026-03-31 matches) and
    the August one: a device resource type on the create actions, a new job ARN, three
    Search actions now List. Every braket change is one of those."""
    braket = [c for c in html_vs_new_layout.changes if c.service == "braket"]
    md = corpus.joinpath(*NEW_LAYOUT_MD, "list_braket.md").read_text(encoding="utf-8")
    page = (corpus / "html" / "2026-04-01_110d32e3" / "list_amazonbraket.html").read_text(
        encoding="utf-8"
    )
    assert "job/${RandomId}" in md and "job/${RandomId}" not in page.replace("\n", "")
    assert "resource-device" in md and "braket-device" not in page
    changed_rows = {
        (c.item, c.field) for c in braket if c.field and c.field.startswith("resource_types[")
    }
    # Rows added only: the new page names resource types the old one did not.
    assert all(c.old is None for c in braket if c.field and c.field.startswith("resource_types["))
    assert {item for item, _ in changed_rows} == {
        "CreateJob",
        "CreateQuantumTask",
        "CreateSpendingLimit",
        "DeleteSpendingLimit",
        "GetDevice",
        "UpdateSpendingLimit",
    }
    levels = {(c.item, c.old, c.new) for c in braket if c.field == "access_level"}
    assert levels == {
        ("SearchDevices", "Read", "List"),
        ("SearchJobs", "Read", "List"),
        ("SearchQuantumTasks", "Read", "List"),
    }
    # Action keys change only on the actions whose rows changed.
    keys = {c.item for c in braket if c.field == "condition_keys"}
    assert keys <= {item for item, _ in changed_rows}
