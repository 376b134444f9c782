"""The ``pipe-text`` format: text extracted from a SAR page with ``|`` between cells.

Seed 003 (sagemaker, 2020) shows the shape and its losses::

    Actions | Description | Access Level | Resource Types (*required) | … | Dependent Actions |
    ---|---|---|---|---|---|
    AddTags | Adds or overwrites one or more tags … | Tagging | |||
    CreateAutoMLJob | Creates automl job. | Write |
    iam:PassRole |
    ||
    CreateHyperParameterTuningJob | … | Write |
    iam:PassRole |
    ||
    sagemaker:FileSystemAccessMode sagemaker:FileSystemDirectoryPath |
    |||||

- Every cell ends with ``|``; a row is padded to the header's column count and may
  be wrapped over several lines, so physical lines are joined into logical rows by
  counting cells. A pipe-less line after a complete row ends the table.
- Multi-value cells are space-joined: values are split on whitespace, except that
  ``$ { TagKey}`` stays inside its value and resource-type names with spaces
  (``bot alias``) are found by the page's own resource-types table.
- A row whose first cell is not an action (``Name [permission only]`` with an access
  level in its column) is a continuation row of the action above (rowspan), padded
  either after its cells or before them.
- Link-only cells may be lost and the remaining cells shifted left (``iam:PassRole``
  in the Resource types column above). When any row of the page shows that, the
  columns cannot be trusted for the page: every value then goes to
  ``ActionRow.unclassified`` (resource types still recognised, and still on their
  row), :func:`parsers.rows.classify` sorts keys from dependent actions, and the page
  says so once (``row-structure-lost``).

Cell content rules live in :mod:`parsers.rows`; vocabulary helpers are shared with
:mod:`parsers.flat_text`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice

from . import carried
from .flat_text import (
    IDENT,
    PERMISSION_ONLY,
    SECTION_RE,
    TOKEN,
    Unparsed,
    is_resource_value,
    is_single_value,
    layout_of,
    looks_like_markup,
    missing_tables,
    read_key_line,
    resource_key,
    scenario_diagnostic,
    service_name,
    service_prefix,
    split_resources,
    tokens,
    too_many_lines,
    truncation,
)
from .model import Diagnostic, PageRef, ParsedPage, Severity
from .rows import (
    ActionRow,
    KeyRow,
    ResourceRow,
    build_page,
    clean,
    drop_invisible,
    parse_access_levels,
)

FORMAT = "pipe-text"
DESCRIPTION = (
    "Text extracted with | between cells (multi-value cells space-joined, "
    "rows wrapped, link-only cells sometimes lost)"
)

_SEPARATOR = re.compile(r"^[\s|:]*-{3,}[\s|:-]*$")
_ACTION_CELL = re.compile(rf"^(?P<name>\S+)\s*(?P<po>{PERMISSION_ONLY})?$", re.I)
_SCENARIO = re.compile(r"^\s*SCENARIO\s*:", re.I)
# A first cell cut by a line wrap: one value, perhaps the start of "[permission only]".
_WRAPPED_NAME = re.compile(rf"^({TOKEN})(?:\s*\[\s*permission(?:\s+only\s*\]?)?)?$", re.I)
_SNIFF_CHARS = 400_000
_TABLE_NAMES = {"actions": "actions", "resources": "resource types", "keys": "condition keys"}

# Header cell text (lower case, whitespace collapsed) -> column role.
_ACTION_COLUMNS = {
    "actions": "action",
    "description": "description",
    "access level": "level",
    "resource types (*required)": "resource",
    "resource types": "resource",
    "condition keys": "keys",
    "dependent actions": "deps",
}
_VALUE_ROLES = ("resource", "keys", "deps")


def cells_of(text: str) -> list[str]:
    """The cells of a logical row: split on ``|``, the empty tail after the last ``|`` dropped."""
    parts = text.split("|")
    if text.rstrip().endswith("|"):
        parts = parts[:-1]
    return [p.strip() for p in parts]


def _table_kind(cells: Sequence[str]) -> str | None:
    names = [clean(c).lower() for c in cells]
    if len(names) < 3:
        return None
    if names[0] == "actions" and "description" in names:
        return "actions"
    if names[0] in ("resource types", "resources") and "arn" in names:
        return "resources"
    if names[0] == "condition keys" and "type" in names:
        return "keys"
    return None


@dataclass
class _Table:
    kind: str
    header: list[str]
    rows: list[tuple[int, str]] = field(default_factory=list)
    """Logical rows: first line number and the joined text."""
    line: int = 0
    """Line of its header."""
    after: list[tuple[int, str]] = field(default_factory=list)
    """Lines with cells after prose ended the table (before the next section): rows cut
    off by a line that lost its ``|``, not read."""


def _columns(header: Sequence[str]) -> dict[str, int]:
    cols: dict[str, int] = {}
    for i, cell in enumerate(header):
        role = _ACTION_COLUMNS.get(clean(cell).lower())
        if role is not None and role not in cols:
            cols[role] = i
    return cols


def _action_cell(text: str) -> tuple[str, bool] | None:
    m = _ACTION_CELL.match(text)
    if m is None or not IDENT.fullmatch(m.group("name")):
        return None
    return m.group("name"), bool(m.group("po"))


def _is_action_row(cells: Sequence[str], cols: dict[str, int]) -> bool:
    """An action's first row: an action name and an access level in their columns."""
    a, lv = cols.get("action", 0), cols.get("level")
    if len(cells) <= a or _action_cell(cells[a]) is None:
        return False
    if lv is None:
        return True
    if len(cells) <= lv:
        return False
    levels, unknown = parse_access_levels(cells[lv])
    return bool(levels) and not unknown


def _wrapped_first_cell(line: str, lines: Sequence[str], no: int) -> bool:
    """A long first cell wrapped before its ``|`` (``LongActionName`` / ``[permission
    only] | …``, a long condition-key name): one value alone on its line, and the next
    text line goes on with cells."""
    m = _WRAPPED_NAME.match(line)
    if m is None or not is_single_value(m.group(1)):
        return False
    following = next((ln for ln in islice(lines, no, None) if ln.strip()), "")
    return "|" in following and _table_kind(cells_of(following.strip())) is None


def _tables(lines: Sequence[str]) -> list[_Table]:
    """Tables with their logical rows: physical lines joined until a row has all its cells."""
    out: list[_Table] = []
    table: _Table | None = None
    pipes = 0  # cells seen in the current logical row
    # The lines of each table's logical rows, joined once at the end (joining each line
    # as it came made a row wrapped over n lines cost n**2).
    parts: dict[int, list[list[str]]] = {}
    ended: _Table | None = None  # a table that prose ended, until the next section
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        kind = _table_kind(cells_of(line)) if "|" in line else None
        if kind is not None:
            table = _Table(kind, cells_of(line), line=no)
            out.append(table)
            parts[id(table)] = []
            pipes = len(table.header)
            ended = None
            continue
        if SECTION_RE.match(line):
            table = ended = None
            continue
        if table is None:
            if ended is not None and "|" in line:
                ended.after.append((no, line))
            continue
        if not line or _SEPARATOR.match(line):
            continue
        ncols = len(table.header)
        complete = pipes >= ncols
        if not complete and table.kind == "actions" and table.rows:
            # A short row (cells lost, padding missing) followed by the next action.
            cols = _columns(table.header)
            complete = _is_action_row(cells_of(line), cols)
        if complete:
            if "|" not in line and not _wrapped_first_cell(line, lines, no):
                ended, table = table, None  # prose after the table
                continue
            table.rows.append((no, ""))
            parts[id(table)].append([line])
            pipes = line.count("|")
        else:
            if not table.rows:
                table.rows.append((no, ""))
                parts[id(table)].append([])
            parts[id(table)][-1].append(line)
            pipes += line.count("|")
    for t in out:
        t.rows = [
            (no, " ".join(lines)) for (no, _), lines in zip(t.rows, parts[id(t)], strict=True)
        ]
    return out


def sniff(text: str) -> bool:
    """Pipe text: a service prefix and an actions-table header with ``|`` between
    cells and no leading ``|`` (markdown tables have one), no markup."""
    head = text[:_SNIFF_CHARS]
    if looks_like_markup(head) or service_prefix(head) is None:
        return False
    for line in head.splitlines():
        if "|" in line and _table_kind(cells_of(line.strip())) == "actions":
            return True
    return False


# --------------------------------------------------------------------------- actions


@dataclass
class _LogicalRow:
    line: int
    cells: list[str]
    values: dict[str, str]
    """Cell text by role (resource, keys, deps) as the columns say."""
    scenario: bool = False


@dataclass
class _Action:
    line: int
    cell: str
    description: str
    access_level: str
    rows: list[_LogicalRow] = field(default_factory=list)


def _values_by_column(
    cells: Sequence[str], cols: dict[str, int], ncols: int, first_row: bool
) -> dict[str, str] | None:
    """The resource / keys / dependent-action cells of a row, by the header's columns;
    None when a continuation row's padding does not say where its cells are."""
    roles = [r for r in _VALUE_ROLES if r in cols]
    if first_row:
        return {r: cells[cols[r]] if cols[r] < len(cells) else "" for r in roles}
    lead = [c for i, c in enumerate(cells) if i < ncols - len(roles)]
    trail = cells[len(roles) :]
    if len(cells) >= ncols and not any(lead):
        # Padded before: the cells sit under their own columns.
        return {r: cells[cols[r]] for r in roles}
    if not any(trail):
        # Padded after (or not padded): the row's own cells, in column order.
        ordered = sorted(roles, key=lambda r: cols[r])
        return {r: cells[i] if i < len(cells) else "" for i, r in enumerate(ordered)}
    return None


def _consistent(values: dict[str, str] | None) -> bool:
    """Cells that can sit in their columns: no ``:`` among resource types (names never
    have one), a ``:`` in every key and dependent action."""
    if values is None:
        return False
    if ":" in values.get("resource", ""):
        return False
    return all(":" in v for r in ("keys", "deps") for v in tokens(values.get(r, "")))


def _read_actions(
    table: _Table, unparsed: Unparsed, page: str
) -> tuple[list[_Action], list[Diagnostic], bool]:
    """Actions with their logical rows, diagnostics, and whether the columns hold."""
    cols = _columns(table.header)
    ncols = len(table.header)
    actions: list[_Action] = []
    trusted = True
    first_bad: tuple[int, str] | None = None
    short: list[_Action] = []
    for no, text in table.rows:
        cells = cells_of(text)
        if _is_action_row(cells, cols):
            parsed = _action_cell(cells[cols.get("action", 0)])
            assert parsed is not None
            name, po = parsed
            d, lv = cols.get("description"), cols.get("level")
            action = _Action(
                no,
                name + (" [permission only]" if po else ""),
                cells[d] if d is not None and d < len(cells) else "",
                cells[lv] if lv is not None else "",
            )
            actions.append(action)
            if len(cells) < ncols:
                short.append(action)
            values = _values_by_column(cells, cols, ncols, first_row=True)
            fixed = {cols.get(r) for r in ("action", "description", "level")}
            tail = [c for i, c in enumerate(cells) if i not in fixed]
            action.rows.append(_LogicalRow(no, tail, values or {}))
        elif not actions:
            unparsed.lines.append((no, text))
            continue
        else:
            scenario = any(_SCENARIO.match(c) for c in cells)
            values = None if scenario else _values_by_column(cells, cols, ncols, False)
            actions[-1].rows.append(_LogicalRow(no, cells, values or {}, scenario))
            if scenario:
                continue
        if not _consistent(values) and trusted:
            trusted = False
            first_bad = (no, text)
    diags: list[Diagnostic] = []
    if not trusted and first_bad is not None:
        diags.append(
            Diagnostic(
                page,
                first_bad[0],
                Severity.WARNING,
                "row-structure-lost",
                "row structure lost; the actions table's columns are not aligned (cells lost "
                f"and shifted, first at line {first_bad[0]}): condition keys and dependent "
                "actions told apart by the condition-key table and attached at row or action "
                "level",
            )
        )
        joined = [(a, r) for a in actions for r in a.rows[1:]]
        if joined:
            a, r = joined[0]
            diags.append(
                Diagnostic(
                    page,
                    r.line,
                    Severity.INFO,
                    "continuation-rows-joined",
                    f"{len(joined)} row(s) without an action cell joined to the action above "
                    f"(first: line {r.line}, {a.cell.split()[0]})",
                )
            )
    if short:
        diags.append(
            Diagnostic(
                page,
                short[0].line,
                Severity.INFO,
                "short-row",
                f"{len(short)} action row(s) have fewer cells than the header; missing cells "
                f"read as empty (first: {short[0].cell.split()[0]})",
            )
        )
    return actions, diags, trusted


def _row_values(
    row: _LogicalRow, trusted: bool, known: set[str]
) -> tuple[list[str], list[str], list[str], list[str]]:
    """(resource types, keys, dependent actions, unclassified) of one logical row."""
    if trusted and not row.scenario:
        return (
            split_resources(row.values.get("resource", ""), known),
            tokens(row.values.get("keys", "")),
            tokens(row.values.get("deps", "")),
            [],
        )
    resources: list[str] = []
    other: list[str] = []
    for cell in row.cells:
        if _SCENARIO.match(cell):
            continue
        if ":" not in cell:
            resources.extend(split_resources(cell, known))
            continue
        for v in tokens(cell):
            (resources if is_resource_value(v, known) else other).append(v)
    return resources, [], [], other


def _action_rows(
    action: _Action, trusted: bool, known: set[str], page: str
) -> tuple[list[ActionRow], list[Diagnostic]]:
    """One ActionRow per resource type of each logical row, plus the action's own row.

    A logical row keeps its values on its resource type's row; a row without a resource
    type is the action's own. A row listing several resource types keeps its values on
    the first and says so (as the HTML parser does with several ``<p>`` in one cell).
    """
    own_keys: list[str] = []
    own_deps: list[str] = []
    own_other: list[str] = []
    out: list[ActionRow] = []
    diags: list[Diagnostic] = []

    def row(
        resource: str,
        line: int,
        keys: Sequence[str] = (),
        deps: Sequence[str] = (),
        other: Sequence[str] = (),
    ) -> ActionRow:
        return ActionRow(
            action=action.cell,
            description=action.description,
            access_level=action.access_level,
            resource_type=resource,
            condition_keys=tuple(keys),
            dependent_actions=tuple(deps),
            unclassified=tuple(other),
            line=line,
        )

    for lrow in action.rows:
        if lrow.scenario:
            continue  # not carried, like the HTML parser; reported per action
        resources, keys, deps, other = _row_values(lrow, trusted, known)
        if not resources:
            own_keys.extend(keys)
            own_deps.extend(deps)
            own_other.extend(other)
            continue
        out.append(row(resources[0], lrow.line, keys, deps, other))
        out.extend(row(r, lrow.line) for r in resources[1:])
        if len(resources) > 1:
            diags.append(
                Diagnostic(
                    page,
                    lrow.line,
                    Severity.WARNING,
                    "several-resource-types",
                    f"{action.cell}: one row lists resource types {', '.join(resources)}; "
                    f"its condition keys and dependent actions are kept on {resources[0]}",
                )
            )
    if own_keys or own_deps or own_other or not out:
        out.append(row("", action.line, own_keys, own_deps, own_other))
    return out, diags


# --------------------------------------------------------------------------- other tables


def _read_resources(table: _Table, unparsed: Unparsed) -> list[ResourceRow]:
    names = [clean(c).lower() for c in table.header]
    arn_col = names.index("arn")
    key_col = names.index("condition keys") if "condition keys" in names else None
    out: list[ResourceRow] = []
    for no, text in table.rows:
        cells = cells_of(text)
        if not cells or not cells[0] or len(cells) <= arn_col:
            unparsed.lines.append((no, text))
            continue
        keys = tokens(cells[key_col]) if key_col is not None and key_col < len(cells) else []
        arns = (cells[arn_col],) if cells[arn_col] else ()
        out.append(ResourceRow(cells[0], arns, tuple(keys), no))
    return out


def _read_keys(table: _Table, unparsed: Unparsed) -> list[KeyRow]:
    names = [clean(c).lower() for c in table.header]
    desc_col = names.index("description") if "description" in names else None
    type_col = names.index("type")
    out: list[KeyRow] = []
    for no, text in table.rows:
        cells = cells_of(text)
        if len(cells) <= type_col or ":" not in cells[0]:
            # Not a row of cells: maybe the flat "name description Type" form.
            parsed = read_key_line(clean(text.replace("|", " ")))
            if parsed is None:
                unparsed.lines.append((no, text))
            else:
                out.append(KeyRow(parsed[0], parsed[1], parsed[2], no))
            continue
        desc = cells[desc_col] if desc_col is not None else ""
        types = tuple(t.strip() for t in cells[type_col].split(",") if t.strip())
        out.append(KeyRow(cells[0], desc, types, no))
    return out


def parse(text: str, *, source: str, url: str | None = None) -> ParsedPage:
    """Reconstruct the catalog rows of one pipe-text page."""
    refused = too_many_lines(text, PageRef(source, FORMAT, "unknown", url))
    if refused is not None:
        return refused
    text, invisible = drop_invisible(text, source)
    lines = text.splitlines()
    tables = _tables(lines)
    header = next((" ".join(t.header) for t in tables if t.kind == "actions"), "")
    layout = layout_of(header)
    ref = PageRef(source, FORMAT, layout, url, carried.declare(FORMAT, layout))
    unparsed = {k: Unparsed(name) for k, name in _TABLE_NAMES.items()}
    keys = [k for t in tables if t.kind == "keys" for k in _read_keys(t, unparsed["keys"])]
    resources = [
        r
        for t in tables
        if t.kind == "resources"
        for r in _read_resources(t, unparsed["resources"])
    ]
    for t in tables:
        unparsed[t.kind].lines.extend(t.after)
    known = {resource_key(r.name) for r in resources}
    diags: list[Diagnostic] = invisible
    rows: list[ActionRow] = []
    for t in tables:
        if t.kind != "actions":
            continue
        actions, table_diags, trusted = _read_actions(t, unparsed["actions"], source)
        diags.extend(table_diags)
        for a in actions:
            built, row_diags = _action_rows(a, trusted, known, source)
            rows.extend(built)
            diags.extend(row_diags)
        diags.extend(_scenario_diagnostics(source, actions))
    if not any(t.kind == "actions" for t in tables):
        diags.append(
            Diagnostic(source, None, Severity.ERROR, "no-tables", "no actions table in the text")
        )
    diags.extend(missing_tables(source, text, {t.kind for t in tables}, _TABLE_NAMES))
    actions_at = next((t.line for t in tables if t.kind == "actions"), None)
    if actions_at is not None and (cut := truncation(source, lines, actions_at)) is not None:
        diags.append(cut)
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


def _scenario_diagnostics(page: str, actions: Sequence[_Action]) -> list[Diagnostic]:
    found = (
        scenario_diagnostic(page, a.cell, [r.line for r in a.rows if r.scenario]) for a in actions
    )
    return [d for d in found if d is not None]
