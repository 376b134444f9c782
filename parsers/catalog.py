"""Merge parsed pages into one catalog, by service prefix (pure, no I/O).

Pages that share a prefix become one service listing every page. Two cases:

- Several *current* pages of one prefix, one per API version or product
  (apigateway v1/v2, elasticloadbalancing v1/v2, lex v1/v2, the ses pages, the
  aws-marketplace family): each defines the same action, resource type or key
  for its own API, and every value belongs in the catalog. Their definitions
  are *unioned*: resource-type rows, condition keys, dependent actions,
  operations, ARN formats and key types from every page (AWS's programmatic
  JSON does the same: its apigateway ``Authorizer`` carries the ARN of both
  API versions). Single values (description, access level, …) come from the
  first page; a page that says otherwise is a ``merge-conflict`` diagnostic,
  and one that adds list values is a ``merge-union`` diagnostic.
- A *superseded* page: the leftover page of a renamed service in an older
  layout beside the current one (2026-04-01: ``list_amazonkinesis`` in the 2020
  layout beside ``list_amazonkinesisdatastreams``; ``list_awssso`` beside
  ``list_awsiamidentitycenter``). What it alone says was removed by AWS when the
  page was replaced (``sso:DescribeDirectories``), so it contributes nothing; a
  ``superseded-page`` diagnostic names it and every item only it has, so nothing
  is lost silently.

"Current" means the newest layout among the prefix's pages: layout names carry
the year (and month) of the layout or page template they were served with.
Pages are taken newest layout first, then by page id, so the result never
depends on the order files were read in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields, replace
from typing import Any, TypeVar

from . import carried
from .model import (
    Action,
    Catalog,
    CatalogSource,
    ConditionKey,
    Diagnostic,
    Operation,
    ParsedPage,
    ResourceType,
    ResourceTypeRow,
    Service,
    Severity,
)

_Item = TypeVar("_Item", Action, ResourceType, ConditionKey)

# Layout names carry the year (and month) the layout appeared: "sar-2020",
# "sar-2026-07-list", "userguide-md-2017".
_LAYOUT_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?")


def layout_recency(layout: str) -> tuple[int, int]:
    """(year, month) a layout name carries, (0, 0) when it names none."""
    m = _LAYOUT_DATE.search(layout)
    if not m:
        return (0, 0)
    return (int(m.group(1)), int(m.group(2) or 0))


def _precedence(page: ParsedPage) -> tuple[int, int, str, str, str]:
    year, month = layout_recency(page.ref.layout)
    return (-year, -month, page.ref.page, page.ref.format, page.ref.url or "")


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    """``a`` then the values of ``b`` not in it (case-insensitive for names)."""
    seen = {v.lower() for v in a}
    return a + tuple(v for v in b if v.lower() not in seen)


def _union_rows(
    a: tuple[ResourceTypeRow, ...], b: tuple[ResourceTypeRow, ...], conflicts: list[str]
) -> tuple[ResourceTypeRow, ...]:
    rows = list(a)
    index = {r.name.lower(): i for i, r in enumerate(rows)}
    for r in b:
        i = index.get(r.name.lower())
        if i is None:
            index[r.name.lower()] = len(rows)
            rows.append(r)
            continue
        mine = rows[i]
        if mine.required != r.required:
            conflicts.append(f"resource_types[{r.name}].required")
        rows[i] = replace(
            mine,
            condition_keys=_union(mine.condition_keys, r.condition_keys),
            dependent_actions=_union(mine.dependent_actions, r.dependent_actions),
        )
    return tuple(rows)


# Fields of each item that are lists (unioned across current pages); all other
# fields except provenance are single values (first page wins).
_LIST_FIELDS = {
    Action: ("resource_types", "condition_keys", "dependent_actions", "operations"),
    ResourceType: ("arn_formats", "condition_keys"),
    ConditionKey: ("types",),
}


def _fields(item: object) -> list[str]:
    return [
        f.name
        for f in fields(item)  # type: ignore[arg-type]
        if f.name not in ("page", "line", "not_carried", "sources")
    ]


def _combine(first: _Item, other: _Item) -> tuple[_Item, list[str], list[str]]:
    """``first`` with ``other``'s list values added: (merged, conflicting single
    fields, list fields that gained values). A field only one of them carries is taken
    from that one; the merged item carries what either carries."""
    lists = _LIST_FIELDS[type(first)]
    changes: dict[str, Any] = {}
    conflicts = []
    for f in _fields(first):
        if f in lists or getattr(first, f) == getattr(other, f) or not other.carries(f):
            continue
        if first.carries(f):
            conflicts.append(f)
        else:
            changes[f] = getattr(other, f)
    if first.not_carried != other.not_carried:
        changes["not_carried"] = first.not_carried & other.not_carried
    for f in lists:
        mine, theirs = getattr(first, f), getattr(other, f)
        merged: tuple[Any, ...] = (
            _union_rows(mine, theirs, conflicts) if f == "resource_types" else _union(mine, theirs)
        )
        if merged != mine:
            changes[f] = merged
    grown = [f for f in changes if f in lists]
    return replace(first, **changes), conflicts, grown


def _merge_items(
    prefix: str, kind: str, current: list[ParsedPage], attr: str, diags: list[Diagnostic]
) -> tuple[_Item, ...]:
    if len(current) == 1:  # the others superseded
        return _in_name_order(getattr(current[0], attr))
    merged: dict[str, _Item] = {}

    def report(page: ParsedPage, item: _Item, code: str, severity: Severity, text: str) -> None:
        diags.append(
            Diagnostic(page.ref.page, item.line, severity, code, f"{prefix}: {kind} {text}")
        )

    for page in current:
        for item in getattr(page, attr):
            key = item.name.lower()
            first = merged.get(key)
            if first is None:
                merged[key] = item
                continue
            combined, conflicts, grown = _combine(first, item)
            merged[key] = combined
            if conflicts:
                report(
                    page,
                    item,
                    "merge-conflict",
                    Severity.WARNING,
                    f"{item.name} differs from page {first.page} in "
                    f"{', '.join(conflicts)}; value of {first.page} kept",
                )
            if grown:
                report(
                    page,
                    item,
                    "merge-union",
                    Severity.INFO,
                    f"{item.name} has more {', '.join(grown)} than on page {first.page}; "
                    "the values of both pages are kept",
                )
    return _in_name_order(merged.values())


def _in_name_order(items: Iterable[_Item]) -> tuple[_Item, ...]:
    """Items sorted by name (case-insensitive first). One page's items need nothing else:
    build_page already keeps one item per lower-cased name."""
    return tuple(sorted(items, key=_name_order))


def _name_order(item: _Item) -> tuple[str, str]:
    return item.name.lower(), item.name


# How many item names a superseded-page diagnostic spells out.
_NAMES_SHOWN = 12


def _superseded(prefix: str, page: ParsedPage, current: list[ParsedPage]) -> Diagnostic:
    """The diagnostic for a page left out because a newer page of its prefix exists."""
    only: list[str] = []
    for attr, kind in (
        ("actions", "action"),
        ("resource_types", "resource type"),
        ("condition_keys", "condition key"),
    ):
        known = {i.name.lower() for p in current for i in getattr(p, attr)}
        only.extend(f"{kind} {i.name}" for i in getattr(page, attr) if i.name.lower() not in known)
    newer = f"{current[0].ref.page} ({current[0].ref.layout})"
    head = f"{prefix}: page ({page.ref.layout}) superseded by {newer}; left out"
    if not only:
        return Diagnostic(
            page.ref.page,
            None,
            Severity.INFO,
            "superseded-page",
            f"{head}, it has nothing the current pages lack",
        )
    shown = ", ".join(only[:_NAMES_SHOWN]) + (", …" if len(only) > _NAMES_SHOWN else "")
    return Diagnostic(
        page.ref.page,
        None,
        Severity.WARNING,
        "superseded-page",
        f"{head} with {len(only)} item(s) no current page has: {shown}",
    )


def single_page_service(page: ParsedPage) -> Service:
    """The service of a prefix no other page declares, as :func:`merge` makes it (its
    caller may make it ahead of the merge, from a page it knows has a prefix)."""
    if not page.prefix:
        raise ValueError(f"page {page.ref.page} declares no service prefix")
    not_carried = _service_not_carried([page])
    return Service(
        prefix=page.prefix,
        name=_service_name([page], not_carried),
        pages=(page.ref,),
        actions=_in_name_order(page.actions),
        resource_types=_in_name_order(page.resource_types),
        condition_keys=_in_name_order(page.condition_keys),
        not_carried=not_carried,
        operations=_operations(page.prefix, [page]),
    )


def _operations(
    prefix: str, pages: list[ParsedPage], diags: list[Diagnostic] | None = None
) -> tuple[Operation, ...]:
    """The pages' API operations, sorted by name; where two pages name one operation, the
    first page's (``merge-conflict`` diagnostic when the other says otherwise)."""
    found: dict[str, Operation] = {}
    for p in pages:
        for o in p.operations:
            first = found.setdefault(o.name.lower(), o)
            if first is not o and first != o and diags is not None:
                diags.append(
                    Diagnostic(
                        p.ref.page,
                        o.line,
                        Severity.WARNING,
                        "merge-conflict",
                        f"{prefix}: operation {o.name} differs from page {first.page}'s; "
                        f"kept {first.page}'s",
                    )
                )
    return tuple(sorted(found.values(), key=lambda o: (o.name.lower(), o.name)))


def _service_not_carried(pages: list[ParsedPage]) -> frozenset[str]:
    """The service fields none of ``pages`` carries."""
    found = carried.for_item(pages[0].ref.not_carried, "service")
    for p in pages[1:]:
        found &= carried.for_item(p.ref.not_carried, "service")
    return found


def _service_name(pages: list[ParsedPage], not_carried: frozenset[str]) -> str:
    """The first page's service name; the prefix where a page that carries names gives
    none; empty where no page carries a name."""
    if "name" in not_carried:
        return ""
    names = [p.service_name for p in pages if p.service_name]
    return names[0] if names else pages[0].prefix or ""


def _name_conflicts(prefix: str, kept: str, current: list[ParsedPage]) -> Iterator[Diagnostic]:
    """A ``merge-conflict`` for each page of the prefix's newest layout that names the
    service otherwise than the name kept (2024-12 wisdom: "Amazon Connect Wisdom" on the
    older file, "Amazon Q in Connect" on the newer; the first page by id gives the name)."""
    first = next((p for p in current if p.service_name == kept), current[0])
    for page in current:
        if page.service_name and page.service_name != kept:
            yield Diagnostic(
                page.ref.page,
                None,
                Severity.WARNING,
                "merge-conflict",
                f"{prefix}: service name {page.service_name!r} differs from "
                f"{kept!r} of page {first.ref.page}; {kept!r} kept",
            )


def merge(
    pages: Iterable[ParsedPage],
    source: CatalogSource,
    extra_diagnostics: Iterable[Diagnostic] = (),
    made: Mapping[str, Service] | None = None,
) -> Catalog:
    """One catalog from parsed pages; pages without a prefix are reported and left out.

    ``made``: services a caller already made with :func:`single_page_service`, by prefix;
    one is taken as it is when its prefix has that one page (its ``PageRef`` object)."""
    diags: list[Diagnostic] = list(extra_diagnostics)
    by_prefix: dict[str, list[ParsedPage]] = {}
    for page in sorted(pages, key=_precedence):
        diags.extend(page.diagnostics)
        if not page.prefix:
            if not any(d.severity is Severity.ERROR for d in page.diagnostics):
                diags.append(
                    Diagnostic(
                        page.ref.page,
                        None,
                        Severity.ERROR,
                        "no-prefix",
                        "page declares no service prefix; left out of the catalog",
                    )
                )
            continue
        by_prefix.setdefault(page.prefix, []).append(page)

    services: list[Service] = []
    for prefix in sorted(by_prefix):
        group = by_prefix[prefix]
        if len(group) == 1:  # most services
            ready = made.get(prefix) if made else None
            if ready is None or ready.pages[0] is not group[0].ref:
                ready = single_page_service(group[0])
            services.append(ready)
            continue
        newest = layout_recency(group[0].ref.layout)
        current = [p for p in group if layout_recency(p.ref.layout) == newest]
        diags.extend(_superseded(prefix, p, current) for p in group[len(current) :])
        not_carried = _service_not_carried(current)
        name = _service_name(current, not_carried)
        diags.extend(_name_conflicts(prefix, name, current))
        services.append(
            Service(
                prefix=prefix,
                name=name,
                pages=tuple(p.ref for p in group),
                actions=_merge_items(prefix, "action", current, "actions", diags),
                resource_types=_merge_items(
                    prefix, "resource type", current, "resource_types", diags
                ),
                condition_keys=_merge_items(
                    prefix, "condition key", current, "condition_keys", diags
                ),
                not_carried=not_carried,
                operations=_operations(prefix, current, diags),
            )
        )
    return Catalog(
        source=source,
        services=tuple(services),
        diagnostics=tuple(sorted(set(diags), key=Diagnostic.sort_key)),
    )
