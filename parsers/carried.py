"""What each source format carries: the fields a page of a format and layout has no
place for, so that the catalog records *not carried* instead of inventing a value.

Field names are qualified by the item they belong to: ``service.name``,
``action.description``, ``action.resource_types.required`` (a field of every
resource-type row of the action), ``resource_type.arn_formats``,
``condition_key.description``. :func:`declared` is the table every parser starts
from (a parser may add what a particular page lost); :class:`PageRef.not_carried
<parsers.model.PageRef>` holds a page's declaration, and every item built from the page
answers ``item.carries(field)`` with the unqualified name (``action.carries(
"dependent_actions")``, ``action.carries("resource_types.required")``).

What the layouts say (and do not say):

- ``html`` before July 2026 (``userguide-2020``, ``sar-2020``, ``sar-2023``, dated
  templates) and the text extractions of those pages (``flat-text``, ``pipe-text``):
  one access level per action, the most specific one (a projection of the set AWS's
  JSON and the July 2026 layout carry), so ``access_levels`` is not carried; no API
  operations. The text extractions lose the links (``api_reference``).
- ``html`` ``sar-2026-07`` and ``markdown-list`` (the July 2026 layout): no dependent
  actions, on the action or on its rows; no SDK methods of its operations.
- ``markdown-table`` (2018–2020): as the HTML of its time; its 2017 layout
  (``userguide-md-2017``) lists names only (with an action's API link and permission-only
  mark). A page whose actions table is a placeholder link carries no actions
  (``service.actions``).
- ``service-reference`` (AWS's JSON): no service name, descriptions, required flags,
  permission-only marks, API links or dependent actions; access levels from version
  1.2 on, ``SupportedBy`` (``action.supported_by``) from 1.3, operations from version
  1.4 on.

API operations (``service.operations``: each operation with every action it authorises,
other services' too, with the condition-key values it sets) come from AWS's JSON 1.4 and
the July 2026 layout's "API operations" section; only the JSON has their SDK methods
(``operation.sdk``). ``action.operations`` names, on each action of the service, the
operations that authorise it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SERVICE_FIELDS = ("name", "actions", "operations")
"""Fields of a service that a source may not carry (``actions``: the source lists none;
``operations``: its API operations with every action they need)."""
ROW_FIELDS = ("required", "condition_keys", "dependent_actions")
"""Fields of an action's resource-type row."""
ACTION_FIELDS = (
    "description",
    "access_level",
    "access_levels",
    "permission_only",
    "api_reference",
    "resource_types",
    *(f"resource_types.{f}" for f in ROW_FIELDS),
    "condition_keys",
    "dependent_actions",
    "operations",
    "supported_by",
)
"""Fields of an action that a source may not carry."""
RESOURCE_TYPE_FIELDS = ("arn_formats", "condition_keys")
"""Fields of a resource type that a source may not carry."""
CONDITION_KEY_FIELDS = ("description", "types")
"""Fields of a condition key that a source may not carry."""
OPERATION_FIELDS = ("sdk",)
"""Fields of an API operation that a source may not carry."""

FIELDS: dict[str, tuple[str, ...]] = {
    "service": SERVICE_FIELDS,
    "action": ACTION_FIELDS,
    "resource_type": RESOURCE_TYPE_FIELDS,
    "condition_key": CONDITION_KEY_FIELDS,
    "operation": OPERATION_FIELDS,
}
"""Item type -> the fields it may not carry (the vocabulary of every ``not_carried``)."""

QUALIFIED = frozenset(f"{item}.{f}" for item, names in FIELDS.items() for f in names)
"""Every qualified field name a page may declare not carried."""

# Only AWS's JSON has SupportedBy and the SDK methods of an operation.
_JSON_ONLY = frozenset({"action.supported_by", "operation.sdk"})
_JULY_2026 = frozenset(
    {"action.dependent_actions", "action.resource_types.dependent_actions"} | _JSON_ONLY
)
# The pages before July 2026: one access level, no API operations (and so no operation's
# fields either: "operation.sdk" is not declared where the service has no operations).
_SINGLE_LEVEL = frozenset(
    {"action.access_levels", "action.operations", "service.operations", "action.supported_by"}
)
_TEXT_EXTRACT = _SINGLE_LEVEL | {"action.api_reference"}
_NAMES_ONLY = frozenset(
    {
        "action.description",
        "action.access_level",
        "action.access_levels",
        "action.resource_types",
        "action.dependent_actions",
        "action.operations",
        "resource_type.arn_formats",
        "resource_type.condition_keys",
        "condition_key.description",
        "condition_key.types",
        "service.operations",
        "action.supported_by",
    }
)
_JSON = frozenset(
    {
        "service.name",
        "action.description",
        "action.permission_only",
        "action.api_reference",
        "action.dependent_actions",
        "action.resource_types.required",
        "action.resource_types.dependent_actions",
        "condition_key.description",
    }
)
_JSON_VERSION = re.compile(r"v?(\d+)\.(\d+)")
# AWS's JSON versions that added a field (corpus README): access-level flags in 1.2,
# SupportedBy in 1.3, operations in 1.4.
_JSON_ACCESS_LEVELS = (1, 2)
_JSON_SUPPORTED_BY = (1, 3)
_JSON_OPERATIONS = (1, 4)


def declared(format: str, layout: str) -> frozenset[str]:
    """The qualified fields a page of ``format`` in ``layout`` does not carry."""
    if format == "service-reference":
        m = _JSON_VERSION.match(layout)
        version = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        out = set(_JSON)
        if version < _JSON_ACCESS_LEVELS:
            out |= {"action.access_level", "action.access_levels"}
        if version < _JSON_SUPPORTED_BY:
            out.add("action.supported_by")
        if version < _JSON_OPERATIONS:
            out |= {"action.operations", "service.operations"}
        return frozenset(out)
    if format == "markdown-list" or (format == "html" and layout.startswith("sar-2026-07")):
        return _JULY_2026
    if format == "markdown-table" and layout == "userguide-md-2017":
        return _NAMES_ONLY
    if format in ("flat-text", "pipe-text"):
        return _TEXT_EXTRACT
    return _SINGLE_LEVEL


def for_item(not_carried: Iterable[str], item: str) -> frozenset[str]:
    """The unqualified names of ``item``'s fields among the qualified ``not_carried``."""
    head = item + "."
    return frozenset(f[len(head) :] for f in not_carried if f.startswith(head))


def check(not_carried: Iterable[str]) -> tuple[str, ...]:
    """The names, sorted, after checking each is a known qualified field."""
    names = sorted(set(not_carried))
    unknown = [n for n in names if n not in QUALIFIED]
    if unknown:
        raise ValueError(f"unknown field(s) declared not carried: {', '.join(unknown)}")
    return tuple(names)


def declare(format: str, layout: str, *more: str) -> tuple[str, ...]:
    """A page's ``PageRef.not_carried``: what its format and layout do not carry
    (:func:`declared`), plus ``more`` that this page lost, sorted."""
    return check(declared(format, layout) | set(more))
