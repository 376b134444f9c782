"""`iam-catalog diff`: exit 0 when equal, 1 when changed, 2 on bad input, with the
exact one-line message."""

from __future__ import annotations

import orjson
import pytest

from iam_catalog.output.cli import main
from iam_catalog.output.writers import dumps_catalog
from iam_catalog.parsers.model import catalog_from_dict
from tests.conftest import FIXTURES

OLD = FIXTURES / "diff" / "old" / "catalog.json"
NEW = FIXTURES / "diff" / "new" / "catalog.json"


def test_diff_of_a_catalog_with_itself_exits_0_and_says_no_changes(capsys):
    assert main(["diff", str(OLD), str(OLD)]) == 0
    out, err = capsys.readouterr()
    label = "files, 3 pages (html 3), 3 services"
    assert out.startswith(
        "## IAM catalog changes: old-2024-01-01 → old-2024-01-01\n\n| | old | new |\n"
        "|---|---|---|\n| catalog id | `old-2024-01-01` | `old-2024-01-01` |\n"
        f"| built from | {label} | {label} |\n\n**No changes.**\n"
    )
    # the 2023 pages carry one access level and no operations: not compared, and said so
    either = "not carried by either side (old: html sar-2023; new: html sar-2023)"
    services = "3 services (`iot1click`, `s3`, `sqs`)"
    assert out.endswith(
        "".join(
            f"- `{field}`: {either} — {services}\n"
            for field in ("action.operations", "action.supported_by", "service.operations")
        )
    )
    assert err == ""


def test_diff_with_itself_in_json_has_no_changes(capsys):
    assert main(["diff", str(NEW), str(NEW), "--format", "json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    assert data["changes"] == []
    assert set(data["summary"].values()) == {0}


def test_diff_of_two_catalogs_exits_1_and_writes_the_report_to_output(capsys, tmp_path):
    report = tmp_path / "report.json"
    assert main(["diff", str(OLD), str(NEW), "--format", "json", "--output", str(report)]) == 1
    assert capsys.readouterr() == ("", "")
    assert report.read_text(encoding="utf-8") == (FIXTURES / "diff" / "expected.json").read_text(
        encoding="utf-8"
    )


def test_diff_html_output_is_one_page(tmp_path, capsys):
    report = tmp_path / "report.html"
    assert main(["diff", str(OLD), str(NEW), "--format", "html", "--output", str(report)]) == 1
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert page.count('"svc" id="svc-') == 4  # a section per changed service
    assert "IAM catalog changes: old-2024-01-01 → new-2025-01-01" in page


def test_diff_exit_zero_exits_0_when_it_finds_changes_and_2_on_errors(tmp_path, capsys):
    report = tmp_path / "report.md"
    argv = ["diff", str(OLD), str(NEW), "--output", str(report), "--exit-zero"]
    assert main(argv) == 0
    assert "**19 changes** in 4 services" in report.read_text(encoding="utf-8")
    missing = tmp_path / "nowhere.json"
    assert main(["diff", str(missing), str(NEW), "--exit-zero"]) == 2
    assert capsys.readouterr() == ("", f"iam-catalog: error: {missing}: no such file or folder\n")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "access_level",
            "Permissions management",
            "- action `GetObject` · access level: `Read` → `Permissions management`\n",
        ),
        (
            "description",
            "Grants permission to read objects",
            "- action `GetObject` · description: “Grants permission to retrieve objects from "
            "Amazon S3” → “Grants permission to read objects”\n",
        ),
        (
            "permission_only",
            True,
            "- action `GetObject` · permission only: `false` → `true`\n",
        ),
    ],
)
def test_diff_against_a_copy_with_one_field_changed_reports_only_that(
    tmp_path, capsys, field, value, expected
):
    data = orjson.loads(NEW.read_bytes())
    action = data["services"]["s3"]["actions"]["GetObject"]
    action[field] = value
    if field == "access_level":
        action["access_levels"] = [value]
    changed = tmp_path / "catalog.json"
    changed.write_bytes(dumps_catalog(catalog_from_dict(data)))
    assert main(["diff", str(NEW), str(changed)]) == 1
    out = capsys.readouterr().out
    assert "**1 change** in 1 service" in out
    # one change listed (the other bullets name the fields not compared, at the top)
    assert out[out.index("\n### ") :].count("\n- ") == 1
    assert expected in out


def test_diff_of_a_missing_path_exits_2_with_one_line(tmp_path, capsys):
    missing = tmp_path / "nowhere.json"
    assert main(["diff", str(missing), str(OLD)]) == 2
    assert capsys.readouterr() == ("", f"iam-catalog: error: {missing}: no such file or folder\n")


def test_diff_of_a_catalog_of_another_schema_version_exits_2(tmp_path, capsys):
    bad = tmp_path / "catalog.json"
    bad.write_text('{"schema_version": 99, "services": {}}', encoding="utf-8")
    assert main(["diff", str(OLD), str(bad)]) == 2
    assert capsys.readouterr() == (
        "",
        f"iam-catalog: error: {bad}: not a valid catalog.json "
        "(unsupported catalog schema_version 99 (this tool reads 1, 2))\n",
    )


def test_diff_of_a_folder_without_pages_exits_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["diff", str(tmp_path / "empty"), str(OLD)]) == 2
    assert capsys.readouterr() == (
        "",
        f"iam-catalog: error: {tmp_path / 'empty'}: no usable pages found\n",
    )


def test_diff_of_two_sources_builds_them_on_the_fly(corpus, capsys):
    old = corpus / "html" / "2020-11-01_65f99eab" / "list_amazonsqs.html"
    new = corpus / "html" / "2026-04-01_110d32e3" / "list_amazonsqs.html"
    assert main(["diff", str(old), str(old), "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["diff", str(old), str(new), "--format", "json"]) == 1
    data = orjson.loads(capsys.readouterr().out)
    assert {c["service"] for c in data["changes"]} == {"sqs"}
    added = {c["action"] for c in data["changes"] if c["kind"] == "action_added"}
    # SQS gained these between 2020 and 2026 (both on the 2026 page, neither in 2020)
    assert {"CancelMessageMoveTask", "ListMessageMoveTasks", "StartMessageMoveTask"} <= added
