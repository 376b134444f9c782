"""The cross-check of several sources of one day (pure, no I/O): every item (service,
action, resource type, condition key, API operation) one source has and another lacks, and
every field both carry on which they disagree, with each source's value; what could not be
compared (a source does not carry the field), and why.

Values are those a person compares: ``"present"``/``"absent"``, a name, an access level,
a sorted list (for the ``action.resource_row_*`` fields, the sorted values of each row
naming that resource type: a source may list one resource type on two rows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from iam_catalog.combine.merge import ITEM_KINDS
from iam_catalog.combine.precedence import SOURCES
from iam_catalog.parsers.model import (
    Action,
    Catalog,
    ConditionKey,
    Operation,
    ResourceType,
    Service,
)

CROSSCHECK_VERSION = 1

Value = Any


class Holder(Protocol):
    """A service or one parsed page: both hold actions, resource types, keys and
    operations."""

    actions: tuple[Action, ...]
    resource_types: tuple[ResourceType, ...]
    condition_keys: tuple[ConditionKey, ...]
    operations: tuple[Operation, ...]


def _rows(a: Action, resource: str, value: Callable[[Any], Any]) -> Value:
    return sorted(value(r) for r in a.resource_types if r.name == resource)


# Field -> (the name ``item.carries`` knows it by, its value).
ACTION_FIELDS: dict[str, tuple[str, Callable[[Action], Value]]] = {
    "action.name": ("", lambda a: a.name),
    "action.description": ("description", lambda a: a.description),
    "action.access_level": (
        "access_level",
        lambda a: a.access_level.value if a.access_level else None,
    ),
    "action.access_levels": ("access_levels", lambda a: sorted(v.value for v in a.access_levels)),
    "action.permission_only": ("permission_only", lambda a: a.permission_only),
    "action.api_reference": ("api_reference", lambda a: a.api_reference),
    "action.resource_types": ("resource_types", lambda a: sorted(r.name for r in a.resource_types)),
    "action.condition_keys": ("condition_keys", lambda a: sorted(a.condition_keys)),
    "action.dependent_actions": ("dependent_actions", lambda a: sorted(a.dependent_actions)),
    "action.operations": ("operations", lambda a: sorted(a.operations)),
    "action.supported_by": (
        "supported_by",
        lambda a: sorted(f"{feature}={value}" for feature, value in a.supported_by),
    ),
}
"""An action's fields compared, by the name reports give them."""

ROW_FIELDS: dict[str, tuple[str, Callable[[Any], Value]]] = {
    "action.resource_row_required": ("resource_types.required", lambda r: r.required),
    "action.resource_row_keys": (
        "resource_types.condition_keys",
        lambda r: sorted(r.condition_keys),
    ),
    "action.resource_row_dependent_actions": (
        "resource_types.dependent_actions",
        lambda r: sorted(r.dependent_actions),
    ),
}
"""The fields of an action's rows naming one resource type (item ``Action/resource``)."""

RESOURCE_FIELDS: dict[str, tuple[str, Callable[[ResourceType], Value]]] = {
    "resource_type.name": ("", lambda r: r.name),
    "resource_type.arn_formats": ("arn_formats", lambda r: sorted(r.arn_formats)),
    "resource_type.condition_keys": ("condition_keys", lambda r: sorted(r.condition_keys)),
}


def _authorized(o: Operation) -> Value:
    """Each action the operation authorises, ``service:Action``, with the condition values
    it sets (`` iam:PassedToService=iot.amazonaws.com``), sorted."""
    return sorted(
        a.qualified + "".join(f" {key}={'|'.join(values)}" for key, values in a.context)
        for a in o.authorized_actions
    )


OPERATION_FIELDS: dict[str, tuple[str, Callable[[Operation], Value]]] = {
    "operation.name": ("", lambda o: o.name),
    "operation.authorized_actions": ("", _authorized),
    "operation.sdk": (
        "sdk",
        lambda o: sorted(str(m) for m in o.sdk),
    ),
}
"""A service's API operations (AWS's JSON from 1.4, the July 2026 layout)."""

KEY_FIELDS: dict[str, tuple[str, Callable[[ConditionKey], Value]]] = {
    "condition_key.name": ("", lambda k: k.name),
    "condition_key.description": ("description", lambda k: k.description),
    "condition_key.types": ("types", lambda k: sorted(k.types)),
}
_FIELDS: dict[str, Mapping[str, tuple[str, Callable[[Any], Value]]]] = {
    "action": ACTION_FIELDS,
    "resource_type": RESOURCE_FIELDS,
    "condition_key": KEY_FIELDS,
    "operation": OPERATION_FIELDS,
}
# The kinds of items compared, with the attribute of a service that holds them: the
# combination's, and the operations (which a service takes whole from one source).
KINDS = (*ITEM_KINDS, ("operation", "operations"))


def _by_name(items: tuple[Any, ...]) -> dict[str, Any]:
    return {i.name.lower(): i for i in items}


def value_of(holder: Holder, field: str, item: str) -> Value:
    """The value of ``field`` for ``item`` in a service or a page (``"present"`` for the
    item's own field, ``"absent"`` when it lacks the item), as the cross-check reports it."""
    kind = field.split(".", 1)[0]
    attr = dict(KINDS)[kind]
    name, _, resource = item.partition("/") if kind == "action" else (item, "", "")
    found = _by_name(getattr(holder, attr)).get(name.lower())
    if found is None:
        return "absent"
    if field == kind:
        return "present"
    if field in ROW_FIELDS:
        return _rows(found, resource, ROW_FIELDS[field][1])
    return _FIELDS[kind][field][1](found)


@dataclass
class CrossCheck:
    """What the sources of a build say differently."""

    sources: dict[str, dict[str, Any]]
    """Source -> ``pages`` and ``formats`` (pages per format) it was built from."""
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    """``{"service", "field", "item", <source>: value, ...}``, sorted by service, field and
    item: one entry per item and field, with the value of every source compared."""
    not_compared: list[dict[str, Any]] = field(default_factory=list)
    """``{"field", "reason", "services"}``: a field some sources of an item carry and
    others do not, by the reason (which source does not carry it)."""
    compared: Counter[str] = field(default_factory=Counter)
    """How many times each field (and each kind of item) was compared."""
    actions: int = 0
    """Actions in the catalog (of any source)."""
    one_sided_actions: int = 0
    """Actions of the services only one source has (each an existence disagreement)."""

    def summary(self) -> dict[str, Any]:
        """The counts a gate reads: actions in disagreement on existence (an action one
        source has and another lacks, its whole service included) and on access level
        (on the set where both carry one, else on the level printed)."""
        by_field = Counter(e["field"] for e in self.disagreements)
        existence = {
            (e["service"], e["item"].lower()) for e in self.disagreements if e["field"] == "action"
        }
        access = {
            (e["service"], e["item"].lower())
            for e in self.disagreements
            if e["field"] in ("action.access_level", "action.access_levels")
        }
        return {
            "actions": self.actions,
            "actions_disagreeing": {
                "existence": len(existence) + self.one_sided_actions,
                "access_level": len(access),
            },
            "by_field": dict(sorted(by_field.items())),
            "disagreements": len(self.disagreements),
        }

    def to_dict(self) -> dict[str, Any]:
        """``crosscheck.json``."""
        return {
            "crosscheck_version": CROSSCHECK_VERSION,
            "sources": self.sources,
            "summary": self.summary(),
            "compared": dict(sorted(self.compared.items())),
            "disagreements": self.disagreements,
            "not_compared": self.not_compared,
        }


def _source_info(c: Catalog) -> dict[str, Any]:
    return {"pages": c.source.pages, "formats": dict(c.source.formats)}


def _not_carried_by(service: Service, name: str) -> str:
    """How a source's pages of a service declare ``name`` not carried (``service-reference
    v1.1``)."""
    layouts = sorted(
        {f"{p.format} {p.layout}" for p in service.pages if name in p.not_carried}
        or {f"{p.format} {p.layout}" for p in service.pages}
    )
    return ", ".join(layouts)


def crosscheck(catalogs: Mapping[str, Catalog]) -> CrossCheck:
    """Compare the catalogs several sources made (source -> its catalog) on every item and
    every field two or more of them carry."""
    names = [s for s in SOURCES if s in catalogs]
    report = CrossCheck({s: _source_info(catalogs[s]) for s in names})
    out = report.disagreements
    missing: dict[tuple[str, str], set[str]] = {}
    services = {s: {x.prefix: x for x in catalogs[s].services} for s in names}
    action_names: set[tuple[str, str]] = set()

    def compare(service: str, fld: str, item: str, values: dict[str, Value]) -> None:
        report.compared[fld] += 1
        if len({repr(v) for v in values.values()}) > 1:
            out.append({"service": service, "field": fld, "item": item, **values})

    for prefix in sorted({p for found in services.values() for p in found}):
        held = {s: services[s][prefix] for s in names if prefix in services[s]}
        for svc in held.values():
            action_names.update((prefix, a.name.lower()) for a in svc.actions)
        if len(held) < len(names):
            out.append(
                {
                    "service": prefix,
                    "field": "service",
                    "item": "",
                    **{s: "present" if s in held else "absent" for s in names},
                }
            )
            if len(held) == 1:
                report.one_sided_actions += len(next(iter(held.values())).actions)
                continue
        report.compared["service"] += 1
        for kind, attr in KINDS:
            # A source whose pages list no such items (a markdown actions table replaced by
            # a link) says nothing about them.
            listing = {s: svc for s, svc in held.items() if svc.carries(attr)}
            if listing and len(listing) < len(held):
                lacking = {s for s in held if s not in listing}
                missing.setdefault((prefix, kind), set()).update(lacking)
            per = {s: _by_name(getattr(svc, attr)) for s, svc in listing.items()}
            for key in sorted({k for found in per.values() for k in found}):
                holders = {s: per[s][key] for s in listing if key in per[s]}
                item = holders[next(iter(holders))].name
                if len(holders) < len(listing):
                    out.append(
                        {
                            "service": prefix,
                            "field": kind,
                            "item": item,
                            **{s: "present" if s in holders else "absent" for s in listing},
                        }
                    )
                if len(holders) < 2:
                    continue
                report.compared[kind] += 1
                for fld, (carried_as, value) in _FIELDS[kind].items():
                    carriers = _carriers(holders, carried_as, held, fld, prefix, missing)
                    if len(carriers) >= 2:
                        compare(prefix, fld, item, {s: value(carriers[s]) for s in carriers})
                if kind == "action":
                    _compare_rows(prefix, item, holders, held, compare, missing)
    report.actions = len(action_names)
    reasons: dict[tuple[str, str], list[str]] = {}
    for (prefix, fld), lacking in missing.items():
        held_by = {s: services[s][prefix] for s in lacking}
        reason = "not carried by " + "; ".join(
            f"{s} ({_not_carried_by(svc, _CARRIED_AS[fld])})" for s, svc in sorted(held_by.items())
        )
        reasons.setdefault((fld, reason), []).append(prefix)
    report.not_compared = [
        {"field": fld, "reason": reason, "services": sorted(prefixes)}
        for (fld, reason), prefixes in sorted(reasons.items())
    ]
    out.sort(key=lambda e: (e["service"], e["field"], e["item"]))
    return report


# Field -> the qualified name a page declares it not carried by.
_CARRIED_AS = {
    **{
        fld: f"{fld.partition('.')[0]}.{carried_as}"
        for table in (*_FIELDS.values(), ROW_FIELDS)
        for fld, (carried_as, _) in table.items()
    },
    # The items themselves, as a service carries them.
    **{kind: f"service.{attr}" for kind, attr in KINDS},
}


def _carriers(
    holders: Mapping[str, Any],
    carried_as: str,
    held: Mapping[str, Service],
    fld: str,
    prefix: str,
    missing: dict[tuple[str, str], set[str]],
) -> dict[str, Any]:
    """The holders that carry the field; those that do not are noted when another does."""
    if not carried_as:
        return dict(holders)
    carriers = {s: i for s, i in holders.items() if i.carries(carried_as)}
    if carriers and len(carriers) < len(holders):
        missing.setdefault((prefix, fld), set()).update(s for s in holders if s not in carriers)
    return carriers


def _compare_rows(
    prefix: str,
    item: str,
    holders: Mapping[str, Action],
    held: Mapping[str, Service],
    compare: Callable[[str, str, str, dict[str, Value]], None],
    missing: dict[tuple[str, str], set[str]],
) -> None:
    """The rows naming a resource type every source of the action lists."""
    with_rows = {s: a for s, a in holders.items() if a.carries("resource_types")}
    if len(with_rows) < 2:
        return
    shared = set.intersection(*({r.name for r in a.resource_types} for a in with_rows.values()))
    for fld, (carried_as, value) in ROW_FIELDS.items():
        carriers = _carriers(with_rows, carried_as, held, fld, prefix, missing)
        if len(carriers) < 2:
            continue
        for resource in sorted(shared):
            compare(
                prefix,
                fld,
                f"{item}/{resource}",
                {s: _rows(a, resource, value) for s, a in carriers.items()},
            )
