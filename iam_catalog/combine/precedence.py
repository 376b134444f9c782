"""Which source gives which field, as data.

A *source* is one of the three renderings of the Service Authorization Reference that
``iam-catalog fetch --formats html,md,json`` saves (:data:`SOURCE_OF_FORMAT` says which
source each page format belongs to). In a build from several of them, every field of every
item is taken from the first source of :data:`PRECEDENCE` that holds the item and carries
the field (``item.carries``, see :mod:`iam_catalog.parsers.carried`).

Fields that change together are taken together, as one *group*: an action's
``access_level`` is the most specific of its ``access_levels``, so both come from one
source; an action's resource-type rows come with their ``required`` flags, keys and
dependent actions (a row of one source and a flag of another could name different rows).
"""

from __future__ import annotations

from dataclasses import fields

from iam_catalog.parsers import carried
from iam_catalog.parsers.model import Action, ConditionKey, ResourceType

SOURCES = ("html", "md", "json")
"""The sources, in the order reports list them."""

SOURCE_OF_FORMAT: dict[str, str] = {
    "html": "html",
    # Text extracted from an HTML page is the HTML page's.
    "flat-text": "html",
    "pipe-text": "html",
    "markdown-list": "md",
    "markdown-table": "md",
    "service-reference": "json",
}
"""Page format -> the source it belongs to."""

# The pages (HTML first: the SAR pages themselves, then their .md rendering) say what the
# documentation says: descriptions, required flags, permission-only marks, API links,
# dependent actions, names as printed. Where AWS's JSON carries the same field, the page's
# value is still taken, and the cross-check lists every place they disagree.
_PAGES_FIRST = ("html", "md", "json")
# AWS's JSON carries two things the HTML before July 2026 does not: an action's access
# levels as a set (the page prints one, the most specific) and the API operations that
# need the action (with their SDK methods and the actions they authorise in other
# services). Where the JSON does not carry them (access levels before its version 1.2,
# operations before 1.4) the pages' value is taken: the .md rendering first, which carries
# the set and the operations since July 2026 (an HTML page before then prints one level).
_JSON_FIRST = ("json", "md", "html")

GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "action": {
        "name": ("name",),
        "description": ("description",),
        "access_levels": ("access_level", "access_levels"),
        "permission_only": ("permission_only",),
        "api_reference": ("api_reference",),
        "resource_types": ("resource_types",),
        "condition_keys": ("condition_keys",),
        "dependent_actions": ("dependent_actions",),
        "operations": ("operations",),
        "supported_by": ("supported_by",),
    },
    "resource_type": {
        "name": ("name",),
        "arn_formats": ("arn_formats",),
        "condition_keys": ("condition_keys",),
    },
    "condition_key": {
        "name": ("name",),
        "description": ("description",),
        "types": ("types",),
    },
}
"""Item type -> group -> the model fields taken together from one source."""

PRECEDENCE: dict[str, tuple[str, ...]] = {
    "service.name": _PAGES_FIRST,
    "service.operations": _JSON_FIRST,
    "action.name": _PAGES_FIRST,
    "action.description": _PAGES_FIRST,
    "action.access_levels": _JSON_FIRST,
    "action.permission_only": _PAGES_FIRST,
    "action.api_reference": _PAGES_FIRST,
    "action.resource_types": _PAGES_FIRST,
    "action.condition_keys": _PAGES_FIRST,
    "action.dependent_actions": _PAGES_FIRST,
    "action.operations": _JSON_FIRST,
    "action.supported_by": _JSON_FIRST,
    "resource_type.name": _PAGES_FIRST,
    "resource_type.arn_formats": _PAGES_FIRST,
    "resource_type.condition_keys": _PAGES_FIRST,
    "condition_key.name": _PAGES_FIRST,
    "condition_key.description": _PAGES_FIRST,
    "condition_key.types": _PAGES_FIRST,
}
"""Qualified group (``action.access_levels``) -> the sources in the order its value is
taken from."""

_ROW_NOT_CARRIED = tuple(f"resource_types.{f}" for f in carried.ROW_FIELDS)


def not_carried_names(item_type: str, group: str) -> tuple[str, ...]:
    """The names of ``item.not_carried`` that belong to ``group`` (its first one says
    whether an item carries the group at all: the HTML before July 2026 carries
    ``access_level`` but not the set)."""
    names = GROUPS[item_type][group]
    if group == "resource_types":
        return (*names, *_ROW_NOT_CARRIED)
    return tuple(n for n in names if n in carried.FIELDS[item_type])


# Provenance and bookkeeping, never taken from a source as a value.
_NOT_VALUES = frozenset({"page", "line", "not_carried", "sources"})
_MODEL = {"action": Action, "resource_type": ResourceType, "condition_key": ConditionKey}


def uncovered() -> list[str]:
    """What the table leaves out (empty when it is whole): a field of the model in no group,
    a field in two, a group without a precedence, a ``not_carried`` name in no group, a
    source a precedence does not name. The tests hold it empty, so a field added to the
    model must be given its sources here."""
    problems = []
    for item_type, cls in _MODEL.items():
        model_fields = [f.name for f in fields(cls) if f.name not in _NOT_VALUES]
        grouped = [f for names in GROUPS[item_type].values() for f in names]
        problems += [f"{item_type}.{f}: in no group" for f in model_fields if f not in grouped]
        problems += [
            f"{item_type}.{f}: in {grouped.count(f)} groups"
            for f in set(grouped)
            if grouped.count(f) > 1
        ]
        declared = {n for g in GROUPS[item_type] for n in not_carried_names(item_type, g)}
        problems += [
            f"{item_type}.{n}: not carried in no group"
            for n in carried.FIELDS[item_type]
            if n not in declared
        ]
        problems += [
            f"{item_type}.{g}: no precedence"
            for g in GROUPS[item_type]
            if f"{item_type}.{g}" not in PRECEDENCE
        ]
    problems += [
        f"{name}: sources {order}"
        for name, order in PRECEDENCE.items()
        if sorted(order) != sorted(SOURCES)
    ]
    return sorted(problems)
