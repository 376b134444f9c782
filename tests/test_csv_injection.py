"""CSV formula injection: a cell that a spreadsheet would run as a formula is written
with a `'` in front (OWASP's mitigation), and every value comes back exactly by
dropping the first character of each cell that starts with `'`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from iam_catalog.output.writers import CSV_COLUMNS, csv_text, defuse

RUM = Path("html") / "2026-04-01_110d32e3" / "list_awscloudwatchrum.html"
HOSTILE = ['=HYPERLINK("http://127.0.0.1/x","click")', "@SUM(A1:A9)", "+1-2", "-2+3", "'=quoted"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'x", "''x"),
        ("Grants permission", "Grants permission"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_defuse_prefixes_a_quote_to_formula_starts_only(value, written):
    assert defuse(value) == written
    undone = written[1:] if written.startswith("'") else written
    assert undone == value


def _undo(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def test_hostile_descriptions_are_defused_in_the_csv_and_round_trip(corpus, html_2026):
    from iam_catalog.output.build import parse_text
    from iam_catalog.parsers.catalog import merge
    from iam_catalog.parsers.model import CatalogSource

    text = (corpus / RUM).read_text(encoding="utf-8")
    for value in HOSTILE:  # the first descriptions of the page, one each
        text = text.replace("Grants permission", value.replace('"', "&quot;"), 1)
    page = parse_text(text, source="list_awscloudwatchrum", fmt="html")
    catalog = merge([page], CatalogSource("files", "x", 1, (("html", 1),)), [])
    descriptions = {a.name: a.description for s in catalog.services for a in s.actions}
    assert sum(d.startswith(tuple(HOSTILE)) for d in descriptions.values()) == len(HOSTILE)

    rows = list(csv.DictReader(io.StringIO(csv_text(catalog, "actions.csv"))))
    assert len(rows) == len(descriptions)
    for row in rows:
        cell = row["description"]
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")
        assert _undo(cell) == descriptions[row["action"]]
    assert sum(row["description"].startswith("'") for row in rows) == len(HOSTILE)

    # No cell of any table of the 528 pages of 2026 starts a formula.
    whole = html_2026.catalog
    for name in CSV_COLUMNS:
        plain = list(csv.reader(io.StringIO(csv_text(whole, name))))
        assert not [c for row in plain for c in row if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
