"""Schema version 2: a field a source does not carry is recorded as not carried (null in
catalog.json, an empty cell named in the CSV's ``not_carried`` column), never as an
invented value; version-1 catalogs are read with the same declarations."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import jsonschema
import orjson
import pytest

from iam_catalog.output.build import BuildResult, build
from iam_catalog.output.writers import dumps_catalog, write_csv
from iam_catalog.parsers import carried, html, markdown_list
from iam_catalog.parsers.model import CATALOG_SCHEMA, catalog_from_dict, catalog_to_dict
from tests.conftest import FIXTURES

JSON_2026 = ("servicereference", "2026-03-31")


@pytest.fixture(scope="module")
def json_2026(corpus: Path) -> BuildResult:
    return build([corpus.joinpath(*JSON_2026)])


def _action(result: BuildResult, prefix: str, name: str):
    (service,) = [s for s in result.catalog.services if s.prefix == prefix]
    (action,) = [a for a in service.actions if a.name == name]
    return service, action


def test_aws_json_build_invents_no_required_permission_only_description_or_name(json_2026):
    catalog = json_2026.catalog
    rows = [r for s in catalog.services for a in s.actions for r in a.resource_types]
    assert len(rows) == 20340
    data = orjson.loads(dumps_catalog(catalog))
    jsonschema.validate(data, CATALOG_SCHEMA)
    json_rows = [
        r
        for s in data["services"].values()
        for a in s["actions"].values()
        for r in a["resource_types"]
    ]
    assert len(json_rows) == 20340
    assert {r["required"] for r in json_rows} == {None}
    assert {r["dependent_actions"] is None for r in json_rows} == {True}
    actions = [a for s in data["services"].values() for a in s["actions"].values()]
    assert {(a["permission_only"], a["description"], a["dependent_actions"]) for a in actions} == {
        (None, None, None)
    }
    assert {s["name"] for s in data["services"].values()} == {None}
    keys = [k for s in data["services"].values() for k in s["condition_keys"].values()]
    assert keys and {k["description"] for k in keys} == {None}
    # What the JSON does carry stays: access-level sets, operations, key types.
    _, tag = _action(json_2026, "acm", "AddTagsToCertificate")
    assert tag.carries("access_levels") and tag.carries("operations")
    assert [level.value for level in tag.access_levels] == ["Tagging", "Write"]
    assert tag.operations and not tag.carries("resource_types.required")


def test_aws_json_page_declares_what_it_does_not_carry(json_2026):
    service, _ = _action(json_2026, "acm", "AddTagsToCertificate")
    (page,) = service.pages
    assert page.format == "service-reference"
    assert set(page.not_carried) == {
        "service.name",
        "action.description",
        "action.permission_only",
        "action.api_reference",
        "action.dependent_actions",
        "action.resource_types.required",
        "action.resource_types.dependent_actions",
        "condition_key.description",
    }
    assert not service.carries("name") and service.name == ""


def test_version_1_catalog_is_read_with_its_formats_declarations(json_2026):
    """A version-1 build of AWS's JSON wrote required false, permission_only false, empty
    descriptions and the prefix as name; read today, those are not carried."""
    v2 = orjson.loads(dumps_catalog(json_2026.catalog))
    v1 = orjson.loads(dumps_catalog(json_2026.catalog))
    v1["schema_version"] = 1
    for prefix, s in v1["services"].items():
        s["name"] = prefix
        for p in s["pages"]:
            del p["not_carried"]
        for a in s["actions"].values():
            a.update(description="", permission_only=False, dependent_actions=[])
            for r in a["resource_types"]:
                r.update(required=False, dependent_actions=[])
        for k in s["condition_keys"].values():
            k["description"] = ""
    again = catalog_from_dict(v1)
    assert orjson.loads(orjson.dumps(catalog_to_dict(again))) == v2


def test_version_2_round_trips_through_json(json_2026, html_2026):
    for result in (json_2026, html_2026):
        data = dumps_catalog(result.catalog)
        assert dumps_catalog(catalog_from_dict(orjson.loads(data))) == data


def test_older_html_carries_one_access_level_and_no_operations(html_2026):
    _, action = _action(html_2026, "s3", "PutObject")
    assert action.access_level is not None and action.carries("access_level")
    assert not action.carries("access_levels") and action.access_levels == ()
    assert not action.carries("operations")
    assert action.carries("dependent_actions") and action.carries("resource_types.required")


def test_july_2026_layouts_do_not_carry_dependent_actions():
    page = markdown_list.parse(
        (FIXTURES / "markdown" / "sar2026_list.md").read_text(encoding="utf-8"),
        source="sar2026_list",
    )
    assert "action.dependent_actions" in page.ref.not_carried
    assert all(not a.carries("dependent_actions") for a in page.actions)
    assert all(a.carries("access_levels") and a.carries("operations") for a in page.actions)
    built = html.parse(
        (FIXTURES / "html" / "constructed_2026-07_layout.html").read_text(encoding="utf-8"),
        source="constructed",
    )
    assert built.ref.layout == "sar-2026-07"
    assert set(built.ref.not_carried) == {
        "action.dependent_actions",
        "action.resource_types.dependent_actions",
        # only AWS's JSON has these
        "action.supported_by",
        "operation.sdk",
    }
    with_rows = [a for a in built.actions if a.resource_types]
    assert with_rows and all(not a.carries("resource_types.dependent_actions") for a in with_rows)


def test_csv_leaves_not_carried_cells_empty_and_names_them(json_2026):
    buf = io.StringIO()
    write_csv(json_2026.catalog, "action_resource_types.csv", buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert len(rows) == 20340
    assert {r["required"] for r in rows} == {""}
    assert {r["not_carried"] for r in rows} == {"dependent_actions;required"}
    buf = io.StringIO()
    write_csv(json_2026.catalog, "actions.csv", buf)
    actions = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert {a["permission_only"] for a in actions} == {""}
    first = actions[0]["not_carried"].split(";")
    assert "description" in first and "permission_only" in first


def test_every_declared_field_is_known():
    for fmt, layout in [
        ("html", "sar-2023"),
        ("html", "sar-2026-07"),
        ("markdown-list", "sar-2026-07-list"),
        ("markdown-table", "userguide-md-2017"),
        ("service-reference", "v1.1"),
        ("service-reference", "v1.4"),
        ("flat-text", "sar"),
    ]:
        assert carried.declare(fmt, layout)
    assert {"action.access_levels", "action.operations"} <= carried.declared(
        "service-reference", "v1.1"
    )
    assert "action.operations" not in carried.declared("service-reference", "v1.4")
    with pytest.raises(ValueError, match="unknown field"):
        carried.check(["action.nonsense"])
