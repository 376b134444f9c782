"""The diff of operations, SDK methods and SupportedBy (AWS's JSON, the July 2026 layout):
compared only where both sides carry them, and ``iam:PassRole`` gained through an
operation rated ``security``, as a dependent action is (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iam_catalog.output.build import build
from iam_catalog.output.diff import ChangeKind, ChangeSeverity, diff
from iam_catalog.output.report import render
from iam_catalog.parsers.model import AccessLevel

JSON_2025 = ("servicereference", "2025-11-01")
JSON_2026 = ("servicereference", "2026-03-31")
MD_2026_08 = ("new-layout-md", "2026-08_8d3f1c7")


def _pass_role_actions(doc: dict) -> set[str]:
    """From a raw AWS document: the actions of its service that an operation of the same
    name authorises together with iam:PassRole (else every action of the service it
    authorises), lower-cased."""
    prefix = doc["Name"].lower()
    out: set[str] = set()
    for op in doc.get("Operations", []):
        needs = op.get("AuthorizedActions", [])
        if not any((a["Service"], a["Name"]) == ("iam", "PassRole") for a in needs):
            continue
        own = [a["Name"].lower() for a in needs if a["Service"].lower() == prefix]
        out |= {a for a in own if a == op["Name"].lower()} or set(own)
    return out


def test_json_2025_to_2026_rates_new_actions_that_pass_roles_by_an_operation_security(corpus):
    old = build([corpus.joinpath(*JSON_2025)]).catalog
    new = build([corpus.joinpath(*JSON_2026)]).catalog
    d = diff(old, new)
    added = [c for c in d.changes if c.kind is ChangeKind.ACTION_ADDED]
    # independently, from the raw 2026 documents
    raw = {}
    for path in corpus.joinpath(*JSON_2026).glob("*/*.json"):
        doc = json.loads(path.read_bytes())
        raw[doc["Name"].lower()] = _pass_role_actions(doc)
    passing = {(c.service, c.item) for c in added if c.passes_roles}
    assert passing == {
        (c.service, c.item) for c in added if (c.item or "").lower() in raw.get(c.service, set())
    }
    assert len(passing) == 28
    assert all(
        c.severity is ChangeSeverity.SECURITY for c in added if (c.service, c.item) in passing
    )
    ecs = next(c for c in added if (c.service, c.item) == ("ecs", "CreateExpressGatewayService"))
    assert ecs.passes_roles == "iam:PassRole (with operation CreateExpressGatewayService)"
    # with the 18 new Permissions-management actions: 46 security additions (18 before)
    security = [c for c in added if c.severity is ChangeSeverity.SECURITY]
    managing = [
        c for c in security if AccessLevel.PERMISSIONS_MANAGEMENT in c.subject.access_levels
    ]
    assert (len(security), len(managing)) == (46, 18)
    # the 2025-11 JSON (version 1.3) has no operations: none compared, and said so
    assert not [c for c in d.changes if (c.field or "").startswith("operations[")]
    reasons = {(n.service, n.field): n.reason for n in d.not_compared}
    assert reasons[("ecs", "service.operations")] == (
        "not carried by the old side (service-reference v1.3)"
    )
    # SupportedBy is in both (1.3 and 1.4): compared, info
    supported = [c for c in d.changes if c.field == "supported_by"]
    assert supported and {c.severity for c in supported} == {ChangeSeverity.INFO}
    md = render(d, "md")
    assert "`ecs:CreateExpressGatewayService`" not in md or "can pass roles" in md
    assert "can pass roles (`iam:PassRole (with operation CreateExpressGatewayService)`)" in md


def test_json_against_the_july_2026_layout_compares_operations_but_not_sdk(corpus):
    """braket in AWS's JSON of 2026-03-31 and in the August 2026 .md: the one operations
    change is real (CreateJob now passes roles to SageMaker too); SDK methods and
    SupportedBy, which the .md does not carry, are named as not compared."""
    d = diff(
        build([corpus.joinpath(*JSON_2026, "braket")]).catalog,
        build([corpus.joinpath(*MD_2026_08, "list_braket.md")]).catalog,
    )
    ops = [c for c in d.changes if (c.field or "").startswith("operations[")]
    assert [(c.field, c.old, c.new, c.severity) for c in ops] == [
        (
            "operations[CreateJob].context",
            ("iam:PassRole[iam:PassedToService=braket.amazonaws.com]",),
            ("iam:PassRole[iam:PassedToService=braket.amazonaws.com|sagemaker.amazonaws.com]",),
            ChangeSeverity.INFO,
        )
    ]
    assert {(n.field, n.reason) for n in d.not_compared} >= {
        ("operation.sdk", "not carried by the new side (markdown-list sar-2026-07-list)"),
        ("action.supported_by", "not carried by the new side (markdown-list sar-2026-07-list)"),
    }


@pytest.fixture
def advisor(corpus: Path) -> dict:
    return json.loads(
        corpus.joinpath(*JSON_2026, "iotdeviceadvisor/iotdeviceadvisor.json").read_text()
    )


def _catalog(doc: dict, folder: Path):
    (folder / doc["Name"]).mkdir(parents=True)
    (folder / doc["Name"] / f"{doc['Name']}.json").write_text(json.dumps(doc))
    return build([folder]).catalog


def test_an_operation_gaining_iam_pass_role_is_security_and_other_operation_changes_info(
    advisor, tmp_path
):
    new = _catalog(advisor, tmp_path / "new")
    old_doc = json.loads(json.dumps(advisor))
    ops = {op["Name"]: op for op in old_doc["Operations"]}
    create = ops["CreateSuiteDefinition"]
    create["AuthorizedActions"] = [
        a for a in create["AuthorizedActions"] if a["Name"] != "PassRole"
    ]
    ops["GetSuiteDefinition"]["SDK"][0]["Method"] = "get_suite_definition_old"
    old_doc["Operations"] = [
        op for op in old_doc["Operations"] if op["Name"] != "ListTagsForResource"
    ]
    old_doc["Actions"][0]["SupportedBy"]["IAM Action Last Accessed"] = False
    d = diff(_catalog(old_doc, tmp_path / "old"), new)
    got = [(c.kind.value, c.item, c.field, c.severity.value) for c in d.changes]
    assert got == [
        # it no longer passes a role to the service with iam:PassedToService either
        (
            "service_changed",
            None,
            "operations[CreateSuiteDefinition].authorized_actions",
            "security",
        ),
        ("service_changed", None, "operations[CreateSuiteDefinition].context", "info"),
        ("service_changed", None, "operations[GetSuiteDefinition].sdk", "info"),
        ("service_changed", None, "operations[ListTagsForResource]", "info"),
        ("action_changed", advisor["Actions"][0]["Name"], "supported_by", "info"),
        # the action the added operation authorises: the operations that need it
        ("action_changed", "ListTagsForResource", "operations", "info"),
    ]
    gained = d.changes[0]
    assert "iam:PassRole" in gained.new and "iam:PassRole" not in gained.old
    # the old side lacked ListTagsForResource: added, with the actions it authorises
    assert d.changes[3].old is None
    assert d.changes[3].new == ("iotdeviceadvisor:ListTagsForResource",)
    md = render(d, "md")
    assert (
        "- service · operations[CreateSuiteDefinition].authorized_actions: +`iam:PassRole`\n"
        in md.split("### Security changes (1)")[1].split("### Other changes")[0]
    )
    html = render(d, "html")
    assert "an API operation that newly authorises iam:PassRole" in html
    # the same catalog against itself: nothing
    assert diff(new, new).changes == ()
