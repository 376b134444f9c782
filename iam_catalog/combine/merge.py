"""One service from the services several sources make of one prefix (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from iam_catalog.combine.precedence import GROUPS, PRECEDENCE, SOURCES, not_carried_names
from iam_catalog.parsers.model import (
    Action,
    Catalog,
    CatalogSource,
    ConditionKey,
    Diagnostic,
    ResourceType,
    Service,
    emptied,
)

_Item = TypeVar("_Item", Action, ResourceType, ConditionKey)

# (item type, the service's attribute holding such items)
ITEM_KINDS = (
    ("action", "actions"),
    ("resource_type", "resource_types"),
    ("condition_key", "condition_keys"),
)


def _carries(item: Any, item_type: str, group: str) -> bool:
    names = not_carried_names(item_type, group)
    return not names or item.carries(names[0])


def combine_item(item_type: str, held: Mapping[str, _Item]) -> _Item:
    """One item from the same item of several sources (``held``: source -> item), each
    group of fields from the first source of its precedence that carries it."""
    holders = [s for s in SOURCES if s in held]
    base = held[next(s for s in PRECEDENCE[f"{item_type}.name"] if s in held)]
    changes: dict[str, Any] = {}
    not_carried: set[str] = set()
    for group, model_fields in GROUPS[item_type].items():
        if group == "name":
            continue
        names = not_carried_names(item_type, group)
        giver = next(
            (
                held[s]
                for s in PRECEDENCE[f"{item_type}.{group}"]
                if s in held and _carries(held[s], item_type, group)
            ),
            None,
        )
        if giver is None:  # no source of this item carries it
            not_carried.update(names)
            continue
        not_carried.update(n for n in names if not giver.carries(n))
        changes.update({f: getattr(giver, f) for f in model_fields})
    return emptied(
        replace(base, **changes, not_carried=frozenset(not_carried), sources=tuple(holders))
    )


def _by_name(items: Sequence[_Item]) -> dict[str, _Item]:
    return {i.name.lower(): i for i in items}


def _field_sources(held: Mapping[str, Service]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Per qualified group, the sources of this service that carry it for any of its
    items, in precedence order."""
    out = []
    for name, order in sorted(PRECEDENCE.items()):
        item_type, _, group = name.partition(".")
        if item_type == "service":
            found = [s for s in order if s in held and held[s].carries(group)]
        else:
            attr = dict(ITEM_KINDS)[item_type]
            found = [
                s
                for s in order
                if s in held and any(_carries(i, item_type, group) for i in getattr(held[s], attr))
            ]
        if found:
            out.append((name, tuple(found)))
    return tuple(out)


def combine_service(held: Mapping[str, Service]) -> Service:
    """One service from the services of one prefix that several sources made."""
    holders = [s for s in SOURCES if s in held]
    named = next(
        (held[s] for s in PRECEDENCE["service.name"] if s in held and held[s].carries("name")),
        None,
    )
    # the operations with every action they authorise, from one source, as a whole
    operated = next(
        (
            held[s]
            for s in PRECEDENCE["service.operations"]
            if s in held and held[s].carries("operations")
        ),
        None,
    )
    not_carried = frozenset.intersection(*(held[s].not_carried for s in holders))
    items: dict[str, tuple[Any, ...]] = {}
    for item_type, attr in ITEM_KINDS:
        per_source = {s: _by_name(getattr(held[s], attr)) for s in holders}
        keys = sorted({k for found in per_source.values() for k in found})
        combined = [
            combine_item(item_type, {s: per_source[s][k] for s in holders if k in per_source[s]})
            for k in keys
        ]
        items[attr] = tuple(sorted(combined, key=lambda i: (i.name.lower(), i.name)))
    first = held[holders[0]]
    return Service(
        prefix=first.prefix,
        name=named.name if named is not None else "",
        pages=tuple(p for s in holders for p in held[s].pages),
        actions=items["actions"],
        resource_types=items["resource_types"],
        condition_keys=items["condition_keys"],
        not_carried=not_carried,
        field_sources=_field_sources(held),
        operations=operated.operations if operated is not None else (),
    )


def combine(catalogs: Mapping[str, Catalog], source: CatalogSource) -> Catalog:
    """One catalog from the catalogs of several sources (source -> its catalog, each
    merged from that source's pages alone): one service per prefix."""
    by_prefix: dict[str, dict[str, Service]] = {}
    for name in SOURCES:
        if name in catalogs:
            for s in catalogs[name].services:
                by_prefix.setdefault(s.prefix, {})[name] = s
    diagnostics: set[Diagnostic] = set()
    for c in catalogs.values():
        diagnostics.update(c.diagnostics)
    return Catalog(
        source=source,
        services=tuple(combine_service(by_prefix[p]) for p in sorted(by_prefix)),
        diagnostics=tuple(sorted(diagnostics, key=Diagnostic.sort_key)),
    )
