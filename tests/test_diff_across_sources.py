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
