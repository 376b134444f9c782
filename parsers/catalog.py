"""Merge parsed pages into one catalog, by service prefix (pure, no I/O).

Pages that share a prefix (apigateway v1/v2, elasticloadbalancing v1/v2, the
aws-marketplace family, …) become one service listing every page. Pages are
taken in a fixed order (page id, then format) so the result never depends on
the order files were read in. Where two pages define the same action, resource
type or condition key differently, the first page's definition is kept and the
conflict is a diagnostic, never a silent overwrite.
"""

from __future__ import annotations

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
    for page in sorted(pages, key=lambda p: (p.ref.page, p.ref.format, p.ref.url or "")):
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
