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
from collections import Counter
from dataclasses import replace

import jsonschema
import orjson
import pytest

from iam_catalog.output.build import load_catalog
from iam_catalog.output.diff import DIFF_SCHEMA, ChangeSeverity, diff
from iam_catalog.output.report import (
    MD_LIMIT,
    anchor,
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


def test_markdown_starts_with_the_releases_and_counts_then_breaking_then_security(
    fixture_diff,
):
    text = render_markdown(fixture_diff)
    assert text.startswith("## IAM catalog changes: old-2024-01-01 → new-2025-01-01\n")
    assert "| catalog id | `old-2024-01-01` | `new-2025-01-01` |" in text
    table = text.index("| | added | removed | changed |")
    breaking = text.index("\n### Breaking changes (5)\n")
    security = text.index("\n### Security changes (3)\n")
    info = text.index("\n### Other changes (11 info)\n")
    assert table < breaking < security < info
    assert "| actions | 2 | 2 | 5 |" in text
    listed = text[breaking:security].count("\n- ")
    assert listed == 5
    assert text[security:info].count("\n- ") == 3
    assert "<details><summary>s3 Amazon S3 · 7 info changes</summary>" in text


def test_markdown_of_an_empty_diff_says_no_changes():
    c = _catalog(_service("s3", 2), id="same")
    assert render_markdown(diff(c, c)) == (
        "## IAM catalog changes: same → same\n\n| | old | new |\n|---|---|---|\n"
        "| catalog id | `same` | `same` |\n"
        "| built from | files, 1 page (none), 1 service | files, 1 page (none), 1 service |\n"
        "\n**No changes.**\n"
    )


def test_markdown_and_html_name_each_release_by_its_note_and_show_what_it_was_built_from():
    old = _catalog(_service("s3", 1), id="o")
    old = replace(old, source=replace(old.source, note="SAR pages of 2020-11-01"))
    new = _catalog(_service("s3", 2), id="n")
    d = diff(old, new)
    text = render_markdown(d)
    assert text.startswith("## IAM catalog changes: SAR pages of 2020-11-01 → n\n")
    assert "| note | SAR pages of 2020-11-01 | (none) |" in text
    assert "| built from | files, 1 page (none), 1 service |" in text
    page = render_html(d)
    assert "<h1>IAM catalog changes: SAR pages of 2020-11-01 → n</h1>" in page
    assert "<tr><th>note</th><td>SAR pages of 2020-11-01</td><td>(none)</td></tr>" in page
    # a catalog of one snapshot is named by the day it was taken
    new = replace(
        new, source=replace(new.source, kind="snapshot", created_at="2026-12-01T02:00:00Z")
    )
    text = render_markdown(diff(old, new))
    assert text.startswith("## IAM catalog changes: SAR pages of 2020-11-01 → 2026-12-01\n")
    assert "| snapshot taken | (no snapshot) | 2026-12-01T02:00:00Z |" in text


def test_markdown_shows_an_added_action_with_its_access_levels_and_description():
    old = _catalog(_service("iam", 0), id="o")
    action = Action(
        "PutRolePolicy",
        "Grants permission to add an inline policy to a role",
        AccessLevel.PERMISSIONS_MANAGEMENT,
        (AccessLevel.PERMISSIONS_MANAGEMENT, AccessLevel.WRITE),
        dependent_actions=("iam:PassRole",),
    )
    new = _catalog(replace(old.services[0], actions=(action,)), id="n")
    d = diff(old, new)
    (change,) = d.changes
    assert change.severity is ChangeSeverity.SECURITY
    text = render_markdown(d)
    assert (
        "- action added: `PutRolePolicy` (Permissions management, Write) — Grants permission "
        "to add an inline policy to a role; can pass roles (`iam:PassRole`)\n"
    ) in text
    assert text.index("### Security changes (1)") < text.index("PutRolePolicy")


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


def test_markdown_of_a_huge_diff_fits_a_pull_request_body_counting_what_it_cannot_list():
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
    breaking = text[text.index("### Breaking changes (2400)") : text.index("### Other changes")]
    # every service with a breaking change: its changes listed, or counted on one line
    for i in range(40):
        listed = breaking.count(f"#### `gone{i:02d}`")
        counted = breaking.count(f"- `gone{i:02d}` AWS gone{i:02d}: **60** (60 × action removed)")
        assert listed + counted == 1, i
    bullets = len(re.findall(r"^- action removed: ", breaking, flags=re.M))
    counted = len(re.findall(r"^- `gone\d\d` ", breaking, flags=re.M))
    assert bullets + 60 * counted == 2400
    assert counted > 0  # 2400 lines do not fit
    # the info changes are counted per service
    assert "_Not listed here: 12040 info changes in 40 services" in text
    assert "`new39` 301" in text
    # without a limit, every change is there
    whole = render_markdown(d, limit=None)
    assert len(re.findall(r"^- ", whole, flags=re.M)) == len(d.changes)


def test_long_lists_of_info_collapse_into_details():
    old = _catalog(_service("ec2", 0), id="o")
    new = _catalog(_service("ec2", 30), id="n")
    text = render_markdown(diff(old, new))
    assert (
        "<details><summary>ec2 AWS ec2 · 30 info changes</summary>\n\n"
        "- action added: `Action0000` (Read) — Grants permission to do thing 0\n"
    ) in text
    assert text.rstrip().endswith("</details>")


# --------------------------------------------------------------------------- HTML


def _page_data(page: str) -> list:
    """The change rows a report page embeds for its script."""
    raw = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert raw is not None
    return orjson.loads(raw.group(1))


SEVERITIES = [s.value for s in ChangeSeverity]
VERBS = ["added", "removed", "changed"]
TYPES = ["service", "action", "resource_type", "condition_key"]


def test_html_is_one_self_contained_page(fixture_diff):
    page = render_html(fixture_diff)
    assert page.startswith("<!doctype html>")
    assert "<link" not in page
    assert not re.search(r"""<(script|img|iframe)[^>]+src=""", page)
    assert not re.search(r"""url\(|@import""", page)
    # every change is a row of the embedded data, with its severity, kind and item type
    rows = [
        (SEVERITIES[r[0]], VERBS[r[1]], TYPES[r[2]], service)
        for service, service_rows, *_ in _page_data(page)
        for r in service_rows
    ]
    assert sorted(rows) == sorted(
        (c.severity.value, c.kind.verb, c.kind.item_type, c.service) for c in fixture_diff.changes
    )
    assert 'id="count-breaking">5<' in page
    # no row is drawn before the script runs: the page opens fast however large the diff
    assert "<tr><td><span" not in page[: page.index("<script")]


def test_html_service_index_counts_every_changed_service_by_severity(fixture_diff):
    page = render_html(fixture_diff)
    start = page.index('<details id="index"')
    index = page[start : page.index("</details>", start)]
    assert "Services changed: 4" in index
    rows = re.findall(r"<tr><td><a href=\"#q=([\w-]+)\">.*?</tr>", index)
    # most breaking first
    assert rows == ["s3", "iot1click", "s3express", "sqs"]
    s3 = re.search(r'<tr><td><a href="#q=s3">.*?</tr>', index).group(0)
    assert ">3</a>" in s3 and ">3</a>" in s3 and ">7</a>" in s3
    assert 'href="#sev=breaking&amp;q=s3"' in s3


def test_html_links_items_to_their_page_and_actions_to_their_api_reference(fixture_diff):
    data = {entry[0]: entry[1:] for entry in _page_data(render_html(fixture_diff))}
    rows, new_page, old_page, api_base = data["s3"]
    assert (
        new_page
        == old_page
        == (
            "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html"
            "#amazons3"
        )
    )
    get_object = next(r for r in rows if r[3] == "GetObject")
    # the API link is the service's base, the name and .html (the script puts it together)
    assert (get_object[9], api_base) == ("=", "AmazonS3/latest/API/API_")
    # each breaking or security row says why, in a few words; info rows say nothing
    reasons = {(r[3], r[5]): r[10] for r in rows}
    assert reasons[("GetObject", "row accesspoint")] == (
        "a new required row: the action now needs that resource"
    )
    assert reasons[("GetObject", "condition keys")] == (
        "a condition key no longer available to the action"
    )
    assert reasons[("DeleteBucketPolicy", "access level")] == (
        "access level to or from Permissions management or Write"
    )
    assert reasons[("CreateSession", "")] == ""
    assert anchor("aws:RequestTag/${TagKey}") == "aws_RequestTag___TagKey_"


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
    scripts = re.findall(r"<script\b[^>]*>", body)
    # only the report's own data and filter script: no text from the catalogs ends the
    # data early (a "<" in it is written \u003c) or opens a tag
    assert scripts == ['<script type="application/json" id="data">', "<script>"]
    for raw in ("<img", "<svg", "<b>bold", "<i>", "<u>S3", "</table><script>"):
        assert raw not in body
    rows = [r for _, service_rows, *_ in _page_data(page) for r in service_rows]
    # the HTML cells come escaped; names are data, escaped by the script when it draws
    # them (test_html_filter_runs_in_chromium... checks the drawn page)
    cells = " ".join(str(cell) for r in rows for cell in r[4:8])
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in cells
    assert "&lt;b&gt;bold&lt;/b&gt;" in cells
    for raw in ("<img", "<svg", "<b>bold", "<i>", "</td></tr>"):
        assert raw not in cells
    assert "<svg onload=alert(2)>" in [r[3] for r in rows]


def test_html_of_an_empty_diff_says_so():
    c = _catalog(_service("s3", 2), id="same")
    page = render_html(diff(c, c))
    assert "No changes: the two catalogs say the same thing." in page
    assert 'id="filters"' not in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Under CI (.ci/run installs chromium) a missing browser fails these tests, never skips them.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed"
)


def _dump_dom(url: str) -> str:
    assert CHROMIUM is not None, "chromium is not installed (.ci/run installs it)"
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


def _drawn(dom: str) -> list[tuple[str, str, str]]:
    """(service, severity, item) of every change row the script drew."""
    out = []
    for section in re.findall(
        r'<details class="svc" id="svc-([^"]+)"[^>]*>(.*?)</details>', dom, re.S
    ):
        service, body = section
        for sev, item in re.findall(
            r'<tr><td><span class="sev (\w+)">\w+</span>(?:<div class="why">[^<]*</div>)?</td>'
            r"<td>[^<]*</td><td>(?:<a [^>]*>)?"
            r"<code>(.*?)</code>",
            body,
        ):
            out.append((service, sev, item))
    return out


@needs_chromium
def test_html_filter_runs_in_chromium_and_draws_only_what_is_filtered_in(fixture_diff, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_html(fixture_diff), encoding="utf-8")
    total = len(fixture_diff.changes)
    changes = fixture_diff.changes

    dom = _dump_dom(page.as_uri())
    assert f'<span id="shown-n">{total}</span> of {total} changes shown' in dom
    # sections with breaking or security changes open (and drawn), the rest closed
    drawn = _drawn(dom)
    assert sorted(drawn) == sorted(
        (c.service, c.severity.value, c.item or "")
        for c in changes
        if c.service in ("s3", "iot1click")
    )
    assert '<span class="shown">1 change</span>' in dom  # sqs: no "1 changes"

    # a link preset to breaking changes of actions: only those are drawn
    dom = _dump_dom(page.as_uri() + "#sev=breaking&type=action")
    expected = [
        (c.service, "breaking", c.item)
        for c in changes
        if c.severity is ChangeSeverity.BREAKING and c.kind.item_type == "action"
    ]
    assert sorted(_drawn(dom)) == sorted(expected) and len(expected) == 4
    assert f'<span id="shown-n">{len(expected)}</span>' in dom
    # sections left with nothing to show are hidden as a whole
    assert re.search(r'<details class="svc" id="svc-sqs"[^>]* hidden', dom)

    # search by prefix: s3, not s3express (whose name starts the same)
    dom = _dump_dom(page.as_uri() + "#q=s3")
    assert {s for s, _, _ in _drawn(dom)} == {"s3"}
    assert len(_drawn(dom)) == sum(1 for c in changes if c.service == "s3")
    # by prefix:Action, by action name in any service, by condition key
    dom = _dump_dom(page.as_uri() + "#q=s3:GetObject")
    assert {(s, i) for s, _, i in _drawn(dom)} == {("s3", "GetObject")}
    assert (
        '<a href="https://docs.aws.amazon.com/service-authorization/latest/reference/'
        'list_amazons3.html#amazons3-GetObject"><code>GetObject</code></a> <a class="api" '
        'href="https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html"'
    ) in dom
    dom = _dump_dom(page.as_uri() + "#q=CreateSession")
    assert sorted(_drawn(dom)) == [
        ("s3", "info", "CreateSession"),
        ("s3express", "info", "CreateSession"),
    ]
    dom = _dump_dom(page.as_uri() + "#q=s3:TlsVersion")
    assert sorted(i for _, _, i in _drawn(dom)) == ["GetObject", "s3:TlsVersion"]
    dom = _dump_dom(page.as_uri() + "#q=s3:Put*")
    assert sorted(i for _, _, i in _drawn(dom)) == ["PutBucketAcl", "PutObject"]
    dom = _dump_dom(page.as_uri() + "#q=nothing-matches-this")
    assert _drawn(dom) == [] and '<p id="nothing" class="empty">' in dom


@needs_chromium
def test_html_drawn_in_chromium_escapes_names_and_links_pages(tmp_path):
    old = _catalog(_service("s3", 1), id="o")
    action = replace(
        old.services[0].actions[0],
        name='<svg onload="alert(1)">',
        api_reference="https://docs.aws.amazon.com/x/API_y.html",
    )
    page_ref = PageRef(
        "list_amazons3", "html", "sar-2023", "https://docs.aws.amazon.com/p/list_amazons3.html"
    )
    new = _catalog(replace(old.services[0], pages=(page_ref,), actions=(action,)), id="n")
    page = tmp_path / "report.html"
    page.write_text(render_html(diff(old, new)), encoding="utf-8")
    dom = _dump_dom(page.as_uri() + "#q=s3")
    body = dom[dom.index('<main id="services">') :]
    assert "<svg" not in body
    assert '<code>&lt;svg onload="alert(1)"&gt;</code>' in body or (
        "<code>&lt;svg onload=&quot;alert(1)&quot;&gt;</code>" in body
    )
    assert (
        '<a href="https://docs.aws.amazon.com/p/list_amazons3.html#amazons3-_svg_onload__alert_1___">'
        in body
    )
    assert '<a class="api" href="https://docs.aws.amazon.com/x/API_y.html"' in body


def test_html_of_one_resource_type_whose_400_arn_formats_all_changed_is_linear():
    # Every removed format was scored against every added one: N=400 took 34 s. A
    # generous bound, far above the ~0.2 s it takes now, and below the quadratic time.
    import time

    def catalog(fmt: str, id: str) -> Catalog:
        rt = ResourceType("thing", tuple(fmt.format(i) for i in range(400)))
        return Catalog(
            CatalogSource("files", id, 1, ()),
            (Service("svc", "Svc", (PageRef("p", "html", "x"),), (), (rt,)),),
        )

    old = catalog("arn:${{Partition}}:svc:${{Region}}:${{Account}}:thing/{}/${{ThingId}}", "o")
    new = catalog("arn:${{Partition}}:svc:${{Region}}:${{Account}}:thing-v2/{}/${{Name}}", "n")
    d = diff(old, new)
    start = time.perf_counter()
    page = render_html(d)
    assert time.perf_counter() - start < 5
    (rows,) = [r for _, r, *_ in _page_data(page)]
    (change,) = rows
    # every old format is still paired with its edit (marked in place, not struck whole)
    assert change[6].count('<li class="edit">') == 400
    assert change[7].count('<li class="edit">') == 400


def _section(text: str, title: str) -> str:
    start = text.index(f"\n### {title}")
    end = text.find("\n### ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_markdown_of_2020_to_2026_lists_or_counts_every_breaking_and_security_change(
    html_2020, html_2026
):
    d = diff(html_2020.catalog, html_2026.catalog)
    text = render_markdown(d)
    assert len(text) <= MD_LIMIT
    for sev in (ChangeSeverity.BREAKING, ChangeSeverity.SECURITY):
        per_service = Counter(c.service for c in d.changes if c.severity is sev)
        assert sum(per_service.values()) > 500
        section = _section(text, f"{sev.value.capitalize()} changes ({sum(per_service.values())})")
        listed = {}
        for block in re.split(r"\n#### ", section)[1:]:
            service = re.match(r"`([^`]+)`", block).group(1)
            listed[service] = len(re.findall(r"^- ", block, flags=re.M))
        counted = {
            m.group(1): int(m.group(2))
            for m in re.finditer(r"^- `([^`]+)`[^\n]*?: \*\*(\d+)\*\* \(", section, flags=re.M)
        }
        assert not listed.keys() & counted.keys()
        assert {**listed, **counted} == dict(per_service), sev
    # plurals: a count of one is singular everywhere
    assert not re.search(r"\b1 (changes|services|info changes)\b", text)
    assert "\n### Other changes (" in text


def test_reports_name_the_fields_not_compared_at_the_top():
    # the old pages carry dependent actions, the July 2026 layout does not: no change is
    # reported for them, and both reports say so before anything else
    action = Action("GetObject", "d", AccessLevel.READ, (AccessLevel.READ,))
    old = _catalog(
        Service(
            "s3",
            "S3",
            (PageRef("list_amazons3", "html", "sar-2023"),),
            (replace(action, dependent_actions=("kms:Decrypt",)),),
        ),
        id="o",
    )
    page = PageRef(
        "list_amazons3", "markdown-list", "sar-2026-07-list", None, ("action.dependent_actions",)
    )
    lost = replace(action, not_carried=frozenset({"dependent_actions"}))
    new = _catalog(Service("s3", "S3", (page,), (lost,)), id="n")
    d = diff(old, new)
    assert d.is_empty
    line = (
        "`action.dependent_actions`: not carried by the new side "
        "(markdown-list sar-2026-07-list) — 1 service (`s3`)"
    )
    text = render_markdown(d)
    assert text.endswith(
        f"\n**Not compared** (one side does not carry the field; no change reported):\n\n- {line}\n"
    )
    html_page = render_html(d)
    assert html_page.index('id="not-compared"') < html_page.index('id="summary"')
    assert "1 field: one side does not carry it" in html_page
    assert "<code>action.dependent_actions</code>: not carried by the new side" in html_page
