"""The ``markdown-list`` parser: the ``.md`` rendering of the July 2026 SAR layout.

Hand-written fixtures of one page in both renderings, hand-checked facts of the
corpus pages, every corpus page parsed with invariants against an independent
line-based reading, and the two renderings of the same pages compared.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iam_catalog.parsers import markdown_list, markdown_table
from iam_catalog.parsers.detect import detect
from iam_catalog.parsers.model import AccessLevel, ParsedPage, Severity
from tests.conftest import FIXTURES
from tests.test_markdown_table import expected_facts, page_facts

MD_FIXTURES = FIXTURES / "markdown"
STYLE_1 = "2026-08_8d3f1c7"
STYLE_2 = "2026-07_d2837ee"
STYLE_1_NORMALISED = "2026-08_4be7d6f"


def parse_file(path: Path) -> ParsedPage:
    return markdown_list.parse(path.read_text(encoding="utf-8"), source=path.stem)


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("path", sorted(MD_FIXTURES.glob("sar2026_*.md")), ids=lambda p: p.stem)
def test_fixture_page_matches_its_hand_written_expectation(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert markdown_list.sniff(text)
    assert not markdown_table.sniff(text)
    assert detect(text) == "markdown-list"
    assert page_facts(parse_file(path)) == expected_facts(path)


def test_fixture_renderings_give_the_same_model() -> None:
    listed = parse_file(MD_FIXTURES / "sar2026_list.md")
    tabled = parse_file(MD_FIXTURES / "sar2026_table.md")
    assert listed.ref.layout == "sar-2026-07-list"
    assert tabled.ref.layout == "sar-2026-07-table"
    assert listed.actions == tabled.actions
    assert listed.resource_types == tabled.resource_types
    assert listed.condition_keys == tabled.condition_keys


def test_front_matter_gives_the_url_and_keeps_line_numbers() -> None:
    path = MD_FIXTURES / "sar2026_list.md"
    text = path.read_text(encoding="utf-8")
    url = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_gizmos.html"
    front = f"---\nsource_url: {url}\n---\n"
    plain = markdown_list.parse(text, source="list_gizmos")
    fronted = markdown_list.parse(front + text, source="list_gizmos")
    assert fronted.ref.url == url and plain.ref.url is None
    assert fronted.actions == plain.actions
    shift = front.count("\n")
    assert [a.line for a in fronted.actions] == [a.line + shift for a in plain.actions]  # type: ignore[operator]
    lines = (front + text).splitlines()
    for a in fronted.actions:
        assert a.line is not None and a.name in lines[a.line - 1]


def test_unresolved_template_link_is_dropped_and_reported() -> None:
    page = parse_file(MD_FIXTURES / "sar2026_table.md")
    terms = next(a for a in page.actions if a.name == "AcceptGizmoTerms")
    assert terms.api_reference is None and terms.permission_only
    (diag,) = [d for d in page.diagnostics if d.code == "unresolved-link"]
    assert diag.severity is Severity.INFO
    assert "${UserGuideDocPage}" in diag.message and "AcceptGizmoTerms" in diag.message


def test_relative_md_links_resolve_to_the_html_pages() -> None:
    base = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_x.html"
    assert (
        markdown_list.absolute("../../../braket/latest/APIReference/API_CancelJob.md", base)
        == "https://docs.aws.amazon.com/braket/latest/APIReference/API_CancelJob.html"
    )
    assert (
        markdown_list.absolute("../../../IAM/latest/UserGuide/keys.md#tag-keys", base)
        == "https://docs.aws.amazon.com/IAM/latest/UserGuide/keys.html#tag-keys"
    )
    absolute = "https://example.com/docs/page.md"
    assert markdown_list.absolute(absolute, base) == absolute


# --------------------------------------------------------------------------- corpus


@pytest.fixture(scope="module")
def new_layout(corpus: Path) -> dict[tuple[str, str], tuple[str, ParsedPage]]:
    """Every page of the 2026 `.md` samples, parsed once, by (folder, page)."""
    out = {}
    for path in sorted((corpus / "new-layout-md").glob("*/*.md")):
        text = path.read_text(encoding="utf-8")
        out[(path.parent.name, path.stem)] = (text, markdown_list.parse(text, source=path.stem))
    return out


def test_corpus_has_the_three_samples(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    folders = sorted({folder for folder, _ in new_layout})
    assert folders == [STYLE_2, STYLE_1_NORMALISED, STYLE_1]
    assert len(new_layout) == 12


def test_every_new_layout_page_is_detected_and_has_no_errors(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    for (folder, name), (text, page) in new_layout.items():
        assert detect(text) == "markdown-list", (folder, name)
        assert page.prefix and page.service_name and page.actions, (folder, name)
        assert not [d for d in page.diagnostics if d.severity is Severity.ERROR], (folder, name)
        expected_layout = "sar-2026-07-table" if folder == STYLE_2 else "sar-2026-07-list"
        assert page.ref.layout == expected_layout, (folder, name)
        assert all(a.access_level is not None for a in page.actions), (folder, name)


def _raw_action_names(text: str) -> list[str]:
    """Action names read line by line from the raw text (independent of the parser):
    list items and table rows of the actions and permission-only sections."""
    names: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = bool(re.match(r"## (Actions defined|Permission-only actions)", line))
            continue
        if not inside:
            continue
        if line.startswith("- **"):
            m = re.match(r"- \*\*\s*\[([^\]]+)\]", line) or re.match(r"- \*\*\s*(\S+)", line)
            assert m, line
            names.append(m.group(1))
        elif line.startswith("|") and not re.match(r"\|\s*(-+|Actions)\s*\|", line):
            first = line.split("|")[1].strip()
            link = re.match(r"\[([^\]]+)\]\(([^)\s]*)", first)
            if link and not link.group(2).startswith("#"):  # not a continuation row
                names.append(link.group(1))
    return names


def test_new_layout_actions_match_the_raw_lines(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    for key, (text, page) in new_layout.items():
        assert [a.name for a in page.actions] == _raw_action_names(text), key
        permission_only = text.split("## Permission-only actions", 1)[1:]
        section = permission_only[0].split("\n## ", 1)[0] if permission_only else ""
        assert {a.name for a in page.actions if a.permission_only} == set(
            _raw_action_names("## Permission-only actions" + section)
        ), key


def test_new_layout_operations_name_only_actions_of_the_page(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    with_operations = 0
    for key, (text, page) in new_layout.items():
        # Operation rows link the action to its anchor `#list_x-action-Name`.
        prefix = re.escape(page.prefix or "")
        mapped = set(re.findall(rf"\[{prefix}:(\w+)\]\(#[^)\s]*-action-", text))
        assert {a.name for a in page.actions if a.operations} == mapped, key
        for a in page.actions:
            assert not (a.permission_only and a.operations), key
        with_operations += bool(mapped)
    assert with_operations == 10  # the dbqms pages have no operations section


def test_new_layout_operations_keep_every_authorised_action_with_its_values(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    """Every "IAM action" of the operations section, other services' too, is an
    authorised action of its operation, with the condition key and values of its row."""
    mappings = 0
    for key, (text, page) in new_layout.items():
        section = text.split("## API operations defined by", 1)[1:]
        section = section[0].split("\n## ", 1)[0] if section else ""
        # a link whose text is `service:Action`, in the IAM action column or field
        raw = re.findall(r"\[([\w-]+:\w+)\]\(", section)
        ours = [f"{a.service}:{a.action}" for o in page.operations for a in o.authorized_actions]
        assert sorted(ours) == sorted(raw), key
        mappings += len(ours)
        with_values = [
            (f"{a.service}:{a.action}", a.context)
            for o in page.operations
            for a in o.authorized_actions
            if a.context
        ]
        if page.prefix == "braket":  # the only page with a static value
            assert with_values == [
                (
                    "iam:PassRole",
                    (("iam:PassedToService", ("braket.amazonaws.com", "sagemaker.amazonaws.com")),),
                )
            ], key
        else:
            assert with_values == [], key
    assert mappings > 100


def test_new_layout_rows_reference_only_defined_resource_types_and_keys(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    for key, (_, page) in new_layout.items():
        resources = {r.name.lower() for r in page.resource_types}
        keys = {k.name.lower() for k in page.condition_keys}
        for a in page.actions:
            assert {k.lower() for k in a.condition_keys} <= keys, (key, a.name)
            for row in a.resource_types:
                assert row.name.lower() in resources, (key, a.name)
                assert {k.lower() for k in row.condition_keys} <= keys, (key, a.name)


def test_braket_style_1_hand_checked_facts(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    _, page = new_layout[(STYLE_1, "list_braket")]
    assert (page.prefix, page.service_name) == ("braket", "Amazon Braket")
    assert len(page.actions) == 20
    actions = {a.name: a for a in page.actions}

    create = actions["CreateJob"]
    assert create.description == "Grants permission to create a job"
    assert create.access_levels == (AccessLevel.WRITE,)
    assert create.api_reference == (
        "https://docs.aws.amazon.com/braket/latest/APIReference/API_CreateJob.html"
    )
    # The page prints the action's keys on both rows and job's own key on its row: read as
    # the older layouts mean them, the action has the keys and the rows add none.
    assert [(r.name, r.required, r.condition_keys) for r in create.resource_types] == [
        ("device", True, ()),
        ("job", True, ()),
    ]
    assert create.condition_keys == ("aws:RequestTag/${TagKey}", "aws:TagKeys")
    assert create.dependent_actions == () and not create.carries("dependent_actions")
    assert create.operations == ("CreateJob",)

    tag = actions["TagResource"]
    assert tag.access_levels == (AccessLevel.TAGGING, AccessLevel.WRITE)
    assert tag.access_level is AccessLevel.TAGGING
    assert [(r.name, r.required) for r in tag.resource_types] == [
        ("job", False),
        ("quantum-task", False),
        ("spending-limit", False),
    ]
    assert tag.operations == (
        "CreateJob",
        "CreateQuantumTask",
        "CreateSpendingLimit",
        "TagResource",
    )

    cancel = actions["CancelJob"]  # one row: resource type and keys on two lines
    # the row's only key is job's own (resource-types table): the row adds none
    assert [(r.name, r.required, r.condition_keys) for r in cancel.resource_types] == [
        ("job", True, ())
    ]
    assert cancel.condition_keys == ()
    assert [(r.name, r.condition_keys) for r in actions["GetDevice"].resource_types] == [
        ("device", ())
    ]
    assert actions["SearchDevices"].resource_types == ()
    assert actions["SearchDevices"].access_level is AccessLevel.LIST

    only = [a for a in page.actions if a.permission_only]
    assert [a.name for a in only] == [
        "AcceptUserAgreement",
        "GetServiceLinkedRoleStatus",
        "GetUserAgreementStatus",
    ]
    assert all(a.api_reference is None and a.operations == () for a in only)
    codes = {d.code: d.severity for d in page.diagnostics}
    assert codes["unresolved-link"] is Severity.INFO
    # iam:PassRole is another service's action: in the operations, with the values the
    # operation sets for iam:PassedToService (AWS's JSON of 2026-03-31 has only the first)
    ops = {o.name: o for o in page.operations}
    assert [(a.service, a.action, a.context) for a in ops["CreateJob"].authorized_actions] == [
        ("braket", "CreateJob", ()),
        ("braket", "TagResource", ()),
        (
            "iam",
            "PassRole",
            (("iam:PassedToService", ("braket.amazonaws.com", "sagemaker.amazonaws.com")),),
        ),
    ]
    assert not ops["CreateJob"].carries("sdk")

    assert next((r.name, r.arn_formats) for r in page.resource_types) == (
        "device",
        ("arn:${Partition}:braket:*:*:device/${DeviceType}/${Provider}/${DeviceId}",),
    )
    assert [(k.name, k.types) for k in page.condition_keys] == [
        ("aws:RequestTag/${TagKey}", ("String",)),
        ("aws:ResourceTag/${TagKey}", ("String",)),
        ("aws:TagKeys", ("ArrayOfString",)),
    ]


def test_ec2_instance_connect_keeps_repeated_rows_and_plain_text_keys(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    _, page = new_layout[(STYLE_1, "list_ec2-instance-connect")]
    tunnel = next(a for a in page.actions if a.name == "OpenTunnel")
    assert [r.name for r in tunnel.resource_types] == ["instance-connect-endpoint"] * 2
    assert [r.required for r in tunnel.resource_types] == [True, True]
    # The keys both rows print (the resource type's own, aws: and ec2:ResourceTag) are
    # not the row's; the second row adds three. None is the action's own: the first row
    # has none of them.
    assert tunnel.resource_types[0].condition_keys == ()
    assert tunnel.resource_types[1].condition_keys == (
        "ec2-instance-connect:MaxTunnelDuration",  # not a link on the page
        "ec2-instance-connect:privateIpAddress",
        "ec2-instance-connect:remotePort",
    )
    assert tunnel.condition_keys == ()
    assert tunnel.operations == ()  # no API operation maps to OpenTunnel
    assert [d.code for d in page.diagnostics] == ["duplicate-resource-row"]


def test_simpledb_maps_only_the_operations_the_page_lists(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    _, page = new_layout[(STYLE_1, "list_simpledb")]
    assert page.prefix == "sdb"
    assert {a.name: a.operations for a in page.actions if a.operations} == {
        "GetExport": ("GetExport",),
        "ListExports": ("ListExports",),
        "StartDomainExport": ("StartDomainExport",),
    }
    actions = {a.name: a for a in page.actions}
    assert actions["ListDomains"].resource_types == ()
    assert [(r.name, r.required) for r in actions["ListExports"].resource_types] == [
        ("domain", False)
    ]
    assert page.condition_keys == ()


def test_account_permission_only_list_item_keeps_its_link(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    for folder in (STYLE_1, STYLE_2):
        _, page = new_layout[(folder, "list_account")]
        close = next(a for a in page.actions if a.name == "CloseAccount")
        assert close.permission_only and close.access_level is AccessLevel.WRITE
        assert close.api_reference == (
            "https://docs.aws.amazon.com/accounts/latest/reference/"
            "security_account-permissions-ref.html"
        )
        assert [(r.name, r.required) for r in close.resource_types] == [("account", False)]


# --------------------------------------------------------------------------- style 1 vs 2


def test_normalised_style_1_sample_equals_style_1(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    _, normalised = new_layout[(STYLE_1_NORMALISED, "list_braket")]
    _, plain = new_layout[(STYLE_1, "list_braket")]
    assert normalised.actions == plain.actions
    assert normalised.resource_types == plain.resource_types
    assert normalised.condition_keys == plain.condition_keys
    assert normalised.ref.url == (
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_braket.html"
    )


def test_style_1_and_style_2_agree_except_where_the_page_changed(
    new_layout: dict[tuple[str, str], tuple[str, ParsedPage]],
) -> None:
    pairs = sorted(name for folder, name in new_layout if folder == STYLE_2)
    assert pairs == ["list_account", "list_braket", "list_dbqms", "list_marketplace-entitlement"]
    changed: dict[str, set[str]] = {}
    for name in pairs:
        old_text, old = new_layout[(STYLE_2, name)]
        new_text, new = new_layout[(STYLE_1, name)]
        assert (old.prefix, old.service_name) == (new.prefix, new.service_name)
        assert old.resource_types == new.resource_types, name
        assert old.condition_keys == new.condition_keys, name
        old_actions = {a.name: a for a in old.actions}
        new_actions = {a.name: a for a in new.actions}
        differing = {
            n
            for n in old_actions.keys() | new_actions.keys()
            if old_actions.get(n) != new_actions.get(n)
        }
        for n in differing:
            # Every difference is a real change of the page: the action is missing
            # from the text of the older rendering.
            assert n not in old_actions and n not in old_text and n in new_text, (name, n)
        if differing:
            changed[name] = differing
    assert changed == {"list_account": {"GetPrimaryEmailUpdateStatus"}}


# --------------------------------------------------------------------------- sniff


def test_sniff_rejects_user_guide_markdown_html_and_text_extractions(corpus: Path) -> None:
    for path in sorted((corpus / "markdown").glob("*/list_*s3*.md")):
        assert not markdown_list.sniff(path.read_text(encoding="utf-8")), path
    for path in sorted((corpus / "html" / "2026-04-01_110d32e3").glob("list_amazonbraket*")):
        assert not markdown_list.sniff(path.read_text(encoding="utf-8")), path
    for path in sorted((FIXTURES / "pages").glob("*.txt")):
        assert not markdown_list.sniff(path.read_text(encoding="utf-8")), path


def test_markdown_without_sar_content_gives_error_diagnostics_not_an_exception() -> None:
    text = "# Release notes\n\n## API operations defined by nothing\n\n- **   Foo  **\n"
    assert not markdown_list.sniff(text)
    page = markdown_list.parse(text, source="notes")
    assert page.prefix is None and page.actions == ()
    codes = {d.code: d.severity for d in page.diagnostics}
    assert codes["no-prefix"] is Severity.ERROR
    assert codes["no-actions"] is Severity.ERROR
    assert codes["operation-without-action"] is Severity.WARNING
