"""What history stores of a catalog: every item (service, action, resource type, condition
key) as a set of fields, each a JSON text, and back again into model objects.

An item is keyed by ``(kind, service, name)``, both lower-cased: IAM matches names
case-insensitively, so a case-only rename is a change of the field ``name``, never a
removal plus an addition. The field ``""`` is the item's presence (value ``"1"``); it is
kept apart from ``name`` so that a rename does not restart the item's life.

A field a release's source does not carry (the model's ``item.not_carried``, and
:func:`not_carried` for whole services) is left out of that release's fields: history
then knows nothing of it for that release, and never reports a change of it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from iam_catalog.parsers import carried
from iam_catalog.parsers.model import (
    AccessLevel,
    Action,
    Catalog,
    ConditionKey,
    ResourceType,
    ResourceTypeRow,
    Service,
    operation_to_dict,
)

SERVICE, ACTION, RESOURCE_TYPE, CONDITION_KEY = (
    "service",
    "action",
    "resource_type",
    "condition_key",
)
KINDS = (SERVICE, ACTION, RESOURCE_TYPE, CONDITION_KEY)

PRESENT = ""
"""The field that says the item exists; its value is always :data:`PRESENT_VALUE`."""
PRESENT_VALUE = "1"

ROW_FIELDS = tuple(f"resource_types.{f}" for f in carried.ROW_FIELDS)
"""A field of every resource-type row of an action: stored as ``[[row name, value], ...]``
so that a value known from an earlier release is never paired with another row."""
ROW_FIELDS_SET = frozenset(ROW_FIELDS)

# The fields history follows are those the catalog may record as not carried (one
# vocabulary, :mod:`parsers.carried`), with each item's name; a service's are its prefix,
# name and API operations (whether it lists actions is history's PRESENT rows of its
# actions).
FIELDS: dict[str, tuple[str, ...]] = {
    SERVICE: ("prefix", "name", "operations"),
    ACTION: ("name", *carried.ACTION_FIELDS),
    RESOURCE_TYPE: ("name", *carried.RESOURCE_TYPE_FIELDS),
    CONDITION_KEY: ("name", *carried.CONDITION_KEY_FIELDS),
}
"""The fields of each kind of item, besides :data:`PRESENT`."""

SERVICE_FOLLOWED = frozenset(FIELDS[SERVICE])

Key = tuple[str, str, str]
"""``(kind, service prefix, item name)``, lower-cased."""


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _service_fields(s: Service) -> dict[str, str]:
    return {
        PRESENT: PRESENT_VALUE,
        "prefix": _json(s.prefix),
        "name": _json(s.name),
        "operations": _json([operation_to_dict(o) for o in s.operations]),
    }


def _action_fields(a: Action) -> dict[str, str]:
    return {
        PRESENT: PRESENT_VALUE,
        "name": _json(a.name),
        "description": _json(a.description),
        "access_level": _json(a.access_level),
        "access_levels": _json(a.access_levels),
        "permission_only": _json(a.permission_only),
        "api_reference": _json(a.api_reference),
        "resource_types": _json([r.name for r in a.resource_types]),
        "resource_types.required": _json([[r.name, r.required] for r in a.resource_types]),
        "resource_types.condition_keys": _json(
            [[r.name, r.condition_keys] for r in a.resource_types]
        ),
        "resource_types.dependent_actions": _json(
            [[r.name, r.dependent_actions] for r in a.resource_types]
        ),
        "condition_keys": _json(a.condition_keys),
        "dependent_actions": _json(a.dependent_actions),
        "operations": _json(a.operations),
        "supported_by": _json(a.supported_by),
    }


def _resource_type_fields(r: ResourceType) -> dict[str, str]:
    return {
        PRESENT: PRESENT_VALUE,
        "name": _json(r.name),
        "arn_formats": _json(r.arn_formats),
        "condition_keys": _json(r.condition_keys),
    }


def _condition_key_fields(k: ConditionKey) -> dict[str, str]:
    return {
        PRESENT: PRESENT_VALUE,
        "name": _json(k.name),
        "description": _json(k.description),
        "types": _json(k.types),
    }


def not_carried(catalog: Catalog) -> dict[str, frozenset[tuple[str, str]]]:
    """``{service prefix (lower-cased): {(kind, field), ...}}``: what a service's source
    does not carry, for every item of that kind in the service. ``(kind, "")``: the items
    of that kind themselves are not carried (a service whose page replaced its actions
    table by a link: an action missing from the release is not known to be gone)."""
    return {prefix: skip for prefix, (skip, _, _) in _gaps(catalog).items() if skip}


_Gaps = tuple[
    frozenset[tuple[str, str]], dict[tuple[str, int], frozenset[str]], dict[str, frozenset[str]]
]


def _gaps(catalog: Catalog) -> dict[str, _Gaps]:
    """Per service (lower-cased prefix): what it does not carry for all its items of a
    kind (:func:`not_carried`), the fields each item (``(kind, index)``) does not carry,
    as the catalog records them for that item, and per kind the set most items have."""
    from iam_catalog.output.diff import SOURCE_GAP_CODES

    gap_pages = {d.page for d in catalog.diagnostics if d.code in SOURCE_GAP_CODES}
    out: dict[str, _Gaps] = {}
    for s in catalog.services:
        skip: set[tuple[str, str]] = set()
        own: dict[tuple[str, int], frozenset[str]] = {}
        usual: dict[str, frozenset[str]] = {}
        for field in ("name", "operations"):
            if not s.carries(field):
                skip.add((SERVICE, field))
        if not s.carries("actions") or any(p.page in gap_pages for p in s.pages):
            skip |= {(ACTION, PRESENT)} | {(ACTION, f) for f in FIELDS[ACTION]}
        groups: tuple[tuple[str, Any], ...] = (
            (ACTION, s.actions),
            (RESOURCE_TYPE, s.resource_types),
            (CONDITION_KEY, s.condition_keys),
        )
        for kind, items in groups:
            if not items or (kind, PRESENT) in skip:
                continue
            sets = [frozenset(i.not_carried) for i in items]
            if kind == ACTION:
                # An action without resource-type rows carries its row fields only
                # vacuously (there is no row to say anything of): where its service's
                # rows or pages do not carry a field (the July 2026 layout's dependent
                # actions), neither does it, or history would see the field come and go
                # with the rows.
                rows_lack = frozenset().union(
                    *(
                        n & ROW_FIELDS_SET
                        for n, a in zip(sets, items, strict=True)
                        if a.resource_types
                    ),
                    frozenset.intersection(
                        *(carried.for_item(p.not_carried, ACTION) for p in s.pages)
                    )
                    & ROW_FIELDS_SET
                    if s.pages
                    else frozenset(),
                )
                sets = [
                    n | rows_lack if not a.resource_types else n
                    for n, a in zip(sets, items, strict=True)
                ]
            common = frozenset.intersection(*sets)
            skip |= {(kind, f) for f in common}
            own.update(((kind, i), n) for i, n in enumerate(sets) if n)
            usual[kind] = _most_common(sets)
        out[s.prefix.lower()] = (frozenset(skip), own, usual)
    return out


def _most_common(sets: list[frozenset[str]]) -> frozenset[str]:
    """The set most items have (ties: the first in sorted order, for the same bytes)."""
    counts = Counter(sets)
    top = max(counts.values())
    return min((c for c, n in counts.items() if n == top), key=sorted)


def recorded_not_carried(
    catalog: Catalog,
) -> tuple[dict[str, frozenset[tuple[str, str]]], dict[Key, frozenset[str]]]:
    """What a history records of a release's not carried: per service (lower-cased
    prefix) the ``(kind, field)`` most of its items of a kind do not carry (and the kinds
    of items it does not carry, ``(kind, "")``), and the items whose fields not carried
    differ from their service's usual set, each with all of its own. Rows for the few
    items that differ, never for the many that agree, whichever way they differ."""
    table: dict[str, frozenset[tuple[str, str]]] = {}
    items: dict[Key, frozenset[str]] = {}
    gaps = _gaps(catalog)
    for s in catalog.services:
        prefix = s.prefix.lower()
        skip, own, usual = gaps[prefix]
        shared = {(k, f) for k, f in skip if k in usual and f != PRESENT}
        table[prefix] = frozenset(skip - shared) | frozenset(
            (k, f) for k, fs in usual.items() for f in fs
        )
        groups: tuple[tuple[str, Any], ...] = (
            (ACTION, s.actions),
            (RESOURCE_TYPE, s.resource_types),
            (CONDITION_KEY, s.condition_keys),
        )
        for kind, group in groups:
            if kind not in usual:
                continue
            for n, item in enumerate(group):
                mine = own.get((kind, n), frozenset())
                if mine != usual[kind]:
                    items[kind, prefix, item.name.lower()] = mine
    return {p: t for p, t in table.items() if t}, items


_FIELDS_OF: dict[str, Any] = {
    SERVICE: _service_fields,
    ACTION: _action_fields,
    RESOURCE_TYPE: _resource_type_fields,
    CONDITION_KEY: _condition_key_fields,
}


def _raw(kind: str, item: Any) -> Any:
    """Every value of an item in one structure, for :func:`Observed.digest`."""
    if kind == ACTION:
        a = item
        return (
            a.name,
            a.description,
            a.access_level,
            a.access_levels,
            a.permission_only,
            a.api_reference,
            [(r.name, r.required, r.condition_keys, r.dependent_actions) for r in a.resource_types],
            a.condition_keys,
            a.dependent_actions,
            a.operations,
            a.supported_by,
        )
    if kind == SERVICE:
        return (item.prefix, item.name, [operation_to_dict(o) for o in item.operations])
    if kind == RESOURCE_TYPE:
        return (item.name, item.arn_formats, item.condition_keys)
    return (item.name, item.description, item.types)


@dataclass(frozen=True, slots=True)
class Observed:
    """One item of a release."""

    kind: str
    """``service``, ``action``, ``resource_type`` or ``condition_key``."""
    item: Any
    """The model object."""
    skip: frozenset[str]
    """Fields the release's source does not carry."""

    def digest(self) -> bytes:
        """16 bytes that change when any carried field does (cheaper than :meth:`fields`):
        a release that leaves an item as it was touches none of its versions."""
        data = orjson.dumps((_raw(self.kind, self.item), sorted(self.skip)))
        return hashlib.blake2b(data, digest_size=16).digest()

    def fields(self) -> dict[str, str]:
        """Every carried field as JSON text, with :data:`PRESENT`."""
        out: dict[str, str] = _FIELDS_OF[self.kind](self.item)
        for f in self.skip:
            out.pop(f, None)
        return out


def observe(catalog: Catalog) -> Iterator[tuple[Key, Observed]]:
    """Every item of ``catalog`` whose kind its source carries, with the fields it does
    not carry (its service's for all items of its kind, and its own)."""
    gaps = _gaps(catalog)
    for s in catalog.services:
        prefix = s.prefix.lower()
        skip, own, _ = gaps[prefix]
        yield (
            (SERVICE, prefix, prefix),
            # Of the service's own fields, history follows its name and API operations
            # (its actions are items of their own).
            Observed(SERVICE, s, _skipped(skip, SERVICE) | s.not_carried & SERVICE_FOLLOWED),
        )
        groups: tuple[tuple[str, Any], ...] = (
            (ACTION, s.actions),
            (RESOURCE_TYPE, s.resource_types),
            (CONDITION_KEY, s.condition_keys),
        )
        for kind, items in groups:
            if (kind, PRESENT) in skip:
                continue
            skipped = _skipped(skip, kind)
            for n, item in enumerate(items):
                mine = own.get((kind, n))
                yield (
                    (kind, prefix, item.name.lower()),
                    Observed(kind, item, skipped | mine if mine else skipped),
                )


def _skipped(skip: frozenset[tuple[str, str]], kind: str) -> frozenset[str]:
    return frozenset(f for k, f in skip if k == kind)


# --------------------------------------------------------------------------- back to the model


def _load(fields: Mapping[str, str], name: str, default: Any) -> Any:
    text = fields.get(name)
    return default if text is None else orjson.loads(text)


def _levels(values: Any) -> tuple[AccessLevel, ...]:
    return tuple(AccessLevel(v) for v in values)


def _missing(fields: Mapping[str, str], kind: str) -> frozenset[str]:
    return frozenset(f for f in FIELDS[kind] if f != "name" and f not in fields)


def _rows(fields: Mapping[str, str]) -> tuple[tuple[ResourceTypeRow, ...], frozenset[str]]:
    """The rows, each row field taken by row name; a row field that does not name every
    row (known only from a release with other rows) is not known."""
    names = _load(fields, "resource_types", [])
    values: dict[str, dict[str, list[Any]]] = {}
    unknown = set()
    for f in ROW_FIELDS:
        if f not in fields:
            unknown.add(f)
            continue
        by_name: dict[str, list[Any]] = {}
        for name, value in orjson.loads(fields[f]):
            by_name.setdefault(name, []).append(value)
        if sorted(by_name) != sorted(set(names)) or sum(map(len, by_name.values())) != len(names):
            unknown.add(f)
            continue
        values[f] = by_name
    rows = []
    taken: dict[tuple[str, str], int] = {}
    for name in names:

        def value(f: str, default: Any, name: str = name) -> Any:
            if f not in values:
                return default
            n = taken.get((f, name), 0)
            taken[f, name] = n + 1
            return values[f][name][n]

        rows.append(
            ResourceTypeRow(
                name,
                value("resource_types.required", False),
                tuple(value("resource_types.condition_keys", [])),
                tuple(value("resource_types.dependent_actions", [])),
            )
        )
    return tuple(rows), frozenset(unknown)


def to_action(fields: Mapping[str, str]) -> Action:
    """An action from its fields; a field not known is empty and marked not carried."""
    level = _load(fields, "access_level", None)
    rows, unknown_rows = _rows(fields)
    return Action(
        name=_load(fields, "name", ""),
        description=_load(fields, "description", ""),
        access_level=AccessLevel(level) if level else None,
        access_levels=_levels(_load(fields, "access_levels", [])),
        permission_only=_load(fields, "permission_only", False),
        api_reference=_load(fields, "api_reference", None),
        resource_types=rows,
        condition_keys=tuple(_load(fields, "condition_keys", [])),
        dependent_actions=tuple(_load(fields, "dependent_actions", [])),
        operations=tuple(_load(fields, "operations", [])),
        supported_by=tuple((f, bool(v)) for f, v in _load(fields, "supported_by", [])),
        not_carried=_missing(fields, ACTION) | unknown_rows,
    )


def to_resource_type(fields: Mapping[str, str]) -> ResourceType:
    """A resource type from its fields."""
    return ResourceType(
        _load(fields, "name", ""),
        tuple(_load(fields, "arn_formats", [])),
        tuple(_load(fields, "condition_keys", [])),
        not_carried=_missing(fields, RESOURCE_TYPE),
    )


def to_condition_key(fields: Mapping[str, str]) -> ConditionKey:
    """A condition key from its fields."""
    return ConditionKey(
        _load(fields, "name", ""),
        _load(fields, "description", ""),
        tuple(_load(fields, "types", [])),
        not_carried=_missing(fields, CONDITION_KEY),
    )
