"""The flat-text parser: seeds 001 (deepracer) and 004 (bedrock) with facts checked by
hand against the seed text, hand-written fixtures with golden output, whitespace
variants, and sniffing (never HTML, markdown, JSON or prose).

Golden files (``fixtures/text/flat_*.expected.json``) are regenerated with
``IAM_CATALOG_REGEN_GOLDEN=1 pytest tests/test_flat_text.py``; read them before
committing.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from iam_catalog.parsers import carried, flat_text, pipe_text
from iam_catalog.parsers.detect import detect
from iam_catalog.parsers.model import (
    AccessLevel,
    ParsedPage,
    Severity,
    diagnostic_to_dict,
    service_to_dict,
)
from iam_catalog.parsers.model import Service as ServiceModel
from tests.conftest import FIXTURES, SEEDS

TEXT_FIXTURES = FIXTURES / "text"
REGEN = bool(os.environ.get("IAM_CATALOG_REGEN_GOLDEN"))
SEED_001 = SEEDS / "001_ef8b5ee01b7960a7.txt"
SEED_004 = SEEDS / "004_80ef2678a57afe3b.txt"


def page_to_dict(page: ParsedPage) -> dict[str, Any]:
    """A parsed page in the catalog's JSON shape, plus format, layout and diagnostics."""
    service = ServiceModel(
        page.prefix or "",
        page.service_name or "",
        (page.ref,),
        page.actions,
        page.resource_types,
        page.condition_keys,
        carried.for_item(page.ref.not_carried, "service"),
        page.operations,
    )
    d = orjson.loads(orjson.dumps(service_to_dict(service)))  # tuples -> JSON lists
    d["format"] = page.ref.format
    d["layout"] = page.ref.layout
    d["diagnostics"] = [diagnostic_to_dict(x) for x in page.diagnostics]
    return d


def check_golden(page: ParsedPage, path: Path) -> None:
    golden = path.with_suffix(".expected.json")
    got = page_to_dict(page)
    if REGEN:
        golden.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(golden.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def deepracer() -> ParsedPage:
    return flat_text.parse(SEED_001.read_text(encoding="utf-8"), source=SEED_001.stem)


@pytest.fixture(scope="module")
def bedrock() -> ParsedPage:
    return flat_text.parse(SEED_004.read_text(encoding="utf-8"), source=SEED_004.stem)


def action(page: ParsedPage, name: str):  # type: ignore[no-untyped-def]
    return next(a for a in page.actions if a.name == name)


# --------------------------------------------------------------------------- seed 001


def test_seeds_001_and_004_are_detected_as_flat_text() -> None:
    assert detect(SEED_001.read_text(encoding="utf-8")) == "flat-text"
    assert detect(SEED_004.read_text(encoding="utf-8")) == "flat-text"


def test_seed_001_declares_deepracer_and_has_51_actions(deepracer: ParsedPage) -> None:
    assert deepracer.prefix == "deepracer"
    assert deepracer.service_name == "AWS DeepRacer"
    assert deepracer.ref.format == "flat-text"
    assert len(deepracer.actions) == 51
    assert deepracer.actions[0].name == "AddLeaderboardAccessPermission"
    assert deepracer.actions[-1].name == "UpdateCar"
    # 48 lines of the seed carry "[permission only]"
    assert sum(a.permission_only for a in deepracer.actions) == 48


def test_seed_001_clone_model_has_its_two_required_types_and_action_level_keys(
    deepracer: ParsedPage,
) -> None:
    a = action(deepracer, "CloneReinforcementLearningModel")
    assert a.description == "Grants permission to clone an existing DeepRacer model"
    assert a.access_level is AccessLevel.WRITE
    assert a.permission_only is True
    assert [(r.name, r.required) for r in a.resource_types] == [
        ("reinforcement_learning_model", True),
        ("track", True),
    ]
    assert all(not r.condition_keys and not r.dependent_actions for r in a.resource_types)
    assert a.condition_keys == (
        "aws:RequestTag/${TagKey}",
        "aws:TagKeys",
        "deepracer:UserToken",
        "deepracer:MultiUser",
    )
    assert a.dependent_actions == ()


def test_seed_001_list_tags_has_six_optional_types_and_three_keys(deepracer: ParsedPage) -> None:
    a = action(deepracer, "ListTagsForResource")
    assert a.description == "Grants permission to lists tag for a resource"
    assert a.access_level is AccessLevel.READ
    assert a.permission_only is False
    assert [(r.name, r.required) for r in a.resource_types] == [
        ("car", False),
        ("evaluation_job", False),
        ("leaderboard", False),
        ("leaderboard_evaluation_job", False),
        ("reinforcement_learning_model", False),
        ("training_job", False),
    ]
    assert a.condition_keys == (
        "aws:ResourceTag/${TagKey}",
        "deepracer:UserToken",
        "deepracer:MultiUser",
    )


def test_seed_001_actions_without_cells_after_the_access_level_have_no_rows(
    deepracer: ParsedPage,
) -> None:
    for name in ("AdminGetAccountConfig", "ListTracks", "MigrateModels", "TestRewardFunction"):
        a = action(deepracer, name)
        assert (a.resource_types, a.condition_keys, a.dependent_actions) == ((), (), ())
    # the seed's own typo is kept: the text is the source
    assert action(deepracer, "CreateReinforcementLearningModel").description == (
        "Grants permission to create ra einforcement learning model for DeepRacer"
    )


def test_seed_001_resource_types_with_arns_and_keys(deepracer: ParsedPage) -> None:
    p = "arn:${Partition}:deepracer:${Region}"
    assert [(r.name, r.arn_formats, r.condition_keys) for r in deepracer.resource_types] == [
        ("car", (f"{p}:${{Account}}:car/${{ResourceId}}",), ("aws:ResourceTag/${TagKey}",)),
        (
            "evaluation_job",
            (f"{p}:${{Account}}:evaluation_job/${{ResourceId}}",),
            ("aws:ResourceTag/${TagKey}",),
        ),
        ("leaderboard", (f"{p}::leaderboard/${{ResourceId}}",), ("aws:ResourceTag/${TagKey}",)),
        (
            "leaderboard_evaluation_job",
            (f"{p}:${{Account}}:leaderboard_evaluation_job/${{ResourceId}}",),
            ("aws:ResourceTag/${TagKey}",),
        ),
        (
            "reinforcement_learning_model",
            (f"{p}:${{Account}}:model/reinforcement_learning/${{ResourceId}}",),
            ("aws:ResourceTag/${TagKey}",),
        ),
        ("track", (f"{p}::track/${{ResourceId}}",), ()),
        (
            "training_job",
            (f"{p}:${{Account}}:training_job/${{ResourceId}}",),
            ("aws:ResourceTag/${TagKey}",),
        ),
    ]


def test_seed_001_condition_keys_with_types(deepracer: ParsedPage) -> None:
    assert [(k.name, k.types) for k in deepracer.condition_keys] == [
        ("aws:RequestTag/${TagKey}", ("String",)),
        ("aws:ResourceTag/${TagKey}", ("String",)),
        ("aws:TagKeys", ("ArrayOfString",)),
        ("deepracer:MultiUser", ("Bool",)),
        ("deepracer:UserToken", ("String",)),
    ]
    assert deepracer.condition_keys[3].description == "Filters access by multiuser flag"


def test_seed_001_says_once_that_row_structure_is_lost(deepracer: ParsedPage) -> None:
    assert [(d.code, d.severity) for d in deepracer.diagnostics] == [
        ("row-structure-lost", Severity.WARNING)
    ]
    d = deepracer.diagnostics[0]
    assert "attached at action level" in d.message
    assert "(first: AddLeaderboardAccessPermission)" in d.message
    assert d.line == 24  # the AddLeaderboardAccessPermission line of the seed


# --------------------------------------------------------------------------- seed 004


def test_seed_004_declares_bedrock_and_has_17_actions(bedrock: ParsedPage) -> None:
    # "(service prefix: bedrock )": a space before the parenthesis
    assert bedrock.prefix == "bedrock"
    assert bedrock.service_name == "Amazon Bedrock"
    assert len(bedrock.actions) == 17
    assert not any(a.permission_only for a in bedrock.actions)


def test_seed_004_create_customization_job_has_all_fields(bedrock: ParsedPage) -> None:
    a = action(bedrock, "CreateModelCustomizationJob")
    assert a.description == (
        "Grants permission to create a job for customizing the model with your custom training data"
    )
    assert a.access_level is AccessLevel.WRITE and not a.carries("access_levels")
    assert [(r.name, r.required) for r in a.resource_types] == [
        ("custom-model", True),
        ("foundation-model", True),
        ("model-customization-job", True),
    ]
    assert a.condition_keys == ("aws:RequestTag/${TagKey}", "aws:TagKeys")
    assert a.dependent_actions == ()


def test_seed_004_tag_resource_is_tagging_with_optional_types(bedrock: ParsedPage) -> None:
    a = action(bedrock, "TagResource")
    assert a.description == "Grants permission to Tag a Bedrock resource"
    assert a.access_level is AccessLevel.TAGGING
    assert [(r.name, r.required) for r in a.resource_types] == [
        ("custom-model", False),
        ("model-customization-job", False),
    ]
    assert a.condition_keys == ("aws:TagKeys", "aws:RequestTag/${TagKey}")
    assert action(bedrock, "ListFoundationModels").access_level is AccessLevel.LIST


def test_seed_004_split_partition_variables_are_compacted_in_arns(bedrock: ParsedPage) -> None:
    # the seed writes "arn:$ { Partition}:bedrock:$ { Region}::foundation-model/$ { ResourceId}"
    assert [(r.name, r.arn_formats, r.condition_keys) for r in bedrock.resource_types] == [
        (
            "foundation-model",
            ("arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}",),
            (),
        ),
        (
            "custom-model",
            ("arn:${Partition}:bedrock:${Region}:${Account}:custom-model/${ResourceId}",),
            ("aws:ResourceTag/${TagKey}",),
        ),
        (
            "model-customization-job",
            (
                "arn:${Partition}:bedrock:${Region}:${Account}:model-customization-job/${ResourceId}",
            ),
            ("aws:ResourceTag/${TagKey}",),
        ),
    ]


def test_seed_004_condition_keys_with_types(bedrock: ParsedPage) -> None:
    assert [(k.name, k.types) for k in bedrock.condition_keys] == [
        ("aws:RequestTag/${TagKey}", ("String",)),
        ("aws:ResourceTag/${TagKey}", ("String",)),
        ("aws:TagKeys", ("ArrayOfString",)),
    ]
    assert [d.code for d in bedrock.diagnostics] == ["row-structure-lost", "template-whitespace"]
    assert "of 3 action(s)" in bedrock.diagnostics[0].message


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("path", sorted(TEXT_FIXTURES.glob("flat_*.txt")), ids=lambda p: p.stem)
def test_flat_fixture_matches_its_golden_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert detect(text) == "flat-text"
    check_golden(flat_text.parse(text, source=path.stem), path)


@pytest.fixture(scope="module")
def rows_page() -> ParsedPage:
    path = TEXT_FIXTURES / "flat_rows.txt"
    return flat_text.parse(path.read_text(encoding="utf-8"), source=path.stem)


def test_values_between_two_resource_types_stay_on_the_first_ones_row(
    rows_page: ParsedPage,
) -> None:
    a = action(rows_page, "CreateWidget")
    widget, gadget = a.resource_types
    assert (widget.name, widget.required) == ("widget", True)
    assert widget.condition_keys == ("widgets:Color",)
    assert widget.dependent_actions == ("iam:PassRole",)
    # after the last resource type: its row or the action's own, the text cannot say
    assert (gadget.condition_keys, gadget.dependent_actions) == ((), ())
    assert a.condition_keys == ("aws:RequestTag/${TagKey}", "aws:TagKeys")


def test_action_line_wrapped_over_two_lines_is_joined(rows_page: ParsedPage) -> None:
    a = action(rows_page, "DeleteWidget")
    assert a.permission_only is True
    assert a.description == (
        "Grants permission to delete a widget, however large it is, and all of the gadgets "
        "attached to it"
    )
    assert a.line == 26
    assert [(r.name, r.required) for r in a.resource_types] == [("widget", True)]


def test_several_access_levels_and_resource_names_with_spaces(rows_page: ParsedPage) -> None:
    tag = action(rows_page, "TagWidget")
    assert tag.access_levels == (AccessLevel.TAGGING, AccessLevel.WRITE)
    assert tag.access_level is AccessLevel.TAGGING
    policy = action(rows_page, "GetWidgetPolicy")
    assert policy.access_level is AccessLevel.PERMISSIONS_MANAGEMENT
    # "bot alias*" is found through the resource-types table's "bot alias"
    assert [(r.name, r.required) for r in policy.resource_types] == [("bot alias", True)]
    assert "bot alias" in {r.name for r in rows_page.resource_types}


def test_line_belonging_to_no_row_is_reported_not_dropped(rows_page: ParsedPage) -> None:
    unparsed = [d for d in rows_page.diagnostics if d.code == "unparsed-line"]
    assert len(unparsed) == 1
    assert unparsed[0].line == 35
    assert "this line is not part of any row" in unparsed[0].message
    lost = [d for d in rows_page.diagnostics if d.code == "row-structure-lost"]
    assert len(lost) == 1 and "of 2 action(s)" in lost[0].message


def test_text_without_an_actions_table_gives_an_error_not_a_crash() -> None:
    text = (
        "Actions, resources, and condition keys for Example\n\n"
        "Example (service prefix: example) provides nothing here.\n"
    )
    page = flat_text.parse(text, source="empty")
    assert page.prefix == "example"
    assert page.actions == ()
    assert [(d.code, d.severity) for d in page.diagnostics] == [("no-tables", Severity.ERROR)]


# --------------------------------------------------------------------------- whitespace


def _noisy(text: str) -> str:
    """Seed text with whitespace variations: doubled spaces, extra blank lines, trailing
    blanks, split ``${…}`` variables in keys and ARNs."""
    text = re.sub(r"\$\{(\w+)\}", r"$ { \1}", text)
    text = text.replace(" Grants ", "   Grants  ").replace("\n\n", "\n\n\n")
    return "\n".join(line + "  " for line in text.splitlines()) + "\n"


@pytest.mark.parametrize("seed", [SEED_001, SEED_004], ids=["001", "004"])
def test_whitespace_variants_change_nothing(seed: Path) -> None:
    text = seed.read_text(encoding="utf-8")
    plain = flat_text.parse(text, source=seed.stem)
    noisy = flat_text.parse(_noisy(text), source=seed.stem)
    assert noisy.actions == plain.actions
    assert noisy.resource_types == plain.resource_types
    assert noisy.condition_keys == plain.condition_keys
    # Splitting ${...} is the one variation worth a diagnostic (one per page).
    codes = [d.code for d in plain.diagnostics]
    assert [d.code for d in noisy.diagnostics] == [
        *codes,
        *(["template-whitespace"] if "template-whitespace" not in codes else []),
    ]


# --------------------------------------------------------------------------- sniffing

PROSE = """\
How we audit IAM permissions at Example Corp

Every AWS service has a service prefix (service prefix: s3 for Amazon S3, for example),
and every action has an access level such as Read or Write.

Actions Description Access level
Our tooling lists actions, their description and their access level in a spreadsheet.
"""


def test_sniff_rejects_prose_that_mentions_the_vocabulary() -> None:
    assert not flat_text.sniff(PROSE)
    assert not flat_text.sniff("")


def test_sniff_rejects_the_pipe_seed_and_markdown_seeds() -> None:
    for name in ("000_eb27edc695326bc8", "002_f8ee0784d18e5bdf", "003_676e93ce77deaca0"):
        assert not flat_text.sniff((SEEDS / f"{name}.txt").read_text(encoding="utf-8"))


def test_sniff_rejects_every_html_markdown_and_json_page_of_the_corpus(corpus: Path) -> None:
    patterns = (
        "html/*/*.html",
        "markdown/*/*.md",
        "new-layout-md/*/*.md",
        "servicereference/*/*/*.json",
    )
    files = [f for pattern in patterns for f in sorted(corpus.glob(pattern))]
    assert len(files) > 1800
    accepted = [
        f.name
        for f in files
        if flat_text.sniff(t := f.read_text(encoding="utf-8", errors="replace"))
        or pipe_text.sniff(t)
    ]
    assert accepted == []
