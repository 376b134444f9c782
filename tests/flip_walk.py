"""A history-style walk over every release of the corpus, in date order, that finds the
values flipping A -> B -> A between formats (issue 13, Must show 4).

The releases are the HTML dates, the markdown folders (2017-2020 GitHub markdown, the July
2026 ``.md``) and AWS's JSON dates, each built as ``iam-catalog build`` builds it. Items and
fields are those history follows (:func:`iam_catalog.history.items.observe`): a field a
release's source does not carry is not part of that release, and the walk steps over it
to the next release that carries it, as history does. A flip is a change undone by the
next release that carries the field, where the three releases are not all of one format:
either a format reads the same page differently (a parser's fault), or the pages
themselves differ (listed, with their cause, in tests/expected/flips.json).

Values are compared as ``iam-catalog diff`` compares them: lists of names as sets,
case-insensitively; a resource-type row field per row name. An item is absent from a
release only where the release has its service and items of its kind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from iam_catalog.history.items import PRESENT, Key, observe
from iam_catalog.output.build import build

# JSON of one date before the pages of that date: AWS's JSON of 2025-11-01 matches the
# HTML of 2025-11-01, and a flip between them shows either way.
_FORMAT_ORDER = {"service-reference": 0, "html": 1, "markdown-table": 1, "markdown-list": 1}
_SETS = frozenset(
    {"condition_keys", "dependent_actions", "resource_types", "arn_formats", "operations"}
    | {"access_levels", "types"}
)


@dataclass(frozen=True)
class Release:
    """One folder of the corpus, built."""

    date: str
    """``YYYY-MM-DD`` or ``YYYY-MM`` (the July 2026 ``.md`` folders)."""
    format: str
    folder: str
    """The folder, relative to the corpus (``html/2020-11-01_65f99eab``)."""
    fields: dict[Key, dict[str, str]]
    """Every observed item's carried fields (history's JSON texts)."""
    pages: dict[str, tuple[str, ...]]
    """Service prefix (lower-cased) -> its page ids."""


def _release(corpus: Path, folder: str, date: str, fmt: str) -> Release:
    catalog = build([corpus / folder]).catalog
    fields = {key: o.fields() for key, o in observe(catalog)}
    pages = {s.prefix.lower(): tuple(p.page for p in s.pages) for s in catalog.services}
    return Release(date, fmt, folder, fields, pages)


def corpus_releases(corpus: Path) -> list[Release]:
    """Every release folder of the corpus, built, oldest first."""
    found = []
    for sub, fmt, date_chars in (
        ("html", "html", 10),
        ("markdown", "markdown-table", 10),
        ("new-layout-md", "markdown-list", 7),
        ("servicereference", "service-reference", 10),
    ):
        for d in sorted((corpus / sub).iterdir()):
            if d.is_dir():
                found.append((d.name[:date_chars], _FORMAT_ORDER[fmt], d.name, sub, fmt))
    return [
        _release(corpus, f"{sub}/{name}", date, fmt) for date, _, name, sub, fmt in sorted(found)
    ]


def _value(field: str, text: str) -> Any:
    """A field's value as diff compares it."""
    value = orjson.loads(text)
    if field in _SETS and isinstance(value, list):
        # a service's operations are objects: each compared whole, as its JSON text
        return sorted(
            {
                v.lower()
                if isinstance(v, str)
                else orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()
                if isinstance(v, dict)
                else v
                for v in value
            }
        )
    if field.startswith("resource_types."):
        rows: dict[str, set[str]] = defaultdict(set)
        for name, v in value:
            rows[name.lower()].add(
                orjson.dumps(sorted({x.lower() for x in v}) if isinstance(v, list) else v).decode()
            )
        return sorted((name, sorted(vs)) for name, vs in rows.items())
    return value


@dataclass(frozen=True, order=True)
class Flip:
    """One value that flips A -> B -> A."""

    kind: str
    service: str
    item: str
    field: str
    """The field, or ``present`` for the item's presence."""
    releases: tuple[str, str, str]
    """The three release folders, oldest first."""
    value: str
    """A, as JSON text (``true``/``false`` for presence)."""
    other: str
    """B, as JSON text."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "service": self.service,
            "item": self.item,
            "field": self.field,
            "releases": list(self.releases),
            "value": orjson.loads(self.value),
            "other": orjson.loads(self.other),
        }


def flips(releases: Sequence[Release]) -> list[Flip]:
    """Every A -> B -> A between releases not all of one format, sorted."""
    series: dict[tuple[Key, str], list[tuple[int, Any]]] = defaultdict(list)
    for i, r in enumerate(releases):
        for key, fields in r.fields.items():
            rows_carried = "resource_types" in fields
            for field, text in fields.items():
                if field == PRESENT:
                    continue
                # A row field says nothing where the rows themselves are not carried
                # (the 2017 markdown lists names only).
                if field.startswith("resource_types.") and not rows_carried:
                    continue
                series[(key, field)].append((i, _value(field, text)))
    # Presence: where the release has the service and items of the kind.
    kinds = [{(k[0], k[1]) for k in r.fields} for r in releases]
    items = {key for r in releases for key in r.fields if key[0] != "service"}
    for key in items:
        series[(key, "present")] = [
            (i, key in r.fields) for i, r in enumerate(releases) if (key[0], key[1]) in kinds[i]
        ]
    found = []
    for (key, field), values in series.items():
        for (a, va), (b, vb), (c, vc) in zip(values, values[1:], values[2:], strict=False):
            if va == vc != vb and len({releases[i].format for i in (a, b, c)}) > 1:
                found.append(
                    Flip(
                        key[0],
                        key[1],
                        key[2],
                        field,
                        (releases[a].folder, releases[b].folder, releases[c].folder),
                        orjson.dumps(va).decode(),
                        orjson.dumps(vb).decode(),
                    )
                )
    return sorted(found)


def dump(found: Iterable[Flip]) -> list[dict[str, Any]]:
    return [f.to_dict() for f in found]
