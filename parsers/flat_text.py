"""The ``flat-text`` format: text extracted from a SAR HTML page without table markup.

Seeds 001 (deepracer) and 004 (bedrock) show the shape: the cells of a table row
are joined by spaces on one line, every ``<p>`` inside a cell (resource types,
condition keys, dependent actions, one value each) becomes its own blank-line
separated paragraph, and the boundaries between the rows of one action are gone::

    Actions Description Access level Resource types (*required) Condition keys Dependent actions
    CreateLeaderboard [permission only] Grants permission to create a leaderboard Write

    leaderboard*

    aws:TagKeys

What the text still says, and how this module reads it back:

- A table starts at its header line (``Actions Description Access level …``,
  ``Resource types ARN Condition keys``, ``Condition keys Description Type``) and
  ends at the next section heading or table header.
- An action line is ``Name [permission only]? description level``: the access
  level is found from the end of the line by its closed vocabulary, the name is
  the first token. A line that is not complete is joined with the next one.
- Resource types among the paragraphs are recognised by the page's own
  resource-types table (or by having no ``:`` at all, which keys and dependent
  actions always have); every other value goes to ``ActionRow.unclassified`` and
  :func:`parsers.rows.classify` tells keys from dependent actions by the page's
  condition-key table.
- Values between two resource types belong to the first one's row (each row has
  one resource type and its values follow it). Values after an action's last
  resource type may belong to that row or to the action's own row: they are
  attached at action level, and the page says so once (``row-structure-lost``).

Everything cell-level (``*``, ``[permission only]``, access levels, whitespace,
``$ { Partition}``) is left to :mod:`parsers.rows`. The helpers below that are not
specific to flat text are shared with :mod:`parsers.pipe_text`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice

from . import carried
from .model import Diagnostic, PageRef, ParsedPage, Severity
from .rows import (
    ActionRow,
    KeyRow,
    ResourceRow,
    build_page,
    clean,
    collapse,
    compact,
    drop_invisible,
)

FORMAT = "flat-text"
DESCRIPTION = (
    "Text extracted from an HTML page (cells joined by spaces, "
    "multi-value cells as paragraphs, row boundaries lost)"
)

# --------------------------------------------------------------------------- shared vocabulary

#: One value that contains no whitespace once ``$ { Partition}`` is compacted.
TOKEN = r"(?:\$\s*\{\s*[^{}\s]*\s*\}|\S)+"
_TOKEN_RE = re.compile(TOKEN)
#: The access-level vocabulary as the pages write it (seen: "Permission management").
LEVEL = r"(?:Permissions?\s+[Mm]anagement|List|Read|Write|Tagging)"
LEVELS = rf"{LEVEL}(?:\s*,\s*{LEVEL})*"
#: Condition-key value types seen in the SAR pages, any case (servicequotas 2020: "string").
KEY_TYPE = r"(?i:(?:ArrayOf)?(?:String|ARN|Bool|Boolean|Numeric|Date|IPAddress|Binary|Long))"
#: An action name: no whitespace, no ``:`` (a ``prefix:Action`` is a dependent action).
IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
PERMISSION_ONLY = r"(?i:\[\s*permission\s+only\s*\])"

_PREFIX_RE = re.compile(r"\(\s*service\s+prefix\s*:\s*`?\s*([A-Za-z0-9._\-]+)\s*`?\s*\)", re.I)
_TITLE_RE = re.compile(
    r"^\s*Actions,\s*resources,\s*and\s+condition\s+keys\s+for\s+(.+?)"
    r"(?:\s+-\s+Service\s+Authorization\s+Reference)?\s*$",
    re.I,
)
#: Headings that end a table: the next section of the page.
SECTION_RE = re.compile(
    r"^\s*(?:actions\s+defined\s+by|resource\s+types\s+defined\s+by|resources\s+defined\s+by|"
    r"condition\s+keys\s+for|api\s+operations\s+defined\s+by|permission-only\s+actions\s+for)\s",
    re.I,
)
#: Section prose that promises a table (seed 003 lost its resource-types table).
_PROMISES = {
    "resources": re.compile(r"following\s+resource\s+types\s+are\s+defined", re.I),
    "keys": re.compile(r"defines\s+the\s+following\s+condition\s+keys", re.I),
}
_SCENARIO_RE = re.compile(r"^\s*SCENARIO\s*:", re.I)
# Text that only HTML or markdown has: flat and pipe text never contain it.
_MARKUP_RE = re.compile(
    r"<\s*(?:!doctype|html|head|body|table|tr|td|th|div|p|a|h[1-6])[\s>/]"
    r"|^\s{0,3}#{1,6}\s|\]\(|^\s*[+*-]\s+\*\*"
    r"|^\s*\|\s*(?:actions|resource\s+types|condition\s+keys|operation)\s*\|",
    re.I | re.M,
)
# The page title and heading sit in the first lines of a text extraction.
_HEADING_LINES = 50
# Sniffing reads only the start of a page: headers sit in the first few hundred lines.
_SNIFF_CHARS = 400_000


# Lines a text page may have: every line becomes several objects (some 200 bytes), so a
# 20 MB page of 10 million short lines took 1.8 GB. The flat text of the largest real
# page (ec2, 2026) has 33,670 lines.
MAX_LINES = 200_000


def too_many_lines(text: str, ref: PageRef) -> ParsedPage | None:
    """An empty page with an error diagnostic when ``text`` has more than
    :data:`MAX_LINES` lines; None otherwise."""
    lines = text.count("\n") + 1
    if lines <= MAX_LINES:
        return None
    message = (
        f"page has {lines} lines, more than the {MAX_LINES} this parser reads in one page "
        "(the largest real page has under 35,000); page not read"
    )
    problem = Diagnostic(ref.page, None, Severity.ERROR, "too-complex", message)
    return ParsedPage(ref, None, None, diagnostics=(problem,))


# The heading of the last section of every SAR page, in the text formats.
_KEYS_SECTION = re.compile(r"^\s*condition\s+(?:context\s+)?keys\s+for\s", re.I)


def truncation(page: str, lines: Sequence[str], start: int) -> Diagnostic | None:
    """A warning when no "Condition keys for X" section follows the actions table that
    starts at line ``start`` (1-based): every SAR page ends with that section (even a
    page without keys says so there), so the text is cut off, and whatever came after
    the cut is missing without a trace otherwise. (The same words at the top of the page,
    in its list of topics, do not count.)"""
    if any(_KEYS_SECTION.match(line) for line in islice(lines, start, None)):
        return None
    return Diagnostic(
        page,
        len(lines),
        Severity.WARNING,
        "truncated",
        "the text ends before its 'Condition keys for' section, which every SAR page "
        "ends with: the page looks truncated, content after the cut is missing",
    )


def service_prefix(text: str) -> str | None:
    """The prefix in ``(service prefix: deepracer)``, whitespace and line breaks allowed."""
    m = _PREFIX_RE.search(text)
    return m.group(1) if m else None


def service_name(lines: Sequence[str]) -> str | None:
    """The service name of the page heading ``Actions, resources, and condition keys for X``.

    The page title may come first with a suffix (``… for Amazon EC2 - Identity and Access
    Management``): a heading line without one wins over it, as the HTML's ``<h1>`` does.
    """
    found = [m.group(1) for line in lines[:_HEADING_LINES] if (m := _TITLE_RE.match(line))]
    return next((n for n in found if " - " not in n), found[0] if found else None)


def looks_like_markup(text: str) -> bool:
    """True for HTML or markdown, which the text formats must leave to their own parsers."""
    return bool(_MARKUP_RE.search(text))


def tokens(text: str) -> list[str]:
    """Whitespace-separated values, keeping ``$ { TagKey}`` inside its value."""
    return _TOKEN_RE.findall(text)


def is_single_value(text: str) -> bool:
    """One value: a key, a dependent action or a resource type without spaces."""
    return bool(_TOKEN_RE.fullmatch(text.strip()))


def resource_key(value: str) -> str:
    """The lookup form of a resource-type value: compacted, ``*`` dropped, lower case."""
    return compact(value).rstrip("*").lower()


def is_resource_value(value: str, known: set[str]) -> bool:
    """A value in an actions table is a resource type when the page's resource-types
    table names it, or when it has no ``:`` (keys and dependent actions always have one)."""
    return resource_key(value) in known or ":" not in value


def split_resources(text: str, known: set[str]) -> list[str]:
    """Space-joined resource types (``bot alias* bot version*``) split by the page's
    resource-type names, longest name first; unknown words stand alone."""
    words = text.split()
    # A candidate longer than the longest known name (and its `*`) cannot match: trying
    # them all made a cell of n words cost n**3 (a row wrapped over thousands of lines).
    longest = max(map(len, known), default=0) + 1
    out: list[str] = []
    i = 0
    while i < len(words):
        end, size = i, 0
        while end < len(words) and size + len(words[end]) <= longest:
            size += len(words[end])
            end += 1
        for j in range(end, i, -1):
            candidate = " ".join(words[i:j])
            if resource_key(candidate) in known and not candidate[:-1].count("*"):
                out.append(candidate)
                i = j
                break
        else:
            out.append(words[i])
            i += 1
    return out


@dataclass
class Unparsed:
    """Lines of a table region that could not be read, reported once per region."""

    table: str
    lines: list[tuple[int, str]] = field(default_factory=list)

    def diagnostic(self, page: str) -> Diagnostic | None:
        if not self.lines:
            return None
        no, text = self.lines[0]
        return Diagnostic(
            page,
            no,
            Severity.WARNING,
            "unparsed-line",
            f"{len(self.lines)} line(s) of the {self.table} table not understood and left "
            f"out; first at line {no}: {text[:80]!r}",
        )


@dataclass
class Value:
    """One value of an actions-table row with its source line."""

    line: int
    text: str
    resource: bool
    """A resource-type value (else a key or dependent action, or a scenario label)."""
    scenario: bool = False


@dataclass
class PendingAction:
    """An action read from the text, with the values that follow it, in order."""

    line: int
    cell: str
    """Action cell text, ``Name`` or ``Name [permission only]``."""
    description: str
    access_level: str
    values: list[Value] = field(default_factory=list)


def action_rows(action: PendingAction) -> tuple[list[ActionRow], bool]:
    """The rows of one action whose row boundaries are lost, and whether values had to
    be attached at action level although they might belong to a resource-type row.

    Each row has at most one resource type, followed by its keys and dependent actions,
    and the action's own row (no resource type) comes last. So values between two
    resource types belong to the first; values after the last resource type belong to
    it or to the own row, which the text cannot tell: they go to the action level.
    A ``SCENARIO:`` row lists the resource types one scenario of the action needs
    (ec2:RunInstances); scenario rows come last and the model has no place for them,
    so everything after the first label is left out (and reported by the caller).
    """
    own: list[str] = []
    segments: list[tuple[Value, list[str]]] = []
    for v in action.values:
        if v.scenario:
            break
        if v.resource:
            segments.append((v, []))
        elif segments:
            segments[-1][1].append(v.text)
        else:
            own.append(v.text)
    ambiguous = False
    if segments and segments[-1][1]:
        ambiguous = True
        # Two cells read as one: a value both list is one value, not a repeat in a cell.
        seen = {compact(text) for text in own}
        for text in segments[-1][1]:
            if compact(text) not in seen:
                seen.add(compact(text))
                own.append(text)
        segments[-1] = (segments[-1][0], [])

    def row(resource: str, values: Sequence[str], line: int) -> ActionRow:
        return ActionRow(
            action=action.cell,
            description=action.description,
            access_level=action.access_level,
            resource_type=resource,
            unclassified=tuple(values),
            line=line,
        )

    # The first row is the action's line; later rows start at their resource type.
    rows = [
        row(v.text, vals, action.line if i == 0 else v.line) for i, (v, vals) in enumerate(segments)
    ]
    if own or not segments:
        rows.append(row("", own, action.line))
    return rows, ambiguous


def structure_lost(page: str, ambiguous: Sequence[PendingAction]) -> Diagnostic | None:
    """The one ``row-structure-lost`` diagnostic of a page, if any action needed it."""
    if not ambiguous:
        return None
    first = ambiguous[0]
    name = first.cell.split()[0]
    return Diagnostic(
        page,
        first.line,
        Severity.WARNING,
        "row-structure-lost",
        f"row structure lost; condition keys and dependent actions after the last resource "
        f"type of {len(ambiguous)} action(s) attached at action level (first: {name})",
    )


def missing_tables(
    page: str, text: str, found: set[str], names: dict[str, str]
) -> list[Diagnostic]:
    """A section whose prose promises a table that the text does not have (seed 003)."""
    out: list[Diagnostic] = []
    for kind, promise in _PROMISES.items():
        m = None if kind in found else promise.search(text)
        if m is not None:
            out.append(
                Diagnostic(
                    page,
                    text.count("\n", 0, m.start()) + 1,
                    Severity.WARNING,
                    "missing-table",
                    f"the {names[kind]} section announces a table that is not in the text; "
                    "its rows are lost",
                )
            )
    return out


# --------------------------------------------------------------------------- flat text

_ACTIONS_HEADER = re.compile(
    r"^actions\s+description\s+access\s+level\s+resource\s+types\s+\(\*required\)\s+"
    r"condition\s+keys\s+dependent\s+actions$",
    re.I,
)
_RESOURCES_HEADER = re.compile(r"^(?:resource\s+types|resources)\s+arn\s+condition\s+keys$", re.I)
_KEYS_HEADER = re.compile(r"^condition\s+keys\s+description\s+type$", re.I)
_HEADERS = (("actions", _ACTIONS_HEADER), ("resources", _RESOURCES_HEADER), ("keys", _KEYS_HEADER))

_ACTION_LINE = re.compile(
    rf"^(?P<name>\S+)(?P<po>\s*{PERMISSION_ONLY})?(?:\s+(?P<desc>.*?))?\s+(?P<level>{LEVELS})$"
)
_RESOURCE_LINE = re.compile(r"^(?P<name>.+?)\s+(?P<arn>\^?arn:.*)$")
_KEY_LINE = re.compile(
    rf"^(?P<name>{TOKEN})(?:\s+(?P<desc>.*?))?\s+(?P<type>{KEY_TYPE}(?:\s*,\s*{KEY_TYPE})*)$"
)


@dataclass(frozen=True, slots=True)
class _Region:
    kind: str
    lines: list[tuple[int, str]]
    line: int
    """Line of its header."""


def _regions(lines: Sequence[str]) -> list[_Region]:
    """Table regions: from a header line to the next section heading or header."""
    out: list[_Region] = []
    current: _Region | None = None
    for no, raw in enumerate(lines, 1):
        # Invisible characters stay in the values, for the normaliser to report; the
        # headings are matched without them.
        line = collapse(raw)
        probe = line if line.isascii() else clean(line)
        kind = next((k for k, rx in _HEADERS if rx.match(probe)), None)
        if kind is not None:
            current = _Region(kind, [], no)
            out.append(current)
        elif SECTION_RE.match(line):
            current = None
        elif current is not None:
            current.lines.append((no, line))
    return out


def sniff(text: str) -> bool:
    """Flat text: a service prefix and the flat actions-table header, no markup."""
    head = text[:_SNIFF_CHARS]
    if looks_like_markup(head) or service_prefix(head) is None:
        return False
    return any(_ACTIONS_HEADER.match(clean(line)) for line in head.splitlines())


# Lines an action line (name, description, access level) may be wrapped over.
_MAX_WRAPPED_LINES = 8
# Words of a resource-type name (the longest of the 2026 pages has 4): a longer line
# ending in `*` is no required resource type but, say, an action line whose access
# level was cut ("... resource Rurce*").
_MAX_NAME_WORDS = 6
# The start of an action line inside a description: a name glued to the text before it
# and followed by "Grants permission", as every description of the SAR pages since 2021
# starts (no description of the 2026 pages holds one). Two action lines joined by a lost
# line break read as one action whose description holds the second.
_ACTION_IN_DESCRIPTION = re.compile(r"\S\s*\b\w*[a-z][A-Z]\w*\s+Grants\s+permission\b")


def _action_line(line: str) -> PendingAction | None:
    m = _ACTION_LINE.match(line)
    if m is None or not IDENT.fullmatch(m.group("name")):
        return None
    cell = m.group("name") + (" [permission only]" if m.group("po") else "")
    return PendingAction(0, cell, m.group("desc") or "", m.group("level"))


def _read_actions(
    region: _Region,
    known_resources: set[str],
    unparsed: Unparsed,
    merged: list[tuple[int, str, int]],
) -> list[PendingAction]:
    """The actions of a region; ``merged`` gets (line, action, line) for each action line
    read as the end of a wrapped one although it could stand alone."""
    actions: list[PendingAction] = []
    pending: list[tuple[int, str]] = []
    for no, line in region.lines:
        if not line:
            continue
        if resource_key(line) in known_resources:
            value: Value | None = Value(no, line, resource=True)
        else:
            value = None
            started = None
            if pending:
                # Only the last few lines can start a wrapped action line: joining all of
                # them made every line cost the lines before it.
                window = pending[-_MAX_WRAPPED_LINES:]
                started = _action_line(" ".join([t for _, t in window] + [line]))
                if started is not None:
                    started.line = window[0][0]
                    del pending[-len(window) :]
                    alone = _action_line(line)
                    if alone is not None and alone.cell[:1].isupper():
                        # Either one action wrapped over lines or two, the first with a
                        # damaged access level: the text cannot tell which.
                        merged.append((started.line, alone.cell, no))
            if started is None:
                started = _action_line(line)
                if started is not None:
                    started.line = no
            if started is not None:
                unparsed.lines.extend(pending)
                pending.clear()
                actions.append(started)
                continue
            if _SCENARIO_RE.match(line):
                value = Value(no, line, resource=False, scenario=True)
            elif is_single_value(line):
                value = Value(no, line, resource=is_resource_value(line, known_resources))
            elif line.endswith("*") and ":" not in line and len(line.split()) <= _MAX_NAME_WORDS:
                value = Value(no, line, resource=True)
        if value is None:
            # Part of an action line wrapped over several lines, or not understood.
            pending.append((no, line))
            continue
        unparsed.lines.extend(pending)
        pending.clear()
        if actions:
            actions[-1].values.append(value)
        else:
            unparsed.lines.append((no, line))
    unparsed.lines.extend(pending)
    return actions


def _read_resources(region: _Region, unparsed: Unparsed) -> list[ResourceRow]:
    rows: list[tuple[int, str, str, list[str]]] = []
    for no, line in region.lines:
        if not line:
            continue
        m = _RESOURCE_LINE.match(line)
        if m:
            rows.append((no, m.group("name"), m.group("arn"), []))
        elif rows and is_single_value(line) and ":" in line:
            rows[-1][3].append(line)
        else:
            unparsed.lines.append((no, line))
    return [ResourceRow(name, (arn,), tuple(keys), no) for no, name, arn, keys in rows]


def read_key_line(line: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``name description Type`` -> (name, description, types), or None."""
    m = _KEY_LINE.match(line)
    if m is None or ":" not in m.group("name"):
        return None
    types = tuple(t.strip() for t in m.group("type").split(","))
    return m.group("name"), m.group("desc") or "", types


def _read_keys(region: _Region, unparsed: Unparsed) -> list[KeyRow]:
    rows: list[KeyRow] = []
    for no, line in region.lines:
        if not line:
            continue
        parsed = read_key_line(line)
        if parsed is None:
            unparsed.lines.append((no, line))
            continue
        name, desc, types = parsed
        rows.append(KeyRow(name, desc, types, no))
    return rows


def layout_of(header_line: str) -> str:
    """``sar`` for the sentence-case headers of the SAR pages (2021 on), ``userguide``
    for the title-case headers of the IAM User Guide pages."""
    return "userguide" if re.search(r"Access Level|Condition Keys", header_line) else "sar"


def parse(text: str, *, source: str, url: str | None = None) -> ParsedPage:
    """Reconstruct the catalog rows of one flat-text page."""
    refused = too_many_lines(text, PageRef(source, FORMAT, "unknown", url))
    if refused is not None:
        return refused
    text, invisible = drop_invisible(text, source)
    lines = text.splitlines()
    regions = _regions(lines)
    header = next((clean(ln) for ln in lines if _ACTIONS_HEADER.match(clean(ln))), "")
    layout = layout_of(header)
    ref = PageRef(source, FORMAT, layout, url, carried.declare(FORMAT, layout))
    diags: list[Diagnostic] = invisible

    unparsed = {k: Unparsed(name) for k, name in _TABLE_NAMES.items()}
    keys = [k for r in regions if r.kind == "keys" for k in _read_keys(r, unparsed["keys"])]
    resources = [
        x
        for r in regions
        if r.kind == "resources"
        for x in _read_resources(r, unparsed["resources"])
    ]
    known_resources = {resource_key(r.name) for r in resources}
    merged: list[tuple[int, str, int]] = []
    pending = [
        a
        for r in regions
        if r.kind == "actions"
        for a in _read_actions(r, known_resources, unparsed["actions"], merged)
    ]
    rows: list[ActionRow] = []
    ambiguous: list[PendingAction] = []
    for action in pending:
        built, attached_at_action = action_rows(action)
        rows.extend(built)
        if attached_at_action:
            ambiguous.append(action)

    if not any(r.kind == "actions" for r in regions):
        diags.append(
            Diagnostic(source, None, Severity.ERROR, "no-tables", "no actions table in the text")
        )
    found = {r.kind for r in regions}
    diags.extend(missing_tables(source, text, found, _TABLE_NAMES))
    actions_at = next((r.line for r in regions if r.kind == "actions"), None)
    if actions_at is not None and (cut := truncation(source, lines, actions_at)) is not None:
        diags.append(cut)
    diags.extend(scenario_diagnostics(source, pending))
    joined = [a for a in pending if _ACTION_IN_DESCRIPTION.search(a.description)]
    if joined:
        glued = _ACTION_IN_DESCRIPTION.search(joined[0].description)
        assert glued is not None
        diags.append(
            Diagnostic(
                source,
                joined[0].line,
                Severity.WARNING,
                "joined-lines",
                f"the description of {len(joined)} action(s) holds the start of another "
                f"action line (first: {joined[0].cell.split()[0]}: "
                f"{glued.group(0).split()[-3]!r}): two lines joined, the second action is "
                "lost",
            )
        )
    if merged:
        first, name, at = merged[0]
        diags.append(
            Diagnostic(
                source,
                first,
                Severity.WARNING,
                "ambiguous-wrap",
                f"{len(merged)} action line(s) read as the end of a line wrapped from above "
                f"although each could be an action of its own (first: {name} at line {at}): "
                "if the line above lost its access level, that action is merged into it",
            )
        )
    structure = structure_lost(source, ambiguous)
    if structure is not None:
        diags.append(structure)
    diags.extend(d for u in unparsed.values() if (d := u.diagnostic(source)) is not None)
    return build_page(
        ref,
        prefix=service_prefix(text),
        service_name=service_name(lines),
        actions=rows,
        resources=resources,
        keys=keys,
        diagnostics=diags,
    )


_TABLE_NAMES = {"actions": "actions", "resources": "resource types", "keys": "condition keys"}


def scenario_diagnostic(page: str, cell: str, lines: Sequence[int]) -> Diagnostic | None:
    """The diagnostic for one action whose SCENARIO rows (at ``lines``) are not carried."""
    if not lines:
        return None
    return Diagnostic(
        page,
        lines[0],
        Severity.WARNING,
        "scenario-rows",
        f"{cell.split()[0]}: {len(lines)} SCENARIO row(s) list the resource types of one "
        "scenario each; the model has no place for scenarios, they are not carried",
    )


def scenario_diagnostics(page: str, actions: Iterable[PendingAction]) -> list[Diagnostic]:
    """One diagnostic per action with ``SCENARIO:`` rows, which are not carried."""
    found = (
        scenario_diagnostic(page, a.cell, [v.line for v in a.values if v.scenario]) for a in actions
    )
    return [d for d in found if d is not None]
