"""The ``markdown-table`` parser: IAM User Guide GitHub markdown, 2017-2020.

Hand-written fixtures with hand-written expectations, hand-checked facts of the
two seed pages, and the four markdown versions of the corpus parsed whole, with
invariants checked against an independent reading of the raw lines and against
the HTML pages of the same week.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from iam_catalog.parsers import carried, html, markdown_list, markdown_table
from iam_catalog.parsers.detect import detect
from iam_catalog.parsers.model import (
    AccessLevel,
    ConditionKey,
    ParsedPage,
    Service,
    Severity,
    service_to_dict,
)
from tests.conftest import FIXTURES

MD_FIXTURES = FIXTURES / "markdown"
SEED_PAGES = FIXTURES / "pages"
SEED_000 = SEED_PAGES / "000_eb27edc695326bc8.txt"
SEED_002 = SEED_PAGES / "002_f8ee0784d18e5bdf.txt"
VERSION_DATES = ("2017-12-01", "2018-04-25", "2019-08-12", "2020-11-06")


def _json(value: Any) -> Any:
    """What the catalog writer would write, read back (tuples become lists)."""
    return orjson.loads(orjson.dumps(value))


def page_facts(page: ParsedPage) -> dict[str, Any]:
    """A parsed page in the catalog's JSON shape, plus what the parser said about it."""
    service = _json(
        service_to_dict(
            Service(
                prefix=page.prefix or "",
                name=page.service_name or "",
                pages=(page.ref,),
                actions=page.actions,
                resource_types=page.resource_types,
                condition_keys=page.condition_keys,
                not_carried=carried.for_item(page.ref.not_carried, "service"),
                operations=page.operations,
            )
        )
    )
    return {
        "prefix": page.prefix,
        "service_name": page.service_name,
        "layout": page.ref.layout,
        "actions": service["actions"],
        "resource_types": service["resource_types"],
        "condition_keys": service["condition_keys"],
        "operations": service["operations"],
        "diagnostics": sorted({(d.severity.value, d.code) for d in page.diagnostics}),
    }


def expected_facts(path: Path) -> dict[str, Any]:
    """The hand-written expectation next to a fixture (diagnostics as tuples)."""
    data = json.loads(path.with_suffix(".expected.json").read_text())
    data["diagnostics"] = sorted(tuple(d) for d in data["diagnostics"])
    return data


def parse_file(path: Path) -> ParsedPage:
    return markdown_table.parse(path.read_text(encoding="utf-8"), source=path.stem)


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("path", sorted(MD_FIXTURES.glob("userguide_*.md")), ids=lambda p: p.stem)
def test_fixture_page_matches_its_hand_written_expectation(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert markdown_table.sniff(text)
    assert detect(text) == "markdown-table"
    assert page_facts(parse_file(path)) == expected_facts(path)


def test_placeholder_warning_points_at_the_placeholder_line() -> None:
    path = MD_FIXTURES / "userguide_placeholder.md"
    page = parse_file(path)
    (diag,) = [d for d in page.diagnostics if d.code == "actions-not-in-source"]
    assert diag.severity is Severity.WARNING
    line = path.read_text().splitlines()[diag.line - 1]
    assert "See the AWS documentation website for more details" in line


def test_rows_keep_their_source_lines() -> None:
    path = MD_FIXTURES / "userguide_table.md"
    lines = path.read_text().splitlines()
    page = parse_file(path)
    for action in page.actions:
        assert action.line is not None and action.name in lines[action.line - 1]
    for key in page.condition_keys:
        assert key.line is not None and key.name in lines[key.line - 1].replace("\\", "")


# --------------------------------------------------------------------------- seeds


def test_seed_000_deepcomposer_hand_checked_facts() -> None:
    page = parse_file(SEED_000)
    assert page.prefix == "deepcomposer"
    assert page.service_name == "AWS DeepComposer"
    assert page.ref.format == "markdown-table"
    assert page.ref.layout == "userguide-md-table"
    actions = {a.name: a for a in page.actions}
    assert len(page.actions) == 15
    # Every action but DeleteModel carries "[permission only]" on this page.
    assert [a.name for a in page.actions if not a.permission_only] == ["DeleteModel"]
    levels = [a.access_level for a in page.actions]
    assert levels.count(AccessLevel.WRITE) == 8
    assert levels.count(AccessLevel.READ) == 3
    assert levels.count(AccessLevel.LIST) == 4

    coupon = actions["AssociateCoupon"]
    assert coupon.description == (
        "Associates a DeepComposer coupon (or DSN) with the account associated with the "
        "sender of the request."
    )
    assert coupon.access_level is AccessLevel.WRITE
    assert not coupon.carries("access_levels") and coupon.carries("permission_only")
    assert coupon.permission_only is True
    assert coupon.api_reference is None
    assert coupon.resource_types == ()
    assert coupon.condition_keys == () and coupon.dependent_actions == ()
    assert coupon.operations == ()

    audio = actions["CreateAudio"]
    assert audio.description == (
        "Creates an audio file by converting the midi composition into a wav or mp3 file."
    )
    assert audio.access_level is AccessLevel.WRITE
    assert audio.permission_only is True
    # The page's link really is this concatenation of two URLs; it is kept as written.
    assert audio.api_reference == (
        "https://docs.aws.amazon.com/latest/devguide/"
        "get-started.htmlget-started-compose-with-trained-model.html"
    )
    assert [
        (r.name, r.required, r.condition_keys, r.dependent_actions) for r in audio.resource_types
    ] == [("composition", True, (), ())]
    assert audio.condition_keys == () and audio.dependent_actions == ()

    assert [(r.name, r.arn_formats, r.condition_keys) for r in page.resource_types] == [
        ("model", ("arn:${Partition}:deepcomposer:${Region}:${Account}:model/${ModelId}",), ()),
        (
            "composition",
            ("arn:${Partition}:deepcomposer:${Region}:${Account}:composition/${CompositionId}",),
            (),
        ),
        ("audio", ("arn:${Partition}:deepcomposer:${Region}:${Account}:audio/${AudioId}",), ()),
    ]
    assert page.condition_keys == ()
    assert not [d for d in page.diagnostics if d.severity is not Severity.INFO]


PERSONALIZE_RESOURCES = {
    "schema": "schema",
    "featureTransformation": "feature-transformation",
    "dataset": "dataset",
    "datasetGroup": "dataset-group",
    "datasetImportJob": "dataset-import-job",
    "solution": "solution",
    "campaign": "campaign",
    "eventTracker": "event-tracker",
    "recipe": "recipe",
    "algorithm": "algorithm",
    "batchInferenceJob": "batch-inference-job",
    "filter": "filter",
}


def test_seed_002_personalize_hand_checked_facts() -> None:
    page = parse_file(SEED_002)
    assert page.prefix == "personalize"
    assert page.service_name == "Amazon Personalize"
    assert len(page.actions) == 46
    actions = {a.name: a for a in page.actions}
    assert not any(a.permission_only for a in page.actions)

    ranking = actions["GetPersonalizedRanking"]
    assert ranking.description == "Gets a re-ranked list of recommendations"
    # Write, not Read, on this page.
    assert ranking.access_level is AccessLevel.WRITE
    assert ranking.api_reference == (
        "https://docs.aws.amazon.com/personalize/latest/dg/"
        "API_Operations.htmlAPI_RS_GetPersonalizedRanking.html"
    )
    assert [(r.name, r.required) for r in ranking.resource_types] == [("campaign", True)]
    assert ranking.resource_types[0].condition_keys == ()
    assert ranking.condition_keys == () and ranking.dependent_actions == ()

    listing = actions["ListCampaigns"]
    assert listing.description == "Lists campaigns"
    assert listing.access_level is AccessLevel.LIST
    assert listing.permission_only is False
    assert listing.api_reference == (
        "https://docs.aws.amazon.com/personalize/latest/dg/API_Operations.htmlAPI_ListCampaigns.html"
    )
    assert listing.resource_types == ()

    assert [r.name for r in page.resource_types] == list(PERSONALIZE_RESOURCES)
    for r in page.resource_types:
        assert r.arn_formats == (
            f"arn:${{Partition}}:personalize:${{Region}}:${{Account}}:"
            f"{PERSONALIZE_RESOURCES[r.name]}/${{ResourceId}}",
        )
        assert r.condition_keys == ()
    assert page.condition_keys == ()
    assert page.diagnostics == ()


# --------------------------------------------------------------------------- corpus

Corpus = dict[str, list[tuple[Path, str, ParsedPage]]]


@pytest.fixture(scope="module")
def markdown_corpus(corpus: Path) -> Corpus:
    """Every page of the four markdown versions, parsed once."""
    out: Corpus = {}
    for folder in sorted((corpus / "markdown").iterdir()):
        pages = []
        for path in sorted(folder.glob("*.md")):
            text = path.read_text(encoding="utf-8")
            pages.append((path, text, markdown_table.parse(text, source=path.stem)))
        out[folder.name[:10]] = pages
    return out


def test_corpus_has_the_four_markdown_versions(markdown_corpus: Corpus) -> None:
    assert tuple(markdown_corpus) == VERSION_DATES
    assert [len(v) for v in markdown_corpus.values()] == [105, 138, 189, 241]


def test_every_markdown_page_is_detected_and_parsed_with_a_prefix(markdown_corpus: Corpus) -> None:
    for pages in markdown_corpus.values():
        for path, text, page in pages:
            assert detect(text) == "markdown-table", path
            assert not markdown_list.sniff(text), path
            assert page.prefix and page.service_name, path
            assert page.ref.page == path.stem


def test_markdown_corpus_has_no_error_diagnostics(markdown_corpus: Corpus) -> None:
    errors = [
        d
        for pages in markdown_corpus.values()
        for _, _, page in pages
        for d in page.diagnostics
        if d.severity is Severity.ERROR
    ]
    assert errors == []


def _section_lines(text: str, heading: re.Pattern[str]) -> list[str]:
    """Raw lines of the section whose ``##`` heading matches, up to the next ``##``."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = bool(heading.match(line[3:]))
            continue
        if inside:
            out.append(line)
    return out


def _table_first_cells(lines: list[str], *, spaced: bool = False) -> list[str]:
    """First cell of every body row of the pipe tables in ``lines``, links and escapes
    removed (an independent, line-based reading of the page). Action and key names hold
    no whitespace; resource-type names may (``spaced``: `bot version` on the Lex page,
    as AWS's own JSON writes it)."""
    cells = []
    for line in lines:
        if not line.startswith("|") or line.startswith("| ---"):
            continue
        first = line.split("|")[1]
        first = re.sub(r"\[\s*(.*?)\s*\]\([^)]*\)", r"\1", first).replace("\\", "").strip()
        first = re.sub(r"\s+", " " if spaced else "", first.replace("[permission only]", ""))
        first = first.strip().rstrip("*").strip()
        if first.lower().replace(" ", "") in ("actions", "resourcetypes", "conditionkeys"):
            continue
        cells.append(first)
    return cells


_ACTIONS_HEADING = re.compile(r"Actions defined by", re.IGNORECASE)
_RESOURCES_HEADING = re.compile(r"Resource(?:s| types) defined by", re.IGNORECASE)
_KEYS_HEADING = re.compile(r"Condition keys for", re.IGNORECASE)


def _distinct(names: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for n in names:
        seen.setdefault(n.lower(), n)
    return list(seen.values())


def test_table_pages_yield_one_item_per_distinct_table_row(markdown_corpus: Corpus) -> None:
    checked = 0
    for date in VERSION_DATES[1:]:
        for path, text, page in markdown_corpus[date]:
            action_cells = _table_first_cells(_section_lines(text, _ACTIONS_HEADING))
            assert [a.name for a in page.actions] == _distinct(action_cells), path
            resources = _table_first_cells(_section_lines(text, _RESOURCES_HEADING), spaced=True)
            assert [r.name for r in page.resource_types] == _distinct(resources), path
            keys = _table_first_cells(_section_lines(text, _KEYS_HEADING))
            assert [k.name for k in page.condition_keys] == _distinct(keys), path
            checked += 1
    assert checked == 138 + 189 + 241


def test_2017_pages_yield_one_action_per_distinct_bullet(markdown_corpus: Corpus) -> None:
    bullet = re.compile(r"^\+ `\[?\s*([^\]`(]+?)\s*(?:\]\([^)]*\))?`(.*)$")
    total = 0
    for path, text, page in markdown_corpus["2017-12-01"]:
        part = "actions"
        names: dict[str, list[str]] = {"actions": [], "keys": []}
        for line in text.splitlines():
            if line.startswith("**Condition context keys for"):
                part = "keys"
            m = bullet.match(line)
            if m:
                # A name keeps the space the page writes (2017 list_events:
                # "events: detail.userIdentity.principalId"), reported as space-in-name.
                names[part].append(" ".join(m.group(1).replace("\\", "").split()))
        actions = [n.partition(":")[2] for n in names["actions"]]
        assert [a.name for a in page.actions] == _distinct(actions), path
        assert [k.name for k in page.condition_keys] == _distinct(names["keys"]), path
        assert page.ref.layout == "userguide-md-2017"
        assert all(a.access_level is None and a.description == "" for a in page.actions)
        # "` - this is an IAM policy permission only, not an API action`" after the name.
        marked = {
            m.group(1).partition(":")[2]
            for m in map(bullet.match, text.splitlines())
            if m and "permission only" in m.group(2)
        }
        assert {a.name for a in page.actions if a.permission_only} == marked, path
        total += len(page.actions)
    assert total > 3000


def test_placeholder_pages_carry_no_actions_and_say_so(markdown_corpus: Corpus) -> None:
    placeholders = 0
    for pages in markdown_corpus.values():
        for path, text, page in pages:
            has_placeholder = "See the AWS documentation website for more details" in text
            codes = [d.code for d in page.diagnostics]
            assert (page.actions == ()) == has_placeholder, path
            assert ("actions-not-in-source" in codes) == has_placeholder, path
            placeholders += has_placeholder
    assert placeholders == 32 + 95 + 150


def test_access_level_is_empty_in_2018_and_present_from_2019(markdown_corpus: Corpus) -> None:
    for path, _, page in markdown_corpus["2018-04-25"]:
        assert all(a.access_level is None for a in page.actions), path
    for date in VERSION_DATES[2:]:
        for path, _, page in markdown_corpus[date]:
            assert all(a.access_level is not None for a in page.actions), path


def test_actions_reference_only_resource_types_and_keys_their_page_defines(
    markdown_corpus: Corpus,
) -> None:
    references = 0
    for pages in markdown_corpus.values():
        for path, _, page in pages:
            resources = {r.name.lower() for r in page.resource_types}
            keys = {k.name.lower() for k in page.condition_keys}
            for a in page.actions:
                assert {k.lower() for k in a.condition_keys} <= keys, (path, a.name)
                for row in a.resource_types:
                    assert row.name.lower() in resources, (path, a.name, row.name)
                    assert {k.lower() for k in row.condition_keys} <= keys, (path, a.name)
                    references += 1
    assert references > 1500


def test_names_and_arns_carry_no_markdown_escapes_or_whitespace(markdown_corpus: Corpus) -> None:
    for pages in markdown_corpus.values():
        for path, _, page in pages:
            names = [a.name for a in page.actions] + [k.name for k in page.condition_keys]
            names += [arn for r in page.resource_types for arn in r.arn_formats]
            # A space the page writes inside a name is kept, and reported with the value.
            spaced = " ".join(d.message for d in page.diagnostics if d.code == "space-in-name")
            for value in names:
                assert "\\" not in value, (path, value)
                assert not re.search(r"\s", value) or repr(value) in spaced, (path, value)


# --------------------------------------------------------------------------- versus HTML


@pytest.fixture(scope="module")
def html_2020(corpus: Path, markdown_corpus: Corpus) -> dict[str, tuple[str, ParsedPage]]:
    """The 2020-11-01 HTML page of every 2020-11-06 markdown page, parsed once."""
    folder = corpus / "html" / "2020-11-01_65f99eab"
    out = {}
    for path, _, _ in markdown_corpus["2020-11-06"]:
        html_path = folder / f"{path.stem}.html"
        text = html_path.read_text(encoding="utf-8")
        out[path.stem] = (text, html.parse(text, source=html_path.stem))
    return out


def test_markdown_2020_actions_agree_with_the_html_2020_build_on_every_field(
    markdown_corpus: Corpus, html_2020: dict[str, tuple[str, ParsedPage]]
) -> None:
    compared = 0
    for path, _, md_page in markdown_corpus["2020-11-06"]:
        _, html_page = html_2020[path.stem]
        assert md_page.prefix == html_page.prefix, path
        by_name = {a.name: a for a in html_page.actions}
        for action in md_page.actions:
            assert by_name.get(action.name) == action, (path.stem, action.name)
            compared += 1
    assert compared == 1323


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\\", ""))


def _written_with_no_break_space(page: ParsedPage, name: str) -> bool:
    """The page writes a definition of ``name`` with a no-break space, and says so."""
    return any(
        d.code == "no-break-space" and f"'\\xa0{name}' -> '{name}'" in d.message
        for d in page.diagnostics
    )


def test_markdown_2020_tables_differ_from_html_2020_only_where_the_page_text_differs(
    markdown_corpus: Corpus, html_2020: dict[str, tuple[str, ParsedPage]]
) -> None:
    """The markdown is five days newer than the HTML: a resource type or key that
    differs must be absent from (or described differently in) the other page's text."""
    differing_pages = set()
    for path, md_text, md_page in markdown_corpus["2020-11-06"]:
        html_text, html_page = html_2020[path.stem]
        for kind in ("resource_types", "condition_keys"):
            md_items = {i.name: i for i in getattr(md_page, kind)}
            html_items = {i.name: i for i in getattr(html_page, kind)}
            for name in md_items.keys() | html_items.keys():
                ours, theirs = md_items.get(name), html_items.get(name)
                if ours == theirs:
                    continue
                differing_pages.add(path.stem)
                if ours is None:
                    assert name not in _flat(md_text), (path.stem, name)
                elif theirs is None:
                    assert f" {name} " not in _flat(html_text), (path.stem, name)
                elif _written_with_no_break_space(md_page, name):
                    # swf defines swf:workflowType.name twice; the markdown writes the first
                    # with a leading no-break space (the archived HTML lost it), so the
                    # markdown keeps the row written as the name, the HTML the first row.
                    assert isinstance(ours, ConditionKey) and isinstance(theirs, ConditionKey)
                    assert ours.description in _flat(html_text), (path.stem, name)
                    assert theirs.description in _flat(md_text), (path.stem, name)
                else:
                    # Only a key's description may differ between the two weeks.
                    assert isinstance(ours, ConditionKey) and isinstance(theirs, ConditionKey)
                    assert (ours.name, ours.types) == (theirs.name, theirs.types)
                    assert ours.description not in _flat(html_text), (path.stem, name)
                    assert theirs.description not in _flat(md_text), (path.stem, name)
    # A handful of pages changed that week; most agree entirely.
    assert 0 < len(differing_pages) < 10


# --------------------------------------------------------------------------- sniff


def test_sniff_rejects_the_2026_layout_html_and_text_extractions(corpus: Path) -> None:
    for path in sorted((corpus / "new-layout-md").glob("*/*.md")):
        assert not markdown_table.sniff(path.read_text(encoding="utf-8")), path
    for path in sorted((corpus / "html" / "2020-11-01_65f99eab").glob("list_amazons3*.html")):
        assert not markdown_table.sniff(path.read_text(encoding="utf-8")), path
    for path in sorted(SEED_PAGES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        assert markdown_table.sniff(text) == path.name.startswith(("000_", "002_")), path


def test_markdown_without_sar_content_gives_error_diagnostics_not_an_exception() -> None:
    text = "# Release notes\n\nNothing about IAM here.\n\n| a | b |\n| - | - |\n| 1 | 2 |\n"
    assert not markdown_table.sniff(text)
    page = markdown_table.parse(text, source="notes")
    assert page.prefix is None and page.actions == ()
    codes = {d.code: d.severity for d in page.diagnostics}
    assert codes["no-prefix"] is Severity.ERROR
    assert codes["no-actions"] is Severity.ERROR
    assert codes["unknown-table"] is Severity.WARNING
