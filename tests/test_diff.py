"""The diff engine on hand-made catalogs: one field changed at a time, matching,
severities, order and the JSON contract."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from iam_catalog.output.diff import (
    DIFF_SCHEMA,
    SUMMARY_KEYS,
    Change,
    ChangeKind,
    ChangeSeverity,
    arn_shape,
    diff,
)
from iam_catalog.parsers.model import (
    AccessLevel,
    Action,
    Catalog,
    CatalogSource,
    ConditionKey,
    Diagnostic,
    PageRef,
    ResourceType,
    ResourceTypeRow,
    Service,
    Severity,
)

R, W, L, T, P = (
    AccessLevel.READ,
    AccessLevel.WRITE,
    AccessLevel.LIST,
    AccessLevel.TAGGING,
    AccessLevel.PERMISSIONS_MANAGEMENT,
)
BREAKING, SECURITY, INFO = ChangeSeverity.BREAKING, ChangeSeverity.SECURITY, ChangeSeverity.INFO


def act(name: str, level: AccessLevel | None = R, **kw: Any) -> Action:
    kw.setdefault("description", f"Grants permission to {name}")
    kw.setdefault("access_levels", (level,) if level else ())
    return Action(name=name, access_level=level, **kw)


def row(name: str, required: bool = False, keys: tuple[str, ...] = (), deps=()) -> ResourceTypeRow:
    return ResourceTypeRow(name, required, keys, tuple(deps))


def svc(prefix: str, name: str = "", **kw: Any) -> Service:
    return Service(prefix, name or f"AWS {prefix}", (PageRef(f"list_{prefix}", "html", "x"),), **kw)


def cat(*services: Service, id: str = "cat") -> Catalog:
    return Catalog(CatalogSource("files", id, len(services), ()), tuple(services))


BUCKET = ResourceType("bucket", ("arn:${Partition}:s3:::${BucketName}",), ("s3:BucketTag",))
OBJECT = ResourceType("object", ("arn:${Partition}:s3:::${BucketName}/${ObjectName}",))
KEY = ConditionKey("s3:ResourceAccount", "Filters access by the owner account", ("String",))
GET = act(
    "GetObject",
    R,
    api_reference="https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html",
    resource_types=(row("object", True, ("s3:ExistingObjectTag/${TagKey}",)),),
    condition_keys=("s3:ResourceAccount", "s3:TlsVersion"),
    operations=("GetObject",),
)
PUT = act(
    "PutObject",
    W,
    resource_types=(row("object", True), row("bucket", False, deps=("s3:PutObjectAcl",))),
    condition_keys=("s3:x-amz-acl",),
)
S3 = svc(
    "s3",
    "Amazon S3",
    actions=(GET, PUT),
    resource_types=(BUCKET, OBJECT),
    condition_keys=(KEY,),
)
SQS = svc("sqs", "Amazon SQS", actions=(act("SendMessage", W),))
BASE = cat(S3, SQS, id="old")


def with_s3(**kw: Any) -> Catalog:
    return cat(replace(S3, **kw), SQS, id="new")


def with_get(**kw: Any) -> Catalog:
    return with_s3(actions=(replace(GET, **kw), PUT))


def with_put(**kw: Any) -> Catalog:
    return with_s3(actions=(GET, replace(PUT, **kw)))


def only(new: Catalog) -> Change:
    """The single change from BASE to ``new``."""
    result = diff(BASE, new)
    assert len(result.changes) == 1, result.changes
    return result.changes[0]


def test_a_catalog_against_itself_is_empty():
    result = diff(BASE, BASE)
    assert result.is_empty
    assert result.changes == ()
    assert result.to_dict()["summary"] == dict.fromkeys(SUMMARY_KEYS, 0)


def test_pages_and_source_do_not_count_as_changes():
    moved = replace(S3, pages=(PageRef("list_amazons3", "markdown-table", "userguide-2020"),))
    result = diff(BASE, cat(moved, SQS, id="elsewhere"))
    assert result.is_empty
    assert (result.old_id, result.new_id) == ("old", "elsewhere")


# One field of one item changed: (new catalog, kind, item, field, old, new, severity).
ONE_FIELD_CASES: dict[
    str, tuple[Catalog, ChangeKind, str | None, str, Any, Any, ChangeSeverity]
] = {
    "description": (
        with_get(description="Grants permission to read an object"),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "description",
        "Grants permission to GetObject",
        "Grants permission to read an object",
        INFO,
    ),
    "access level read to list": (
        with_get(access_level=L, access_levels=(L,)),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "access_level",
        "Read",
        "List",
        INFO,
    ),
    "access level to permissions management": (
        with_get(access_level=P, access_levels=(P,)),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "access_level",
        "Read",
        "Permissions management",
        SECURITY,
    ),
    "access level from write": (
        with_put(access_level=T, access_levels=(T,)),
        ChangeKind.ACTION_CHANGED,
        "PutObject",
        "access_level",
        "Write",
        "Tagging",
        SECURITY,
    ),
    "permission only": (
        with_get(permission_only=True),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "permission_only",
        False,
        True,
        INFO,
    ),
    "api reference": (
        with_get(api_reference=None),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "api_reference",
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html",
        None,
        INFO,
    ),
    "operations": (
        with_get(operations=("GetObject", "HeadObject")),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "operations",
        ("GetObject",),
        ("GetObject", "HeadObject"),
        INFO,
    ),
    "action condition key added": (
        with_get(condition_keys=("s3:ResourceAccount", "s3:TlsVersion", "s3:authType")),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "condition_keys",
        ("s3:ResourceAccount", "s3:TlsVersion"),
        ("s3:ResourceAccount", "s3:TlsVersion", "s3:authType"),
        INFO,
    ),
    "action condition key removed": (
        with_get(condition_keys=("s3:ResourceAccount",)),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "condition_keys",
        ("s3:ResourceAccount", "s3:TlsVersion"),
        ("s3:ResourceAccount",),
        BREAKING,
    ),
    "action dependent action added": (
        with_get(dependent_actions=("kms:Decrypt",)),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "dependent_actions",
        (),
        ("kms:Decrypt",),
        SECURITY,
    ),
    "row becomes required": (
        with_put(
            resource_types=(row("object", True), row("bucket", True, deps=("s3:PutObjectAcl",)))
        ),
        ChangeKind.ACTION_CHANGED,
        "PutObject",
        "resource_types[bucket].required",
        False,
        True,
        BREAKING,
    ),
    "row becomes optional": (
        with_put(resource_types=(row("object", False), PUT.resource_types[1])),
        ChangeKind.ACTION_CHANGED,
        "PutObject",
        "resource_types[object].required",
        True,
        False,
        INFO,
    ),
    "required row added": (
        with_get(resource_types=(*GET.resource_types, row("bucket", True))),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "resource_types[bucket]",
        None,
        row("bucket", True),
        BREAKING,
    ),
    "optional row added": (
        with_get(resource_types=(*GET.resource_types, row("bucket", False, ("s3:BucketTag",)))),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "resource_types[bucket]",
        None,
        row("bucket", False, ("s3:BucketTag",)),
        INFO,
    ),
    "row with a new dependent action added": (
        with_get(resource_types=(*GET.resource_types, row("bucket", deps=("kms:Decrypt",)))),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "resource_types[bucket]",
        None,
        row("bucket", deps=("kms:Decrypt",)),
        SECURITY,
    ),
    "row removed": (
        with_put(resource_types=(row("object", True),)),
        ChangeKind.ACTION_CHANGED,
        "PutObject",
        "resource_types[bucket]",
        row("bucket", False, deps=("s3:PutObjectAcl",)),
        None,
        BREAKING,
    ),
    "row condition key removed": (
        with_get(resource_types=(row("object", True),)),
        ChangeKind.ACTION_CHANGED,
        "GetObject",
        "resource_types[object].condition_keys",
        ("s3:ExistingObjectTag/${TagKey}",),
        (),
        BREAKING,
    ),
    "row dependent action removed": (
        with_put(resource_types=(row("object", True), row("bucket"))),
        ChangeKind.ACTION_CHANGED,
        "PutObject",
        "resource_types[bucket].dependent_actions",
        ("s3:PutObjectAcl",),
        (),
        INFO,
    ),
    "row dependent action added": (
        with_put(
            resource_types=(row("object", True, deps=("kms:Encrypt",)), PUT.resource_types[1])
        ),
        ChangeKind.ACTION_CHANGED,
        "PutObject",
        "resource_types[object].dependent_actions",
        (),
        ("kms:Encrypt",),
        SECURITY,
    ),
    "action case-only rename": (
        with_get(name="getObject"),
        ChangeKind.ACTION_CHANGED,
        "getObject",
        "name",
        "GetObject",
        "getObject",
        INFO,
    ),
    "row case-only rename": (
        with_put(resource_types=(row("Object", True), PUT.resource_types[1])),
        ChangeKind.ACTION_CHANGED,
        "PutObject",
        "resource_types[Object].name",
        "object",
        "Object",
        INFO,
    ),
    "arn format changed": (
        with_s3(
            resource_types=(
                replace(BUCKET, arn_formats=("arn:${Partition}:s3:::${Bucket}/x",)),
                OBJECT,
            )
        ),
        ChangeKind.RESOURCE_TYPE_CHANGED,
        "bucket",
        "arn_formats",
        ("arn:${Partition}:s3:::${BucketName}",),
        ("arn:${Partition}:s3:::${Bucket}/x",),
        BREAKING,
    ),
    "arn placeholder renamed": (
        with_s3(
            resource_types=(
                replace(BUCKET, arn_formats=("arn:${Partition}:s3:::${Bucket}",)),
                OBJECT,
            )
        ),
        ChangeKind.RESOURCE_TYPE_CHANGED,
        "bucket",
        "arn_formats",
        ("arn:${Partition}:s3:::${BucketName}",),
        ("arn:${Partition}:s3:::${Bucket}",),
        INFO,
    ),
    "arn format added beside the old one": (
        with_s3(
            resource_types=(
                replace(
                    BUCKET, arn_formats=(*BUCKET.arn_formats, "arn:${Partition}:s3:${Region}::b")
                ),
                OBJECT,
            )
        ),
        ChangeKind.RESOURCE_TYPE_CHANGED,
        "bucket",
        "arn_formats",
        ("arn:${Partition}:s3:::${BucketName}",),
        ("arn:${Partition}:s3:::${BucketName}", "arn:${Partition}:s3:${Region}::b"),
        INFO,
    ),
    "resource type condition keys": (
        with_s3(resource_types=(replace(BUCKET, condition_keys=()), OBJECT)),
        ChangeKind.RESOURCE_TYPE_CHANGED,
        "bucket",
        "condition_keys",
        ("s3:BucketTag",),
        (),
        INFO,
    ),
    "resource type case-only rename": (
        with_s3(resource_types=(replace(BUCKET, name="Bucket"), OBJECT)),
        ChangeKind.RESOURCE_TYPE_CHANGED,
        "Bucket",
        "name",
        "bucket",
        "Bucket",
        INFO,
    ),
    "condition key types": (
        with_s3(condition_keys=(replace(KEY, types=("ArrayOfString",)),)),
        ChangeKind.CONDITION_KEY_CHANGED,
        "s3:ResourceAccount",
        "types",
        ("String",),
        ("ArrayOfString",),
        INFO,
    ),
    "condition key description": (
        with_s3(condition_keys=(replace(KEY, description="Filters by account"),)),
        ChangeKind.CONDITION_KEY_CHANGED,
        "s3:ResourceAccount",
        "description",
        "Filters access by the owner account",
        "Filters by account",
        INFO,
    ),
    "condition key case-only rename": (
        with_s3(condition_keys=(replace(KEY, name="s3:resourceAccount"),)),
        ChangeKind.CONDITION_KEY_CHANGED,
        "s3:resourceAccount",
        "name",
        "s3:ResourceAccount",
        "s3:resourceAccount",
        INFO,
    ),
    "service name": (
        with_s3(name="Amazon Simple Storage Service"),
        ChangeKind.SERVICE_CHANGED,
        None,
        "name",
        "Amazon S3",
        "Amazon Simple Storage Service",
        INFO,
    ),
}


@pytest.mark.parametrize("case", ONE_FIELD_CASES, ids=list(ONE_FIELD_CASES))
def test_one_changed_field_gives_exactly_that_change(case):
    new, kind, item, field, old_value, new_value, severity = ONE_FIELD_CASES[case]
    change = only(new)
    assert change == Change(kind, "s3", severity, item, field, old_value, new_value)


def test_access_levels_reported_only_when_they_say_more_than_access_level():
    tagging_write = with_put(access_level=T, access_levels=(T, W))
    result = diff(BASE, tagging_write)
    assert [(c.field, c.old, c.new, c.severity) for c in result.changes] == [
        ("access_level", "Write", "Tagging", SECURITY),
        ("access_levels", ("Write",), ("Tagging", "Write"), INFO),
    ]
    # Tagging, Write -> Tagging: access_level unchanged, Write leaves the list
    result = diff(tagging_write, with_put(access_level=T, access_levels=(T,)))
    assert [(c.field, c.old, c.new, c.severity) for c in result.changes] == [
        ("access_levels", ("Tagging", "Write"), ("Tagging",), SECURITY),
    ]


def test_key_lists_compare_as_case_insensitive_sets():
    reordered = with_get(condition_keys=("s3:tlsversion", "S3:ResourceAccount"))
    assert diff(BASE, reordered).is_empty


def test_arn_formats_compare_case_sensitively_but_ignore_order():
    two = replace(BUCKET, arn_formats=("arn:a:${X}", "arn:b:${Y}"))
    swapped = replace(BUCKET, arn_formats=("arn:b:${Y}", "arn:a:${X}"))
    upper = replace(BUCKET, arn_formats=("ARN:a:${X}", "arn:b:${Y}"))
    old = with_s3(resource_types=(two, OBJECT))
    assert diff(old, with_s3(resource_types=(swapped, OBJECT))).is_empty
    (change,) = diff(old, with_s3(resource_types=(upper, OBJECT))).changes
    assert (change.field, change.severity) == ("arn_formats", BREAKING)


def test_arn_shape_blanks_placeholders_only():
    assert arn_shape("arn:${Partition}:s3:::${Bucket_Name}/x") == "arn:${}:s3:::${}/x"


def test_a_key_moved_between_rows_of_an_action_is_not_breaking():
    # s3:TlsVersion leaves the action's own row and appears on its object row
    moved = with_get(
        condition_keys=("s3:ResourceAccount",),
        resource_types=(row("object", True, ("s3:ExistingObjectTag/${TagKey}", "s3:TlsVersion")),),
    )
    changes = diff(BASE, moved).changes
    assert [(c.field, c.severity) for c in changes] == [
        ("condition_keys", INFO),
        ("resource_types[object].condition_keys", INFO),
    ]


def test_a_dependent_action_moved_between_rows_is_not_security():
    moved = with_put(
        dependent_actions=("s3:PutObjectAcl",),
        resource_types=(row("object", True), row("bucket")),
    )
    changes = diff(BASE, moved).changes
    assert [(c.field, c.severity) for c in changes] == [
        ("dependent_actions", INFO),
        ("resource_types[bucket].dependent_actions", INFO),
    ]


def test_a_resource_type_listed_on_two_rows_is_told_apart_by_ordinal():
    old = with_get(resource_types=(row("object", True), row("object", False, ("s3:a",))))
    new = with_get(resource_types=(row("object", True), row("object", False, ("s3:b",))))
    (change,) = diff(old, new).changes
    assert change.field == "resource_types[object#2].condition_keys"
    assert (change.old, change.new) == (("s3:a",), ("s3:b",))


def test_added_and_removed_items_are_listed_with_their_severity():
    new = with_s3(
        actions=(GET, act("CreateSession", W)),
        resource_types=(OBJECT,),
        condition_keys=(KEY, ConditionKey("s3:x", "x", ("Bool",))),
    )
    assert [(c.kind, c.item, c.severity) for c in diff(BASE, new).changes] == [
        (ChangeKind.ACTION_ADDED, "CreateSession", INFO),
        (ChangeKind.ACTION_REMOVED, "PutObject", BREAKING),
        (ChangeKind.RESOURCE_TYPE_REMOVED, "bucket", BREAKING),
        (ChangeKind.CONDITION_KEY_ADDED, "s3:x", INFO),
    ]
    (removed,) = diff(with_s3(condition_keys=(KEY,)), with_s3(condition_keys=())).changes
    assert (removed.kind, removed.severity) == (ChangeKind.CONDITION_KEY_REMOVED, BREAKING)


def test_an_added_service_lists_every_item_it_brings():
    lambda_ = svc(
        "lambda",
        actions=(act("Invoke", W), act("ListFunctions", L)),
        resource_types=(ResourceType("function", ("arn:f",)),),
        condition_keys=(ConditionKey("lambda:Layer", "layers", ("ArrayOfString",)),),
    )
    result = diff(BASE, cat(lambda_, S3, SQS))
    assert [(c.kind.value, c.item) for c in result.changes] == [
        ("service_added", None),
        ("action_added", "Invoke"),
        ("action_added", "ListFunctions"),
        ("resource_type_added", "function"),
        ("condition_key_added", "lambda:Layer"),
    ]
    assert all(c.service == "lambda" and c.severity is INFO for c in result.changes)
    summary = result.to_dict()["summary"]
    assert (summary["services_added"], summary["actions_added"]) == (1, 2)


def test_a_removed_service_is_breaking_with_every_item():
    result = diff(BASE, cat(S3))
    assert [(c.kind.value, c.item, c.severity) for c in result.changes] == [
        ("service_removed", None, BREAKING),
        ("action_removed", "SendMessage", BREAKING),
    ]


def test_services_match_by_prefix_case_insensitively():
    renamed = replace(SQS, prefix="SQS")
    (change,) = diff(BASE, cat(S3, renamed)).changes
    assert (change.kind, change.service, change.field, change.old, change.new) == (
        ChangeKind.SERVICE_CHANGED,
        "SQS",
        "prefix",
        "sqs",
        "SQS",
    )


def test_summary_counts_distinct_changed_items_and_entries_of_the_rest():
    new = with_s3(
        actions=(
            replace(GET, description="d", access_level=W, access_levels=(W,)),
            replace(PUT, description="e"),
            act("CreateSession"),
        ),
        resource_types=(replace(BUCKET, arn_formats=("arn:x",), condition_keys=()),),
    )
    result = diff(BASE, new)
    summary = result.to_dict()["summary"]
    assert summary["actions_changed"] == 2  # four field entries over two actions
    assert summary["actions_added"] == 1
    assert summary["resource_types_changed"] == 1
    assert summary["resource_types_removed"] == 1
    assert sum(summary.values()) == 5
    assert result.summary.severity_count(BREAKING) == 2  # object removed, arn changed
    assert result.summary.severity_count(SECURITY) == 1  # GetObject Read -> Write


def _shuffled(c: Catalog, rng: random.Random) -> Catalog:
    def mix(items: tuple[Any, ...]) -> tuple[Any, ...]:
        out = list(items)
        rng.shuffle(out)
        return tuple(out)

    return replace(
        c,
        services=mix(
            tuple(
                replace(
                    s,
                    actions=mix(s.actions),
                    resource_types=mix(s.resource_types),
                    condition_keys=mix(s.condition_keys),
                )
                for s in c.services
            )
        ),
    )


def test_changes_are_ordered_by_service_kind_item_and_field_whatever_the_input_order():
    new = cat(
        svc("a", actions=(act("Z"), act("b"))),
        replace(
            S3,
            actions=(replace(GET, description="x", access_level=W, access_levels=(W,)), act("Abc")),
            resource_types=(OBJECT,),
        ),
        id="new",
    )
    result = diff(BASE, new)
    keys = [(c.service, c.kind.value, c.item, c.field) for c in result.changes]
    assert keys == [
        ("a", "service_added", None, None),
        ("a", "action_added", "b", None),
        ("a", "action_added", "Z", None),
        ("s3", "action_added", "Abc", None),
        ("s3", "action_removed", "PutObject", None),
        ("s3", "action_changed", "GetObject", "description"),
        ("s3", "action_changed", "GetObject", "access_level"),
        ("s3", "resource_type_removed", "bucket", None),
        ("sqs", "service_removed", None, None),
        ("sqs", "action_removed", "SendMessage", None),
    ]
    rng = random.Random(7)
    for _ in range(3):
        assert diff(_shuffled(BASE, rng), _shuffled(new, rng)) == result


def test_json_form_follows_the_contract():
    new = with_put(
        access_level=P,
        access_levels=(P,),
        resource_types=(row("object", True), row("key", True, ("kms:ViaService",))),
    )
    data = diff(BASE, new).to_dict()
    jsonschema.validate(data, DIFF_SCHEMA)
    assert data["schema_version"] == 1
    assert (data["old"], data["new"]) == ({"id": "old"}, {"id": "new"})
    assert data["changes"] == [
        {
            "kind": "action_changed",
            "service": "s3",
            "action": "PutObject",
            "field": "access_level",
            "old": "Write",
            "new": "Permissions management",
            "severity": "security",
        },
        {
            "kind": "action_changed",
            "service": "s3",
            "action": "PutObject",
            "field": "resource_types[bucket]",
            "old": {
                "name": "bucket",
                "required": False,
                "condition_keys": [],
                "dependent_actions": ["s3:PutObjectAcl"],
            },
            "new": None,
            "severity": "breaking",
        },
        {
            "kind": "action_changed",
            "service": "s3",
            "action": "PutObject",
            "field": "resource_types[key]",
            "old": None,
            "new": {
                "name": "key",
                "required": True,
                "condition_keys": ["kms:ViaService"],
                "dependent_actions": [],
            },
            "severity": "breaking",
        },
    ]


def test_schema_rejects_an_entry_without_its_item():
    data = diff(BASE, with_get(description="x")).to_dict()
    del data["changes"][0]["action"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, DIFF_SCHEMA)


def test_diff_does_not_modify_its_inputs():
    old, new = BASE, with_get(description="x")
    before = (repr(old), repr(new))
    diff(old, new)
    assert (repr(old), repr(new)) == before


def test_actions_missing_because_the_new_source_lacks_them_are_info_removals():
    gap = Diagnostic(
        "list_s3",
        26,
        Severity.WARNING,
        "actions-not-in-source",
        "the actions table is replaced by a link; this page carries no actions",
    )
    new = replace(with_s3(actions=()), diagnostics=(gap,))
    result = diff(BASE, new)
    assert [(c.kind, c.item, c.severity) for c in result.changes] == [
        (ChangeKind.ACTION_REMOVED, "GetObject", INFO),
        (ChangeKind.ACTION_REMOVED, "PutObject", INFO),
    ]
    assert result.source_gaps == (("s3", "new"),)
    # without the diagnostic the same removals are breaking
    plain = diff(BASE, with_s3(actions=()))
    assert {c.severity for c in plain.changes} == {BREAKING}
    assert plain.source_gaps == ()


def test_a_new_action_that_manages_permissions_or_passes_roles_is_security():
    new = with_s3(
        actions=(
            GET,
            PUT,
            act("PutBucketPolicy", P),
            act("TagAndWrite", T, access_levels=(T, P)),
            act("CreateJob", W, resource_types=(row("job", True, deps=("IAM:PassRole",)),)),
            act("CreateThing", W, dependent_actions=("iam:PassRole",)),
            act("CreateOther", W, dependent_actions=("iam:CreateServiceLinkedRole",)),
            act("ListThings", L),
        )
    )
    rated = {c.item: c.severity for c in diff(BASE, new).changes}
    assert rated == {
        "CreateJob": SECURITY,
        "CreateOther": INFO,
        "CreateThing": SECURITY,
        "ListThings": INFO,
        "PutBucketPolicy": SECURITY,
        "TagAndWrite": SECURITY,
    }
    # each added action carries itself, for the reports (access levels, description)
    assert {c.subject.name for c in diff(BASE, new).changes} == set(rated)


def test_actions_the_old_source_did_not_carry_are_not_rated_as_new_permissions():
    gap = Diagnostic(
        "list_s3", 1, Severity.WARNING, "actions-not-in-source", "no actions in this source"
    )
    old = replace(with_s3(actions=()), diagnostics=(gap,))
    new = with_s3(actions=(GET, act("PutBucketPolicy", P)))
    assert {(c.item, c.severity) for c in diff(old, new).changes} == {
        ("GetObject", INFO),
        ("PutBucketPolicy", INFO),
    }


def test_the_diff_carries_each_side_s_source_and_page_for_the_reports():
    old = replace(BASE, source=replace(BASE.source, note="the old pages"))
    page = PageRef(
        "list_amazons3", "html", "sar-2023", "https://docs.aws.amazon.com/x/list_amazons3.html"
    )
    new = with_s3(pages=(page,), actions=(GET,))
    result = diff(old, new)
    assert result.old_source is not None and result.old_source.note == "the old pages"
    assert result.new_source == new.source
    assert result.page_link("s3", "new") == (
        "https://docs.aws.amazon.com/x/list_amazons3.html",
        "amazons3",
    )
    # the old page has no address: an old item links to the new page
    assert result.page_link("s3", "old") == result.page_link("s3", "new")
