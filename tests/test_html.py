"""The html parser: hand-written fixtures for each rule and layout, and the whole corpus
(2026-04-01 and 2020-11-01 HTML) with invariants checked against the raw page text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iam_catalog.output.build import parse_text
from iam_catalog.parsers import html
from iam_catalog.parsers.detect import detect
from iam_catalog.parsers.model import AccessLevel, Action, ParsedPage, Severity

from .conftest import FIXTURES, SEEDS

HTML_FIXTURES = FIXTURES / "html"
HTML_2026 = "html/2026-04-01_110d32e3"
HTML_2020 = "html/2020-11-01_65f99eab"


def parse_fixture(name: str, url: str | None = None) -> ParsedPage:
    path = HTML_FIXTURES / name
    return html.parse(path.read_text(encoding="utf-8"), source=path.stem, url=url)


def action(page: ParsedPage, name: str) -> Action:
    return next(a for a in page.actions if a.name == name)


def codes(page: ParsedPage) -> list[tuple[str, str]]:
    return [(d.severity.value, d.code) for d in page.diagnostics]


# --------------------------------------------------------------------------- 2023 layout


@pytest.fixture(scope="module")
def rowspan_page() -> ParsedPage:
    return parse_fixture("sar2023_rowspan.html")


def test_html_rowspan_keeps_each_rows_keys_and_dependent_actions(rowspan_page):
    create = action(rowspan_page, "CreateWidget")
    rows = {r.name: r for r in create.resource_types}
    assert list(rows) == ["gadget", "widget"]
    assert rows["gadget"].condition_keys == ("example:GadgetColour",)
    assert rows["gadget"].dependent_actions == ("example:DescribeGadget",)
    # The page repeats the widget's own key (resource-types table) on its row: a row's
    # keys are only those it adds.
    assert rows["widget"].condition_keys == ()
    assert "aws:ResourceTag/${TagKey}" in {
        k for r in rowspan_page.resource_types if r.name == "widget" for k in r.condition_keys
    }
    assert rows["widget"].dependent_actions == ()
    # the row with an empty resource cell is the action's own row
    assert create.condition_keys == ("aws:RequestTag/${TagKey}", "aws:TagKeys")
    assert create.dependent_actions == ("example:TagResource", "iam:PassRole")


def test_html_rowspan_cells_are_read_once_for_the_whole_action(rowspan_page):
    create = action(rowspan_page, "CreateWidget")
    assert create.description == "Grants permission to create a widget in a gadget"
    assert create.access_level is AccessLevel.WRITE
    # One level per action in this layout: the set is not carried.
    assert create.access_levels == () and not create.carries("access_levels")
    assert create.api_reference == (
        "https://docs.aws.amazon.com/example/latest/APIReference/API_CreateWidget.html"
    )
    assert [a.name for a in rowspan_page.actions] == ["CreateWidget", "ViewConsole"]
    # The fixture is prettified as the archived pages are: ``$<span>{</span>`` on three lines.
    assert [d.code for d in rowspan_page.diagnostics] == ["template-whitespace"]


def test_html_star_marks_required_resource_types(rowspan_page):
    rows = action(rowspan_page, "CreateWidget").resource_types
    assert [(r.name, r.required) for r in rows] == [("gadget", True), ("widget", False)]


def test_html_permission_only_marker_sets_flag_and_leaves_the_name(rowspan_page):
    view = action(rowspan_page, "ViewConsole")
    assert view.permission_only is True
    assert view.access_level is AccessLevel.READ
    assert not action(rowspan_page, "CreateWidget").permission_only


def test_html_arn_split_by_span_is_normalised(rowspan_page):
    gadget = next(r for r in rowspan_page.resource_types if r.name == "gadget")
    assert gadget.arn_formats == (
        "arn:${Partition}:example:${Region}:${Account}:gadget/${GadgetId}",
    )
    assert gadget.condition_keys == ()
    widget = next(r for r in rowspan_page.resource_types if r.name == "widget")
    assert widget.condition_keys == ("aws:ResourceTag/${TagKey}",)


def test_html_several_arn_formats_of_one_resource_type_are_all_kept(rowspan_page):
    widget = next(r for r in rowspan_page.resource_types if r.name == "widget")
    assert widget.arn_formats == (
        "arn:${Partition}:example:${Region}:${Account}:widget/${WidgetId}",
        "arn:${Partition}:example:${Region}:${Account}:gadget/${GadgetId}/widget/${WidgetId}",
    )


def test_html_condition_key_types_one_per_paragraph(rowspan_page):
    keys = {k.name: k for k in rowspan_page.condition_keys}
    assert keys["example:GadgetColour"].types == ("String", "ArrayOfString")
    assert keys["aws:RequestTag/${TagKey}"].description == (
        "Filters access by the tags that are passed in the request"
    )


def test_html_prefix_title_canonical_url_and_layout(rowspan_page):
    assert rowspan_page.prefix == "example"
    assert rowspan_page.service_name == "Example Service"
    assert rowspan_page.ref.layout == "sar-2023"
    assert rowspan_page.ref.format == "html"
    assert rowspan_page.ref.url == (
        "https://docs.aws.amazon.com/service-authorization/latest/reference/"
        "list_exampleservice.html"
    )


def test_html_canonical_link_wins_over_url_argument_and_argument_is_the_fallback():
    with_link = parse_fixture("sar2023_rowspan.html", url="file:///elsewhere.html")
    assert with_link.ref.url.startswith("https://docs.aws.amazon.com/")
    without_link = parse_fixture("fragment_main_col_body.html", url="file:///saved.html")
    assert without_link.ref.url == "file:///saved.html"


def test_html_provenance_lines_point_at_the_rows(rowspan_page):
    lines = (HTML_FIXTURES / "sar2023_rowspan.html").read_text().splitlines()
    view = action(rowspan_page, "ViewConsole")
    assert view.page == "sar2023_rowspan"
    assert lines[view.line - 1].strip() == "<tr>"
    assert 'id="example-ViewConsole"' in lines[view.line]


# --------------------------------------------------------------------------- broken input


def test_html_page_without_tables_is_a_no_tables_error():
    page = parse_fixture("saved_301.html")
    assert page.prefix is None and page.actions == ()
    assert codes(page) == [("error", "no-tables")]
    assert "301 Moved Permanently" in page.diagnostics[0].message


def test_html_page_of_another_site_is_a_no_prefix_error_with_its_table_reported():
    page = parse_fixture("other_site.html")
    assert page.prefix is None and page.actions == ()
    assert codes(page) == [("error", "no-prefix"), ("warning", "unknown-table")]
    assert "Amazon S3 Pricing" in page.diagnostics[0].message
    assert "storage class | price per gb" in page.diagnostics[1].message


def test_html_unknown_table_is_reported_and_the_other_tables_are_read():
    page = parse_fixture("unknown_table_and_bad_row.html")
    unknown = [d for d in page.diagnostics if d.code == "unknown-table"]
    assert len(unknown) == 1 and "region | endpoint" in unknown[0].message
    assert unknown[0].severity is Severity.WARNING
    assert page.prefix == "example"


def test_html_row_with_unexpected_cell_count_is_reported_and_the_rest_is_read():
    page = parse_fixture("unknown_table_and_bad_row.html")
    # the bad row sits between two good ones: both are read, the bad one is reported
    assert [a.name for a in page.actions] == ["GetWidget", "ListWidgets"]
    bad = [d for d in page.diagnostics if d.code == "row-cell-count"]
    assert len(bad) == 1 and bad[0].severity is Severity.ERROR
    assert bad[0].line == 18
    assert "8 cell(s)" in bad[0].message and "7 column(s) are free" in bad[0].message


def test_html_unknown_column_is_reported_and_known_columns_still_read():
    page = parse_fixture("unknown_table_and_bad_row.html")
    assert ("warning", "unknown-column") in codes(page)
    get = action(page, "GetWidget")
    assert [(r.name, r.required) for r in get.resource_types] == [("widget", True)]


def test_html_truncated_page_keeps_rows_before_the_cut_and_says_it_is_truncated():
    page = parse_fixture("truncated.html")
    assert [a.name for a in page.actions] == ["GetWidget", "PutWidget"]
    found = {d.code for d in page.diagnostics}
    assert {"truncated", "rowspan-overrun", "row-cell-count"} <= found
    assert page.ref.layout == "sar-2023"


def test_html_empty_text_is_an_empty_page_error():
    page = html.parse("   \n", source="blank")
    assert codes(page) == [("error", "empty-page")]


def test_html_str_with_xml_encoding_declaration_is_read():
    text = (HTML_FIXTURES / "fragment_main_col_body.html").read_text()
    page = html.parse('<?xml version="1.0" encoding="utf-8"?>\n' + text, source="x")
    assert [a.name for a in page.actions] == ["GetWidget"]


def test_html_colspan_covers_several_columns():
    page = parse_fixture("colspan.html")
    listing = action(page, "ListWidgets")
    # "Resource types" and "Condition keys" share one empty cell; dependent actions are read
    assert listing.resource_types == ()
    assert listing.dependent_actions == ("example:DescribeGadget",)
    assert not [d for d in page.diagnostics if d.severity is Severity.ERROR]


# --------------------------------------------------------------------------- layouts


def test_html_fragment_of_main_col_body_is_read():
    page = parse_fixture("fragment_main_col_body.html")
    assert page.ref.layout == "fragment"
    assert page.prefix == "example" and page.service_name == "Example Service"
    assert [(r.name, r.arn_formats) for r in page.resource_types] == [
        ("widget", ("arn:${Partition}:example:${Region}:${Account}:widget/${WidgetId}",))
    ]
    assert not page.diagnostics  # a fragment is not a truncated document


def test_html_fragment_with_columns_in_another_order_is_read_by_header():
    page = parse_fixture("fragment_tables_only.html")
    listing = action(page, "ListWidgets")
    assert listing.access_level is AccessLevel.LIST
    assert listing.description == "Grants permission to list widgets"
    assert listing.condition_keys == ("example:Colour",)


def test_html_userguide_2020_anchor_layout():
    page = parse_fixture("userguide_2020.html")
    assert page.ref.layout == "userguide-2020"
    delete = action(page, "DeleteWidget")
    assert delete.api_reference == "https://docs.aws.amazon.com/example/API_DeleteWidget.html"
    assert [(r.name, r.required) for r in delete.resource_types] == [("widget", True)]
    assert delete.condition_keys == ("example:Colour",)
    assert page.service_name == "Example Service"


@pytest.fixture(scope="module")
def july_2026() -> ParsedPage:
    return parse_fixture("constructed_2026-07_layout.html")


def test_html_2026_07_layout_is_recognised(july_2026):
    assert (
        (HTML_FIXTURES / "constructed_2026-07_layout.html")
        .read_text()
        .startswith("<!-- CONSTRUCTED")
    )
    assert july_2026.ref.layout == "sar-2026-07"
    assert july_2026.prefix == "braket" and july_2026.service_name == "Amazon Braket"


def test_html_2026_07_several_access_levels_in_one_cell(july_2026):
    tag = action(july_2026, "TagResource")
    assert tag.access_levels == (AccessLevel.TAGGING, AccessLevel.WRITE)
    assert tag.access_level is AccessLevel.TAGGING
    assert action(july_2026, "CreateJob").access_levels == (AccessLevel.WRITE,)


def test_html_2026_07_operations_go_to_each_authorized_action_of_this_service(july_2026):
    assert action(july_2026, "TagResource").operations == (
        "CreateJob",
        "CreateQuantumTask",
        "TagResource",
    )
    assert action(july_2026, "CreateJob").operations == ("CreateJob",)
    assert action(july_2026, "SearchDevices").operations == ("SearchDevices",)
    # iam:PassRole is authorized by CreateJob too, but it is another service's action
    assert all("PassRole" not in a.name for a in july_2026.actions)
    # ... kept in the page's operations, with the values the operation sets for its key
    ops = {o.name: o for o in july_2026.operations}
    assert list(ops) == [
        "CancelJob",
        "CreateJob",
        "CreateQuantumTask",
        "SearchDevices",
        "TagResource",
        "UntagResource",
    ]
    assert [(a.service, a.action, a.context) for a in ops["CreateJob"].authorized_actions] == [
        ("braket", "CreateJob", ()),
        ("braket", "TagResource", ()),
        (
            "iam",
            "PassRole",
            (("iam:PassedToService", ("braket.amazonaws.com", "sagemaker.amazonaws.com")),),
        ),
    ]
    # the layout has no SDK methods
    assert all(not o.carries("sdk") and o.sdk == () for o in ops.values())


def test_html_2026_07_rowspan_with_access_level_in_the_last_column(july_2026):
    create = action(july_2026, "CreateJob")
    # The layout prints the action's keys on every row, and job's own key on its row: read
    # back, they are the action's keys and rows that add none.
    assert [(r.name, r.required, r.condition_keys) for r in create.resource_types] == [
        ("device", True, ()),
        ("job", True, ()),
    ]
    assert create.condition_keys == ("aws:RequestTag/${TagKey}", "aws:TagKeys")
    assert create.dependent_actions == ()


def test_html_2026_07_permission_only_section_marks_its_actions(july_2026):
    flagged = {a.name for a in july_2026.actions if a.permission_only}
    assert flagged == {"AcceptUserAgreement", "GetUserAgreementStatus"}
    accept = action(july_2026, "AcceptUserAgreement")
    assert accept.access_level is AccessLevel.WRITE and accept.operations == ()
    assert action(july_2026, "GetUserAgreementStatus").access_level is AccessLevel.READ


def test_html_2026_07_operation_for_an_undefined_action_is_reported():
    text = (HTML_FIXTURES / "constructed_2026-07_layout.html").read_text()
    text = text.replace(">braket:SearchDevices<", ">braket:SearchEverything<")
    page = html.parse(text, source="changed")
    found = [d for d in page.diagnostics if d.code == "operation-unknown-action"]
    assert len(found) == 1 and "searcheverything" in found[0].message
    assert action(page, "SearchDevices").operations == ()


# --------------------------------------------------------------------------- sniff


def test_sniff_accepts_every_html_fixture_and_corpus_page(corpus):
    for path in HTML_FIXTURES.glob("*.html"):
        assert html.sniff(path.read_text()), path.name
    for folder in (HTML_2026, HTML_2020):
        for path in sorted((corpus / folder).glob("*.html"))[::25]:
            assert detect(path.read_text()) == "html", path.name


def test_sniff_rejects_markdown_text_and_json(corpus):
    others = [*SEEDS.glob("*.txt"), *(corpus / "new-layout-md").rglob("*.md")]
    others += sorted((corpus / "markdown").rglob("*.md"))[::40]
    others += sorted((corpus / "servicereference").rglob("*.json"))[::100]
    assert len(others) > 15
    for path in others:
        assert not html.sniff(path.read_text()), path


# --------------------------------------------------------------------------- whole corpus

# The actions table of the 2023 and 2020 markup, and the id of each action's first cell
# (<td id> since 2023, <a id> before): read from the raw text, independently of lxml.
ACTIONS_TABLE = re.compile(r"<th>\s*Dependent actions\s*</th>.*?</table>", re.S | re.I)
CELL_ID = re.compile(r'<(?:td|a) id="([^"]+)"')


@pytest.fixture(scope="module")
def pages_2026(corpus: Path) -> dict[str, tuple[str, ParsedPage]]:
    """Every 2026 page, parsed on its own: page id -> (text, parsed page)."""
    out = {}
    for path in sorted((corpus / HTML_2026).glob("*.html")):
        text = path.read_text(encoding="utf-8")
        out[path.stem] = (text, parse_text(text, source=path.stem))
    return out


def test_every_2026_page_parses_as_html_with_a_known_layout(pages_2026):
    assert len(pages_2026) == 528
    layouts = {}
    for page_id, (_, page) in pages_2026.items():
        assert page.ref.format == "html"
        layouts[page.ref.layout] = layouts.get(page.ref.layout, 0) + 1
        errors = [d for d in page.diagnostics if d.severity is Severity.ERROR]
        if page_id == "list_awsiot1-click":
            assert [d.code for d in errors] == ["no-tables"]
        else:
            assert not errors, page_id
    # 32 pages of the folder still have the 2020-2023 <a id> markup (see the agreement test)
    # 23 have the <td id> markup with the dated 2021-12 page template (leftover pages)
    assert layouts == {"sar-2023": 472, "sar-2021-12": 23, "sar-2020": 32, "unknown": 1}


def test_every_action_cell_of_every_2026_page_becomes_an_action(pages_2026):
    for page_id, (text, page) in pages_2026.items():
        table = ACTIONS_TABLE.search(text)
        stem = page_id.removeprefix("list_")
        ids = {i[len(stem) + 1 :] for i in CELL_ID.findall(table.group(0))} if table else set()
        assert {a.name for a in page.actions} == ids, page_id


def test_every_2026_action_has_an_access_level_and_every_resource_an_arn(pages_2026):
    for page_id, (_, page) in pages_2026.items():
        for a in page.actions:
            assert a.access_level is not None, (page_id, a.name)
            assert a.description, (page_id, a.name)
        for r in page.resource_types:
            # Kept as the page writes it, page errors included (two identity-sync ARNs
            # start with "^arn:"), but whitespace-free: the prettified "$ { Partition}" splits
            # are gone.
            assert r.arn_formats and all(
                "arn:${Partition}:" in f and not any(c.isspace() for c in f) for f in r.arn_formats
            ), (page_id, r.name)


def test_scenario_rows_are_reported_not_turned_into_resource_rows(pages_2026):
    _, ec2 = pages_2026["list_amazonec2"]
    run = action(ec2, "RunInstances")
    names = [r.name for r in run.resource_types]
    assert len(names) == len(set(names)) and "instance" in names
    scenario = [d for d in ec2.diagnostics if d.code == "scenario-rows"]
    assert len(scenario) == 1 and "EC2-VPC-EBS" in scenario[0].message
    assert scenario[0].message.startswith("RunInstances:")


@pytest.mark.parametrize("prefix", ["deepracer", "deepcomposer"])
def test_2026_build_has_services_policy_sentry_loses_with_every_action(html_2026, corpus, prefix):
    catalog = html_2026.catalog
    assert len(catalog.services) == 459
    service = next(s for s in catalog.services if s.prefix == prefix)
    [page_ref] = service.pages
    text = (corpus / HTML_2026 / f"{page_ref.page}.html").read_text()
    table = ACTIONS_TABLE.search(text)
    assert table is not None
    stem = page_ref.page.removeprefix("list_")
    ids = {i[len(stem) + 1 :] for i in CELL_ID.findall(table.group(0))}
    assert len(ids) > 10
    assert {a.name for a in service.actions} == ids
    assert all(a.access_level is not None and a.description for a in service.actions)


def test_2020_build_reads_every_page_in_the_user_guide_layout(html_2020):
    catalog = html_2020.catalog
    assert html_2020.files == 243
    assert len(catalog.services) == 232
    assert sum(len(s.actions) for s in catalog.services) == 8080
    assert {p.layout for s in catalog.services for p in s.pages} == {"userguide-2020"}
    assert not [d for d in catalog.diagnostics if d.severity is Severity.ERROR]
    s3 = next(s for s in catalog.services if s.prefix == "s3")
    abort = next(a for a in s3.actions if a.name == "AbortMultipartUpload")
    assert [(r.name, r.required) for r in abort.resource_types] == [("object", True)]
    assert "s3:DataAccessPointArn" in abort.condition_keys


@pytest.mark.parametrize(
    ("script", "layout"),
    [
        (
            "https://docs.aws.amazon.com/assets/r/awsdocs-doc-page.js?version=2021.12.02",
            "sar-2021-12",
        ),
        ("https://docs.aws.amazon.com/assets/r/awsdocs-doc-page.2.0.0.js", "sar-2023"),
    ],
)
def test_dated_page_template_names_the_layout(script, layout):
    # policy_sentry's folder keeps leftover pages of renamed services served with the
    # dated 2021-12 template beside the current page; the dated name ranks them lower.
    text = (HTML_FIXTURES / "sar2023_rowspan.html").read_text(encoding="utf-8")
    text = text.replace("</head>", f'<script defer="" src="{script}"></script>\n</head>', 1)
    page = html.parse(text, source="list_x")
    assert page.ref.layout == layout
    assert (
        page.actions
        == html.parse(
            (HTML_FIXTURES / "sar2023_rowspan.html").read_text(encoding="utf-8"), source="list_x"
        ).actions
    )


def test_the_file_bytes_and_the_text_give_the_same_page(corpus, tmp_path):
    """parse_bytes hands libxml2 the file's own bytes (TAKES_UTF8); parsing the decoded
    text gives the same page, field for field, and a UTF-8 byte-order mark changes nothing."""
    from iam_catalog.output.build import parse_bytes

    path = corpus / "html" / "2026-04-01_110d32e3" / "list_amazonhealthlake.html"
    data = path.read_bytes()
    from_text = html.parse(data.decode("utf-8"), source=path.stem)
    # A description with a non-ASCII character: the bytes are not the characters.
    assert any("user\u2019s account" in a.description for a in from_text.actions)
    from_bytes = parse_bytes(path, data)
    with_bom = tmp_path / path.name
    with_bom.write_bytes(b"\xef\xbb\xbf" + data)
    for page in (from_bytes, parse_bytes(with_bom, with_bom.read_bytes())):
        assert isinstance(page, ParsedPage)
        assert page == from_text
        assert [(a.name, a.line) for a in page.actions] == [
            (a.name, a.line) for a in from_text.actions
        ]
        assert page.ref == from_text.ref and page.diagnostics == from_text.diagnostics
