"""The pipe-text parser: seed 003 (sagemaker, 2020, cells lost and shifted) with facts
checked by hand against the seed text and its expected diagnostics, hand-written
fixtures with golden output (aligned and shifted columns), whitespace variants, and
sniffing.

Golden files (``fixtures/text/pipe_*.expected.json``) are regenerated with
``IAM_CATALOG_REGEN_GOLDEN=1 pytest tests/test_pipe_text.py``; read them before
committing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iam_catalog.parsers import flat_text, pipe_text
from iam_catalog.parsers.detect import detect
from iam_catalog.parsers.model import AccessLevel, ParsedPage, Severity
from tests.conftest import SEEDS
from tests.test_flat_text import PROSE, TEXT_FIXTURES, action, check_golden

SEED_003 = SEEDS / "003_676e93ce77deaca0.txt"

# Every row of the seed's condition-key table, copied by hand from the seed.
SEED_003_KEY_TYPES = {
    "aws:RequestTag/${TagKey}": "String",
    "aws:ResourceTag/${TagKey}": "String",
    "aws:TagKeys": "String",
    "sagemaker:AcceleratorTypes": "ArrayOfString",
    "sagemaker:AppNetworkAccess": "String",
    "sagemaker:DirectInternetAccess": "String",
    "sagemaker:DomainSharingOutputKmsKey": "ARN",
    "sagemaker:FileSystemAccessMode": "String",
    "sagemaker:FileSystemDirectoryPath": "String",
    "sagemaker:FileSystemId": "String",
    "sagemaker:FileSystemType": "String",
    "sagemaker:HomeEfsFileSystemKmsKey": "ARN",
    "sagemaker:InstanceTypes": "ArrayOfString",
    "sagemaker:InterContainerTrafficEncryption": "Bool",
    "sagemaker:MaxRuntimeInSeconds": "Numeric",
    "sagemaker:ModelArn": "ARN",
    "sagemaker:NetworkIsolation": "Bool",
    "sagemaker:OutputKmsKey": "ARN",
    "sagemaker:ResourceTag/": "String",
    "sagemaker:ResourceTag/${TagKey}": "String",
    "sagemaker:RootAccess": "String",
    "sagemaker:VolumeKmsKey": "ARN",
    "sagemaker:VpcSecurityGroupIds": "ArrayOfString",
    "sagemaker:VpcSubnets": "ArrayOfString",
    "sagemaker:WorkteamArn": "ARN",
    "sagemaker:WorkteamType": "String",
}
# Actions whose Dependent Actions cell survived in the seed: iam:PassRole, shifted left.
SEED_003_PASSROLE = {
    "CreateAutoMLJob",
    "CreateCompilationJob",
    "CreateDomain",
    "CreateFlowDefinition",
    "CreateHyperParameterTuningJob",
    "CreateLabelingJob",
    "CreateModel",
    "CreateMonitoringSchedule",
    "CreateNotebookInstance",
    "CreateProcessingJob",
    "CreateTrainingJob",
    "CreateUserProfile",
    "RenderUiTemplate",
    "UpdateMonitoringSchedule",
}


@pytest.fixture(scope="module")
def sagemaker() -> ParsedPage:
    return pipe_text.parse(SEED_003.read_text(encoding="utf-8"), source=SEED_003.stem)


def test_seed_003_is_detected_as_pipe_text() -> None:
    assert detect(SEED_003.read_text(encoding="utf-8")) == "pipe-text"


def test_seed_003_declares_sagemaker_over_a_line_break_and_has_139_actions(
    sagemaker: ParsedPage,
) -> None:
    # "(service prefix: sagemaker" / ")" on the next line
    assert sagemaker.prefix == "sagemaker"
    assert sagemaker.service_name == "Amazon SageMaker"
    assert sagemaker.ref.format == "pipe-text"
    assert sagemaker.ref.layout == "userguide"  # title-case headers of the 2020 pages
    assert len(sagemaker.actions) == 139
    assert (sagemaker.actions[0].name, sagemaker.actions[-1].name) == ("AddTags", "UpdateWorkteam")
    assert [a.name for a in sagemaker.actions if a.permission_only] == [
        "BatchGetMetrics",
        "BatchPutMetrics",
    ]


def test_seed_003_tuning_job_joins_its_orphan_continuation_row(sagemaker: ParsedPage) -> None:
    a = action(sagemaker, "CreateHyperParameterTuningJob")
    assert a.description == (
        "Creates hyper parameter tuning job that can be deployed using Amazon SageMaker."
    )
    assert a.access_level is AccessLevel.WRITE
    assert a.permission_only is False
    assert a.resource_types == ()  # the link-only resource cells are lost in the seed
    assert a.condition_keys == (
        "sagemaker:FileSystemAccessMode",
        "sagemaker:FileSystemDirectoryPath",
    )
    assert a.dependent_actions == ("iam:PassRole",)
    assert action(sagemaker, "CreateTrainingJob").condition_keys == a.condition_keys


def test_seed_003_permission_only_read_action_has_all_fields(sagemaker: ParsedPage) -> None:
    a = action(sagemaker, "BatchGetMetrics")
    assert a.description == (
        "Retrieve metrics associated with SageMaker Resources such as Training Jobs. This API "
        "is not publicly exposed at this point, however admins can control this action"
    )
    assert a.access_level is AccessLevel.READ and not a.carries("access_levels")
    assert a.permission_only is True
    assert (a.resource_types, a.condition_keys, a.dependent_actions) == ((), (), ())


def test_seed_003_dependent_actions_are_told_from_keys_by_the_key_table(
    sagemaker: ParsedPage,
) -> None:
    with_deps = {a.name: a.dependent_actions for a in sagemaker.actions if a.dependent_actions}
    assert set(with_deps) == SEED_003_PASSROLE
    assert with_deps["CreateDomain"] == ("iam:CreateServiceLinkedRole", "iam:PassRole")
    assert all(v == ("iam:PassRole",) for k, v in with_deps.items() if k != "CreateDomain")
    with_keys = {a.name for a in sagemaker.actions if a.condition_keys}
    assert with_keys == {"CreateHyperParameterTuningJob", "CreateTrainingJob"}
    assert action(sagemaker, "AddTags").access_level is AccessLevel.TAGGING
    assert action(sagemaker, "ListTags").access_level is AccessLevel.LIST


def test_seed_003_condition_keys_with_types_and_no_resource_types(sagemaker: ParsedPage) -> None:
    assert {k.name: k.types for k in sagemaker.condition_keys} == {
        k: (t,) for k, t in SEED_003_KEY_TYPES.items()
    }
    assert action(sagemaker, "UpdateWorkteam").description == "Updates a workteam."
    assert sagemaker.resource_types == ()


def test_seed_003_expected_diagnostics(sagemaker: ParsedPage) -> None:
    got = [(d.code, d.severity, d.line) for d in sagemaker.diagnostics]
    assert got == [
        # iam:PassRole sits in the Resource Types column of CreateAutoMLJob (line 38)
        ("row-structure-lost", Severity.WARNING, 38),
        # the keys-only rows under CreateHyperParameterTuningJob and CreateTrainingJob
        ("continuation-rows-joined", Severity.INFO, 58),
        # "UpdateWorkteam | Updates a workteam. | Write |": 3 of 6 cells
        ("short-row", Severity.INFO, 202),
        # "Resources Defined by" announces a table the text does not have
        ("missing-table", Severity.WARNING, 204),
    ]
    joined = sagemaker.diagnostics[1].message
    assert "2 row(s)" in joined and "CreateHyperParameterTuningJob" in joined
    assert "resource types section" in sagemaker.diagnostics[3].message


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("path", sorted(TEXT_FIXTURES.glob("pipe_*.txt")), ids=lambda p: p.stem)
def test_pipe_fixture_matches_its_golden_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert detect(text) == "pipe-text"
    check_golden(pipe_text.parse(text, source=path.stem), path)


@pytest.fixture(scope="module")
def aligned() -> ParsedPage:
    path = TEXT_FIXTURES / "pipe_rows.txt"
    return pipe_text.parse(path.read_text(encoding="utf-8"), source=path.stem)


def test_aligned_columns_keep_every_value_on_its_own_row(aligned: ParsedPage) -> None:
    # The fixture splits two ${...} variables as the archived pages do.
    assert [d.code for d in aligned.diagnostics] == ["template-whitespace"]
    a = action(aligned, "CreateWidget")
    assert [
        (r.name, r.required, r.condition_keys, r.dependent_actions) for r in a.resource_types
    ] == [
        ("widget", True, ("widgets:Color",), ("iam:PassRole",)),
        ("gadget", False, (), ()),
    ]
    # the row padded before its cells is the action's own row
    assert a.condition_keys == ("aws:RequestTag/${TagKey}", "aws:TagKeys")
    tag = action(aligned, "TagWidget")
    assert [(r.name, r.condition_keys, r.dependent_actions) for r in tag.resource_types] == [
        ("bot alias", ("aws:TagKeys",), ()),
        ("gadget", (), ("iam:PassRole",)),
    ]
    assert tag.access_levels == (AccessLevel.TAGGING, AccessLevel.WRITE)


def test_rows_wrapped_inside_a_description_or_the_action_cell_are_joined(
    aligned: ParsedPage,
) -> None:
    delete = action(aligned, "DeleteWidget")
    assert delete.description == (
        "Grants permission to delete a widget, however large it is, and all of the gadgets "
        "attached to it"
    )
    assert delete.permission_only is True
    wrapped = action(aligned, "AVeryLongActionNameThatWrapsBeforeItsFirstCellEnds")
    assert (wrapped.permission_only, wrapped.access_level) == (True, AccessLevel.READ)
    assert wrapped.condition_keys == ("widgets:Color",)
    assert [r.name for r in aligned.resource_types] == ["widget", "gadget", "bot alias"]


def test_shifted_cells_are_classified_and_kept_on_their_physical_row() -> None:
    path = TEXT_FIXTURES / "pipe_shifted.txt"
    page = pipe_text.parse(path.read_text(encoding="utf-8"), source=path.stem)
    a = action(page, "CreateWidget")
    # "iam:PassRole" arrived in the Condition Keys column, "aws:TagKeys" in the Resource
    # Types column: the key table and the aws: prefix decide, the row stays the row
    assert [(r.name, r.condition_keys, r.dependent_actions) for r in a.resource_types] == [
        ("widget", (), ("iam:PassRole",)),
        ("gadget", ("aws:TagKeys",), ()),
    ]
    assert action(page, "ListWidgets").condition_keys == ("widgets:Color",)
    assert [d.code for d in page.diagnostics] == [
        "row-structure-lost",
        "continuation-rows-joined",
        "short-row",
    ]


# --------------------------------------------------------------------------- whitespace


def test_whitespace_variants_change_nothing_in_seed_003() -> None:
    text = SEED_003.read_text(encoding="utf-8")
    noisy = re.sub(r"\$\{(\w+)\}", r"$ { \1}", text)
    noisy = noisy.replace(" | ", "  |   ").replace("\n", "\n\n")
    plain = pipe_text.parse(text, source=SEED_003.stem)
    got = pipe_text.parse(noisy, source=SEED_003.stem)
    assert got.actions == plain.actions
    assert got.condition_keys == plain.condition_keys
    # Splitting ${...} is the one variation worth a diagnostic (one per page).
    codes = [d.code for d in plain.diagnostics]
    assert [d.code for d in got.diagnostics] == [
        *codes,
        *(["template-whitespace"] if "template-whitespace" not in codes else []),
    ]


# --------------------------------------------------------------------------- sniffing


def test_sniff_rejects_prose_markdown_tables_and_flat_text() -> None:
    assert not pipe_text.sniff(PROSE)
    markdown = "# Title\n\nX (service prefix: `x`)\n\n| Actions | Description | Access level |\n"
    assert not pipe_text.sniff(markdown)
    for name in ("000_eb27edc695326bc8", "001_ef8b5ee01b7960a7", "002_f8ee0784d18e5bdf"):
        assert not pipe_text.sniff((SEEDS / f"{name}.txt").read_text(encoding="utf-8"))
    assert not flat_text.sniff(SEED_003.read_text(encoding="utf-8"))
