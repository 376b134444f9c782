"""Merge parsed pages into one catalog, by service prefix (pure, no I/O).

Pages that share a prefix (apigateway v1/v2, elasticloadbalancing v1/v2, the
aws-marketplace family, …) become one service listing every page. Pages are
taken in a fixed order so the result never depends on the order files were
read in: the newest layout first, then by page id. Layout recency matters
because a snapshot can hold the leftover page of a renamed service beside its
current page (2026-04-01: ``list_amazonkinesis`` in the 2020 layout beside
``list_amazonkinesisdatastreams``); the current page must win. Where two pages
define the same action, resource type or condition key differently, the
winning page's definition is kept and the conflict is a diagnostic, never a
silent overwrite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

from .model import (
    Action,
    Catalog,
    CatalogSource,
    ConditionKey,
    Diagnostic,
    ParsedPage,
    ResourceType,
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


def _merge_items(
    prefix: str, kind: str, pages: list[ParsedPage], attr: str, diags: list[Diagnostic]
) -> tuple[_Item, ...]:
    merged: dict[str, _Item] = {}
    for page in pages:
        for item in getattr(page, attr):
            key = item.name.lower()
            first = merged.get(key)
            if first is None:
                merged[key] = item
            elif first != item:
                fields = _differing_fields(first, item)
                diags.append(
                    Diagnostic(
                        page.ref.page,
                        item.line,
                        Severity.WARNING,
                        "merge-conflict",
                        f"{prefix}: {kind} {item.name} differs from page {first.page} "
                        f"in {', '.join(fields)}; definition of {first.page} kept",
                    )
                )
    return tuple(sorted(merged.values(), key=lambda i: (i.name.lower(), i.name)))


def _differing_fields(a: object, b: object) -> list[str]:
    names = [f for f in a.__slots__ if f not in ("page", "line")]  # type: ignore[attr-defined]
    return [f for f in names if getattr(a, f) != getattr(b, f)] or ["case"]


def merge(
    pages: Iterable[ParsedPage],
    source: CatalogSource,
    extra_diagnostics: Iterable[Diagnostic] = (),
) -> Catalog:
    """One catalog from parsed pages; pages without a prefix are reported and left out."""
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
        names = [p.service_name for p in group if p.service_name]
        services.append(
            Service(
                prefix=prefix,
                name=names[0] if names else prefix,
                pages=tuple(p.ref for p in group),
                actions=_merge_items(prefix, "action", group, "actions", diags),
                resource_types=_merge_items(
                    prefix, "resource type", group, "resource_types", diags
                ),
                condition_keys=_merge_items(
                    prefix, "condition key", group, "condition_keys", diags
                ),
            )
        )
    return Catalog(
        source=source,
        services=tuple(services),
        diagnostics=tuple(sorted(set(diags), key=Diagnostic.sort_key)),
    )
