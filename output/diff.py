"""The diff engine: what changed between two catalogs, field by field (pure, no I/O).

``diff(old, new)`` matches services by prefix and actions, resource types and
condition keys by name, all case-insensitively (IAM itself ignores case in
action names, resource-type names and condition-key names). A name whose
casing alone changed is a change of field ``name``, never a removal plus an
addition. Which page a service came from does not matter, so renamed or
split pages produce no change.

How values compare:

- Strings (description, access level, API reference) compare exactly.
- Key-like lists (``condition_keys``, ``dependent_actions``, ``operations``,
  ``access_levels``, a key's ``types``) compare as case-insensitive *sets*:
  IAM evaluates them as sets, and the same page renders them in different
  orders across releases and formats (the service-reference JSON sorts them,
  HTML keeps page order), so a reordering would flood the report with no-ops.
- ``arn_formats`` compare as sets of exact strings: order means nothing, but
  the resource part of an ARN is case-sensitive.
- An action's resource-type rows are matched by resource-type name; a name the
  page lists on two rows is told apart by its ordinal (``object#2``).
- ``access_levels`` is reported only where it says more than ``access_level``
  (a list of several levels on either side); otherwise it would repeat every
  ``access_level`` change.

Beyond the kinds DESIGN.md lists, ``service_changed`` carries a service's
``name`` (or a case-only change of its ``prefix``) and its API operations
(``operations[Name]`` added or removed, ``operations[Name].authorized_actions``,
``.context``, ``.sdk``; compared only where both sides carry them) and is counted as
``services_changed`` in the summary.

A changed entry carries the whole old and new value (lists in catalog order);
readers work out what was added or removed from the two.

Severity (the most severe rule that applies wins):

- ``breaking``: a service, action, resource type or condition key removed; a
  resource-type row removed from an action; a row becoming required or a new
  required row; an ARN format changed or removed (new formats beside the old
  ones, and placeholders merely renamed, ``${Resource_id}`` to ``${ResourceId}``,
  are ``info``: they match the same ARNs); a condition key no longer available
  to an action at all (a key that only moved between the action's rows is
  ``info``). Exception: actions missing from a service whose new source says it
  does not carry its actions (a diagnostic in :data:`SOURCE_GAP_CODES`) are
  ``info`` removals, as the catalog cannot tell a removal from a gap.
- ``security``: an access level changed to or from ``Permissions management``
  or ``Write``; a dependent action the action did not have before; an API operation
  that newly authorises ``iam:PassRole`` (a new operation, or one gaining it); a new
  action with ``Permissions management`` access, or one that can pass roles
  (``iam:PassRole`` among its dependent actions, or authorised with it by one of its
  service's operations), unless the old source did not carry that service's actions.
- ``info``: everything else.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from iam_catalog.parsers.model import (
    AccessLevel,
    Action,
    Catalog,
    CatalogSource,
    ConditionKey,
    Operation,
    ResourceType,
    ResourceTypeRow,
    Service,
)

DIFF_SCHEMA_VERSION = 1


class ChangeKind(StrEnum):
    """What happened to which kind of item; the values are the JSON ``kind``."""

    SERVICE_ADDED = "service_added"
    SERVICE_REMOVED = "service_removed"
    SERVICE_CHANGED = "service_changed"
    ACTION_ADDED = "action_added"
    ACTION_REMOVED = "action_removed"
    ACTION_CHANGED = "action_changed"
    RESOURCE_TYPE_ADDED = "resource_type_added"
    RESOURCE_TYPE_REMOVED = "resource_type_removed"
    RESOURCE_TYPE_CHANGED = "resource_type_changed"
    CONDITION_KEY_ADDED = "condition_key_added"
    CONDITION_KEY_REMOVED = "condition_key_removed"
    CONDITION_KEY_CHANGED = "condition_key_changed"

    @property
    def item_type(self) -> str:
        """``service``, ``action``, ``resource_type`` or ``condition_key``."""
        return _KIND_PARTS[self][0]

    @property
    def verb(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        return _KIND_PARTS[self][1]


# Looked up, not split, on every call: the diff of two full catalogs asks ~10^5 times.
_KIND_PARTS: dict[ChangeKind, tuple[str, str]] = {
    kind: (kind.value.rsplit("_", 1)[0], kind.value.rsplit("_", 1)[1]) for kind in ChangeKind
}
# Declaration order is the order of kinds within a service.
_KIND_RANK = {kind: rank for rank, kind in enumerate(ChangeKind)}


class ChangeSeverity(StrEnum):
    """How much a change can matter to existing policies."""

    BREAKING = "breaking"
    """Existing policies may stop granting or matching."""
    SECURITY = "security"
    """What a policy grants may widen, or its risk class changed."""
    INFO = "info"
    """Nothing an existing policy depends on."""

    @property
    def rank(self) -> int:
        """0 for the most severe."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {s: rank for rank, s in enumerate(ChangeSeverity)}

# Access levels whose arrival or departure on an action is security-relevant.
_SENSITIVE_LEVELS = frozenset({AccessLevel.PERMISSIONS_MANAGEMENT, AccessLevel.WRITE})

Value = str | bool | tuple[str, ...] | ResourceTypeRow | None
"""An old or new value: a string, flag, list of strings, a whole resource-type row, or absent."""


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a diff."""

    kind: ChangeKind
    """What happened to which kind of item."""
    service: str
    """Service prefix (the new catalog's casing where both have it)."""
    severity: ChangeSeverity
    """breaking, security or info."""
    item: str | None = None
    """Action, resource-type or condition-key name; None for service entries."""
    field: str | None = None
    """The changed field (``*_changed`` only), e.g. ``resource_types[object].required``."""
    old: Value = None
    """Old value of ``field``; None when the field did not exist."""
    new: Value = None
    """New value of ``field``; None when the field no longer exists."""
    subject: Action | ResourceType | ConditionKey | None = dataclasses.field(
        default=None, compare=False
    )
    """The item itself (the new one, else the old), for reports: an added action's access
    levels and description, links to its page and API reference. Not in the JSON."""
    passes_roles: str | None = dataclasses.field(default=None, compare=False)
    """For an added action that can pass roles, how (:func:`pass_role_routes`), for
    reports. Not in the JSON."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (DESIGN.md, "Diff")."""
        out: dict[str, Any] = {
            "kind": self.kind.value,
            "service": self.service,
            "severity": self.severity.value,
        }
        if self.kind.item_type != "service":
            out[self.kind.item_type] = self.item
        if self.kind.verb == "changed":
            out["field"] = self.field
            out["old"] = value_to_json(self.old)
            out["new"] = value_to_json(self.new)
        return out


def value_to_json(value: Value) -> Any:
    """A change value as JSON data (a row becomes an object)."""
    if isinstance(value, ResourceTypeRow):
        return {
            "name": value.name,
            "required": value.required,
            "condition_keys": list(value.condition_keys),
            "dependent_actions": list(value.dependent_actions),
        }
    if isinstance(value, tuple):
        return list(value)
    return value


SUMMARY_KEYS: tuple[str, ...] = tuple(
    f"{item}s_{verb}"
    for item in ("service", "action", "resource_type", "condition_key")
    for verb in ("added", "removed", "changed")
)
"""Keys of ``summary``, in display order (``services_added`` … ``condition_keys_changed``)."""


_SUMMARY_KEY = {kind: f"{kind.item_type}s_{kind.verb}" for kind in ChangeKind}


def _summary_key(kind: ChangeKind) -> str:
    return _SUMMARY_KEY[kind]


@dataclass(frozen=True, slots=True)
class DiffSummary:
    """Counts per kind: entries for added and removed, distinct items for changed."""

    counts: tuple[tuple[str, int], ...]
    """``(key, count)`` for every key of :data:`SUMMARY_KEYS`, in that order."""
    by_severity: tuple[tuple[ChangeSeverity, int], ...]
    """Entries per severity, most severe first (not part of the JSON summary)."""

    def __getitem__(self, key: str) -> int:
        return dict(self.counts)[key]

    def severity_count(self, severity: ChangeSeverity) -> int:
        """Entries of one severity."""
        return dict(self.by_severity)[severity]

    def to_dict(self) -> dict[str, int]:
        """The JSON ``summary``."""
        return dict(self.counts)


@dataclass(frozen=True, slots=True)
class NotCompared:
    """A field of one service that the diff did not compare, because one side (or both)
    does not carry it: no change is reported for it, whatever the values."""

    service: str
    """Service prefix."""
    field: str
    """Qualified field, e.g. ``action.dependent_actions``, ``service.name``."""
    old: tuple[str, ...]
    """``"format layout"`` of the old side's sources that do not carry it (empty: the old
    side carries it)."""
    new: tuple[str, ...]
    """The same for the new side."""

    @property
    def reason(self) -> str:
        """``"not carried by the new side (markdown-list sar-2026-07-list)"``."""
        if self.old and self.new:
            return (
                f"not carried by either side (old: {', '.join(self.old)}; "
                f"new: {', '.join(self.new)})"
            )
        side, sources = ("old", self.old) if self.old else ("new", self.new)
        return f"not carried by the {side} side ({', '.join(sources)})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``not_compared`` entries)."""
        return {
            "service": self.service,
            "field": self.field,
            "old": list(self.old),
            "new": list(self.new),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class CatalogDiff:
    """Every change from one catalog to another, in a deterministic order."""

    old_id: str
    """``source.id`` of the old catalog."""
    new_id: str
    """``source.id`` of the new catalog."""
    changes: tuple[Change, ...]
    """Sorted by service, kind, item (case-insensitive), then field order."""
    summary: DiffSummary
    """Counts per kind and per severity."""
    service_names: tuple[tuple[str, str], ...] = ()
    """``(prefix, name)`` of every service with a change (new name, else old), for
    reports; not part of the JSON contract."""

    source_gaps: tuple[tuple[str, str], ...] = ()
    """``(prefix, "old" | "new")`` for every service with actions added (removed) that
    the old (new) source lists no actions for (see :data:`SOURCE_GAP_CODES`): those
    additions (removals) reflect the source, not AWS. For reports; not in the JSON."""

    old_label: str = ""
    """What the old catalog was built from (``source_label``), for reports; not in the JSON."""
    new_label: str = ""
    """What the new catalog was built from, for reports; not in the JSON."""
    not_compared: tuple[NotCompared, ...] = ()
    """Every field of a service in both catalogs that one side does not carry, so it was
    not compared (by service, then field); in the JSON as ``not_compared``."""

    def not_compared_by_service(self) -> dict[str, list[NotCompared]]:
        """:attr:`not_compared` grouped by service prefix, in order."""
        out: dict[str, list[NotCompared]] = {}
        for n in self.not_compared:
            out.setdefault(n.service, []).append(n)
        return out

    old_source: CatalogSource | None = None
    """The old catalog's ``source`` (kind, id, pages, note), for reports; not in the JSON."""
    new_source: CatalogSource | None = None
    """The new catalog's ``source``, for reports; not in the JSON."""
    pages: tuple[tuple[str, str, str], ...] = ()
    """``(prefix, "old" | "new", page)`` of every changed service's first page with an
    address: ``page`` is ``<url>`` or ``<url>#<anchor base>`` (the page id, whose anchors
    are ``<base>-<name>``). For links in reports; not in the JSON."""

    def page_link(self, prefix: str, side: str) -> tuple[str, str] | None:
        """(url, anchor base or "") of ``prefix``'s page on ``side`` (else the other side)."""
        found = {s: page for p, s, page in self.pages if p == prefix}
        page = found.get(side) or found.get("new" if side == "old" else "old")
        if page is None:
            return None
        url, _, base = page.partition("#")
        return url, base

    def not_compared_by_reason(
        self, *, one_side: bool = False
    ) -> list[tuple[str, str, tuple[str, ...]]]:
        """``(field, reason, service prefixes)`` for every field and reason of
        :attr:`not_compared`, by field then reason: the report's summary of what was not
        compared (most services share their reasons). ``one_side``: only the fields one
        side carries and the other does not (where a diff of two formats would otherwise
        report the difference of the formats)."""
        groups: dict[tuple[str, str], list[str]] = {}
        for n in self.not_compared:
            if one_side and n.old and n.new:
                continue
            groups.setdefault((n.field, n.reason), []).append(n.service)
        return [(f, r, tuple(s)) for (f, r), s in sorted(groups.items())]

    def service_name(self, prefix: str) -> str:
        """The name of a changed service ('' if unknown)."""
        return dict(self.service_names).get(prefix, "")

    @property
    def is_empty(self) -> bool:
        """True when the two catalogs say the same thing."""
        return not self.changes

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (DESIGN.md, "Diff")."""
        return {
            "schema_version": DIFF_SCHEMA_VERSION,
            "old": {"id": self.old_id},
            "new": {"id": self.new_id},
            "summary": self.summary.to_dict(),
            "changes": [c.to_dict() for c in self.changes],
            "not_compared": [n.to_dict() for n in self.not_compared],
        }


# --------------------------------------------------------------------------- helpers

_Named = TypeVar("_Named", Service, Action, ResourceType, ConditionKey)
_Carrier = TypeVar("_Carrier", Action, ResourceType, ConditionKey)


def _index(items: Iterable[_Named], name: Callable[[_Named], str]) -> dict[str, _Named]:
    """Items by lower-cased name; the first wins (merge already keeps names unique)."""
    out: dict[str, _Named] = {}
    for item in items:
        out.setdefault(name(item).lower(), item)
    return out


def _fold(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.lower() for v in values)


def _lost(old: Iterable[str], new: Iterable[str]) -> frozenset[str]:
    """Values of ``old`` not in ``new``, case-insensitively (lower-cased)."""
    return _fold(old) - _fold(new)


def _row_keys(rows: Sequence[ResourceTypeRow]) -> dict[str, ResourceTypeRow]:
    """Rows by lower-cased name, a repeated name numbered ``name#2``, ``name#3``…"""
    out: dict[str, ResourceTypeRow] = {}
    seen: dict[str, int] = {}
    for row in rows:
        base = row.name.lower()
        seen[base] = seen.get(base, 0) + 1
        out[base if seen[base] == 1 else f"{base}#{seen[base]}"] = row
    return out


def _row_label(key: str, row: ResourceTypeRow) -> str:
    """The row's name in a field path: page casing, plus the ordinal if repeated."""
    _, hash_, ordinal = key.partition("#")
    return f"{row.name}#{ordinal}" if hash_ else row.name


def _action_keys(a: Action) -> frozenset[str]:
    """Every condition key the action accepts, on any of its rows (lower-cased). Severity
    depends on the action alone (history diffs one item at a time): a key that moved to a
    resource type's own keys counts as gone."""
    keys = set(_fold(a.condition_keys))
    for row in a.resource_types:
        keys |= _fold(row.condition_keys)
    return frozenset(keys)


def _action_dependents(a: Action) -> frozenset[str]:
    deps = set(_fold(a.dependent_actions))
    for row in a.resource_types:
        deps |= _fold(row.dependent_actions)
    return frozenset(deps)


_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


def arn_shape(arn: str) -> str:
    """An ARN format with its placeholders blanked: ``${Resource_id}`` and
    ``${ResourceId}`` match the same ARNs, so renaming one breaks no policy."""
    return _PLACEHOLDER.sub("${}", arn)


def _level_values(levels: Iterable[AccessLevel]) -> tuple[str, ...]:
    return tuple(level.value for level in levels)


PASS_ROLE = "iam:passrole"
"""A dependent action by which an action can hand a role to a service (lower-cased)."""


def _authorises(o: Operation, service: str, action: str) -> bool:
    return any(
        a.service.lower() == service and a.action.lower() == action for a in o.authorized_actions
    )


def pass_role_routes(service: Service) -> dict[str, str]:
    """Lower-cased name of each action of ``service`` that can pass roles by an operation
    -> ``"iam:PassRole (with operation X)"``: operation X authorises ``iam:PassRole`` and
    the action, which is X's own (of the same name; else every action of the service X
    authorises). AWS's JSON and the July 2026 layout, which have no dependent actions, say
    it so: the HTML lists ``iam:PassRole`` as a dependent action of ``CreateJob``, not of
    ``TagResource``, which operation ``CreateJob`` also authorises."""
    prefix = service.prefix.lower()
    routes: dict[str, str] = {}
    for o in service.operations:
        if not _authorises(o, "iam", "passrole"):
            continue
        own = [a.action.lower() for a in o.authorized_actions if a.service.lower() == prefix]
        named = [a for a in own if a == o.name.lower()]
        for a in named or own:
            routes.setdefault(a, f"iam:PassRole (with operation {o.name})")
    return routes


def pass_role_route(action: Action, routes: dict[str, str] | None = None) -> str | None:
    """How ``action`` can pass roles: ``iam:PassRole`` among its dependent actions (as the
    page writes it), else authorised with it by one of its service's operations
    (``routes``, :func:`pass_role_routes`); None when it cannot."""
    for d in (
        *action.dependent_actions,
        *(d for r in action.resource_types for d in r.dependent_actions),
    ):
        if d.lower() == PASS_ROLE:
            return d
    return (routes or {}).get(action.name.lower())


def _added_severity(
    item: Service | Action | ResourceType | ConditionKey, passes_roles: str | None = None
) -> ChangeSeverity:
    """A new action with Permissions management access, or one that can pass roles
    (``passes_roles``: ``iam:PassRole`` among its dependent actions, or authorised with it
    by an operation), is ``security``; other additions are ``info``."""
    if not isinstance(item, Action):
        return ChangeSeverity.INFO
    if AccessLevel.PERMISSIONS_MANAGEMENT in (item.access_level, *item.access_levels):
        return ChangeSeverity.SECURITY
    if passes_roles is not None or PASS_ROLE in _action_dependents(item):
        return ChangeSeverity.SECURITY
    return ChangeSeverity.INFO


def _authorised(o: Operation) -> tuple[str, ...]:
    """An operation's authorised actions as ``service:Action``, in source order."""
    return tuple(a.qualified for a in o.authorized_actions)


def _contexts(o: Operation) -> tuple[str, ...]:
    """``iam:PassRole[iam:PassedToService=a|b]`` for each condition key an operation sets
    for an action it authorises (values sorted: a set), as the CSV writes it."""
    return tuple(
        f"{a.qualified}[{key}={'|'.join(sorted(values))}]"
        for a in o.authorized_actions
        for key, values in a.context
    )


def _sdk(o: Operation) -> tuple[str, ...]:
    return tuple(str(m) for m in o.sdk)


def _supported_by(a: Action) -> tuple[str, ...]:
    return tuple(f"{feature}={'true' if on else 'false'}" for feature, on in a.supported_by)


# --------------------------------------------------------------------------- per kind


class _ServiceDiff:
    """Collects the changes of one service prefix."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.changes: list[Change] = []
        self.not_carried: tuple[set[tuple[str, frozenset[str]]], ...] = (set(), set())
        """(item type, ``not_carried``) of the old and of the new items compared (few
        distinct: the items of a page share their page's set)."""
        # The item whose changes are being collected, carried on each as its subject.
        self.subject: Action | ResourceType | ConditionKey | None = None

    def add(
        self,
        kind: ChangeKind,
        severity: ChangeSeverity,
        item: str | None = None,
        field: str | None = None,
        old: Value = None,
        new: Value = None,
        passes_roles: str | None = None,
    ) -> None:
        self.changes.append(
            Change(kind, self.service, severity, item, field, old, new, self.subject, passes_roles)
        )

    def name(
        self, kind: ChangeKind, item: str | None, old: str, new: str, field: str = "name"
    ) -> None:
        """A case-only rename (items are matched case-insensitively)."""
        if old != new:
            self.add(kind, ChangeSeverity.INFO, item, field, old, new)

    def keyset(
        self,
        kind: ChangeKind,
        item: str | None,
        field: str,
        old: tuple[str, ...],
        new: tuple[str, ...],
        rule: Callable[[tuple[str, ...], tuple[str, ...]], ChangeSeverity] | None = None,
    ) -> None:
        """A list field compared as a case-insensitive set; ``rule`` gives the severity."""
        if old == new or _fold(old) == _fold(new):
            return
        severity = rule(old, new) if rule is not None else ChangeSeverity.INFO
        self.add(kind, severity, item, field, old, new)

    # ----------------------------------------------------------------- actions

    @staticmethod
    def both(old: _Carrier, new: _Carrier, field: str) -> bool:
        """True when both sides carry ``field`` (a value on one side only is no change)."""
        return field not in old.not_carried and field not in new.not_carried

    def action(self, old: Action, new: Action) -> None:
        if old == new:  # most actions of two releases are alike; skip the field walk
            return
        self.subject = new
        kind, item = ChangeKind.ACTION_CHANGED, new.name
        info = ChangeSeverity.INFO
        self.name(kind, item, old.name, new.name)

        def both(field: str) -> bool:
            return self.both(old, new, field)

        if old.description != new.description and both("description"):
            self.add(kind, info, item, "description", old.description, new.description)
        if old.access_level != new.access_level and both("access_level"):
            sensitive = {old.access_level, new.access_level} & _SENSITIVE_LEVELS
            self.add(
                kind,
                ChangeSeverity.SECURITY if sensitive else info,
                item,
                "access_level",
                old.access_level.value if old.access_level else None,
                new.access_level.value if new.access_level else None,
            )
        old_levels, new_levels = set(old.access_levels), set(new.access_levels)
        implied = old_levels <= {old.access_level} and new_levels <= {new.access_level}
        if old_levels != new_levels and not implied and both("access_levels"):
            self.add(
                kind,
                ChangeSeverity.SECURITY if (old_levels ^ new_levels) & _SENSITIVE_LEVELS else info,
                item,
                "access_levels",
                _level_values(old.access_levels),
                _level_values(new.access_levels),
            )
        if old.permission_only != new.permission_only and both("permission_only"):
            self.add(kind, info, item, "permission_only", old.permission_only, new.permission_only)
        if old.api_reference != new.api_reference and both("api_reference"):
            self.add(kind, info, item, "api_reference", old.api_reference, new.api_reference)
        if both("operations"):
            self.keyset(kind, item, "operations", old.operations, new.operations)
        if old.supported_by != new.supported_by and both("supported_by"):
            self.add(kind, info, item, "supported_by", _supported_by(old), _supported_by(new))
        deps = both("dependent_actions")

        def keys_severity(before: tuple[str, ...], after: tuple[str, ...]) -> ChangeSeverity:
            gone = _lost(before, after)
            return ChangeSeverity.BREAKING if gone and gone - _action_keys(new) else info

        def deps_severity(before: tuple[str, ...], after: tuple[str, ...]) -> ChangeSeverity:
            fresh = _lost(after, before)
            return ChangeSeverity.SECURITY if fresh and fresh - _action_dependents(old) else info

        if both("condition_keys"):
            self.keyset(
                kind,
                item,
                "condition_keys",
                old.condition_keys,
                new.condition_keys,
                keys_severity,
            )
        if deps:
            self.keyset(
                kind,
                item,
                "dependent_actions",
                old.dependent_actions,
                new.dependent_actions,
                deps_severity,
            )
        if both("resource_types"):
            self.rows(old, new, keys_severity, deps_severity)

    def rows(
        self,
        old: Action,
        new: Action,
        keys_severity: Callable[[tuple[str, ...], tuple[str, ...]], ChangeSeverity],
        deps_severity: Callable[[tuple[str, ...], tuple[str, ...]], ChangeSeverity],
    ) -> None:
        """The resource-type rows of an action, matched by name; a row field is compared
        where both sides carry it."""
        kind, item, info = ChangeKind.ACTION_CHANGED, new.name, ChangeSeverity.INFO
        old_rows, new_rows = _row_keys(old.resource_types), _row_keys(new.resource_types)
        required, keys, deps = (
            old.carries(f) and new.carries(f)
            for f in (
                "resource_types.required",
                "resource_types.condition_keys",
                "resource_types.dependent_actions",
            )
        )
        for key in sorted(old_rows.keys() | new_rows.keys()):
            before, after = old_rows.get(key), new_rows.get(key)
            if before is None and after is not None:
                label = f"resource_types[{_row_label(key, after)}]"
                if after.required and required:
                    severity = ChangeSeverity.BREAKING
                elif deps:
                    severity = deps_severity((), after.dependent_actions)
                else:
                    severity = info
                self.add(kind, severity, item, label, None, after)
            elif after is None and before is not None:
                label = f"resource_types[{_row_label(key, before)}]"
                self.add(kind, ChangeSeverity.BREAKING, item, label, before, None)
            elif before is not None and after is not None:
                label = f"resource_types[{_row_label(key, after)}]"
                self.name(kind, item, before.name, after.name, f"{label}.name")
                if required and before.required != after.required:
                    self.add(
                        kind,
                        ChangeSeverity.BREAKING if after.required else info,
                        item,
                        f"{label}.required",
                        before.required,
                        after.required,
                    )
                if keys:
                    self.keyset(
                        kind,
                        item,
                        f"{label}.condition_keys",
                        before.condition_keys,
                        after.condition_keys,
                        keys_severity,
                    )
                if deps:
                    self.keyset(
                        kind,
                        item,
                        f"{label}.dependent_actions",
                        before.dependent_actions,
                        after.dependent_actions,
                        deps_severity,
                    )

    # ----------------------------------------------------------- operations

    def operations(self, old: Service, new: Service) -> None:
        """The service's API operations, matched by name, where both sides carry them:
        ``service_changed`` entries with field ``operations[Name]`` (added: old None;
        removed: new None; values the ``service:Action`` it authorises) or
        ``operations[Name].authorized_actions``, ``.context``, ``.sdk``. An operation
        that newly authorises ``iam:PassRole`` (new, or gaining it) is ``security``."""
        if not (old.carries("operations") and new.carries("operations")):
            return
        self.subject = None
        kind, info = ChangeKind.SERVICE_CHANGED, ChangeSeverity.INFO
        old_by = {o.name.lower(): o for o in old.operations}
        new_by = {o.name.lower(): o for o in new.operations}

        def gains_pass_role(before: tuple[str, ...], after: tuple[str, ...]) -> ChangeSeverity:
            return ChangeSeverity.SECURITY if PASS_ROLE in _lost(after, before) else info

        for key in sorted(new_by.keys() | old_by.keys()):
            before, after = old_by.get(key), new_by.get(key)
            if before is None and after is not None:
                added = _authorised(after)
                self.add(
                    kind, gains_pass_role((), added), None, f"operations[{after.name}]", None, added
                )
            elif after is None and before is not None:
                field = f"operations[{before.name}]"
                self.add(kind, info, None, field, _authorised(before), None)
            elif before is not None and after is not None:
                label = f"operations[{after.name}]"
                self.name(kind, None, before.name, after.name, f"{label}.name")
                self.keyset(
                    kind,
                    None,
                    f"{label}.authorized_actions",
                    _authorised(before),
                    _authorised(after),
                    gains_pass_role,
                )
                self.keyset(kind, None, f"{label}.context", _contexts(before), _contexts(after))
                if before.carries("sdk") and after.carries("sdk"):
                    self.keyset(kind, None, f"{label}.sdk", _sdk(before), _sdk(after))
                self.not_carried[0].add(("operation", before.not_carried))
                self.not_carried[1].add(("operation", after.not_carried))

    # ----------------------------------------------------------- resource types

    def resource_type(self, old: ResourceType, new: ResourceType) -> None:
        self.subject = new
        kind, item = ChangeKind.RESOURCE_TYPE_CHANGED, new.name
        self.name(kind, item, old.name, new.name)
        if set(old.arn_formats) != set(new.arn_formats) and self.both(old, new, "arn_formats"):
            gone = {arn_shape(a) for a in old.arn_formats} - {arn_shape(a) for a in new.arn_formats}
            self.add(
                kind,
                ChangeSeverity.BREAKING if gone else ChangeSeverity.INFO,
                item,
                "arn_formats",
                old.arn_formats,
                new.arn_formats,
            )
        if self.both(old, new, "condition_keys"):
            self.keyset(kind, item, "condition_keys", old.condition_keys, new.condition_keys)

    # ----------------------------------------------------------- condition keys

    def condition_key(self, old: ConditionKey, new: ConditionKey) -> None:
        self.subject = new
        kind, item = ChangeKind.CONDITION_KEY_CHANGED, new.name
        self.name(kind, item, old.name, new.name)
        if old.description != new.description and self.both(old, new, "description"):
            self.add(
                kind, ChangeSeverity.INFO, item, "description", old.description, new.description
            )
        if self.both(old, new, "types"):
            self.keyset(kind, item, "types", old.types, new.types)

    # ----------------------------------------------------------------- service

    def items(
        self,
        olds: Iterable[_Named],
        news: Iterable[_Named],
        item_type: str,
        compare: Callable[[Any, Any], None],
        removal: ChangeSeverity = ChangeSeverity.BREAKING,
        rate_additions: bool = True,
        routes: dict[str, str] | None = None,
    ) -> None:
        old_by, new_by = _index(olds, _item_name), _index(news, _item_name)
        added, removed = ChangeKind(f"{item_type}_added"), ChangeKind(f"{item_type}_removed")
        for key in sorted(new_by.keys() - old_by.keys()):
            item = new_by[key]
            self.subject = None if isinstance(item, Service) else item
            passes = pass_role_route(item, routes) if isinstance(item, Action) else None
            rated = _added_severity(item, passes) if rate_additions else ChangeSeverity.INFO
            self.add(added, rated, _item_name(item), passes_roles=passes)
        for key in sorted(old_by.keys() - new_by.keys()):
            item = old_by[key]
            self.subject = None if isinstance(item, Service) else item
            self.add(removed, removal, _item_name(item))
        olds_nc, news_nc = self.not_carried
        for key in sorted(old_by.keys() & new_by.keys()):
            before, after = old_by[key], new_by[key]
            olds_nc.add((item_type, before.not_carried))
            news_nc.add((item_type, after.not_carried))
            compare(before, after)
        self.subject = None

    def fields_not_compared(self, old: Service, new: Service) -> Iterator[NotCompared]:
        """The fields of this service that one side (or both) did not carry."""
        old_nc = {f"service.{f}" for f in old.not_carried} | _qualified(self.not_carried[0])
        new_nc = {f"service.{f}" for f in new.not_carried} | _qualified(self.not_carried[1])
        for field in sorted(old_nc | new_nc):
            yield NotCompared(
                self.service,
                field,
                _formats(old, field) if field in old_nc else (),
                _formats(new, field) if field in new_nc else (),
            )


def _qualified(found: Iterable[tuple[str, frozenset[str]]]) -> set[str]:
    return {f"{item_type}.{f}" for item_type, names in found for f in names}


def _formats(service: Service, field: str) -> tuple[str, ...]:
    """``"format layout"`` of each page of ``service`` that declares ``field`` not carried
    (a field a page carries but an item lacks is named by the page's format alone)."""
    found = [f"{p.format} {p.layout}" for p in service.pages if field in p.not_carried]
    return tuple(dict.fromkeys(found)) or tuple(dict.fromkeys(p.format for p in service.pages))


def _item_name(item: Service | Action | ResourceType | ConditionKey) -> str:
    return item.prefix if isinstance(item, Service) else item.name


def _service_changes(
    old: Service | None,
    new: Service | None,
    new_gap: bool,
    not_compared: list[NotCompared],
    old_gap: bool = False,
) -> Iterator[Change]:
    present = new if new is not None else old
    assert present is not None
    sd = _ServiceDiff(present.prefix)
    if old is None:
        sd.add(ChangeKind.SERVICE_ADDED, ChangeSeverity.INFO)
    elif new is None:
        sd.add(ChangeKind.SERVICE_REMOVED, ChangeSeverity.BREAKING)
    else:
        sd.name(ChangeKind.SERVICE_CHANGED, None, old.prefix, new.prefix, "prefix")
        if old.carries("name") and new.carries("name"):
            sd.name(ChangeKind.SERVICE_CHANGED, None, old.name, new.name)
    o: Service | None = old
    n: Service | None = new
    sd.items(
        o.actions if o else (),
        n.actions if n else (),
        "action",
        sd.action,
        ChangeSeverity.INFO if new_gap else ChangeSeverity.BREAKING,
        # actions the old source did not carry are not new: no security rating for them
        rate_additions=not old_gap,
        routes=pass_role_routes(n) if n else None,
    )
    sd.items(
        o.resource_types if o else (),
        n.resource_types if n else (),
        "resource_type",
        sd.resource_type,
    )
    sd.items(
        o.condition_keys if o else (),
        n.condition_keys if n else (),
        "condition_key",
        sd.condition_key,
    )
    if old is not None and new is not None:
        sd.operations(old, new)
        not_compared.extend(sd.fields_not_compared(old, new))
    return iter(sd.changes)


SOURCE_GAP_CODES = frozenset({"actions-not-in-source"})
"""Diagnostic codes by which a parser says a page's source does not carry its
actions (the 2018–2020 markdown replaced every multi-row actions table by a link)."""


def _gap_services(c: Catalog) -> frozenset[str]:
    """Lower-cased prefixes of services with a page whose source carries no actions."""
    pages = {d.page for d in c.diagnostics if d.code in SOURCE_GAP_CODES}
    return frozenset(s.prefix.lower() for s in c.services if any(p.page in pages for p in s.pages))


def _sort_key(c: Change) -> tuple[int, str]:
    return (_KIND_RANK[c.kind], (c.item or "").lower())


def _summarise(changes: Sequence[Change]) -> DiffSummary:
    counts = dict.fromkeys(SUMMARY_KEYS, 0)
    changed: set[tuple[ChangeKind, str, str]] = set()
    for c in changes:
        if c.kind.verb == "changed":
            changed.add((c.kind, c.service.lower(), (c.item or "").lower()))
        else:
            counts[_summary_key(c.kind)] += 1
    for kind, _, _ in changed:
        counts[_summary_key(kind)] += 1
    severities = dict.fromkeys(ChangeSeverity, 0)
    for c in changes:
        severities[c.severity] += 1
    return DiffSummary(tuple(counts.items()), tuple(severities.items()))


def diff(old: Catalog, new: Catalog) -> CatalogDiff:
    """Every change from ``old`` to ``new`` (see the module docstring for the rules)."""
    old_by = _index(old.services, _item_name)
    new_by = _index(new.services, _item_name)
    old_gaps, new_gaps = _gap_services(old), _gap_services(new)
    changes: list[Change] = []
    names: list[tuple[str, str]] = []
    gaps: list[tuple[str, str]] = []
    not_compared: list[NotCompared] = []
    pages: list[tuple[str, str, str]] = []
    for key in sorted(old_by.keys() | new_by.keys()):
        # Within a service the changes come out item by item in field order;
        # a stable sort by (kind, item) keeps that field order.
        found = sorted(
            _service_changes(
                old_by.get(key), new_by.get(key), key in new_gaps, not_compared, key in old_gaps
            ),
            key=_sort_key,
        )
        if not found:
            continue
        service = new_by.get(key) or old_by[key]
        names.append((service.prefix, service.name))
        for side, present in (("old", old_by.get(key)), ("new", new_by.get(key))):
            link = page_link(present) if present is not None else None
            if link is not None:
                pages.append((service.prefix, side, link))
        kinds = {c.kind for c in found}
        if key in old_gaps and ChangeKind.ACTION_ADDED in kinds:
            gaps.append((service.prefix, "old"))
        if key in new_gaps and ChangeKind.ACTION_REMOVED in kinds:
            gaps.append((service.prefix, "new"))
        changes.extend(found)
    return CatalogDiff(
        old.source.id,
        new.source.id,
        tuple(changes),
        _summarise(changes),
        tuple(names),
        tuple(gaps),
        source_label(old),
        source_label(new),
        tuple(not_compared),
        old.source,
        new.source,
        tuple(pages),
    )


def page_link(service: Service) -> str | None:
    """``<url>#<anchor base>`` of the service's first page with an address (a SAR page id
    ``list_amazons3`` has anchors ``amazons3-<name>``), ``<url>`` when its anchors are
    unknown, None when no page has an address."""
    for page in service.pages:
        if page.url:
            base = page.page.removeprefix("list_") if page.page.startswith("list_") else ""
            return f"{page.url}#{base}" if base else page.url
    return None


def source_label(catalog: Catalog) -> str:
    """``"snapshot, 528 pages (html 528), 459 services"``: what a catalog was built from."""
    src = catalog.source
    formats = ", ".join(f"{name} {n}" for name, n in src.formats)
    n = len(catalog.services)
    return (
        f"{src.kind}, {src.pages} page{'s' * (src.pages != 1)} ({formats or 'none'}), "
        f"{n} service{'s' * (n != 1)}"
    )


# --------------------------------------------------------------------------- JSON Schema

_CHANGE_VALUE: dict[str, Any] = {
    "anyOf": [
        {"type": ["string", "boolean", "null"]},
        {"type": "array", "items": {"type": "string"}},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "required", "condition_keys", "dependent_actions"],
            "properties": {
                "name": {"type": "string"},
                "required": {"type": "boolean"},
                "condition_keys": {"type": "array", "items": {"type": "string"}},
                "dependent_actions": {"type": "array", "items": {"type": "string"}},
            },
        },
    ]
}


def _change_schema(item_type: str) -> dict[str, Any]:
    kinds = [k.value for k in ChangeKind if k.item_type == item_type]
    changed = f"{item_type}_changed"
    base: dict[str, Any] = {
        "kind": {"enum": kinds},
        "service": {"type": "string", "minLength": 1},
        "severity": {"enum": [s.value for s in ChangeSeverity]},
    }
    if item_type != "service":
        base[item_type] = {"type": "string", "minLength": 1}
    required = sorted(base)
    return {
        "if": {"properties": {"kind": {"const": changed}}},
        "then": {
            "additionalProperties": False,
            "required": [*required, "field", "old", "new"],
            "properties": {
                **base,
                "field": {"type": "string", "minLength": 1},
                "old": _CHANGE_VALUE,
                "new": _CHANGE_VALUE,
            },
        },
        "else": {"additionalProperties": False, "required": required, "properties": base},
    }


DIFF_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "iam-catalog diff report (--format json)",
    "type": "object",
    "additionalProperties": False,
    "required": ["schema_version", "old", "new", "summary", "changes", "not_compared"],
    "properties": {
        "schema_version": {"const": DIFF_SCHEMA_VERSION},
        "old": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id"],
            "properties": {"id": {"type": "string"}},
        },
        "new": {"$ref": "#/properties/old"},
        "summary": {
            "type": "object",
            "additionalProperties": False,
            "required": list(SUMMARY_KEYS),
            "properties": {k: {"type": "integer", "minimum": 0} for k in SUMMARY_KEYS},
        },
        "not_compared": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["service", "field", "old", "new", "reason"],
                "properties": {
                    "service": {"type": "string", "minLength": 1},
                    "field": {"type": "string", "minLength": 1},
                    "old": {"type": "array", "items": {"type": "string"}},
                    "new": {"type": "array", "items": {"type": "string"}},
                    "reason": {"type": "string", "minLength": 1},
                },
            },
        },
        "changes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind"],
                "properties": {"kind": {"enum": [k.value for k in ChangeKind]}},
                "oneOf": [
                    {
                        "properties": {
                            "kind": {"enum": [k.value for k in ChangeKind if k.item_type == t]}
                        },
                        **_change_schema(t),
                    }
                    for t in ("service", "action", "resource_type", "condition_key")
                ],
            },
        },
    },
}
"""JSON Schema of the diff report, for the tools that read it."""
