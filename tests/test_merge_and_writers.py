"""Merging pages by prefix, and the JSON/CSV writers (determinism, schema, columns)."""

from __future__ import annotations

import csv
import io

import jsonschema
import orjson
import pytest

from iam_catalog.output.writers import (
    _ROWS,
    CSV_COLUMNS,
    csv_text,
    dumps_catalog,
    render_service,
    write_catalog_dir,
    write_csv,
)
from iam_catalog.parsers.catalog import merge, single_page_service
from iam_catalog.parsers.errors import OutputError
from iam_catalog.parsers.model import (
    CATALOG_SCHEMA,
    CatalogSource,
    PageRef,
    catalog_from_dict,
)
from iam_catalog.parsers.rows import ActionRow, KeyRow, ResourceRow, build_page

SOURCE = CatalogSource("files", "test", 2, (("html", 2),))


def _page(page_id, prefix, actions, resources=(), keys=(), name="Elastic Load Balancing"):
    return build_page(
        PageRef(page_id, "html", "sar-2023"),
        prefix=prefix,
        service_name=name,
        actions=actions,
        resources=resources,
        keys=keys,
    )


def _two_pages(conflict=False):
    v1 = _page(
        "list_elasticloadbalancing",
        "elasticloadbalancing",
        [ActionRow("AddTags", "Adds tags", "Tagging", "loadbalancer*", line=3)],
        [ResourceRow("loadbalancer", ("arn:${Partition}:elasticloadbalancing:lb/${Name}",))],
        [KeyRow("aws:TagKeys", "Filters by tag keys", ("ArrayOfString",))],
    )
    v2 = _page(
        "list_elasticloadbalancingv2",
        "elasticloadbalancing",
        [
            ActionRow(
                "AddTags", "Adds tags", "Write" if conflict else "Tagging", "loadbalancer*", line=5
            ),
            ActionRow("CreateRule", "Creates a rule", "Write", "listener*", line=9),
        ],
        [
            ResourceRow("listener", ("arn:${Partition}:elasticloadbalancing:listener/${Id}",)),
            ResourceRow("loadbalancer", ("arn:${Partition}:elasticloadbalancing:lb/${Name}",)),
        ],
        [KeyRow("aws:TagKeys", "Filters by tag keys", ("ArrayOfString",))],
        name="Elastic Load Balancing V2",
    )
    return v1, v2


def test_pages_sharing_a_prefix_merge_into_one_service_listing_both_pages():
    v1, v2 = _two_pages()
    catalog = merge([v2, v1], SOURCE)
    (service,) = catalog.services
    assert [p.page for p in service.pages] == [
        "list_elasticloadbalancing",
        "list_elasticloadbalancingv2",
    ]
    assert service.name == "Elastic Load Balancing"
    assert [a.name for a in service.actions] == ["AddTags", "CreateRule"]
    assert [r.name for r in service.resource_types] == ["listener", "loadbalancer"]
    assert [k.name for k in service.condition_keys] == ["aws:TagKeys"]
    # The pages name the service differently: the first page's name, said.
    (diag,) = catalog.diagnostics
    assert (diag.code, diag.page) == ("merge-conflict", "list_elasticloadbalancingv2")
    assert diag.message == (
        "elasticloadbalancing: service name 'Elastic Load Balancing V2' differs from "
        "'Elastic Load Balancing' of page list_elasticloadbalancing; 'Elastic Load Balancing' kept"
    )


def test_merge_conflict_keeps_first_page_and_is_reported():
    v1, v2 = _two_pages(conflict=True)
    catalog = merge([v1, v2], SOURCE)
    action = catalog.services[0].actions[0]
    assert action.access_level.value == "Tagging"
    (diag,) = [d for d in catalog.diagnostics if "service name" not in d.message]
    assert diag.code == "merge-conflict"
    assert diag.page == "list_elasticloadbalancingv2"
    assert "access_level" in diag.message and "list_elasticloadbalancing " in diag.message


def test_case_only_difference_between_pages_is_reported():
    v1, _ = _two_pages()
    v2 = _page(
        "list_elbv2",
        "elasticloadbalancing",
        [ActionRow("addTags", "Adds tags", "Tagging", "loadbalancer*")],
    )
    catalog = merge([v1, v2], SOURCE)
    assert [a.name for a in catalog.services[0].actions] == ["AddTags"]
    assert [d.code for d in catalog.diagnostics] == ["merge-conflict"]
    assert "in name" in catalog.diagnostics[0].message


def test_page_without_prefix_is_left_out_with_an_error():
    page = _page("list_nothing", None, [ActionRow("A", "d", "Read")])
    catalog = merge([page], SOURCE)
    assert catalog.services == ()
    assert [(d.code, d.severity.value) for d in catalog.diagnostics] == [("no-prefix", "error")]


def test_catalog_json_is_sorted_indented_valid_and_round_trips():
    v1, v2 = _two_pages(conflict=True)
    catalog = merge([v1, v2], SOURCE)
    data = dumps_catalog(catalog)
    assert data == dumps_catalog(merge([v2, v1], SOURCE))
    assert data.startswith(b'{\n  "diagnostics": [')
    parsed = orjson.loads(data)
    jsonschema.validate(parsed, CATALOG_SCHEMA)
    assert list(parsed["services"]["elasticloadbalancing"]["actions"]) == ["AddTags", "CreateRule"]
    again = catalog_from_dict(parsed)
    assert dumps_catalog(again) == data


def test_csv_tables_have_declared_columns_and_one_row_per_resource_row():
    v1, v2 = _two_pages()
    catalog = merge([v1, v2], SOURCE)
    buf = io.StringIO()
    write_csv(catalog, "action_resource_types.csv", buf)
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS["action_resource_types.csv"]
    assert rows[1:] == [
        ["elasticloadbalancing", "AddTags", "loadbalancer", "true", "", "", ""],
        ["elasticloadbalancing", "CreateRule", "listener", "true", "", "", ""],
    ]
    buf = io.StringIO()
    write_csv(catalog, "actions.csv", buf)
    assert buf.getvalue().splitlines()[1] == (
        # the last cells: supported_by (AWS's JSON only), not_carried (none declared by these
        # hand-made pages) and sources (empty in a build of one source)
        "elasticloadbalancing,AddTags,Adds tags,Tagging,Tagging,false,,loadbalancer*,,,,,,"
    )


def test_catalog_dir_is_written_whole_and_leaves_no_temp_files(tmp_path):
    v1, v2 = _two_pages()
    catalog = merge([v1, v2], SOURCE)
    written = write_catalog_dir(catalog, tmp_path / "out")
    names = sorted(p.relative_to(tmp_path / "out").as_posix() for p in written)
    assert names == ["catalog.json"] + [
        f"csv/{n}" for n in sorted([*CSV_COLUMNS, "diagnostics.csv"])
    ]
    leftovers = [p for p in (tmp_path / "out").rglob(".*")]
    assert leftovers == []
    assert (tmp_path / "out" / "catalog.json").read_bytes() == dumps_catalog(catalog)


def test_page_in_the_newest_layout_wins_over_a_leftover_page():
    # 2026-04-01 holds list_amazonkinesis (2020 layout, left over from a rename)
    # beside list_amazonkinesisdatastreams (2023 layout): the current page wins.
    stale = build_page(
        PageRef("list_amazonkinesis", "html", "sar-2020"),
        prefix="kinesis",
        service_name="Amazon Kinesis",
        actions=[ActionRow("AddTagsToStream", "Adds tags", "Tagging", "stream*")],
    )
    current = build_page(
        PageRef("list_amazonkinesisdatastreams", "html", "sar-2023"),
        prefix="kinesis",
        service_name="Amazon Kinesis Data Streams",
        actions=[
            ActionRow("AddTagsToStream", "Adds tags", "Tagging", "stream*"),
            ActionRow("AddTagsToStream", "Adds tags", "Tagging", "", ("aws:TagKeys",)),
        ],
    )
    (service,) = merge([stale, current], SOURCE).services
    assert [p.page for p in service.pages] == [
        "list_amazonkinesisdatastreams",
        "list_amazonkinesis",
    ]
    assert service.name == "Amazon Kinesis Data Streams"
    assert service.actions[0].condition_keys == ("aws:TagKeys",)


def test_current_pages_of_one_prefix_are_unioned():
    # apigateway v1 and v2 pages (both current) define DELETE and Authorizer for their
    # own API; AWS's JSON carries both ARNs and the rows of both pages, and so do we.
    v1 = _page(
        "list_amazonapigatewaymanagement",
        "apigateway",
        [ActionRow("DELETE", "Deletes a resource", "Write", "RestApi", ("k:v1",), line=4)],
        [ResourceRow("Authorizer", ("arn:${Partition}:apigateway:${Region}::/restapis/a",))],
        [KeyRow("aws:TagKeys", "Filters by tag keys", ("ArrayOfString",))],
        name="Amazon API Gateway Management",
    )
    v2 = _page(
        "list_amazonapigatewaymanagementv2",
        "apigateway",
        [
            ActionRow("DELETE", "Deletes a resource", "Write", "Api", line=8),
            ActionRow("DELETE", "Deletes a resource", "Write", "RestApi", ("k:v2",), line=9),
        ],
        [ResourceRow("Authorizer", ("arn:${Partition}:apigateway:${Region}::/apis/a",))],
        [KeyRow("aws:TagKeys", "Filters by tag keys", ("String",))],
        name="Amazon API Gateway Management V2",
    )
    catalog = merge([v2, v1], SOURCE)
    (service,) = catalog.services
    (action,) = service.actions
    assert [(r.name, r.condition_keys) for r in action.resource_types] == [
        ("RestApi", ("k:v1", "k:v2")),
        ("Api", ()),
    ]
    assert service.resource_types[0].arn_formats == (
        "arn:${Partition}:apigateway:${Region}::/restapis/a",
        "arn:${Partition}:apigateway:${Region}::/apis/a",
    )
    assert service.condition_keys[0].types == ("ArrayOfString", "String")
    # Besides the unions: the pages name the service differently, and each names
    # resource types on its rows (RestApi, Api) that its own table does not define.
    assert sorted((d.code, d.page) for d in catalog.diagnostics) == [
        ("merge-conflict", "list_amazonapigatewaymanagementv2"),
        ("merge-union", "list_amazonapigatewaymanagementv2"),
        ("merge-union", "list_amazonapigatewaymanagementv2"),
        ("merge-union", "list_amazonapigatewaymanagementv2"),
        ("undefined-resource-type", "list_amazonapigatewaymanagement"),
        ("undefined-resource-type", "list_amazonapigatewaymanagementv2"),
    ]


def test_superseded_page_contributes_nothing_and_names_what_only_it_had():
    current = build_page(
        PageRef("list_b_current", "html", "sar-2023"),
        prefix="svc",
        service_name="New",
        actions=[ActionRow("A", "new", "Write", "x")],
    )
    stale = build_page(
        PageRef("list_a_old", "html", "sar-2020"),
        prefix="svc",
        service_name="Old",
        actions=[ActionRow("A", "old", "Write", "y"), ActionRow("Gone", "old", "Read")],
        keys=[KeyRow("svc:Old", "d", ("String",))],
    )
    catalog = merge([stale, current], SOURCE)
    (service,) = catalog.services
    assert [p.page for p in service.pages] == ["list_b_current", "list_a_old"]
    assert service.name == "New"
    assert [(a.name, a.description) for a in service.actions] == [("A", "new")]
    assert service.condition_keys == ()
    (diag,) = catalog.diagnostics
    assert (diag.code, diag.severity.value, diag.page) == (
        "superseded-page",
        "warning",
        "list_a_old",
    )
    assert diag.message == (
        "svc: page (sar-2020) superseded by list_b_current (sar-2023); left out with 2 item(s) "
        "no current page has: action Gone, condition key svc:Old"
    )


def test_superseded_page_with_nothing_new_is_an_info():
    current = build_page(
        PageRef("list_new", "html", "sar-2023"),
        prefix="svc",
        service_name="S",
        actions=[ActionRow("A", "d", "Read")],
    )
    stale = build_page(
        PageRef("list_old", "html", "sar-2020"),
        prefix="svc",
        service_name="S",
        actions=[ActionRow("A", "d", "Read")],
    )
    (diag,) = merge([stale, current], SOURCE).diagnostics
    assert (diag.code, diag.severity.value) == ("superseded-page", "info")


def test_a_folder_in_place_of_a_csv_file_is_refused_and_nothing_is_written(tmp_path):
    catalog = merge(list(_two_pages()), SOURCE)
    out = tmp_path / "out"
    (out / "csv" / "actions.csv").mkdir(parents=True)
    with pytest.raises(OutputError, match="holds files a build does not write"):
        write_catalog_dir(catalog, out)
    assert [p.relative_to(out).as_posix() for p in out.rglob("*")] == ["csv", "csv/actions.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_csv_quotes_exactly_the_fields_the_csv_module_quotes():
    """Commas, quotes, line breaks and carriage returns in a description, in either path."""
    tricky = ["plain", "with, comma", 'with "quotes"', "line\nbreak", "carriage\rreturn", ""]
    page = _page(
        "list_x",
        "x",
        [ActionRow(f"A{i}", text, "Read", line=i) for i, text in enumerate(tricky)],
    )
    catalog = merge([page], SOURCE)
    ours = io.StringIO()
    write_csv(catalog, "actions.csv", ours)
    reference = io.StringIO()
    writer = csv.writer(reference, lineterminator="\n")
    writer.writerow(CSV_COLUMNS["actions.csv"])
    writer.writerows(_ROWS["actions.csv"](catalog.services))
    assert ours.getvalue() == reference.getvalue()
    assert ',"with ""quotes""",' in ours.getvalue()


def _written(out):
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.*"))}


def test_a_share_rendered_ahead_is_used_only_for_the_service_object_it_was_made_from(tmp_path):
    v1, v2 = _two_pages()
    catalog = merge([v1, v2, _page("list_x", "x", [ActionRow("A", "reads", "Read")])], SOURCE)
    x = next(s for s in catalog.services if s.prefix == "x")
    other = merge([_page("list_x", "x", [ActionRow("B", "writes", "Write")])], SOURCE).services[0]
    assert other != x
    # Made from another service of the same prefix: not used, x is rendered again.
    write_catalog_dir(catalog, tmp_path / "stale", {"x": (other, render_service(other))})
    assert (tmp_path / "stale" / "catalog.json").read_bytes() == dumps_catalog(catalog)
    # Paired with x itself, a share is taken as it is (here a wrong one, to show it).
    write_catalog_dir(catalog, tmp_path / "paired", {"x": (x, render_service(other))})
    paired = orjson.loads((tmp_path / "paired" / "catalog.json").read_bytes())
    assert list(paired["services"]["x"]["actions"]) == ["B"]
    assert "x,B,writes,Write" in (tmp_path / "paired" / "csv" / "actions.csv").read_text()
    # Rendered ahead from x, the files are the ones written without.
    write_catalog_dir(catalog, tmp_path / "ahead", {"x": (x, render_service(x))})
    write_catalog_dir(catalog, tmp_path / "plain")
    assert _written(tmp_path / "ahead") == _written(tmp_path / "plain")


def test_a_catalog_without_services_is_written_like_any_other(tmp_path):
    empty = merge([], SOURCE)
    assert empty.services == ()
    write_catalog_dir(empty, tmp_path)
    assert (tmp_path / "catalog.json").read_bytes() == dumps_catalog(empty)
    assert b'"services": {}' in dumps_catalog(empty)
    for name in CSV_COLUMNS:
        assert (tmp_path / "csv" / name).read_text() == csv_text(empty, name)
        assert csv_text(empty, name) == ",".join(CSV_COLUMNS[name]) + "\n"


def test_merge_takes_a_service_made_ahead_only_from_the_prefix_s_one_page():
    v1, v2 = _two_pages()
    x = _page("list_x", "x", [ActionRow("A", "reads", "Read")])
    made = single_page_service(x)
    catalog = merge([v1, v2, x], SOURCE, made={"x": made})
    assert next(s for s in catalog.services if s.prefix == "x") is made
    assert catalog == merge([v1, v2, x], SOURCE)
    # Made from another page of that prefix (another PageRef): made again from x.
    copy = _page("list_x", "x", [ActionRow("B", "writes", "Write")])
    again = merge([x], SOURCE, made={"x": single_page_service(copy)})
    assert [a.name for a in again.services[0].actions] == ["A"]
    # A prefix of two pages is merged, whatever was made ahead for it.
    merged = merge([v1, v2], SOURCE, made={"elasticloadbalancing": single_page_service(v1)})
    assert merged == merge([v1, v2], SOURCE)
    assert len(merged.services[0].pages) == 2
