"""No value flips A -> B -> A because a format read a page differently (issue 13, Must
show 4): a history-style walk over every release of the corpus in date order (HTML dates,
markdown folders, AWS's JSON dates) finds exactly the flips listed, with their cause, in
tests/expected/flips.json, and the causes the raw documents can show are checked on them.
Before issue 13 the same walk found thousands (condition keys and access levels between
AWS's JSON and the HTML)."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.flip_walk import Release, corpus_releases, dump, flips

EXPECTED = ROOT / "tests" / "expected" / "flips.json"
# Run with IAM_CATALOG_REGEN_GOLDEN=1 to print the flips found (to read, then list).


@pytest.fixture(scope="module")
def releases(corpus: Path) -> list[Release]:
    return corpus_releases(corpus)


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return json.loads(EXPECTED.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _identity(flip: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in flip.items() if k != "cause"}, sort_keys=True)


def test_the_walk_covers_every_release_of_the_corpus_in_date_order(
    releases: list[Release],
) -> None:
    folders = [r.folder.split("/")[0] for r in releases]
    assert Counter(folders) == {
        "html": 7,
        "markdown": 4,
        "new-layout-md": 3,
        "servicereference": 2,
    }
    assert [r.date for r in releases] == sorted(r.date for r in releases)
    # AWS's JSON of 2025-11-01 sits beside the HTML of that date, before it.
    i = [r.folder for r in releases].index("servicereference/2025-11-01")
    assert releases[i + 1].folder == "html/2025-11-01_f2b93173"
    assert sum(len(r.fields) for r in releases) > 190_000


def test_no_value_flips_between_formats_but_those_the_pages_make(
    releases: list[Release], expected: dict[str, Any]
) -> None:
    found = {_identity(f) for f in dump(flips(releases))}
    listed = {_identity(f) for f in expected["flips"]}
    new, gone = sorted(found - listed), sorted(listed - found)
    assert not new and not gone, (
        f"{len(new)} flip(s) not listed, first: {new[:3]}; "
        f"{len(gone)} listed flip(s) gone, first: {gone[:3]}"
    )
    # Today: 137 flips, all made by the pages (none by a format reading one differently).
    assert len(found) == len(expected["flips"]) == 137


def test_every_listed_flip_has_a_written_cause(expected: dict[str, Any]) -> None:
    causes = expected["causes"]
    used = Counter(f["cause"] for f in expected["flips"])
    assert set(used) == set(causes)
    assert all(len(text) > 200 for text in causes.values())


def test_a_flip_between_two_formats_of_one_value_is_found() -> None:
    """The walk itself: HTML A, JSON B, HTML A is a flip; a release that does not carry
    the field is stepped over; three releases of one format are not a flip."""
    key = ("action", "s3", "getobject")

    def release(folder: str, fmt: str, **fields: str) -> Release:
        return Release(folder[:10], fmt, folder, {key: {"": "1", **fields}}, {"s3": ()})

    html_a = release("2025-01-01_a", "html", access_level='"Read"')
    json_b = release("2025-02-01_b", "service-reference", access_level='"Write"')
    no_level = release("2025-03-01_c", "markdown-table")
    html_a2 = release("2025-04-01_d", "html", access_level='"Read"')
    (flip,) = flips([html_a, json_b, no_level, html_a2])
    assert (flip.field, flip.releases) == (
        "access_level",
        ("2025-01-01_a", "2025-02-01_b", "2025-04-01_d"),
    )
    assert (flip.value, flip.other) == ('"Read"', '"Write"')
    html_b = release("2025-02-01_b", "html", access_level='"Write"')
    assert flips([html_a, html_b, html_a2]) == []
    # Lists compare as sets of lower-cased names, as diff compares them.
    keys_a = release("2025-01-01_a", "html", condition_keys='["s3:A","s3:b"]')
    keys_b = release("2025-02-01_b", "service-reference", condition_keys='["s3:B","s3:a"]')
    assert flips([keys_a, keys_b, keys_a]) == []


# --------------------------------------------------------------------------- causes, checked


@cache
def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


# A value written alone in an HTML cell or link (a prettified text node on its own line,
# with ``$<span>{</span>`` joined back) or in a markdown cell, link or code span.
_HTML_TEMPLATE = re.compile(r"\$\s*<span>\s*\{\s*</span>\s*")


def _written_in(text: str, fmt: str, name: str) -> bool:
    """Whether a page of ``fmt`` writes ``name`` as a value."""
    n = re.escape(name)
    if fmt == "html":
        pattern = re.compile(rf"(?im)^\s*{n}\s*\*?\s*(?:\[\s*permission\s+only\s*\])?\s*$")
        return pattern.search(_HTML_TEMPLATE.sub("${", text)) is not None
    pattern = re.compile(rf"(?i)[\[|`]\s*(?:[\w-]+:)?{n}\s*\*?\s*[\]|`(]")
    return pattern.search(re.sub(r"\\(.)", r"\1", text)) is not None


def _written(corpus: Path, release: Release, kind: str, service: str, name: str) -> bool:
    """Whether the documents of ``service`` in ``release`` write ``name`` as a value."""
    folder = corpus / release.folder
    if release.format == "service-reference":
        field = {"action": "Actions", "resource_type": "Resources"}.get(kind, "ConditionKeys")
        for path in folder.rglob("*.json"):
            data = json.loads(_text(path))
            if data.get("Name", "").lower() == service:
                return name.lower() in {e["Name"].lower() for e in data.get(field, ())}
        return False
    return any(
        _written_in(_text(p), release.format, name)
        for pid in release.pages.get(service, ())
        for p in folder.rglob(f"{pid}.*")
    )


def test_each_item_that_flips_is_written_exactly_where_a_release_has_it(
    corpus: Path, releases: list[Release], expected: dict[str, Any]
) -> None:
    by_folder = {r.folder: r for r in releases}
    checked = 0
    for f in expected["flips"]:
        if f["field"] != "present":
            continue
        shown = [
            _written(corpus, by_folder[folder], f["kind"], f["service"], f["item"])
            for folder in f["releases"]
        ]
        assert shown == [f["value"], f["other"], f["value"]], f
        checked += 1
    assert checked == 89


def test_the_folder_of_a_flip_lacks_the_page_that_defines_it(
    corpus: Path, releases: list[Release], expected: dict[str, Any]
) -> None:
    by_folder = {r.folder: r for r in releases}
    for f in expected["flips"]:
        if f["cause"] != "folder-lacks-page":
            continue
        # The folder after it is of the same format and has the page.
        _, middle, first = (by_folder[x] for x in f["releases"])
        defining = [
            pid
            for pid in first.pages[f["service"]]
            if _written_in(
                _text(next((corpus / first.folder).rglob(f"{pid}.*"))), first.format, f["item"]
            )
        ]
        assert defining, f
        assert not [p for pid in defining for p in (corpus / middle.folder).glob(f"{pid}.*")], f
