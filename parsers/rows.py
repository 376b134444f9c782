"""Stage two of every parser: rows of one shared shape -> the canonical model.

Format modules turn their text into :class:`ActionRow`, :class:`ResourceRow` and
:class:`KeyRow` values (rowspans already expanded, multi-value cells as tuples,
source line kept) and call :func:`build_page`. Every rule about cell *content*
lives here, once: whitespace, ``*`` = required, ``[permission only]``, access
levels, ARN and key normalisation, telling condition keys from dependent
actions, grouping rows into actions, and the diagnostics for what does not fit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .model import (
    AccessLevel,
    Action,
    ConditionKey,
    Diagnostic,
    PageRef,
    ParsedPage,
    ResourceType,
    ResourceTypeRow,
    Severity,
    most_specific,
)


@dataclass(frozen=True, slots=True)
class ActionRow:
    """One row of an actions table, rowspans expanded (action cells repeated)."""

    action: str
    """Action cell text, possibly with ``[permission only]``."""
    description: str
    """Description cell text."""
    access_level: str
    """Access-level cell text: ``Write``, ``Tagging, Write`` or empty."""
    resource_type: str = ""
    """Resource-type cell (``object*``), empty for the action's own row."""
    condition_keys: tuple[str, ...] = ()
    """Condition-key cell values."""
    dependent_actions: tuple[str, ...] = ()
    """Dependent-action cell values."""
    unclassified: tuple[str, ...] = ()
    """Values whose column the text lost (flattened formats); sorted into keys or
    dependent actions by :func:`classify` using the page's condition-key table."""
    line: int | None = None
    """Source line of the row."""
    api_reference: str | None = None
    """Link on the action name, if any."""
    operations: tuple[str, ...] = ()
    """API operations authorising this action, where the source says so."""


@dataclass(frozen=True, slots=True)
class ResourceRow:
    """One row of a resource-types table."""

    name: str
    arns: tuple[str, ...]
    condition_keys: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One row of a condition-keys table."""

    name: str
    description: str
    types: tuple[str, ...]
    line: int | None = None


# --------------------------------------------------------------------------- cell rules

# Characters that print as nothing or as a space in the SAR pages' HTML.
_INVISIBLE = str.maketrans({"\u200b": None, "\ufeff": None, "\u00a0": " ", "\u202f": " "})
_PERMISSION_ONLY = re.compile(r"\[\s*permission\s+only\s*\]", re.IGNORECASE)
_ACCESS_LEVELS = {level.value.lower(): level for level in AccessLevel}
# Seen in older pages: "Permission management" without the s.
_ACCESS_LEVELS["permission management"] = AccessLevel.PERMISSIONS_MANAGEMENT


# str.split() splits on exactly the characters re's \s matches (str.isspace), and is
# several times faster than re.sub(r"\s+", …) on the prettified pages, whose cells are mostly
# indentation; only the zero-width characters need the translate table first.
_ZERO_WIDTH = ("\u200b", "\ufeff")


def clean(text: str) -> str:
    """Collapse every run of whitespace to one space and strip."""
    if _ZERO_WIDTH[0] in text or _ZERO_WIDTH[1] in text:
        text = text.translate(_INVISIBLE)
    return " ".join(text.split())


def compact(text: str) -> str:
    """Remove all whitespace: for ARNs, key names, action names, which contain none
    (``$ { Partition}`` -> ``${Partition}``)."""
    if _ZERO_WIDTH[0] in text or _ZERO_WIDTH[1] in text:
        text = text.translate(_INVISIBLE)
    return "".join(text.split())


def split_action_cell(text: str) -> tuple[str, bool]:
    """``"Foo [permission only]"`` -> ``("Foo", True)``."""
    permission_only = bool(_PERMISSION_ONLY.search(text))
    return compact(_PERMISSION_ONLY.sub("", text)), permission_only


def split_resource_cell(text: str) -> tuple[str, bool]:
    """``"object*"`` -> ``("object", True)``. Resource-type names may hold a space
    (gameliftstreams ``stream group``), so whitespace is collapsed, not removed."""
    name = clean(text)
    required = name.endswith("*")
    return clean(name.rstrip("*")), required


def parse_access_levels(text: str) -> tuple[tuple[AccessLevel, ...], tuple[str, ...]]:
    """Access levels in page order, and the parts that are not access levels."""
    levels: list[AccessLevel] = []
    unknown: list[str] = []
    for part in clean(text).split(","):
        part = part.strip()
        if not part:
            continue
        level = _ACCESS_LEVELS.get(part.lower())
        if level is None:
            unknown.append(part)
        elif level not in levels:
            levels.append(level)
    return tuple(levels), tuple(unknown)


def classify(value: str, known_keys: set[str]) -> str:
    """``"key"`` or ``"action"`` for a value whose column was lost.

    A value is a condition key when the page's own condition-key table defines
    it, when it is a global ``aws:`` key, or when it has the shape only keys
    have (a ``/`` qualifier or a ``${…}`` variable); otherwise it is a
    dependent action (``service:Action``).
    """
    v = compact(value)
    if v.lower() in known_keys or v.lower().startswith("aws:") or "/" in v or "${" in v:
        return "key"
    return "action"


def _dedupe(values: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    seen: set[str] = set()
    kept: list[str] = []
    dropped: list[str] = []
    for v in values:
        if not v:
            continue
        if v in seen:
            dropped.append(v)
        else:
            seen.add(v)
            kept.append(v)
    return tuple(kept), tuple(dropped)


# --------------------------------------------------------------------------- build


class _Diags:
    def __init__(self, page: str) -> None:
        self.page = page
        self.items: list[Diagnostic] = []

    def add(self, line: int | None, severity: Severity, code: str, message: str) -> None:
        self.items.append(Diagnostic(self.page, line, severity, code, message))


def _build_keys(rows: Iterable[KeyRow], page: str, d: _Diags) -> list[ConditionKey]:
    out: list[ConditionKey] = []
    index: dict[str, int] = {}
    for r in rows:
        name = compact(r.name)
        if not name:
            d.add(r.line, Severity.WARNING, "empty-key-name", "condition-key row without a name")
            continue
        types = tuple(t for t in (compact(t) for t in r.types) if t)
        key = ConditionKey(name, clean(r.description), types, page, r.line)
        prev = index.get(name.lower())
        if prev is not None:
            if out[prev] != key:
                d.add(
                    r.line,
                    Severity.WARNING,
                    "duplicate-key",
                    f"condition key {name} defined again differently; "
                    f"first definition (line {out[prev].line}) kept",
                )
            continue
        index[name.lower()] = len(out)
        out.append(key)
    return out


def _build_resources(rows: Iterable[ResourceRow], page: str, d: _Diags) -> list[ResourceType]:
    out: list[ResourceType] = []
    index: dict[str, int] = {}
    for r in rows:
        name = clean(r.name)
        if not name:
            d.add(
                r.line, Severity.WARNING, "empty-resource-name", "resource-type row without a name"
            )
            continue
        arns, _ = _dedupe(compact(a) for a in r.arns)
        keys, _ = _dedupe(compact(k) for k in r.condition_keys)
        if not arns:
            d.add(r.line, Severity.WARNING, "no-arn", f"resource type {name} has no ARN format")
        rt = ResourceType(name, arns, keys, page, r.line)
        prev = index.get(name.lower())
        if prev is not None:
            if out[prev] != rt:
                d.add(
                    r.line,
                    Severity.WARNING,
                    "duplicate-resource-type",
                    f"resource type {name} defined again differently; "
                    f"first definition (line {out[prev].line}) kept",
                )
            continue
        index[name.lower()] = len(out)
        out.append(rt)
    return out


def _build_action(
    name: str, rows: list[ActionRow], page: str, known_keys: set[str], d: _Diags
) -> Action:
    first = rows[0]
    _, permission_only = split_action_cell(first.action)
    description = clean(first.description)
    for r in rows[1:]:
        if clean(r.description) != description or clean(r.access_level) != clean(
            first.access_level
        ):
            d.add(
                r.line,
                Severity.WARNING,
                "inconsistent-action-rows",
                f"rows of action {name} disagree on description or access level; first row kept",
            )
            break
    levels, unknown = parse_access_levels(first.access_level)
    for u in unknown:
        d.add(
            first.line,
            Severity.ERROR,
            "unknown-access-level",
            f"{name}: unknown access level {u!r}",
        )

    own_keys: list[str] = []
    own_actions: list[str] = []
    typed_rows: list[tuple[str, bool, list[str], list[str], int | None]] = []
    for r in rows:
        keys = [compact(k) for k in r.condition_keys]
        deps = [compact(a) for a in r.dependent_actions]
        for v in r.unclassified:
            (keys if classify(v, known_keys) == "key" else deps).append(compact(v))
        rname, required = split_resource_cell(r.resource_type)
        if rname:
            typed_rows.append((rname, required, keys, deps, r.line))
        else:
            own_keys.extend(keys)
            own_actions.extend(deps)

    resource_types: list[ResourceTypeRow] = []
    seen_rows: set[str] = set()
    for rname, required, keys, deps, line in typed_rows:
        if rname.lower() in seen_rows:
            d.add(
                line,
                Severity.WARNING,
                "duplicate-resource-row",
                f"{name}: resource type {rname} listed on two rows; both kept",
            )
        seen_rows.add(rname.lower())
        k, _ = _dedupe(keys)
        a, _ = _dedupe(deps)
        resource_types.append(ResourceTypeRow(rname, required, k, a))
    ck, _ = _dedupe(own_keys)
    da, _ = _dedupe(own_actions)
    operations, _ = _dedupe(compact(o) for r in rows for o in r.operations)
    api_reference = next((r.api_reference for r in rows if r.api_reference), None)
    return Action(
        name=name,
        description=description,
        access_level=most_specific(levels),
        access_levels=levels,
        permission_only=permission_only,
        api_reference=api_reference,
        resource_types=tuple(resource_types),
        condition_keys=ck,
        dependent_actions=da,
        operations=operations,
        page=page,
        line=first.line,
    )


def _group_actions(rows: Iterable[ActionRow], d: _Diags) -> list[tuple[str, list[ActionRow]]]:
    """Consecutive rows naming the same action form one action."""
    groups: list[tuple[str, list[ActionRow]]] = []
    index: dict[str, int] = {}
    previous: str | None = None
    for r in rows:
        name, _ = split_action_cell(r.action)
        if not name:
            d.add(
                r.line,
                Severity.ERROR,
                "empty-action-name",
                "actions-table row without an action name",
            )
            continue
        key = name.lower()
        if key == previous:
            groups[-1][1].append(r)
            continue
        if key in index:
            d.add(
                r.line,
                Severity.WARNING,
                "duplicate-action",
                f"action {name} appears again after other actions; its rows are merged "
                f"into the first occurrence (line {groups[index[key]][1][0].line})",
            )
            groups[index[key]][1].append(r)
        else:
            index[key] = len(groups)
            groups.append((name, [r]))
        previous = key
    return groups


def build_page(
    ref: PageRef,
    *,
    prefix: str | None,
    service_name: str | None,
    actions: Iterable[ActionRow] = (),
    resources: Iterable[ResourceRow] = (),
    keys: Iterable[KeyRow] = (),
    diagnostics: Iterable[Diagnostic] = (),
) -> ParsedPage:
    """Normalise the rows of one page into a :class:`ParsedPage`."""
    d = _Diags(ref.page)
    d.items.extend(diagnostics)
    condition_keys = _build_keys(keys, ref.page, d)
    known = {k.name.lower() for k in condition_keys}
    resource_types = _build_resources(resources, ref.page, d)
    built = [_build_action(n, rs, ref.page, known, d) for n, rs in _group_actions(actions, d)]
    missing = [a for a in built if a.access_level is None]
    if missing:
        d.add(
            missing[0].line,
            Severity.WARNING,
            "no-access-level",
            f"{len(missing)} action(s) have no access level on the page (first: {missing[0].name})",
        )
    return ParsedPage(
        ref=ref,
        prefix=compact(prefix).lower() if prefix else None,
        service_name=clean(service_name) if service_name else None,
        actions=tuple(built),
        resource_types=tuple(resource_types),
        condition_keys=tuple(condition_keys),
        diagnostics=tuple(d.items),
    )
