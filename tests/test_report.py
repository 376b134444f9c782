"""Diff reports: JSON contract, Markdown for pull requests, self-contained HTML.

Golden files: ``fixtures/diff/expected.{json,md}`` are the reports of the
hand-made pair ``fixtures/diff/{old,new}/catalog.json``; regenerate them with
``IAM_CATALOG_REGEN_GOLDEN=1 pytest tests/test_report.py`` and read them before
committing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace

import jsonschema
import orjson
import pytest

from iam_catalog.output.build import load_catalog
from iam_catalog.output.diff import DIFF_SCHEMA, ChangeSeverity, diff
from iam_catalog.output.report import (
    MD_LIMIT,
    md_code,
    md_text,
    render,
    render_html,
    render_markdown,
)
from iam_catalog.parsers.model import (
    AccessLevel,
    Action,
    Catalog,
    CatalogSource,
    ConditionKey,
    PageRef,
    ResourceType,
    ResourceTypeRow,
    Service,
)
from tests.conftest import FIXTURES

DIFF_FIXTURES = FIXTURES / "diff"
REGEN = bool(os.environ.get("IAM_CATALOG_REGEN_GOLDEN"))


@pytest.fixture(scope="module")
def fixture_diff():
    old = load_catalog(DIFF_FIXTURES / "old" / "catalog.json")
    new = load_catalog(DIFF_FIXTURES / "new" / "catalog.json")
    return diff(old, new)


@pytest.mark.parametrize("fmt", ["json", "md"])
def test_report_of_the_fixture_pair_matches_its_golden_file(fixture_diff, fmt):
    golden = DIFF_FIXTURES / f"expected.{fmt}"
    text = render(fixture_diff, fmt)
    if REGEN:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_json_report_is_the_contract_with_sorted_keys_and_two_space_indent(fixture_diff):
    text = render(fixture_diff, "json")
    data = orjson.loads(text)
    assert data == fixture_diff.to_dict()
    jsonschema.validate(data, DIFF_SCHEMA)
    assert text == (
        orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    )
    assert text.startswith('{\n  "changes": [\n    {\n      "kind": ')


def test_unknown_format_is_refused(fixture_diff):
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        render(fixture_diff, "pdf")


# --------------------------------------------------------------------------- Markdown


def _service(prefix: str, n_actions: int, level: AccessLevel = AccessLevel.READ) -> Service:
    actions = tuple(
        Action(f"Action{i:04d}", f"Grants permission to do thing {i}", level, (level,))
        for i in range(n_actions)
    )
    return Service(prefix, f"AWS {prefix}", (PageRef(prefix, "html", "x"),), actions)


def _catalog(*services: Service, id: str) -> Catalog:
    return Catalog(CatalogSource("files", id, len(services), ()), services)


def test_markdown_starts_with_the_summary_table_and_lists_breaking_first(fixture_diff):
    text = render_markdown(fixture_diff)
    assert text.startswith("## IAM catalog changes\n")
    table = text.index("| | added | removed | changed |")
    first_service = text.index("\n### ")
    assert table < first_service
    assert "| actions | 2 | 2 | 5 |" in text
    s3 = text[text.index("### `s3`") : text.index("### `s3express`")]
    severities = re.findall(r"^- \*\*(breaking|security)\*\*", s3, flags=re.M)
    assert severities == ["breaking"] * 3 + ["security"] * 3
    assert s3.index("**security**") < s3.index("<details><summary>7 info changes</summary>")


def test_markdown_of_an_empty_diff_says_no_changes():
    c = _catalog(_service("s3", 2), id="same")
    assert render_markdown(diff(c, c)) == (
        "## IAM catalog changes\n\nold `same` (files, 1 page (none), 1 service) → "
        "new `same` (files, 1 page (none), 1 service): **no changes**.\n"
    )


def test_markdown_escapes_text_and_fences_code_that_holds_backticks():
    assert md_text("a <b> | *c* [d](e) & `f`") == (
        "a &lt;b&gt; \\| \\*c\\* \\[d\\](e) &amp; \\`f\\`"
    )
    assert md_code("plain") == "`plain`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`edge") == "`` `edge ``"
    old = _catalog(_service("s3", 1), id="o")
    action = replace(old.services[0].actions[0], description="<script>alert(1)</script> | x")
    new = _catalog(replace(old.services[0], actions=(action,)), id="n")
    text = render_markdown(diff(old, new))
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\| x" in text


def test_markdown_of_a_huge_diff_fits_a_pull_request_body_keeping_breaking_changes():
    # 40 services lose 60 actions each (2400 breaking), 40 more gain 300 each (info)
    old = _catalog(*(_service(f"gone{i:02d}", 60) for i in range(40)), id="o")
    new = _catalog(
        *(_service(f"gone{i:02d}", 0) for i in range(40)),
        *(_service(f"new{i:02d}", 300) for i in range(40)),
        id="n",
    )
    d = diff(old, new)
    assert len(d.changes) == 2400 + 40 * 301
    text = render_markdown(d)
    assert len(text) <= MD_LIMIT
    # every service with a breaking change shows at least one of them
    for i in range(40):
        assert f"### `gone{i:02d}`" in text
    shown = re.findall(r"^- (\*\*breaking\*\* )?", text, flags=re.M)
    assert shown and all(shown)  # only breaking lines made it in
    left = int(re.search(r"_(\d+) more changes not shown: this report is cut", text).group(1))
    assert left == len(d.changes) - len(shown)
    # the overview still names every changed service with its counts
    assert "| `new39` | 0 | 0 | 301 |" in text
    assert "| `gone00` | 60 | 0 | 0 |" in text
    # without a limit, every change is there
    whole = render_markdown(d, limit=None)
    assert len(re.findall(r"^- ", whole, flags=re.M)) == len(d.changes)


def test_long_lists_of_info_collapse_into_details():
    old = _catalog(_service("ec2", 0), id="o")
    new = _catalog(_service("ec2", 30), id="n")
    text = render_markdown(diff(old, new))
    assert "<details><summary>30 info changes</summary>\n\n- action added: `Action0000`" in text
    assert text.rstrip().endswith("</details>")


# --------------------------------------------------------------------------- HTML


def test_html_is_one_self_contained_page(fixture_diff):
    page = render_html(fixture_diff)
    assert page.startswith("<!doctype html>")
    assert "<link" not in page
    assert not re.search(r"""<(script|img|iframe)[^>]+src=""", page)
    assert not re.search(r"""url\(|@import""", page)
    # every change is a table row carrying its severity, kind and item type
    rows = re.findall(r'<tr data-sev="(\w+)" data-verb="(\w+)" data-type="(\w+)"', page)
    assert len(rows) == len(fixture_diff.changes)
    assert sorted(rows) == sorted(
        (c.severity.value, c.kind.verb, c.kind.item_type) for c in fixture_diff.changes
    )
    assert 'id="count-breaking">5<' in page


def test_html_escapes_everything_from_the_catalogs():
    old = _catalog(_service("s3", 1), id='"><script>alert("id")</script>')
    action = replace(
        old.services[0].actions[0],
        name="Action0000",
        description='<img src=x onerror="alert(1)">',
        resource_types=(ResourceTypeRow("<b>bold</b>", True, ("k<1>",)),),
    )
    rt = ResourceType("<svg onload=alert(2)>", ("arn:<x>",))
    key = ConditionKey("s3:<i>", "</td></tr></table><script>", ("String",))
    new = _catalog(
        replace(
            old.services[0],
            name="<u>S3</u>",
            actions=(action,),
            resource_types=(rt,),
            condition_keys=(key,),
        ),
        id="n",
    )
    page = render_html(diff(old, new))
    body = page[page.index("<body>") :]
    scripts = re.findall(r"<script\b", body)
    assert len(scripts) == 1  # only the report's own filter script
    for raw in ("<img", "<svg", "<b>bold", "<i>", "<u>S3", "</table><script>"):
        assert raw not in body
    assert "&lt;svg onload=alert(2)&gt;" in body
    assert "&quot;&gt;&lt;script&gt;" in page  # the catalog id, in the title and header


def test_html_of_an_empty_diff_says_so():
    c = _catalog(_service("s3", 2), id="same")
    page = render_html(diff(c, c))
    assert "No changes: the two catalogs say the same thing." in page
    assert 'id="filters"' not in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _dump_dom(url: str) -> str:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=3000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_html_filter_runs_in_chromium_and_hides_what_is_filtered_out(fixture_diff, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_html(fixture_diff), encoding="utf-8")
    total = len(fixture_diff.changes)
    breaking = fixture_diff.summary.severity_count(ChangeSeverity.BREAKING)

    dom = _dump_dom(page.as_uri())
    assert f'<span id="shown-n">{total}</span> of {total} changes shown' in dom
    assert not re.search(r"<tr [^>]*hidden", dom)

    # a link preset to breaking changes of actions: the script hides everything else
    dom = _dump_dom(page.as_uri() + "#sev=breaking&type=action")
    tags = re.findall(r"<tr data-sev=[^>]*>", dom)
    assert len(tags) == total
    visible = [
        re.search(r'data-sev="(\w+)" data-verb="\w+" data-type="(\w+)"', tag).groups()
        for tag in tags
        if not re.search(r"\shidden(=|>|\s)", tag)
    ]
    expected = [
        c
        for c in fixture_diff.changes
        if c.severity is ChangeSeverity.BREAKING and c.kind.item_type == "action"
    ]
    assert len(visible) == len(expected) == 4
    assert set(visible) == {("breaking", "action")}
    assert f'<span id="shown-n">{len(expected)}</span>' in dom
    assert breaking > len(expected)  # the service removal was filtered out by type
    # sections left with nothing to show are hidden as a whole
    assert re.search(r'<details class="svc" id="svc-sqs"[^>]* hidden', dom)
