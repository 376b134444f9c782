"""One catalog from several sources of the same day (issue 13, step 5): the SAR pages of
2026-04-01 and AWS's JSON of 2026-03-31 built together make one service per prefix, each
field from the source :data:`iam_catalog.combine.PRECEDENCE` names first among those that
carry it, with the sources recorded; the cross-check is tested against the committed list
in test_agreement_servicereference.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import jsonschema
import orjson
import pytest

from iam_catalog.combine import PRECEDENCE, SOURCE_OF_FORMAT, SOURCES, uncovered, value_of
from iam_catalog.output.build import BuildResult, build
from iam_catalog.output.cli import main
from iam_catalog.output.writers import csv_text, dumps_catalog
from iam_catalog.parsers.detect import FORMATS
from iam_catalog.parsers.model import CATALOG_SCHEMA, Catalog, catalog_from_dict

from .conftest import NEW_LAYOUT_MD, NEW_LAYOUT_SERVICES_HTML

HTML_2026 = ("html", "2026-04-01_110d32e3")
JSON_2026 = ("servicereference", "2026-03-31")


def test_precedence_names_a_source_order_for_every_field_of_the_model():
    assert uncovered() == []
    assert set(SOURCE_OF_FORMAT) == set(FORMATS)
    assert set(SOURCE_OF_FORMAT.values()) == set(SOURCES)


@pytest.fixture(scope="module")
def json_2026(corpus: Path) -> BuildResult:
    return build([corpus.joinpath(*JSON_2026)])


@pytest.fixture(scope="module")
def combined(corpus: Path) -> BuildResult:
    return build([corpus.joinpath(*HTML_2026), corpus.joinpath(*JSON_2026)])


def _actions(catalog: Catalog) -> dict[tuple[str, str], object]:
    return {(s.prefix, a.name.lower()): a for s in catalog.services for a in s.actions}


def test_combined_build_takes_required_from_the_pages_and_operations_from_the_json(
    combined, html_2026, json_2026
):
    both = _actions(combined.catalog)
    pages, aws = _actions(html_2026.catalog), _actions(json_2026.catalog)
    shared = pages.keys() & aws.keys()
    assert len(shared) > 20_000
    rows = required = permission_only = operations = 0
    for key in shared:
        a, h, j = both[key], pages[key], aws[key]
        assert a.sources == ("html", "json"), key
        # The page's rows, with their required flags, keys and dependent actions.
        assert a.resource_types == h.resource_types and a.carries("resource_types.required")
        assert (a.description, a.permission_only, a.api_reference) == (
            h.description,
            h.permission_only,
            h.api_reference,
        )
        assert (a.condition_keys, a.dependent_actions) == (h.condition_keys, h.dependent_actions)
        # AWS's JSON: the operations and, where it carries them, the access-level set.
        assert a.operations == j.operations
        assert a.carries("operations") == j.carries("operations")
        levels = j if j.carries("access_level") else h
        assert (a.access_level, a.access_levels) == (levels.access_level, levels.access_levels)
        assert a.carries("access_levels") == j.carries("access_levels")
        rows += len(a.resource_types)
        required += sum(r.required for r in a.resource_types)
        permission_only += a.permission_only
        operations += bool(a.operations)
    # What neither source alone has: the page's required flags and permission-only marks
    # beside the JSON's operations and access-level sets.
    assert rows > 20_000 and required > 0.7 * rows
    assert permission_only > 1_400
    assert operations > 15_000
    # The service's API operations, whole from AWS's JSON: every action each authorises
    # (other services' too, with the condition values it sets) and its SDK methods.
    services = {s.prefix: s for s in combined.catalog.services}
    with_sdk = other_services = 0
    for j in json_2026.catalog.services:
        c = services[j.prefix]
        assert c.carries("operations") == j.carries("operations"), j.prefix
        if j.carries("operations"):
            assert c.operations == j.operations, j.prefix
            assert dict(c.field_sources)["service.operations"] == ("json",)
            with_sdk += sum(1 for o in c.operations if o.sdk and o.carries("sdk"))
            other_services += sum(
                1 for o in c.operations for a in o.authorized_actions if a.service != c.prefix
            )
    assert with_sdk == 17_567 and other_services == 1_280
    sqs = both[("sqs", "setqueueattributes")]
    assert [v.value for v in sqs.access_levels] == ["Permissions management", "Write"]
    assert sqs.access_level.value == "Permissions management"
    # An action only one source has comes whole from it, the rest not carried.
    only_page = both[("acm", "searchcertificates")]
    assert only_page.sources == ("html",) and not only_page.carries("operations")
    assert only_page.description == pages[("acm", "searchcertificates")].description


def test_every_field_source_is_recorded_per_service_and_item(combined):
    catalog = combined.catalog
    by_prefix = {s.prefix: s for s in catalog.services}
    s3 = dict(by_prefix["s3"].field_sources)
    assert s3["action.access_levels"] == ("json", "html")
    assert s3["action.operations"] == ("json",)
    assert s3["action.resource_types"] == ("html", "json")
    assert s3["action.permission_only"] == ("html",)
    assert s3["service.name"] == ("html",)
    assert set(s3) == set(PRECEDENCE)
    # A service of one source names only it.
    assert dict(by_prefix["diode"].field_sources)["action.resource_types"] == ("json",)
    assert {a.sources for a in by_prefix["diode"].actions} == {("json",)}
    for service in catalog.services:
        for kind in (service.actions, service.resource_types, service.condition_keys):
            assert all(item.sources for item in kind), service.prefix
    data = orjson.loads(dumps_catalog(catalog))
    jsonschema.validate(data, CATALOG_SCHEMA)
    s3_json = data["services"]["s3"]
    assert s3_json["field_sources"]["action.access_levels"] == ["json", "html"]
    assert s3_json["actions"]["GetObject"]["sources"] == ["html", "json"]
    assert s3_json["resource_types"]["object"]["sources"] == ["html", "json"]
    # Read back whole, sources included (catalog.json orders names case-sensitively).
    again = catalog_from_dict(data)

    def items(c: Catalog) -> dict[tuple[str, str, str], tuple[object, tuple[str, ...]]]:
        return {
            (s.prefix, attr, i.name): (i, i.sources)
            for s in c.services
            for attr in ("actions", "resource_types", "condition_keys")
            for i in getattr(s, attr)
        }

    assert items(again) == items(catalog)
    assert [s.field_sources for s in again.services] == [s.field_sources for s in catalog.services]
    lines = csv_text(catalog, "actions.csv").splitlines()
    assert lines[0].endswith(",not_carried,sources")
    assert sum(line.endswith(",html;json") for line in lines) == len(
        [a for s in catalog.services for a in s.actions if a.sources == ("html", "json")]
    )
    services_csv = csv_text(catalog, "services.csv")
    assert "action.access_levels=json>html" in services_csv


def test_combined_build_is_the_same_bytes_whatever_the_order_of_the_sources(
    corpus, combined, tmp_path
):
    html = corpus.joinpath(*HTML_2026)
    aws = corpus.joinpath(*JSON_2026)
    pages = ["list_amazonsqs.html", "list_amazons3.html", "list_awsiot1-click.html"]
    small = tmp_path / "small"
    (small / "html").mkdir(parents=True)
    for page in pages:
        shutil.copy(html / page, small / "html" / page)
    shutil.copytree(aws / "sqs", small / "json" / "sqs")
    shutil.copytree(aws / "s3", small / "json" / "s3")
    one = build([small / "html", small / "json"], jobs=1)
    two = build([small / "json", small / "html"], jobs=2)
    assert dumps_catalog(one.catalog) == dumps_catalog(two.catalog)
    assert one.crosscheck is not None and two.crosscheck is not None
    assert one.crosscheck.to_dict() == two.crosscheck.to_dict()
    # The small build's cross-check is the big one's for those services.
    small_entries = [
        e for e in combined.crosscheck.to_dict()["disagreements"] if e["service"] in ("sqs", "s3")
    ]
    assert one.crosscheck.disagreements == small_entries
    assert [e["item"] for e in small_entries] == ["SetQueueAttributes"]
    # The saved redirect gives no service: not a source disagreement of a service either
    # source has (iot1click has no JSON here), only the page's own diagnostic.
    assert "iot1click" not in {e["service"] for e in one.crosscheck.disagreements}


def test_three_sources_each_entry_holds_every_source_value(corpus):
    """The HTML, the July 2026 .md rendering and AWS's JSON of seven services in one
    build: every entry of the cross-check has the value of each source that holds the item
    and carries the field, as that source alone says it."""
    html = [corpus.joinpath(*HTML_2026, f"{page}.html") for page in NEW_LAYOUT_SERVICES_HTML]
    md = corpus.joinpath(*NEW_LAYOUT_MD)
    alone = {"html": build(html).catalog, "md": build([md]).catalog}
    prefixes = sorted(s.prefix for s in alone["html"].services)
    aws = [corpus.joinpath(*JSON_2026, p) for p in prefixes]
    alone["json"] = build(aws).catalog
    result = build([*html, md, *aws])
    assert result.crosscheck is not None
    report = result.crosscheck
    assert list(report.sources) == ["html", "md", "json"]
    assert report.disagreements
    by_source = {n: {s.prefix: s for s in c.services} for n, c in alone.items()}
    for e in report.disagreements:
        values = {n: e[n] for n in SOURCES if n in e}
        assert len(values) >= 2 and len({repr(v) for v in values.values()}) >= 2, e
        for name, value in values.items():
            service = by_source[name][e["service"]]
            if e["field"] != "service":
                assert value_of(service, e["field"], e["item"]) == value, (name, e)
    fields = {e["field"] for e in report.disagreements}
    # The .md layout carries access-level sets, as the JSON does: compared as sets.
    assert report.compared["action.access_levels"] > 0
    # The .md's API operations beside the JSON's: compared, the SDK methods not (the .md
    # has no place for them).
    assert report.compared["operation.authorized_actions"] > 0
    assert "operation.sdk" not in report.compared
    assert "action.dependent_actions" not in fields  # the .md and the JSON carry none
    combined = {s.prefix: s for s in result.catalog.services}
    tunnel = next(a for a in combined["ec2-instance-connect"].actions if a.name == "OpenTunnel")
    assert tunnel.sources == ("html", "md", "json")
    assert [r.required for r in tunnel.resource_types] == [True, True]  # the page's reading
    assert tunnel.carries("dependent_actions")  # from the HTML: the .md has no place for them
    order = dict(combined["braket"].field_sources)
    assert order["action.access_levels"] == ("json", "md", "html")
    assert order["action.dependent_actions"] == ("html",)
    assert order["action.description"] == ("html", "md")


def test_cli_build_of_pages_and_json_writes_the_crosscheck_beside_the_catalog(
    corpus, tmp_path, capsys
):
    html = corpus.joinpath(*HTML_2026)
    aws = corpus.joinpath(*JSON_2026)
    out = tmp_path / "out"
    args = [
        "build",
        str(html / "list_amazonsqs.html"),
        str(html / "list_awskeymanagementservice.html"),
        str(aws / "sqs"),
        str(aws / "kms"),
        "--out",
        str(out),
    ]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"cross-check of html, json: 1 disagreements -> {out / 'crosscheck.md'}" in err
    report = orjson.loads((out / "crosscheck.json").read_bytes())
    assert [e["item"] for e in report["disagreements"]] == ["SetQueueAttributes"]
    assert report["summary"]["actions_disagreeing"] == {"existence": 0, "access_level": 1}
    text = (out / "crosscheck.md").read_text()
    assert (
        "| action.access_level | `SetQueueAttributes` | `Write` | `Permissions management` |"
        in text
    )
    first = (out / "catalog.json").read_bytes()
    # Built again into the same folder (it holds only what a build writes): same bytes.
    assert main(args) == 0
    assert (out / "catalog.json").read_bytes() == first
    # A build of one source leaves no cross-check behind.
    assert main(["build", str(html / "list_amazonsqs.html"), "--out", str(out)]) == 0
    assert not (out / "crosscheck.json").exists() and not (out / "crosscheck.md").exists()


def test_each_field_is_the_value_of_the_source_its_record_names(combined, html_2026, json_2026):
    """The record is exact: for every item and field of the combined catalog, the first
    source of its service's ``field_sources`` among the item's ``sources`` has that value."""
    from iam_catalog.combine import GROUPS

    alone = {"html": html_2026.catalog, "json": json_2026.catalog}
    attrs = {
        "action": "actions",
        "resource_type": "resource_types",
        "condition_key": "condition_keys",
    }
    per_source = {
        name: {
            (s.prefix, kind, i.name.lower()): i
            for s in c.services
            for kind, attr in attrs.items()
            for i in getattr(s, attr)
        }
        for name, c in alone.items()
    }
    checked = 0
    services = {name: {s.prefix: s for s in c.services} for name, c in alone.items()}
    for service in combined.catalog.services:
        order = dict(service.field_sources)
        # The operations, whole from the first source that carries them.
        giver = order.get("service.operations", (None,))[0]
        if giver is None:
            assert not service.carries("operations") and service.operations == ()
        else:
            assert service.operations == services[giver][service.prefix].operations
        for kind, attr in attrs.items():
            for item in getattr(service, attr):
                key = (service.prefix, kind, item.name.lower())
                assert item.sources == tuple(s for s in ("html", "json") if key in per_source[s])
                for group, model_fields in GROUPS[kind].items():
                    giver = next(
                        (s for s in order.get(f"{kind}.{group}", ()) if s in item.sources), None
                    )
                    if giver is None:
                        assert not item.carries(model_fields[0]), (key, group)
                        continue
                    source_item = per_source[giver][key]
                    for f in model_fields:
                        assert getattr(item, f) == getattr(source_item, f), (key, f, giver)
                    checked += 1
    assert checked > 200_000


def test_a_source_that_lists_no_actions_disagrees_on_none(corpus):
    """The 2020 markdown of Alexa for Business replaced its actions table by a link: beside
    the HTML of the same weeks its actions are not compared (said, with the reason), never
    80 actions 'absent' from the markdown."""
    html = corpus / "html" / "2020-11-01_65f99eab" / "list_alexaforbusiness.html"
    md = corpus / "markdown" / "2020-11-06_b585974" / "list_alexaforbusiness.md"
    result = build([html, md])
    report = result.crosscheck
    assert report is not None
    assert not [e for e in report.disagreements if e["field"] == "action"]
    assert report.summary()["actions_disagreeing"]["existence"] == 0
    assert {
        "field": "action",
        "reason": "not carried by md (markdown-table userguide-md-table)",
        "services": ["a4b"],
    } in report.not_compared
    (service,) = result.catalog.services
    assert service.carries("actions") and len(service.actions) == 80
    assert {a.sources for a in service.actions} == {("html",)}
    # The resource types and keys both list are compared.
    assert report.compared["resource_type"] > 0 and report.compared["condition_key"] > 0
