"""Nothing rewritten silently (issue 13, Must show 5).

No-break spaces, zero-width characters, soft hyphens, spaced names and duplicate keys are
injected into real pages of every format (HTML of the 2020 and 2023 layouts, the 2020
GitHub markdown, the July 2026 ``.md``, AWS's JSON, and the flat and pipe text seeds where
the format can hold them); each test checks the value the catalog keeps and the one
diagnostic that names the page, the raw and the kept value. The page's own text is the
reference: the injected page must give the model of the page as it is (or, for a spaced
name, the page's value with its space).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from iam_catalog.parsers.detect import detect, get_format
from iam_catalog.parsers.model import ParsedPage, Severity
from tests.conftest import SEEDS

ZERO_WIDTH = ("\u200b", "\u200d", "\u2060", "\u00ad", "\ufeff")
"""Zero-width space, zero-width joiner, word joiner, soft hyphen, byte-order mark."""


@dataclass(frozen=True)
class Case:
    """A real page and how its format writes a name in its text."""

    id: str
    path: str
    """Relative to the corpus (``seed:`` for a sample page of fixtures/pages)."""
    action: str
    """An action of the page whose name the tests rewrite."""
    key: str
    """A condition key the page defines and names on an action's row."""
    spaces: bool
    """The format can hold a space or a no-break space inside a value."""


CASES = (
    Case("html-2023-layout", "html/2026-04-01_110d32e3/list_awsaccountmanagement.html",
         "DeleteAlternateContact", "account:AlternateContactTypes", True),
    Case("html-2020-layout", "html/2020-11-01_65f99eab/list_awscodecommit.html",
         "CreatePullRequest", "codecommit:References", True),
    Case("markdown-2020", "markdown/2020-11-06_b585974/list_awsaccounts.md",
         "DisableRegion", "account:TargetRegion", True),
    Case("markdown-july-2026", "new-layout-md/2026-08_8d3f1c7/list_account.md",
         "DeleteAlternateContact", "account:AlternateContactTypes", True),
    Case("aws-json", "servicereference/2026-03-31/account/account.json",
         "DeleteAlternateContact", "account:AlternateContactTypes", True),
    Case("flat-text-seed", "seed:001_ef8b5ee01b7960a7.txt", "CreateCar",
         "deepracer:UserToken", False),
    Case("pipe-text-seed", "seed:003_676e93ce77deaca0.txt", "CreateAlgorithm",
         "sagemaker:FileSystemAccessMode", False),
)  # fmt: skip


def _read(corpus: Path, case: Case) -> str:
    if case.path.startswith("seed:"):
        return (SEEDS / case.path[5:]).read_text(encoding="utf-8")
    return (corpus / case.path).read_text(encoding="utf-8")


def _parse(text: str, case: Case) -> ParsedPage:
    module = get_format(detect(text))
    return module.parse(text, source=Path(case.path).stem)  # type: ignore[no-any-return]


# How each format writes a name as page text: the patterns that find every place where
# the page shows ``value`` (never inside a link target or an anchor id).
def _occurrences(fmt: str, value: str) -> re.Pattern[str]:
    v = re.escape(value)
    if fmt == "html":  # prettified: a text node on its own line, a * may follow
        return re.compile(rf"(?m)^(\s*){v}(\s*\*?\s*)$")
    if fmt == "markdown-table":  # link text `[ value ](`, or a whole cell `|   value  |`
        return re.compile(rf"(\[\s*|\|\s+){v}(\s*\]\(|\s+\|)")
    if fmt == "markdown-list":
        return re.compile(rf"(\[){v}(\]\()")
    if fmt == "service-reference":
        return re.compile(rf"(\"){v}(\")")
    return re.compile(rf"(?<![\w:/$])(){v}()(?![\w/])")  # text: the value as a word


def _rewrite(text: str, fmt: str, value: str, new: str) -> str:
    """``text`` with every shown ``value`` written as ``new``."""
    shown = new if fmt != "service-reference" else json.dumps(new)[1:-1]
    out, n = _occurrences(fmt, value).subn(lambda m: m.group(1) + shown + m.group(2), text)
    assert n, (fmt, value)
    return out


def _double(text: str, fmt: str, value: str, action: str) -> str:
    """``text`` with ``value`` written twice in the first cell that lists it on an
    action's row, from ``action`` on (flat text: an action without resource types, whose
    values are one cell however the rows were lost)."""
    v = re.escape(value)
    if fmt == "html":
        pattern = rf"<p>\s*<a [^>]*>\s*{v}\s*</a>\s*</p>"
    elif fmt == "markdown-table":
        pattern = rf"\[\s*{v}\s*\]\(#[^)]*\)"
    elif fmt == "markdown-list":
        pattern = rf"\[{v}\]\(#[^)]*\)"
    elif fmt == "service-reference":
        data = json.loads(text)
        action = next(a for a in data["Actions"] if value in a.get("ActionConditionKeys", ()))
        action["ActionConditionKeys"].append(value)
        return json.dumps(data, indent=2)
    else:
        pattern = rf"(?<![\w:/$]){v}(?![\w/])"
    # From the action's row on (the keys table comes later).
    start = _occurrences(fmt, action).search(text)
    assert start, (fmt, action)
    at = start.end()
    m = re.compile(pattern).search(text, at)
    assert m, (fmt, value)
    # A value of its own: a line of its own in HTML and in flat text (one paragraph per
    # value), beside the other in a markdown or pipe cell.
    sep = "\n" if fmt in ("html", "flat-text") else " "
    return text[: m.end()] + sep + m.group(0) + text[m.end() :]


def _codes(page: ParsedPage) -> Counter[str]:
    return Counter(d.code for d in page.diagnostics)


def _new_diagnostic(before: ParsedPage, after: ParsedPage, code: str) -> str:
    """The one diagnostic of ``code`` that the injection added; every other diagnostic is
    the page's own."""
    added = _codes(after) - _codes(before)
    assert added == Counter({code: 1}), (added, code)
    (found,) = [d for d in after.diagnostics if d.code == code]
    assert found.page == before.ref.page
    return found.message


def _same_model(a: ParsedPage, b: ParsedPage) -> None:
    assert a.prefix == b.prefix
    assert a.actions == b.actions
    assert a.resource_types == b.resource_types
    assert a.condition_keys == b.condition_keys


# A text extraction splits values at whitespace, so no value of one holds a space.
SPACED = [c for c in CASES if c.spaces]


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def original(corpus: Path, case: Case) -> tuple[str, str, ParsedPage]:
    text = _read(corpus, case)
    page = _parse(text, case)
    action = next(a for a in page.actions if a.name == case.action)
    rows_keys = {k for r in action.resource_types for k in r.condition_keys}
    named = [
        k
        for a in page.actions
        for k in (*a.condition_keys, *(k for r in a.resource_types for k in r.condition_keys))
    ] + [k for r in page.resource_types for k in r.condition_keys]
    assert case.key in {k.name for k in page.condition_keys}, case
    assert case.key in named or case.key in rows_keys, case
    return text, detect(text), page


def test_zero_width_characters_and_soft_hyphens_in_an_action_name_are_removed_and_reported(
    case: Case, original: tuple[str, str, ParsedPage]
) -> None:
    text, fmt, page = original
    a = case.action
    raw = a[0] + ZERO_WIDTH[0] + a[1:3] + ZERO_WIDTH[1] + a[3:5] + ZERO_WIDTH[2] + a[5:]
    raw = raw[:-1] + ZERO_WIDTH[3] + raw[-1] + ZERO_WIDTH[4]
    got = _parse(_rewrite(text, fmt, a, raw), case)
    _same_model(got, page)  # the kept value is the page's name
    message = _new_diagnostic(page, got, "invisible-character")
    assert f"{raw!r} -> {a!r}" in message
    assert next(d for d in got.diagnostics if d.code == "invisible-character").severity is (
        Severity.WARNING
    )


def test_zero_width_characters_in_a_condition_key_are_removed_and_reported(
    case: Case, original: tuple[str, str, ParsedPage]
) -> None:
    text, fmt, page = original
    k = case.key
    prefix, _, rest = k.partition(":")
    raw = f"{prefix}:{ZERO_WIDTH[2]}{rest[:3]}{ZERO_WIDTH[3]}{rest[3:]}"
    got = _parse(_rewrite(text, fmt, k, raw), case)
    _same_model(got, page)
    assert f"{raw!r} -> {k!r}" in _new_diagnostic(page, got, "invisible-character")


@pytest.mark.parametrize("case", SPACED, ids=[c.id for c in SPACED], indirect=True)
def test_a_no_break_space_before_a_key_is_read_as_a_space_and_reported(
    case: Case, original: tuple[str, str, ParsedPage]
) -> None:
    text, fmt, page = original
    raw = "\u00a0" + case.key
    got = _parse(_rewrite(text, fmt, case.key, raw), case)
    _same_model(got, page)
    assert f"{raw!r} -> {case.key!r}" in _new_diagnostic(page, got, "no-break-space")


@pytest.mark.parametrize("case", SPACED, ids=[c.id for c in SPACED], indirect=True)
def test_a_name_with_a_space_is_kept_as_the_page_writes_it_and_reported(
    case: Case, original: tuple[str, str, ParsedPage]
) -> None:
    text, fmt, page = original
    k = case.key
    prefix, _, rest = k.partition(":")
    spaced = f"{prefix}:{rest[:4]} {rest[4:]}"  # as inspector2:Cis Scan Configuration
    got = _parse(_rewrite(text, fmt, k, spaced), case)
    assert spaced in {c.name for c in got.condition_keys}
    assert k not in {c.name for c in got.condition_keys}
    named = {
        key
        for a in got.actions
        for key in (*a.condition_keys, *(x for r in a.resource_types for x in r.condition_keys))
    } | {key for r in got.resource_types for key in r.condition_keys}
    assert spaced in named and k not in named
    # Everything else is as the page has it.
    assert [a.name for a in got.actions] == [a.name for a in page.actions]
    assert [r.name for r in got.resource_types] == [r.name for r in page.resource_types]
    assert f"-> {spaced!r}" in _new_diagnostic(page, got, "space-in-name")


def test_a_key_written_twice_in_one_cell_is_kept_once_and_reported(
    case: Case, original: tuple[str, str, ParsedPage]
) -> None:
    text, fmt, page = original
    got = _parse(_double(text, fmt, case.key, case.action), case)
    _same_model(got, page)
    assert f": {case.key!r}" in _new_diagnostic(page, got, "duplicate-value")


# --------------------------------------------------------------------------- the pages' own


def _page(corpus: Path, path: str) -> ParsedPage:
    text = (corpus / path).read_text(encoding="utf-8")
    return get_format(detect(text)).parse(text, source=Path(path).stem)  # type: ignore[no-any-return]


def test_inspector2_keeps_the_key_its_2025_page_writes_with_spaces(corpus: Path) -> None:
    page = _page(corpus, "html/2025-03-01_9e1ed3a5/list_amazoninspector2.html")
    tag = next(a for a in page.actions if a.name == "TagResource")
    keys = {k for r in tag.resource_types for k in r.condition_keys}
    assert "inspector2:Cis Scan Configuration" in keys
    assert "inspector2:CisScanConfiguration" not in keys
    said = {d.code: d.message for d in page.diagnostics}
    assert "'inspector2:Cis Scan Configuration'" in said["space-in-name"]
    # The page's condition-keys table defines neither spelling.
    assert (
        "CIS Scan Configuration: 'inspector2:Cis Scan Configuration'"
        in (said["undefined-condition-key"])
    )


def test_swf_2020_markdown_key_with_a_no_break_space_no_longer_merges_into_the_next_row(
    corpus: Path,
) -> None:
    page = _page(corpus, "markdown/2020-11-06_b585974/list_amazonsimpleworkflowservice.md")
    (key,) = [k for k in page.condition_keys if k.name == "swf:workflowType.name"]
    # The row written as the name, not the one its leading no-break space made equal to it.
    assert key.description == (
        "Constrains the policy statement to only requests that specify a workflow type of "
        "the specified name."
    )
    said = {d.code: d for d in page.diagnostics}
    assert "'\\xa0swf:workflowType.name' -> 'swf:workflowType.name'" in (
        said["no-break-space"].message
    )
    assert said["duplicate-key"].line == said["no-break-space"].line == 69
    assert "line 69 writes '\\xa0swf:workflowType.name'" in said["duplicate-key"].message


def test_exact_duplicate_keys_in_real_cells_are_reported(corpus: Path) -> None:
    for path, action, key in (
        ("html/2026-04-01_110d32e3/list_amazons3.html", "GetBucketObjectLockConfiguration",
         "s3:signatureversion"),
        ("html/2026-04-01_110d32e3/list_amazonsagemaker.html", "UpdateUserProfile",
         "sagemaker:InstanceTypes"),
        ("servicereference/2026-03-31/s3/s3.json", "GetBucketObjectLockConfiguration",
         "s3:signatureversion"),
    ):  # fmt: skip
        page = _page(corpus, path)
        (found,) = [d for d in page.diagnostics if d.code == "duplicate-value"]
        assert f"{action} " in found.message and f": {key!r}" in found.message, path
        kept = next(a for a in page.actions if a.name == action)
        every = [k for r in kept.resource_types for k in r.condition_keys] + list(
            kept.condition_keys
        )
        assert every.count(key) <= 1 and key in every, path


def test_same_layout_pages_naming_one_service_differently_are_a_merge_conflict(
    corpus: Path,
) -> None:
    from iam_catalog.parsers.catalog import merge
    from iam_catalog.parsers.model import CatalogSource

    # 2025-03: wisdom's older page and its newer one, both in the dated 2021-12 template.
    folder = "html/2025-03-01_9e1ed3a5"
    older = _page(corpus, f"{folder}/list_amazonconnectwisdom.html")
    newer = _page(corpus, f"{folder}/list_amazonqinconnect.html")
    assert older.ref.layout == newer.ref.layout
    catalog = merge([newer, older], CatalogSource("folder", "x", 2, ()))
    (service,) = catalog.services
    assert service.name == "Amazon Connect Wisdom"  # the first page by id
    (conflict,) = [
        d for d in catalog.diagnostics if d.code == "merge-conflict" and "service name" in d.message
    ]
    assert conflict.page == "list_amazonqinconnect"
    assert conflict.severity is Severity.WARNING
    assert "'Amazon Q in Connect' differs from 'Amazon Connect Wisdom'" in conflict.message
