"""The shared normaliser: cell rules live once, in parsers.rows."""

from __future__ import annotations

from iam_catalog.parsers.model import AccessLevel, PageRef, ResourceTypeRow, Severity
from iam_catalog.parsers.rows import (
    ActionRow,
    KeyRow,
    ResourceRow,
    build_page,
    classify,
    clean,
    compact,
    parse_access_levels,
    split_action_cell,
    split_resource_cell,
)

REF = PageRef("list_test", "html", "test")


def test_clean_collapses_whitespace_and_invisible_characters():
    assert clean("  Grants\u00a0permission \n\t to\u200b do  ") == "Grants permission to do"


def test_compact_joins_split_arn_variables():
    assert (
        compact("arn:$ { Partition}:s3:::${ BucketName }") == "arn:${Partition}:s3:::${BucketName}"
    )


def test_permission_only_marker_is_split_off_in_any_spacing():
    assert split_action_cell("AssociateCoupon [permission only]") == ("AssociateCoupon", True)
    assert split_action_cell("Foo [ Permission  only ]") == ("Foo", True)
    assert split_action_cell(" GetObject ") == ("GetObject", False)


def test_star_marks_required_resource_type():
    assert split_resource_cell("leaderboard*") == ("leaderboard", True)
    assert split_resource_cell(" object ") == ("object", False)


def test_access_levels_keep_page_order_and_report_unknown_parts():
    assert parse_access_levels("Tagging, Write") == (
        (AccessLevel.TAGGING, AccessLevel.WRITE),
        (),
    )
    assert parse_access_levels("Permissions  management") == (
        (AccessLevel.PERMISSIONS_MANAGEMENT,),
        (),
    )
    assert parse_access_levels("Write, Admin") == ((AccessLevel.WRITE,), ("Admin",))
    assert parse_access_levels("") == ((), ())


def test_classify_uses_page_keys_and_aws_prefix_not_case():
    known = {"deepracer:usertoken"}
    assert classify("deepracer:UserToken", known) == "key"
    assert classify("aws:TagKeys", known) == "key"
    assert classify("s3:RequestObjectTag/${Key}", known) == "key"
    assert classify("iam:PassRole", known) == "action"
    assert classify("deepracer:usertoken", set()) == "action"


def _page(rows, resources=(), keys=()):
    return build_page(
        REF,
        prefix=" Deepracer ",
        service_name="AWS  DeepRacer",
        actions=rows,
        resources=resources,
        keys=keys,
    )


def test_rows_of_one_action_keep_their_own_keys():
    page = _page(
        [
            ActionRow(
                "AddLeaderboardAccessPermission [permission only]",
                "Grants permission",
                "Write",
                "leaderboard*",
                line=10,
            ),
            ActionRow(
                "AddLeaderboardAccessPermission [permission only]",
                "Grants permission",
                "Write",
                "",
                condition_keys=("deepracer:UserToken",),
                dependent_actions=("iam:PassRole",),
                line=20,
            ),
        ]
    )
    assert page.prefix == "deepracer"
    assert page.service_name == "AWS DeepRacer"
    (action,) = page.actions
    assert action.name == "AddLeaderboardAccessPermission"
    assert action.permission_only is True
    assert action.access_level is AccessLevel.WRITE
    assert action.resource_types == (ResourceTypeRow("leaderboard", True),)
    assert action.condition_keys == ("deepracer:UserToken",)
    assert action.dependent_actions == ("iam:PassRole",)
    assert action.line == 10


def test_unclassified_values_are_sorted_by_the_page_key_table():
    page = _page(
        [
            ActionRow(
                "CreateModel", "d", "Write", "", unclassified=("bedrock:Custom", "iam:PassRole")
            )
        ],
        keys=[KeyRow("bedrock:Custom", "Filters", ("String",))],
    )
    (action,) = page.actions
    assert action.condition_keys == ("bedrock:Custom",)
    assert action.dependent_actions == ("iam:PassRole",)


def test_most_specific_access_level_is_chosen():
    page = _page([ActionRow("TagThing", "d", "Tagging, Write")])
    assert page.actions[0].access_level is AccessLevel.TAGGING
    assert page.actions[0].access_levels == (AccessLevel.TAGGING, AccessLevel.WRITE)


def test_non_adjacent_duplicate_action_is_merged_and_reported():
    page = _page(
        [
            ActionRow("A", "d", "Read", "x", line=1),
            ActionRow("B", "d", "Read", line=2),
            ActionRow("A", "d", "Read", "y*", line=3),
        ]
    )
    assert [a.name for a in page.actions] == ["A", "B"]
    assert [r.name for r in page.actions[0].resource_types] == ["x", "y"]
    assert [d.code for d in page.diagnostics] == ["duplicate-action"]
    assert page.diagnostics[0].line == 3


def test_unknown_access_level_and_missing_level_are_diagnostics():
    page = _page([ActionRow("A", "d", "Sometimes", line=4), ActionRow("B", "d", "", line=5)])
    codes = {(d.code, d.severity) for d in page.diagnostics}
    assert ("unknown-access-level", Severity.ERROR) in codes
    assert ("no-access-level", Severity.WARNING) in codes
    assert page.actions[0].access_level is None


def test_resource_and_key_tables_are_normalised_and_duplicates_reported():
    page = _page(
        [],
        resources=[
            ResourceRow("object", ("arn:$ {Partition}:s3:::${BucketName}/${ObjectName}",), line=7),
            ResourceRow("object", ("arn:other",), line=8),
        ],
        keys=[KeyRow(" s3:prefix ", " Filters  by prefix ", ("String",), line=9)],
    )
    assert page.resource_types[0].arn_formats == (
        "arn:${Partition}:s3:::${BucketName}/${ObjectName}",
    )
    assert len(page.resource_types) == 1
    assert [d.code for d in page.diagnostics] == ["duplicate-resource-type", "template-whitespace"]
    assert "'arn:$ {Partition}:s3:::${BucketName}/${ObjectName}' -> " in page.diagnostics[1].message
    key = page.condition_keys[0]
    assert (key.name, key.description, key.types) == ("s3:prefix", "Filters by prefix", ("String",))


def test_resource_type_names_keep_inner_spaces():
    # gameliftstreams defines "stream group"; AWS's JSON agrees
    assert split_resource_cell("stream  group *") == ("stream group", True)
    page = _page(
        [ActionRow("CreateStreamGroup", "d", "Write", "stream group*")],
        resources=[ResourceRow(" stream\n group ", ("arn:x",))],
    )
    assert page.resource_types[0].name == "stream group"
    assert page.actions[0].resource_types[0].name == "stream group"


def test_rows_following_a_repeated_action_stay_with_it():
    # A, B, A, A: the last row belongs to A (its second occurrence), not to B
    page = _page(
        [
            ActionRow("A", "d", "Read", "x", line=1),
            ActionRow("B", "d", "Read", "b", line=2),
            ActionRow("A", "d", "Read", "y", line=3),
            ActionRow("A", "d", "Read", "z", line=4),
        ]
    )
    a, b = page.actions
    assert [r.name for r in a.resource_types] == ["x", "y", "z"]
    assert [r.name for r in b.resource_types] == ["b"]
    assert [d.code for d in page.diagnostics] == ["duplicate-action"]
