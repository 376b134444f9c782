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
from dataclasses import replace
from typing import NamedTuple, TypeVar

from . import carried
from .model import (
    AccessLevel,
    Action,
    AuthorizedAction,
    ConditionKey,
    Diagnostic,
    Operation,
    PageRef,
    ParsedPage,
    ResourceType,
    ResourceTypeRow,
    Severity,
    emptied,
    most_specific,
)


class ActionRow(NamedTuple):
    """One row of an actions table, rowspans expanded (action cells repeated).

    The three row types are named tuples, not frozen dataclasses: parsers make tens of
    thousands of them per build, and a tuple is built several times faster."""

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
    supported_by: tuple[tuple[str, bool], ...] = ()
    """AWS's JSON ``SupportedBy`` of the action (on any one of its rows)."""


class OperationRow(NamedTuple):
    """One row of the July 2026 layout's "API operations" table: an operation and one
    action it authorises (``iam:PassRole`` as well as the service's own), with the
    condition key the operation sets for it and its possible values."""

    operation: str
    """Operation name."""
    service: str
    """Prefix of the authorised action, as the page writes it."""
    action: str
    """Name of the authorised action."""
    condition_key: str = ""
    """Condition key with static values for this operation and action, if any."""
    values: tuple[str, ...] = ()
    """The key's possible values, in page order."""
    line: int | None = None
    """Source line of the row."""


class ResourceRow(NamedTuple):
    """One row of a resource-types table."""

    name: str
    arns: tuple[str, ...]
    condition_keys: tuple[str, ...] = ()
    line: int | None = None


class KeyRow(NamedTuple):
    """One row of a condition-keys table."""

    name: str
    description: str
    types: tuple[str, ...]
    line: int | None = None


# --------------------------------------------------------------------------- cell rules

# Characters that print as nothing: zero-width space, non-joiner and joiner, word joiner,
# soft hyphen, byte-order mark. No IAM name holds one; pages slip them in.
INVISIBLE_CHARACTERS = "\u200b\u200c\u200d\u2060\u00ad\ufeff"
# Spaces that do not break a line: a page's cell shows them as spaces.
NO_BREAK_SPACES = "\u00a0\u2007\u202f"
_INVISIBLE = str.maketrans(
    {**dict.fromkeys(INVISIBLE_CHARACTERS), **dict.fromkeys(NO_BREAK_SPACES, " ")}
)
_DROP_INVISIBLE = str.maketrans(dict.fromkeys(INVISIBLE_CHARACTERS))
_NO_BREAK_TO_SPACE = str.maketrans(dict.fromkeys(NO_BREAK_SPACES, " "))
_HAS_INVISIBLE = re.compile(f"[{INVISIBLE_CHARACTERS}]")
_HAS_NO_BREAK = re.compile(f"[{NO_BREAK_SPACES}]")
_ASCII_SPACE = " \t\n\r\f\v"
_ASCII_SPACE_RUN = re.compile(r"[ \t\n\r\f\v]+")
_PERMISSION_ONLY = re.compile(r"\[\s*permission\s+only\s*\]", re.IGNORECASE)
_ACCESS_LEVELS = {level.value.lower(): level for level in AccessLevel}
# Seen in older pages: "Permission management" without the s.
_ACCESS_LEVELS["permission management"] = AccessLevel.PERMISSIONS_MANAGEMENT


def clean(text: str) -> str:
    """Collapse every run of whitespace to one space and strip, invisible characters
    dropped: for header and title text, which is matched, never kept. Values go through
    :func:`collapse` and the normaliser, which reports what it rewrites."""
    if not text.isascii():
        text = text.translate(_INVISIBLE)
    # str.split() splits on exactly the characters re's \s matches (str.isspace), and is
    # several times faster than re.sub(r"\s+", …) on the prettified pages, whose cells are
    # mostly indentation.
    return " ".join(text.split())


def collapse(text: str) -> str:
    """Collapse runs of ASCII whitespace (the markup's indentation and line breaks) to one
    space and strip them; no-break spaces and invisible characters are kept for the
    normaliser, which reports them (:func:`build_page`)."""
    if text.isascii():
        return " ".join(text.split())
    return _ASCII_SPACE_RUN.sub(" ", text).strip(" ")


def words(text: str) -> list[str]:
    """``text`` split at ASCII whitespace (a no-break space inside a name stays in it, for
    the normaliser to report)."""
    if text.isascii():
        return text.split()
    return [w for w in _ASCII_SPACE_RUN.split(text) if w]


_INVISIBLE_WORD = re.compile(f"\\S*[{INVISIBLE_CHARACTERS}]\\S*")


def drop_invisible(text: str, page: str) -> tuple[str, list[Diagnostic]]:
    """For the text extractions, whose line readers take a word holding an invisible
    character for no name at all: the text without invisible characters, and the one
    ``invisible-character`` diagnostic naming each word that held one, raw and kept."""
    if text.isascii() or not _HAS_INVISIBLE.search(text):
        return text, []
    d = _Diags(page)
    for no, line in enumerate(text.splitlines(), 1):
        if _HAS_INVISIBLE.search(line):
            for m in _INVISIBLE_WORD.finditer(line):
                d.rewrite(
                    "invisible-character", m.group(0), m.group(0).translate(_DROP_INVISIBLE), no
                )
    d.flush()
    return text.translate(_DROP_INVISIBLE), d.items


def compact(text: str) -> str:
    """The lookup form of a name, all whitespace and invisible characters removed
    (``$ { Partition}`` -> ``${Partition}``): for matching names, never for the value kept."""
    if not text.isascii():
        text = text.translate(_INVISIBLE)
    return "".join(text.split())


def split_action_cell(text: str) -> tuple[str, bool]:
    """``"Foo [permission only]"`` -> ``("Foo", True)``; the name in its lookup form."""
    if "[" not in text or _PERMISSION_ONLY.search(text) is None:
        return compact(text), False
    return compact(_PERMISSION_ONLY.sub("", text)), True


def _split_action_cell(text: str) -> tuple[str, bool]:
    """``"Foo [permission only]"`` -> ``("Foo", True)``, the name as written."""
    if "[" not in text or _PERMISSION_ONLY.search(text) is None:
        return text, False
    return _PERMISSION_ONLY.sub("", text), True


def split_resource_cell(text: str) -> tuple[str, bool]:
    """``"object*"`` -> ``("object", True)``. Resource-type names may hold a space
    (gameliftstreams ``stream group``), so whitespace is collapsed, not removed."""
    return _split_resource_cell(clean(text))


def _split_resource_cell(text: str) -> tuple[str, bool]:
    """``"object*"`` -> ``("object", True)`` (``text`` normalised)."""
    if not text.endswith("*"):
        return text, False
    return text.rstrip("*").rstrip(), True


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


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    """The non-empty values, each once, in first-seen order (an empty list costs nothing:
    most rows have no keys)."""
    return tuple(dict.fromkeys(filter(None, values))) if values else ()


# --------------------------------------------------------------------------- build


# The rewrites the normaliser reports, one diagnostic per page and kind: (severity, what).
REWRITES: dict[str, tuple[Severity, str]] = {
    "invisible-character": (
        Severity.WARNING,
        "held invisible characters (zero-width space, joiner or non-joiner, word joiner, "
        "soft hyphen, byte-order mark), removed",
    ),
    "no-break-space": (Severity.WARNING, "held no-break spaces, read as spaces"),
    "template-whitespace": (
        Severity.INFO,
        "held whitespace around the braces of ${...} (the archived pages split ${ over "
        "lines), removed",
    ),
    "space-in-name": (Severity.WARNING, "are names holding a space, kept as the page writes them"),
    "duplicate-value": (Severity.INFO, "were listed twice in one cell, kept once"),
    "undefined-resource-type": (
        Severity.WARNING,
        "name a resource type on an action's row that the page's resource-types table does "
        "not define",
    ),
    "undefined-condition-key": (
        Severity.WARNING,
        "name a condition key of the service that the page's condition-keys table does not define",
    ),
}
# Kinds noted as (where, value), not (raw, kept).
_WHERE_KINDS = frozenset({"duplicate-value", "undefined-resource-type", "undefined-condition-key"})
# How many values a rewrite diagnostic spells out as raw -> kept.
_REWRITES_SHOWN = 20


class _Diags:
    """A page's diagnostics, and the values the normaliser rewrote (raw and kept, by kind),
    each reported in one diagnostic of its kind when the page is built."""

    def __init__(self, page: str) -> None:
        self.page = page
        self.items: list[Diagnostic] = []
        self.rewrites: dict[str, dict[tuple[str, str], int | None]] = {}
        self.names: dict[str, str] = {}
        """Raw value -> kept value, for every value the slow path has seen."""

    def add(self, line: int | None, severity: Severity, code: str, message: str) -> None:
        self.items.append(Diagnostic(self.page, line, severity, code, message))

    def rewrite(self, code: str, raw: str, kept: str, line: int | None) -> None:
        self.rewrites.setdefault(code, {}).setdefault((raw, kept), line)

    def name(self, raw: str, line: int | None, *, spaces: bool = False) -> str:
        """The value of a name (action, key, ARN, dependent action, …) from its raw text:
        invisible characters removed, no-break spaces read as spaces, whitespace inside
        ``${...}`` removed, runs of whitespace made one space, each change noted. A space
        left inside is the page's and kept (reported unless ``spaces``: resource-type
        names such as gameliftstreams ``stream group``)."""
        # The common case, checked by C loops: printable ASCII without a space once the
        # markup's indentation is stripped (str.strip() with no argument is several times
        # faster than with one, and strips no-break spaces too: only for ASCII).
        if raw.isascii():
            s = raw.strip()
            if s.isprintable() and " " not in s:
                return s
        else:
            s = raw.strip(_ASCII_SPACE)
        kept = self.names.get(s)
        if kept is None:
            kept = self.names[s] = self._normalise(s, line, spaces)
        return kept

    def _normalise(self, s: str, line: int | None, spaces: bool) -> str:
        codes = []
        kept = s
        if not kept.isascii():
            if _HAS_INVISIBLE.search(kept):
                kept = kept.translate(_DROP_INVISIBLE)
                codes.append("invisible-character")
            if _HAS_NO_BREAK.search(kept):
                kept = kept.translate(_NO_BREAK_TO_SPACE)
                codes.append("no-break-space")
        words = kept.split()
        if "{" in kept and len(words) > 1:
            # Whitespace after ``$`` or ``{``, or before ``{`` or ``}``, is the markup's.
            joined = [words[0]]
            for w in words[1:]:
                if joined[-1].endswith(("$", "{")) or w.startswith(("{", "}")):
                    joined[-1] += w
                else:
                    joined.append(w)
            if len(joined) < len(words):
                codes.append("template-whitespace")
            words = joined
        kept = " ".join(words)
        if " " in kept and not spaces:
            codes.append("space-in-name")
        raw = collapse(s)  # the markup's line breaks and indentation are not worth showing
        for code in codes:
            self.rewrite(code, raw, kept, line)
        return kept

    def text(self, raw: str, line: int | None) -> str:
        """A description: whitespace collapsed, invisible characters and no-break spaces
        (reported) as for names."""
        if raw.isascii():
            return " ".join(raw.split())
        kept = raw
        if _HAS_INVISIBLE.search(kept):
            kept = kept.translate(_DROP_INVISIBLE)
            self.rewrite("invisible-character", collapse(raw), " ".join(kept.split()), line)
        if _HAS_NO_BREAK.search(kept):
            kept = kept.translate(_NO_BREAK_TO_SPACE)
            self.rewrite("no-break-space", collapse(raw), " ".join(kept.split()), line)
        return " ".join(kept.split())

    def unique(self, values: list[str], line: int | None, *where: str) -> tuple[str, ...]:
        """The non-empty values, each once, in first-seen order; an exact duplicate
        (``s3:GetBucketObjectLockConfiguration`` twice in one cell) is noted with the cell
        it is in (``where``, joined only then: most cells hold no repeat)."""
        if not values:
            return ()
        out = tuple(dict.fromkeys(filter(None, values)))
        if len(out) < len(values) and len(out) < len(values) - values.count(""):
            seen: set[str] = set()
            for v in values:
                if v and v in seen:
                    self.rewrite("duplicate-value", " ".join(where), v, line)
                seen.add(v)
        return out

    def flush(self) -> None:
        """One diagnostic per kind of rewrite, naming its values (raw -> kept)."""
        for code in sorted(self.rewrites):
            found = self.rewrites[code]
            severity, what = REWRITES[code]
            pairs = list(found.items())
            form = "{0}: {1!r}" if code in _WHERE_KINDS else "{0!r} -> {1!r}"
            shown = "; ".join(form.format(*pair) for pair, _ in pairs[:_REWRITES_SHOWN])
            more = len(pairs) - _REWRITES_SHOWN
            self.add(
                min((ln for ln in found.values() if ln is not None), default=None),
                severity,
                code,
                f"{len(pairs)} value(s) {what}: {shown}{f'; and {more} more' if more > 0 else ''}",
            )


_Defined = TypeVar("_Defined", ConditionKey, ResourceType)


def _keep_first(
    item: _Defined, raw: str, kept: dict[str, tuple[_Defined, str]], d: _Diags, code: str, what: str
) -> None:
    """Keep the first definition of each (lower-cased) name, with its raw name; a later one
    that differs is reported. A first definition whose name is this one only after a
    rewrite gives way to one written as the name (2020 markdown swf: a leading no-break
    space before the first of two ``swf:workflowType.name`` rows)."""
    key = item.name.lower()
    found = kept.get(key)
    if found is None:
        kept[key] = (item, raw)
        return
    first, first_raw = found
    if first == item:
        return
    if collapse(first_raw) != first.name and collapse(raw) == item.name:
        kept[key] = (item, raw)
        d.add(
            first.line,
            Severity.WARNING,
            code,
            f"{what} {item.name} defined twice: line {first.line} writes {collapse(first_raw)!r}, "
            f"line {item.line} writes the name itself; the definition of line {item.line} kept",
        )
        return
    d.add(
        item.line,
        Severity.WARNING,
        code,
        f"{what} {item.name} defined again differently; first definition (line {first.line}) kept",
    )


def _build_keys(
    rows: Iterable[KeyRow], page: str, d: _Diags, nc: _NotCarried
) -> list[ConditionKey]:
    kept: dict[str, tuple[ConditionKey, str]] = {}
    for r in rows:
        name = d.name(r.name, r.line)
        if not name:
            d.add(r.line, Severity.WARNING, "empty-key-name", "condition-key row without a name")
            continue
        types = tuple(t for t in (d.name(t, r.line) for t in r.types) if t)
        key = emptied(
            ConditionKey(name, d.text(r.description, r.line), types, nc.condition_key, page, r.line)
        )
        _keep_first(key, r.name, kept, d, "duplicate-key", "condition key")
    return [k for k, _ in kept.values()]


def _build_resources(
    rows: Iterable[ResourceRow], page: str, d: _Diags, nc: _NotCarried
) -> list[ResourceType]:
    kept: dict[str, tuple[ResourceType, str]] = {}
    for r in rows:
        name = d.name(r.name, r.line, spaces=True)
        if not name:
            d.add(
                r.line, Severity.WARNING, "empty-resource-name", "resource-type row without a name"
            )
            continue
        arns = d.unique([d.name(a, r.line) for a in r.arns], r.line, "resource type", name, "ARNs")
        keys = d.unique(
            [d.name(k, r.line) for k in r.condition_keys], r.line, f"resource type {name} keys"
        )
        if not arns and "arn_formats" not in nc.resource_type:
            d.add(r.line, Severity.WARNING, "no-arn", f"resource type {name} has no ARN format")
        rt = emptied(ResourceType(name, arns, keys, nc.resource_type, page, r.line))
        _keep_first(rt, r.name, kept, d, "duplicate-resource-type", "resource type")
    return [rt for rt, _ in kept.values()]


class _NotCarried:
    """A page's declaration of what its format does not carry, per item type."""

    __slots__ = (
        "action",
        "action_without_rows",
        "condition_key",
        "resource_type",
        "service",
        "several_levels",
        "several_levels_without_rows",
    )

    def __init__(self, declared: Iterable[str]) -> None:
        self.service = carried.for_item(declared, "service")
        self.action = carried.for_item(declared, "action")
        # An action without rows says nothing about row fields.
        self.action_without_rows = frozenset(
            f for f in self.action if not f.startswith("resource_types.")
        )
        self.resource_type = carried.for_item(declared, "resource_type")
        self.condition_key = carried.for_item(declared, "condition_key")
        # A layout of one access level per action that lists several for one action
        # carries that action's set (its single level would lose the others).
        self.several_levels = self.action - {"access_levels"}
        self.several_levels_without_rows = self.action_without_rows - {"access_levels"}

    def for_action(self, has_rows: bool, several_levels: bool) -> frozenset[str]:
        """What one action of the page does not carry."""
        if several_levels:
            return self.several_levels if has_rows else self.several_levels_without_rows
        return self.action if has_rows else self.action_without_rows


class _Group:
    """The rows of one action, and what its first row says."""

    __slots__ = ("name", "permission_only", "rows")

    def __init__(self, name: str, permission_only: bool, row: ActionRow) -> None:
        self.name = name
        self.permission_only = permission_only
        self.rows = [row]


# What one access-level cell text reads as: (levels, unknown parts, most specific level).
_Levels = tuple[tuple[AccessLevel, ...], tuple[str, ...], AccessLevel | None]


class _Seen:
    """What the actions of one page share, made once per page: most pages use a handful of
    access-level texts for hundreds of actions, and list the same resource-type row
    (``bucket*``, no keys) under many actions: 22,124 rows on the 2026 pages, 5,015 of them
    distinct per page. Sharing the frozen row also pickles it once for a worker's page."""

    __slots__ = ("levels", "rows")

    def __init__(self) -> None:
        self.levels: dict[str, _Levels] = {}
        self.rows: dict[tuple[str, bool, tuple[str, ...], tuple[str, ...]], ResourceTypeRow] = {}


def _build_action(
    group: _Group,
    page: str,
    known_keys: set[str],
    seen: _Seen,
    d: _Diags,
    not_carried: _NotCarried,
    rt_keys: dict[str, frozenset[str]],
    keys_on_rows: bool,
) -> Action:
    """One action from its rows. ``rt_keys``: each resource type's own condition keys
    (lower-cased, by lower-cased name), which a row's keys do not repeat in the model;
    ``keys_on_rows``: the layout prints the action's own keys on every resource-type row
    (July 2026), so the keys every row has are the action's."""
    name, rows = group.name, group.rows
    first = rows[0]
    description = d.text(first.description, first.line)
    for r in rows[1:]:
        # A cell carried down by a rowspan is the same text: only differing texts need cleaning.
        if r.description == first.description and r.access_level == first.access_level:
            continue
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
    parsed = seen.levels.get(first.access_level)
    if parsed is None:
        levels, unknown = parse_access_levels(first.access_level)
        parsed = seen.levels[first.access_level] = (levels, unknown, most_specific(levels))
    levels, unknown, access_level = parsed
    for u in unknown:
        d.add(
            first.line,
            Severity.ERROR,
            "unknown-access-level",
            f"{name}: unknown access level {u!r}",
        )

    own_keys: list[str] = []
    own_actions: list[str] = []
    resource_types: list[ResourceTypeRow] = []
    seen_rows: set[str] = set()
    repeated = False
    own_row = False
    value = d.name  # once per action, not per value
    for r in rows:
        line = r.line
        keys = [value(k, line) for k in r.condition_keys] if r.condition_keys else []
        deps = [value(a, line) for a in r.dependent_actions] if r.dependent_actions else []
        for v in r.unclassified:
            (keys if classify(v, known_keys) == "key" else deps).append(value(v, line))
        rname, required = _split_resource_cell(value(r.resource_type, line, spaces=True))
        if not rname:
            own_row = True
            own_keys.extend(keys)
            own_actions.extend(deps)
            continue
        lowered = rname.lower()
        if keys and (rt_own := rt_keys.get(lowered)):
            # The resource type's own keys apply wherever it is used: a row's keys are
            # those the page adds for this action (pages print them either way).
            keys = [k for k in keys if k.lower() not in rt_own]
        if lowered in seen_rows:
            repeated = True
            d.add(
                r.line,
                Severity.WARNING,
                "duplicate-resource-row",
                f"{name}: resource type {rname} listed on two rows; both kept, "
                "required on both where one row marks it",
            )
        seen_rows.add(lowered)
        fields = (
            rname,
            required,
            d.unique(keys, line, name, rname, "keys") if keys else (),
            d.unique(deps, line, name, rname, "dependent actions") if deps else (),
        )
        row = seen.rows.get(fields)
        if row is None:
            row = seen.rows[fields] = ResourceTypeRow(*fields)
        resource_types.append(row)
    if repeated:
        resource_types = _required_per_resource_type(resource_types)
    if keys_on_rows and resource_types:
        resource_types, own_keys = _action_keys_from_rows(resource_types, own_keys, own_row)
    operations = [d.name(o, r.line) for r in rows if r.operations for o in r.operations]
    nc = not_carried.for_action(bool(resource_types), len(levels) > 1)
    # Positional, in field order: the model's hottest constructor. A layout that prints one
    # access level does not carry the set: built empty here, so that ``emptied`` has nothing
    # to replace (a dataclasses.replace per action cost a tenth of the build).
    action = Action(
        name,
        description,
        access_level,
        () if "access_levels" in nc else levels,
        group.permission_only,
        first.api_reference or next((r.api_reference for r in rows if r.api_reference), None),
        tuple(resource_types),
        d.unique(own_keys, first.line, name, "keys"),
        d.unique(own_actions, first.line, name, "dependent actions"),
        _dedupe(operations),
        nc,
        page,
        first.line,
        supported_by=next((r.supported_by for r in rows if r.supported_by), ()),
    )
    return emptied(action)


def _required_per_resource_type(rows: list[ResourceTypeRow]) -> list[ResourceTypeRow]:
    """A resource type is required for an action or not: where the page lists it on two
    rows and marks one (the older layouts star the first row only, ec2-instance-connect
    ``OpenTunnel`` ``instance-connect-endpoint*`` then ``instance-connect-endpoint`` with
    its keys; the July 2026 layout stars both), every row of it is required."""
    required = {r.name.lower() for r in rows if r.required}
    return [replace(r, required=True) if r.name.lower() in required else r for r in rows]


def _action_keys_from_rows(
    rows: list[ResourceTypeRow], own_keys: list[str], own_row: bool
) -> tuple[list[ResourceTypeRow], list[str]]:
    """Rows and the action's own keys, read as the older layouts mean them, from a layout
    that prints the action's own keys on every resource-type row: the keys of the action's
    own row where the page has one, else the keys every row has."""
    if own_row:
        common = {k.lower() for k in own_keys}
    else:
        common = {k.lower() for k in rows[0].condition_keys}
        for r in rows[1:]:
            common &= {k.lower() for k in r.condition_keys}
        own_keys = [k for k in rows[0].condition_keys if k.lower() in common]
    if not common:
        return rows, own_keys
    out = [
        replace(r, condition_keys=tuple(k for k in r.condition_keys if k.lower() not in common))
        for r in rows
    ]
    return out, own_keys


def _group_actions(rows: Iterable[ActionRow], d: _Diags) -> list[_Group]:
    """Consecutive rows naming the same action form one action; an action named again
    after other actions is merged into its first occurrence, with a diagnostic."""
    groups: list[_Group] = []
    index: dict[str, _Group] = {}
    current: _Group | None = None  # the group the previous row went to
    previous_cell: str | None = None
    for r in rows:
        # Rows a rowspan carries down repeat the action cell's text: same name, no new split.
        if current is not None and r.action == previous_cell:
            current.rows.append(r)
            continue
        text, permission_only = _split_action_cell(r.action)
        name = d.name(text, r.line)
        if not name:
            d.add(
                r.line,
                Severity.ERROR,
                "empty-action-name",
                "actions-table row without an action name",
            )
            continue
        key = name.lower()
        previous_cell = r.action
        if current is not None and key == current.name.lower():
            current.rows.append(r)
            continue
        found = index.get(key)
        if found is not None:
            d.add(
                r.line,
                Severity.WARNING,
                "duplicate-action",
                f"action {name} appears again after other actions; its rows are merged "
                f"into the first occurrence (line {found.rows[0].line})",
            )
            found.rows.append(r)
            current = found
        else:
            current = index[key] = _Group(name, permission_only, r)
            groups.append(current)
    return groups


# Bidirectional controls (embeddings, overrides, isolates, marks): a name holding one
# displays other than it reads (U+202E turns "s3:GetObject\u202etcejbO" around), so a
# policy author could be shown one action and grant another.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _bidi_names(page: ParsedPage, d: _Diags) -> None:
    """One warning for the names of a page that hold bidirectional controls."""
    names = [
        *([("prefix", page.prefix, None)] if page.prefix else []),
        *(("action", a.name, a.line) for a in page.actions),
        *(("resource type", r.name, r.line) for r in page.resource_types),
        *(("condition key", k.name, k.line) for k in page.condition_keys),
    ]
    if not _BIDI.search("".join(name for _, name, _ in names)):
        return
    found = [(what, name, line) for what, name, line in names if _BIDI.search(name)]
    what, name, line = found[0]
    controls = sorted({f"U+{ord(c):04X}" for _, n, _ in found for c in _BIDI.findall(n)})
    d.add(
        line,
        Severity.WARNING,
        "bidi-control",
        f"{len(found)} name(s) hold bidirectional control characters ({', '.join(controls)}) "
        f"that make them display other than they read (first: {what} {name!r}); kept as "
        "written",
    )


def possible_values(values: Iterable[str]) -> tuple[str, ...]:
    """An "API operations" row's possible values: one per paragraph or line, and the
    ``.md`` rendering joins them with commas (``braket.amazonaws.com,
    sagemaker.amazonaws.com``); no value holds a comma or a space."""
    return tuple(v for value in values for v in compact(value).split(",") if v)


def build_operations(rows: Iterable[OperationRow], ref: PageRef) -> tuple[Operation, ...]:
    """The operations of an "API operations" table, in page order: rows of one operation
    give its authorised actions in row order; a row naming the action of the row before
    it in the same operation adds a condition key to that action's context."""
    not_carried = carried.for_item(ref.not_carried, "operation")
    found: dict[str, tuple[str, int | None, list[AuthorizedAction]]] = {}
    for r in rows:
        needs = found.setdefault(r.operation.lower(), (r.operation, r.line, []))[2]
        context = ((r.condition_key, r.values),) if r.condition_key else ()
        last = needs[-1] if needs else None
        if (
            context
            and last is not None
            and (last.service, last.action) == (r.service, r.action)
            and r.condition_key not in dict(last.context)
        ):
            needs[-1] = replace(last, context=tuple(sorted(last.context + context)))
            continue
        needs.append(AuthorizedAction(r.service, r.action, context))
    return tuple(
        Operation(name, tuple(needs), (), not_carried, ref.page, line)
        for name, line, needs in found.values()
    )


def build_page(
    ref: PageRef,
    *,
    prefix: str | None,
    service_name: str | None,
    actions: Iterable[ActionRow] = (),
    resources: Iterable[ResourceRow] = (),
    keys: Iterable[KeyRow] = (),
    diagnostics: Iterable[Diagnostic] = (),
    keys_on_rows: bool = False,
    operations: Iterable[Operation] = (),
) -> ParsedPage:
    """Normalise the rows of one page into a :class:`ParsedPage`. ``keys_on_rows``: the
    layout prints an action's own condition keys on each of its resource-type rows (the
    July 2026 layout); they are read back onto the action. ``operations``: the page's API
    operations (:func:`build_operations` for a table of them)."""
    d = _Diags(ref.page)
    d.items.extend(diagnostics)
    nc = _NotCarried(ref.not_carried)
    condition_keys = _build_keys(keys, ref.page, d, nc)
    known = {k.name.lower() for k in condition_keys}
    resource_types = _build_resources(resources, ref.page, d, nc)
    seen = _Seen()
    rt_keys = {
        r.name.lower(): frozenset(k.lower() for k in r.condition_keys)
        for r in resource_types
        if r.condition_keys
    }
    built = [
        _build_action(g, ref.page, known, seen, d, nc, rt_keys, keys_on_rows)
        for g in _group_actions(actions, d)
    ]
    missing = [a for a in built if a.access_level is None and a.carries("access_level")]
    if missing:
        d.add(
            missing[0].line,
            Severity.WARNING,
            "no-access-level",
            f"{len(missing)} action(s) have no access level on the page (first: {missing[0].name})",
        )
    kept_prefix = d.name(prefix, None).lower() if prefix else None
    _undefined_names(built, resource_types, condition_keys, kept_prefix, d)
    page = ParsedPage(
        ref=ref,
        prefix=kept_prefix,
        service_name=d.text(service_name, None) if service_name else None,
        actions=tuple(built),
        resource_types=tuple(resource_types),
        condition_keys=tuple(condition_keys),
        diagnostics=(),
        operations=tuple(operations),
    )
    _bidi_names(page, d)
    d.flush()
    return replace(page, diagnostics=tuple(d.items))


def _undefined_names(
    actions: list[Action],
    resource_types: list[ResourceType],
    condition_keys: list[ConditionKey],
    prefix: str | None,
    d: _Diags,
) -> None:
    """Note every resource type an action's row names that the page does not define, and
    every key of the page's own service (``prefix:``) that an action, a row or a resource
    type names and the page does not define (2025-03 inspector2 ``inspector2:Cis Scan
    Configuration``). Global keys (``aws:``) and other services' keys are defined on other
    pages. Only a table the page has is checked (a page without one says so elsewhere)."""
    types = {r.name.lower() for r in resource_types}
    keys = {k.name.lower() for k in condition_keys}
    own = f"{prefix}:" if prefix and keys else None

    def undefined(names: Iterable[str]) -> set[str]:
        return {k for k in names if k.lower().startswith(own) and k.lower() not in keys}  # type: ignore[arg-type]

    # The names first (rows repeat across actions), the actions naming one only when found.
    named_types = {row.name for a in actions for row in a.resource_types}
    bad_types = {n for n in named_types if n.lower() not in types} if types else set()
    bad_keys: set[str] = set()
    if own is not None:
        bad_keys = undefined(
            {k for a in actions for k in a.condition_keys}
            | {k for a in actions for row in a.resource_types for k in row.condition_keys}
        )
        for r in resource_types:
            for k in undefined(r.condition_keys):
                d.rewrite("undefined-condition-key", f"resource type {r.name}", k, r.line)
    if not bad_types and not bad_keys:
        return
    for a in actions:
        for k in a.condition_keys:
            if k in bad_keys:
                d.rewrite("undefined-condition-key", a.name, k, a.line)
        for row in a.resource_types:
            if row.name in bad_types:
                d.rewrite("undefined-resource-type", a.name, row.name, a.line)
            for k in row.condition_keys:
                if k in bad_keys:
                    d.rewrite("undefined-condition-key", f"{a.name} {row.name}", k, a.line)
