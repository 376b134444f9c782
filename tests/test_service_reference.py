"""The service-reference parser: a hand-written document for each rule, and the whole
2026-03-31 JSON folder checked against the raw JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from iam_catalog.output.build import build
from iam_catalog.parsers import service_reference
from iam_catalog.parsers.detect import detect
from iam_catalog.parsers.model import AccessLevel, Action, ParsedPage, Severity
from iam_catalog.parsers.rows import compact

from .conftest import FIXTURES, SEEDS

SERVICEREFERENCE = "servicereference/2026-03-31"

FLAGS_OFF = {"IsList": False, "IsPermissionManagement": False, "IsTaggingOnly": False}

# A small document in the shape of servicereference.us-east-1.amazonaws.com/v1/<svc>/<svc>.json
DOCUMENT: dict[str, Any] = {
    "Name": "example",
    "Version": "v1.4",
    "Actions": [
        {
            "Name": "CreateWidget",
            "ActionConditionKeys": ["aws:RequestTag/${TagKey}", "aws:TagKeys"],
            "Annotations": {"Properties": {**FLAGS_OFF, "IsWrite": True}},
            "Resources": [
                {"Name": "gadget", "ConditionKeys": ["example:GadgetColour"]},
                {"Name": "widget"},
            ],
        },
        {
            "Name": "GetWidget",
            "Annotations": {"Properties": {**FLAGS_OFF, "IsWrite": False}},
            "Resources": [{"Name": "widget"}],
        },
        {
            "Name": "TagResource",
            "Annotations": {
                "Properties": {**FLAGS_OFF, "IsTaggingOnly": True, "IsWrite": True},
            },
        },
        {"Name": "OldAction"},
    ],
    "Resources": [
        {
            "Name": "widget",
            "ARNFormats": [
                "arn:${Partition}:example:${Region}:${Account}:widget/${WidgetId}",
                "arn:${Partition}:example:${Region}:${Account}:gadget/${GadgetId}/widget/${WidgetId}",
            ],
            "ConditionKeys": ["aws:ResourceTag/${TagKey}"],
        },
        {"Name": "gadget", "ARNFormats": ["arn:${Partition}:example:::gadget/${GadgetId}"]},
    ],
    "ConditionKeys": [
        {"Name": "aws:TagKeys", "Types": ["ArrayOfString"]},
        {"Name": "example:GadgetColour", "Types": ["String"]},
    ],
    "Operations": [
        {
            "Name": "CreateWidget",
            "AuthorizedActions": [
                {"Name": "CreateWidget", "Service": "example"},
                {"Name": "TagResource", "Service": "example"},
                {"Name": "PassRole", "Service": "iam"},
            ],
            "SDK": [{"Name": "example", "Method": "create_widget", "Package": "Boto3"}],
        },
        {
            "Name": "TagResource",
            "AuthorizedActions": [{"Name": "TagResource", "Service": "example"}],
        },
    ],
}


def parse(document: dict[str, Any]) -> ParsedPage:
    return service_reference.parse(orjson.dumps(document).decode(), source="example")


def action(page: ParsedPage, name: str) -> Action:
    return next(a for a in page.actions if a.name == name)


@pytest.fixture(scope="module")
def page() -> ParsedPage:
    return parse(DOCUMENT)


def test_service_reference_name_is_the_prefix_and_version_the_layout(page):
    assert page.prefix == "example"
    assert page.service_name is None  # the JSON has no service name
    assert (page.ref.format, page.ref.layout, page.ref.page) == (
        "service-reference",
        "v1.4",
        "example",
    )


def test_service_reference_access_level_from_the_four_flags(page):
    assert action(page, "CreateWidget").access_levels == (AccessLevel.WRITE,)
    # all flags false is Read
    assert action(page, "GetWidget").access_levels == (AccessLevel.READ,)
    # two flags true: two access levels, the single one is the most specific
    tag = action(page, "TagResource")
    assert tag.access_levels == (AccessLevel.TAGGING, AccessLevel.WRITE)
    assert tag.access_level is AccessLevel.TAGGING


def test_service_reference_without_annotations_has_no_access_level(page):
    old = action(page, "OldAction")
    assert old.access_level is None and old.access_levels == ()
    assert [d.code for d in page.diagnostics if d.severity is Severity.WARNING] == [
        "no-access-level"
    ]


def test_service_reference_action_condition_keys_are_the_own_row(page):
    create = action(page, "CreateWidget")
    assert create.condition_keys == ("aws:RequestTag/${TagKey}", "aws:TagKeys")
    assert [(r.name, r.condition_keys) for r in create.resource_types] == [
        ("gadget", ("example:GadgetColour",)),
        ("widget", ()),
    ]


def test_service_reference_has_no_required_flag_description_or_dependent_actions(page):
    for a in page.actions:
        assert a.description == "" and a.dependent_actions == ()
        assert all(not r.required and r.dependent_actions == () for r in a.resource_types)
    info = [d for d in page.diagnostics if d.code == "no-descriptions"]
    assert len(info) == 1 and info[0].severity is Severity.INFO


def test_service_reference_resources_keep_every_arn_format_and_their_keys(page):
    widget = next(r for r in page.resource_types if r.name == "widget")
    assert widget.arn_formats == tuple(DOCUMENT["Resources"][0]["ARNFormats"])
    assert widget.condition_keys == ("aws:ResourceTag/${TagKey}",)


def test_service_reference_condition_keys_with_types(page):
    assert [(k.name, k.types, k.description) for k in page.condition_keys] == [
        ("aws:TagKeys", ("ArrayOfString",), ""),
        ("example:GadgetColour", ("String",), ""),
    ]


def test_service_reference_operations_go_to_this_services_authorized_actions(page):
    assert action(page, "CreateWidget").operations == ("CreateWidget",)
    assert action(page, "TagResource").operations == ("CreateWidget", "TagResource")
    assert action(page, "GetWidget").operations == ()


def test_service_reference_operation_for_an_undefined_action_is_reported():
    document = {**DOCUMENT, "Operations": [*DOCUMENT["Operations"]]}
    document["Operations"].append(
        {"Name": "Vanish", "AuthorizedActions": [{"Name": "Vanish", "Service": "example"}]}
    )
    found = [d for d in parse(document).diagnostics if d.code == "operation-unknown-action"]
    assert len(found) == 1 and "example:vanish" in found[0].message


def test_service_reference_bad_entries_are_reported_and_the_rest_read():
    document = {**DOCUMENT, "Actions": [*DOCUMENT["Actions"], {"NoName": 1}, "junk"]}
    document["ConditionKeys"] = [{"Name": "aws:TagKeys", "Types": "ArrayOfString"}]
    page = parse(document)
    assert len(page.actions) == 4
    found = sorted(d.code for d in page.diagnostics if d.severity is not Severity.INFO)
    # example:GadgetColour is named by an action but no longer defined.
    assert found == [
        "bad-entry",
        "bad-entry",
        "bad-field",
        "no-access-level",
        "undefined-condition-key",
    ]
    assert page.condition_keys[0].types == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"Actions": []}', "no top-level Name"),
        ("[1, 2]", "no top-level Name"),
    ],
)
def test_service_reference_unreadable_document_is_an_error_not_a_crash(text, message):
    page = service_reference.parse(text, source="bad")
    assert page.prefix is None and page.actions == ()
    assert [(d.severity, d.code) for d in page.diagnostics] == [(Severity.ERROR, "bad-json")]
    assert message in page.diagnostics[0].message


def test_sniff_wants_a_json_object_with_name_and_actions(corpus):
    assert service_reference.sniff(orjson.dumps(DOCUMENT).decode())
    assert not service_reference.sniff('{"schema_version": 1, "services": {}}')
    assert not service_reference.sniff('{"Name": "x"}')
    assert not service_reference.sniff("{broken")
    for path in [*SEEDS.glob("*.txt"), *(FIXTURES / "html").glob("*.html")]:
        assert not service_reference.sniff(path.read_text()), path
    some = sorted((corpus / "html").rglob("*.html"))[::60]
    assert some and not any(service_reference.sniff(p.read_text()) for p in some)


# --------------------------------------------------------------------------- whole folder


@pytest.fixture(scope="module")
def json_build(corpus: Path):
    return build([corpus / SERVICEREFERENCE])


def test_every_json_document_is_detected_and_parsed(corpus, json_build):
    files = sorted((corpus / SERVICEREFERENCE).rglob("*.json"))
    assert len(files) == json_build.files == json_build.usable_pages == 455
    assert detect(files[0].read_text()) == "service-reference"
    assert dict(json_build.catalog.source.formats) == {"service-reference": 455}
    assert not [d for d in json_build.catalog.diagnostics if d.severity is Severity.ERROR]


def test_json_build_has_every_action_resource_and_key_of_the_raw_json(corpus, json_build):
    services = {s.prefix: s for s in json_build.catalog.services}
    assert len(services) == 455
    for path in sorted((corpus / SERVICEREFERENCE).rglob("*.json")):
        raw = orjson.loads(path.read_bytes())
        service = services[raw["Name"]]
        assert {a.name for a in service.actions} == {a["Name"] for a in raw["Actions"]}
        # whitespace in names is the shared normaliser's business (gameliftstreams has a
        # resource type "stream group"): compared without it
        assert {compact(r.name): r.arn_formats for r in service.resource_types} == {
            compact(r["Name"]): tuple(r["ARNFormats"]) for r in raw.get("Resources", [])
        }
        assert {k.name: k.types for k in service.condition_keys} == {
            k["Name"]: tuple(k["Types"]) for k in raw.get("ConditionKeys", [])
        }
        actions = {a.name: a for a in service.actions}
        for a in raw["Actions"]:
            got = actions[a["Name"]]
            # two documents repeat a key (s3 GetBucketObjectLockConfiguration,
            # sagemaker UpdateUserProfile): the normaliser keeps it once
            assert sorted(got.condition_keys) == sorted(set(a.get("ActionConditionKeys", [])))
            assert [compact(r.name) for r in got.resource_types] == [
                compact(r["Name"]) for r in a.get("Resources", [])
            ]
            props = a.get("Annotations", {}).get("Properties")
            if props is None:
                assert got.access_level is None, (raw["Name"], a["Name"])
            else:
                assert (got.access_level is AccessLevel.READ) == (not any(props.values()))


def test_json_build_attaches_operations_of_this_service_only(json_build):
    s3 = {a.name: a for s in json_build.catalog.services if s.prefix == "s3" for a in s.actions}
    # the operation authorizes s3:AbortMultipartUpload and s3-object-lambda:AbortMultipartUpload
    assert s3["AbortMultipartUpload"].operations == ("AbortMultipartUpload",)
    assert s3["PutObject"].operations == (
        "CompleteMultipartUpload",
        "CopyObject",
        "CreateMultipartUpload",
        "PutObject",
        "UploadPart",
        "UploadPartCopy",
    )
    with_ops = sum(1 for s in json_build.catalog.services for a in s.actions if a.operations)
    assert with_ops > 10_000


def test_json_documents_without_annotations_are_the_two_v1_1_documents(json_build):
    no_level = {
        (s.prefix, s.pages[0].layout)
        for s in json_build.catalog.services
        for a in s.actions
        if a.access_level is None
    }
    assert no_level == {("deeplens", "v1.1"), ("sagemaker-groundtruth-synthetic", "v1.1")}
