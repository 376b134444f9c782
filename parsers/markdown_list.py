"""Format ``markdown-list``: the ``.md`` rendering the SAR site serves since July 2026.

The July 2026 layout has five sections: "API operations defined by X" (which
IAM actions each API operation authorizes), "Actions defined by X" (columns
Actions | Description | Resource types | Condition keys | Access level, no
dependent actions), "Permission-only actions for X", "Resource types defined
by X" and "Condition keys for X". It comes in two renderings, both read here
from markdown-it tokens:

``sar-2026-07-list`` (style 1)
    ``<a name>`` anchors under the headings; operations and actions as nested
    bullet lists whose sub-items carry bold labels (``**Description:**``,
    ``**Resource types (\\*required):**``, ``**Condition keys:**``,
    ``**Access level:**``). An action with one resource-type row writes
    "Resource types" and "Condition keys" as two sub-items; with several rows,
    one sub-item per row as ``Resource types: x / Condition keys: k<br />k``.
    Small sections (and all resource-type and condition-key sections) stay
    pipe tables. A variant has its whitespace normalised and a YAML front matter
    (``source_url``).
``sar-2026-07-table`` (style 2)
    Every section a padded pipe table; a multi-row action (or operation) is
    written as a full row followed by short continuation rows holding only the
    row-spanned-over columns; links are relative ``.md`` paths with titles.

Operations become the service's ``operations`` (every action each one authorizes,
other services' such as ``iam:PassRole`` too, with the condition-key values it sets)
and ``operations`` on each action of the service they authorize. Cell rules (``*`` =
required, ``[permission only]``, "Tagging, Write" access levels, whitespace) live in
:mod:`parsers.rows`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from markdown_it.tree import SyntaxTreeNode

from . import carried
from .markdown_table import (
    Table,
    TableRow,
    cell,
    cell_values,
    first_href,
    inline_children,
    inline_text,
    key_rows,
    line_of,
    missing_title_or_prefix,
    normalise_header,
    parse_markdown,
    read_table,
    resource_rows,
    sections,
    table_kind,
    title_and_prefix,
    truncation,
    unknown_table,
)
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
    parse_access_levels,
    possible_values,
)

DESCRIPTION = (
    "The .md rendering of the SAR pages (July 2026 on): API operations, actions as "
    "nested bullet lists or padded pipe tables, permission-only actions"
)

# Where the relative links of the style-2 rendering are relative to.
SAR_BASE = "https://docs.aws.amazon.com/service-authorization/latest/reference/"

_TITLE_LINE = re.compile(
    r"^#[ \t]+Actions,[ \t]+resources,[ \t]+and[ \t]+condition[ \t]+keys[ \t]+for\b",
    re.IGNORECASE | re.MULTILINE,
)
_PREFIX = re.compile(r"\(\s*service\s+prefix:\s*`?[^\s)`]+`?\s*\)", re.IGNORECASE)
# Only the 2026 layout has operations: its intro sentence and its two new sections.
_LAYOUT_2026 = re.compile(
    r"service-specific\s+operations,\s+resources|^##\s+API\s+operations\s+defined\s+by"
    r"|^##\s+Permission-only\s+actions\s+for",
    re.IGNORECASE | re.MULTILINE,
)
_FRONT_MATTER_END = re.compile(r"^---[ \t]*$", re.MULTILINE)
_SOURCE_URL = re.compile(r"^source_url:\s*(\S+)\s*$", re.MULTILINE)
_ANCHOR = re.compile(r"^<a\s+name=", re.IGNORECASE)
_SEPARATOR = "/"
# The unresolved template link seen on permission-only actions: `${UserGuideDocPage}`.
_TEMPLATE = "${"

_SECTION_HEADINGS = (
    ("api operations defined by", "operations"),
    ("actions defined by", "actions"),
    ("permission-only actions for", "permission-only"),
    ("resource types defined by", "resources"),
    ("condition keys for", "keys"),
)
# Columns a multi-row action or operation spans with one cell (the rest repeat
# per row, and are all a continuation row holds).
_SPANNED = {
    "actions": ("actions", "description", "access level"),
    "operations": ("operation",),
}


def sniff(text: str) -> bool:
    """A markdown SAR page of the July 2026 layout (operations, permission-only actions)."""
    return bool(_TITLE_LINE.search(text) and _PREFIX.search(text) and _LAYOUT_2026.search(text))


# --------------------------------------------------------------------------- labelled items


@dataclass(slots=True)
class _Field:
    """One ``**Label:** value`` of a style-1 list item."""

    label: str
    nodes: list[SyntaxTreeNode] = field(default_factory=list)
    separated: bool = False
    """Followed by another label on the same line, after a ``/`` separator."""
    line: int | None = None

    def text(self) -> str:
        t = clean(inline_text(self.nodes))
        if self.separated and t.endswith(_SEPARATOR):
            t = t[: -len(_SEPARATOR)].rstrip()
        return t

    def values(self) -> list[str]:
        v = cell_values(self.nodes)
        if self.separated and v and v[-1] == _SEPARATOR:
            v.pop()
        return v


def _fields(nodes: Sequence[SyntaxTreeNode], line: int | None) -> list[_Field]:
    """Split inline nodes at bold labels ending in ``:``."""
    out: list[_Field] = []
    for n in nodes:
        if n.type == "strong":
            label = clean(inline_text(n.children))
            if label.endswith(":"):
                if out:
                    out[-1].separated = True
                out.append(_Field(normalise_header(label[:-1]), line=line))
                continue
        if out:
            out[-1].nodes.append(n)
        elif n.type != "text" or n.content.strip():
            out.append(_Field("", [n], line=line))
    return out


@dataclass(slots=True)
class _Item:
    """A top-level list item: its head line and the fields of its sub-items."""

    head: list[SyntaxTreeNode]
    line: int | None
    fields: list[_Field]


def _items(node: SyntaxTreeNode) -> list[_Item]:
    items: list[_Item] = []
    for li in node.children:
        head: list[SyntaxTreeNode] = []
        fields: list[_Field] = []
        for child in li.children:
            if child.type == "paragraph" and not head:
                head = inline_children(child)
            elif child.type == "bullet_list":
                for sub in child.children:
                    for para in sub.children:
                        if para.type == "paragraph":
                            fields.extend(_fields(inline_children(para), line_of(sub)))
        items.append(_Item(head, line_of(li), fields))
    return items


def _head_name(nodes: Sequence[SyntaxTreeNode]) -> str:
    # `- **   [CancelJob](url)  **`: the spaces inside the asterisks stop them
    # from being emphasis, so they arrive as text around the link.
    for n in nodes:
        if n.type == "link":
            return collapse(inline_text(n.children))
    return collapse(inline_text(nodes).replace("*", " "))


# --------------------------------------------------------------------------- page state


@dataclass(slots=True)
class _Op:
    """One operation -> IAM action mapping."""

    operation: str
    action: str
    access_level: str
    line: int | None
    condition_key: str = ""
    values: tuple[str, ...] = ()


@dataclass(slots=True)
class _Action:
    """One action as read, before rows are built."""

    name: str
    description: str
    access_level: str
    href: str | None
    permission_only: bool
    line: int | None
    rows: list[tuple[str, tuple[str, ...], int | None]] = field(default_factory=list)
    """(resource-type cell, condition keys, line) per row."""


class _Page:
    def __init__(self, source: str, base: str) -> None:
        self.source = source
        self.base = base
        self.actions: list[_Action] = []
        self.ops: list[_Op] = []
        self.op_rows: list[OperationRow] = []
        self.diags: list[Diagnostic] = []
        self.list_sections = 0
        self.anchors = False
        self.unresolved: list[tuple[str, str, int | None]] = []
        self.sdk_clients = 0
        """SDK clients named in the operations section (not carried: see carried.py)."""

    def diag(self, line: int | None, severity: Severity, code: str, message: str) -> None:
        self.diags.append(Diagnostic(self.source, line, severity, code, message))

    def api_reference(self, name: str, href: str | None, line: int | None) -> str | None:
        """An absolute link, or None for anchors and unresolved template links."""
        if not href or href.startswith("#"):
            return None
        if _TEMPLATE in unquote(href):
            self.unresolved.append((name, href, line))
            return None
        return absolute(href, self.base)


def absolute(href: str, base: str) -> str:
    """Resolve a relative link of the style-2 rendering against the page, and point
    it at the HTML page its ``.md`` mirrors (``API_CancelJob.md`` -> ``.html``), so
    both renderings and the HTML pages give the same link."""
    try:
        parts = urlsplit(urljoin(base, href))
    except ValueError:  # not a URL urllib can read ("http://[x" is an invalid IPv6 host)
        return href
    path = parts.path
    if path.endswith(".md") and parts.netloc.endswith("docs.aws.amazon.com"):
        path = path[: -len(".md")] + ".html"
    return urlunsplit(parts._replace(path=path))


# --------------------------------------------------------------------------- sections


def _list_actions(node: SyntaxTreeNode, page: _Page, permission_only: bool) -> None:
    page.list_sections += 1
    for item in _items(node):
        name = _head_name(item.head)
        action = _Action(
            name=name,
            description="",
            access_level="",
            href=page.api_reference(name, first_href(item.head), item.line),
            permission_only=permission_only,
            line=item.line,
        )
        keys_pending = False  # the current row still waits for its condition keys
        for f in item.fields:
            if f.label == "description":
                action.description = f.text()
            elif f.label == "access level":
                action.access_level = f.text()
            elif f.label == "resource types":
                values = f.values()
                if len(values) > 1:
                    page.diag(
                        f.line,
                        Severity.WARNING,
                        "several-resource-types-in-row",
                        f"{name}: {len(values)} resource types on one line; one row each",
                    )
                    action.rows.extend((v, (), f.line) for v in values[:-1])
                action.rows.append((values[-1] if values else "", (), f.line))
                keys_pending = True
            elif f.label == "condition keys":
                keys = tuple(f.values())
                if keys_pending:
                    resource, _, line = action.rows[-1]
                    action.rows[-1] = (resource, keys, line)
                else:
                    # Keys with no resource-type line before them: the action's own row.
                    action.rows.append(("", keys, f.line))
                keys_pending = False
            else:
                page.diag(
                    f.line,
                    Severity.WARNING,
                    "unknown-field",
                    f"{name}: field {f.label or '(no label)'!r} not understood; skipped",
                )
        page.actions.append(action)


def _list_operations(node: SyntaxTreeNode, page: _Page) -> None:
    page.list_sections += 1
    for item in _items(node):
        operation = _head_name(item.head)
        current: _Op | None = None
        for f in item.fields:
            if f.label == "iam action":
                values = f.values()
                current = _Op(operation, values[0] if values else "", "", f.line)
                page.ops.append(current)
            elif f.label == "sdk client":
                page.sdk_clients += bool(f.text())
            elif current is None:
                page.diag(
                    f.line,
                    Severity.WARNING,
                    "unknown-field",
                    f"operation {operation}: {f.label!r} before any IAM action; skipped",
                )
            elif f.label == "access level":
                current.access_level = f.text()
            elif f.label == "condition key":
                current.condition_key = compact(f.text())
            elif f.label == "possible value(s)":
                current.values = possible_values(f.values())
            else:
                page.diag(
                    f.line,
                    Severity.WARNING,
                    "unknown-field",
                    f"operation {operation}: field {f.label!r} not understood; skipped",
                )
        if current is None:
            page.diag(
                item.line,
                Severity.WARNING,
                "operation-without-action",
                f"operation {operation} names no IAM action",
            )


def _rows_with_spans(
    table: Table, kind: str, page: _Page
) -> list[tuple[TableRow, dict[str, tuple[SyntaxTreeNode, ...]]]]:
    """Each row as {column name: cell}, with continuation rows marked by a missing
    first column (their cells fill the columns that are not spanned)."""
    spanned = _SPANNED[kind]
    free = [h for h in table.header if h not in spanned]
    out: list[tuple[TableRow, dict[str, tuple[SyntaxTreeNode, ...]]]] = []
    for r in table.rows:
        if r.source_cells and r.source_cells < len(table.header):
            if r.source_cells > len(free):
                page.diag(
                    r.line,
                    Severity.WARNING,
                    "short-row",
                    f"row has {r.source_cells} of {len(table.header)} cells, more than a "
                    "continuation row; read as a continuation row",
                )
            out.append((r, {h: cell(r, i) for i, h in enumerate(free)}))
        else:
            out.append((r, {h: cell(r, i) for i, h in enumerate(table.header)}))
    return out


def _table_actions(table: Table, page: _Page, permission_only: bool) -> None:
    current: _Action | None = None
    for r, cells in _rows_with_spans(table, "actions", page):
        resource = cell_values(cells.get("resource types", ()))
        keys = tuple(cell_values(cells.get("condition keys", ())))
        if "actions" in cells:
            name_nodes = cells["actions"]
            name = collapse(inline_text(name_nodes))
            current = _Action(
                name=name,
                description=inline_text(cells.get("description", ())),
                access_level=inline_text(cells.get("access level", ())),
                href=page.api_reference(name, first_href(name_nodes), r.line),
                permission_only=permission_only,
                line=r.line,
            )
            page.actions.append(current)
        elif current is None:
            page.diag(
                r.line,
                Severity.WARNING,
                "orphan-continuation-row",
                "continuation row before any action; skipped",
            )
            continue
        if len(resource) > 1:
            page.diag(
                r.line,
                Severity.WARNING,
                "several-resource-types-in-row",
                f"{current.name}: {len(resource)} resource types in one row; "
                "its condition keys are kept on the last of them",
            )
            current.rows.extend((v, (), r.line) for v in resource[:-1])
        current.rows.append((resource[-1] if resource else "", keys, r.line))


def _table_operations(table: Table, page: _Page) -> None:
    operation: str | None = None
    for r, cells in _rows_with_spans(table, "operations", page):
        if "operation" in cells:
            operation = clean(inline_text(cells["operation"]))
        if operation is None:
            page.diag(
                r.line,
                Severity.WARNING,
                "orphan-continuation-row",
                "continuation row before any operation",
            )
            continue
        values = cell_values(cells.get("iam action", ()))
        page.sdk_clients += bool(clean(inline_text(cells.get("sdk client", ()))))
        page.ops.append(
            _Op(
                operation,
                values[0] if values else "",
                clean(inline_text(cells.get("access level", ()))),
                r.line,
                compact(inline_text(cells.get("condition key", ()))),
                possible_values(cell_values(cells.get("possible value(s)", ()))),
            )
        )


def _is_anchor(node: SyntaxTreeNode) -> bool:
    """The ``<a name="...">`` line style 1 puts under every heading."""
    if node.type == "html_block":
        return bool(_ANCHOR.match(node.content.strip()))
    if node.type == "paragraph":
        first = next((c for c in inline_children(node) if c.type != "text" or c.content), None)
        return (
            first is not None and first.type == "html_inline" and bool(_ANCHOR.match(first.content))
        )
    return False


def _operations_table(table: Table) -> bool:
    return "operation" in table.header and "iam action" in table.header


# --------------------------------------------------------------------------- assembly


def _attach_operations(page: _Page, prefix: str | None) -> dict[str, list[str]]:
    """Operation names per action of this service (its lookup form: :func:`compact`,
    lower-cased), with diagnostics for mappings that do not fit; :attr:`_Page.rows` gets
    every well-formed mapping."""
    by_action: dict[str, list[str]] = {}
    actions = {compact(a.name).lower(): a for a in page.actions}
    for op in page.ops:
        service, sep, name = op.action.partition(":")
        if not sep or not service or not name:
            page.diag(
                op.line,
                Severity.WARNING,
                "bad-operation-row",
                f"operation {op.operation} -> {op.action!r} is not 'service:Action'; not read",
            )
            continue
        page.op_rows.append(
            OperationRow(op.operation, service, name, op.condition_key, op.values, op.line)
        )
        if not prefix or service.lower() != prefix.lower():
            continue  # another service's action (iam:PassRole): in the operations only
        action = actions.get(compact(name).lower())
        if action is None:
            page.diag(
                op.line,
                Severity.WARNING,
                "operation-unknown-action",
                f"operation {op.operation} authorizes {op.action}, which the page does not define",
            )
            continue
        ops = by_action.setdefault(compact(name).lower(), [])
        if op.operation not in ops:
            ops.append(op.operation)
        if op.access_level and (
            parse_access_levels(op.access_level)[0] != parse_access_levels(action.access_level)[0]
        ):
            page.diag(
                op.line,
                Severity.WARNING,
                "operation-access-level-differs",
                f"operation {op.operation} lists {op.action} as {op.access_level!r}, "
                f"the actions table as {action.access_level!r}",
            )
    if page.sdk_clients:
        page.diag(
            None,
            Severity.INFO,
            "operation-sdk-clients-dropped",
            f"{page.sdk_clients} SDK client name(s) of the API operations section are not "
            "carried (an operation's SDK methods come from AWS's JSON, with their method names)",
        )
    return by_action


def _strip_front_matter(text: str) -> tuple[str, str | None]:
    """Blank a leading YAML front matter (lines kept, so line numbers stay true) and
    return its ``source_url``."""
    if not text.startswith("---"):
        return text, None
    end = _FRONT_MATTER_END.search(text, 3)
    if end is None:
        return text, None
    front = text[: end.end()]
    m = _SOURCE_URL.search(front)
    return "\n" * front.count("\n") + text[end.end() :], (m.group(1) if m else None)


def parse(text: str, *, source: str, url: str | None = None) -> ParsedPage:
    """Parse one ``.md`` page of the July 2026 layout."""
    body, source_url = _strip_front_matter(text)
    page_url = url or source_url
    base = page_url if page_url and page_url.startswith("http") else f"{SAR_BASE}{source}.html"
    root, bounded = parse_markdown(body, source)
    source_lines = body.splitlines() if root is not None else []
    if root is None:
        return ParsedPage(
            PageRef(source, "markdown-list", "unknown", page_url),
            None,
            None,
            (),
            (),
            (),
            tuple(bounded),
        )
    name, prefix, _ = title_and_prefix(root)
    page = _Page(source, base)
    page.diags.extend(bounded)
    page.diags.extend(missing_title_or_prefix(source, name, prefix))

    resources: list[ResourceRow] = []
    keys: list[KeyRow] = []
    for section, node in sections(root, _SECTION_HEADINGS):
        if _is_anchor(node):
            page.anchors = True
        if node.type == "table":
            table = read_table(node, source_lines)
            if (overfull := table.overfull(source)) is not None:
                page.diags.append(overfull)
            kind = table_kind(table)
            if _operations_table(table):
                _table_operations(table, page)
            elif kind == "actions":
                _table_actions(table, page, permission_only=section == "permission-only")
            elif kind == "resources":
                resources.extend(resource_rows(table))
            elif kind == "keys":
                keys.extend(key_rows(table))
            else:
                page.diag(*unknown_table(table))
        elif node.type == "bullet_list" and section == "operations":
            _list_operations(node, page)
        elif node.type == "bullet_list" and section in ("actions", "permission-only"):
            _list_actions(node, page, permission_only=section == "permission-only")

    if not page.actions:
        page.diag(None, Severity.ERROR, "no-actions", "no actions table or list found")
    elif (cut := truncation(source, body)) is not None:
        page.diags.append(cut)
    if page.unresolved:
        _, href, line = page.unresolved[0]
        names = ", ".join(name for name, _, _ in page.unresolved)
        page.diag(
            line,
            Severity.INFO,
            "unresolved-link",
            f"{len(page.unresolved)} action(s) link to an unresolved template ({href}); "
            f"api_reference left empty ({names})",
        )
    operations = _attach_operations(page, compact(prefix) if prefix else None)

    rows: list[ActionRow] = []
    for a in page.actions:
        cell_name = f"{a.name} [permission only]" if a.permission_only else a.name
        ops = tuple(operations.get(compact(a.name).lower(), ()))
        for i, (resource, row_keys, line) in enumerate(a.rows or [("", (), a.line)]):
            rows.append(
                ActionRow(
                    action=cell_name,
                    description=a.description,
                    access_level=a.access_level,
                    resource_type=resource,
                    condition_keys=row_keys,
                    line=line if i else a.line,
                    api_reference=a.href,
                    operations=ops if i == 0 else (),
                )
            )
    layout = "sar-2026-07-list" if page.list_sections or page.anchors else "sar-2026-07-table"
    ref = PageRef(
        source, "markdown-list", layout, page_url, carried.declare("markdown-list", layout)
    )
    return build_page(
        ref,
        prefix=prefix,
        service_name=name,
        actions=rows,
        resources=resources,
        keys=keys,
        diagnostics=page.diags,
        # The July 2026 layout prints an action's own keys on each of its rows.
        keys_on_rows=True,
        operations=build_operations(page.op_rows, ref),
    )
