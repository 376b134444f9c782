"""Format ``markdown-table``: the IAM User Guide's GitHub markdown (2017–2020).

Two layouts, both read from markdown-it tokens (never by splitting pipes):

``userguide-md-table`` (2018–2020)
    One section per table (``## Actions defined by X``, ``## Resource types
    defined by X``, ``## Condition keys for X``), each a GitHub pipe table with
    backslash escapes (``$\\{Partition\\}``), multi-value cells as several links
    side by side. When any action of a page needs more than one row, the whole
    actions table is replaced by one placeholder link ("See the AWS
    documentation website for more details"); the other tables are still there.
``userguide-md-2017`` (2017)
    No tables: ``**Actions for X**`` and ``**Condition context keys for X**``
    each followed by a bullet list of code spans (`` `acm:Foo` `` or
    `` `[acm:Foo](url)` ``). Names only: no descriptions, access levels or
    resource types.

Tables are recognised by their normalised header text, columns by name. Every
cell rule (``*`` = required, ``[permission only]``, access levels, whitespace)
lives in :mod:`parsers.rows`; this module only turns tokens into rows.

The inline helpers (:func:`inline_text`, :func:`cell_values`, :func:`first_href`,
:func:`read_table`) are shared with :mod:`parsers.markdown_list`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_block.table import escapedSplit
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from . import carried
from .model import Diagnostic, PageRef, ParsedPage, Severity
from .rows import ActionRow, KeyRow, ResourceRow, build_page, clean, collapse, compact, words

DESCRIPTION = (
    "GitHub markdown of the IAM User Guide (2017-2020): pipe tables with backslash "
    "escapes, or the 2017 bullet lists"
)


def _keep_link(url: str) -> str:
    # markdown-it percent-encodes link targets (`${UserGuideDocPage}` ->
    # `$%7BUserGuideDocPage%7D`); the catalog keeps the target the page wrote,
    # as the HTML parser does (escapes and entities are already resolved).
    return url


# CommonMark plus GitHub tables; html stays on so `<br />` and `<a name>` are tokens.
MD = MarkdownIt("commonmark").enable("table")
MD.normalizeLink = _keep_link  # type: ignore[method-assign]

# Bounds on the work one page may cost. markdown-it makes several tokens (some 1 KB of
# memory and 40 us each) per table cell, list item or inline element, so a 20 MB page of
# one-byte cells would take tens of GB: the work is estimated before parsing and a page
# over the bound is refused with an error diagnostic. The largest real page (ec2, 2026)
# has some 8,600 table cells and 15,000 lines.
# Table cells (rows x the header's columns, markdown-it pads short rows) plus other lines.
MAX_BLOCK_UNITS = 60_000
# Inline tokens (text runs, links, code spans, emphasis) of the whole page.
MAX_INLINE_TOKENS = 400_000
# One paragraph or cell longer than this is kept as plain text (the longest of a real
# page is 1,413 characters), and so is every one after the page's inline text passed
# either total. Inline parsing costs some 20 us per markup character (`![![![`, `**a`)
# and little per other character: real pages have at most 2,667 markup characters in
# 43,567 of inline text (ec2, 2020; the 2026 `.md` of ec2 is estimated at 60,000 in
# 600,000), so the totals bound a page's inline work to a few seconds.
MAX_INLINE_CHARS = 16 * 1024
MAX_INLINE_TOTAL_CHARS = 4 * 1024 * 1024
MAX_INLINE_MARKUP_CHARS = 100_000
_MARKUP_CHARS = "[]!*_<>`\\&"
# Emphasis nested deeper than this (500 `*` around a word) would overflow the recursion
# of the syntax tree: such a paragraph or cell is kept as plain text.
MAX_INLINE_NESTING = 20
# markdown-it stops reading a container (list, block quote) nested this deep (its
# maxNesting); the content inside is dropped, so the page says so.
_MAX_BLOCK_NESTING: int = MD.options["maxNesting"]
_DELIMITER_ROW = re.compile(r"^ {0,3}\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")


def _block_units(lines: Iterable[str]) -> int:
    """An upper bound of the block-level work of a page: every non-blank line, plus for
    each pipe table its columns times its rows (a table ends at a blank line)."""
    units = 0
    table_columns = 0
    for line in lines:
        if not line.strip():
            table_columns = 0
            continue
        if table_columns:
            units += table_columns
        elif "|" in line and "-" in line and _DELIMITER_ROW.match(line):
            table_columns = len(escapedSplit(line.strip().strip("|"))) or 1
            units += 2 * table_columns  # the header and the delimiter row
        else:
            units += 1
    return units


def _bounded_inline(state: StateCore) -> None:
    """markdown-it's core ``inline`` rule with the bounds above: an inline token that is
    too long, comes after the page's budget is spent, or nests too deeply becomes one
    text token holding its source text, and ``state.env`` records where."""
    env = state.env
    env.setdefault("inline_tokens", 0)
    env.setdefault("inline_chars", 0)
    env.setdefault("inline_markup", 0)
    env.setdefault("plain", {})
    for token in state.tokens:
        if token.type != "inline":
            continue
        line = token.map[0] + 1 if token.map else None
        children: list[Token] = []
        reason = None
        if len(token.content) > MAX_INLINE_CHARS:
            reason = f"longer than {MAX_INLINE_CHARS} characters"
        elif env["inline_tokens"] > MAX_INLINE_TOKENS:
            reason = f"past the page's {MAX_INLINE_TOKENS} inline elements"
        elif env["inline_chars"] + len(token.content) > MAX_INLINE_TOTAL_CHARS or (
            env["inline_markup"] + (markup := sum(map(token.content.count, _MARKUP_CHARS)))
            > MAX_INLINE_MARKUP_CHARS
        ):
            reason = (
                f"past the page's {MAX_INLINE_TOTAL_CHARS} characters of inline text or "
                f"{MAX_INLINE_MARKUP_CHARS} markup characters"
            )
        else:
            env["inline_chars"] += len(token.content)
            env["inline_markup"] += markup
            state.md.inline.parse(token.content, state.md, env, children)
            env["inline_tokens"] += len(children)
            if max((c.level for c in children), default=0) > MAX_INLINE_NESTING:
                reason = f"emphasis or links nested more than {MAX_INLINE_NESTING} deep"
        if reason is not None:
            text = Token("text", "", 0)
            text.content = token.content
            children = [text]
            env["plain"].setdefault(reason, []).append(line)
        token.children = children


MD.core.ruler.at("inline", _bounded_inline)


# The last section of every page: a heading (2018 on) or a bold line (2017).
_KEYS_SECTION = re.compile(
    r"^(?:#+[ \t]+|\*\*)condition[ \t]+(?:context[ \t]+)?keys[ \t]+for[ \t]", re.I | re.M
)


def truncation(source: str, text: str) -> Diagnostic | None:
    """A warning when the page has no "Condition keys for X" section, which every page
    ends with (even one without keys says so there): it is cut off."""
    if _KEYS_SECTION.search(text):
        return None
    return Diagnostic(
        source,
        text.count("\n") + 1,
        Severity.WARNING,
        "truncated",
        "the page ends before its 'Condition keys for' section, which every SAR page ends "
        "with: the page looks truncated, content after the cut is missing",
    )


def _broken_tables(tokens: Sequence[Token], source: str) -> list[Diagnostic]:
    """Paragraphs laid out like a pipe table (two or more lines starting with ``|``) that
    markdown-it did not read as one: a damaged delimiter row turns a whole table into
    text, and its rows would vanish without a word."""
    out: list[Diagnostic] = []
    for i, token in enumerate(tokens[:-1]):
        if token.type != "paragraph_open":
            continue
        lines = tokens[i + 1].content.split("\n", 2)
        if len(lines) >= 2 and all(line.lstrip().startswith("|") for line in lines[:2]):
            line = token.map[0] + 1 if token.map else None
            out.append(
                Diagnostic(
                    source,
                    line,
                    Severity.WARNING,
                    "not-a-table",
                    f"lines from {line} are laid out like a pipe table but are not one (no "
                    "valid delimiter row under the header): read as text, rows not read",
                )
            )
    return out


def parse_markdown(text: str, source: str) -> tuple[SyntaxTreeNode | None, list[Diagnostic]]:
    """The syntax tree of a markdown page within the bounds above, and diagnostics for
    what the bounds left out; None (with an error) for a page over the block bound."""
    # Line by line, not a list of them: 6 million short lines were 300 MB as a list.
    units = _block_units(io.StringIO(text))
    if units > MAX_BLOCK_UNITS:
        return None, [
            Diagnostic(
                source,
                None,
                Severity.ERROR,
                "too-complex",
                f"page has {units} table cells and lines, more than the {MAX_BLOCK_UNITS} "
                "this parser reads in one page (the largest real page has under 25,000); "
                "page not read",
            )
        ]
    env: dict[str, Any] = {"inline_tokens": 0, "plain": {}}
    tokens = MD.parse(text, env)
    diags = _broken_tables(tokens, source)
    for reason, at in env["plain"].items():
        diags.append(
            Diagnostic(
                source,
                at[0],
                Severity.WARNING,
                "markdown-not-read",
                f"{len(at)} paragraph(s) or cell(s) {reason} kept as plain text, "
                f"markdown unread (first at line {at[0]})",
            )
        )
    deep = next((t for t in tokens if t.level >= _MAX_BLOCK_NESTING - 1 and t.map), None)
    if deep is not None:
        assert deep.map is not None
        diags.append(
            Diagnostic(
                source,
                deep.map[0] + 1,
                Severity.ERROR,
                "nested-too-deep",
                f"lists or block quotes nested {_MAX_BLOCK_NESTING} deep: the content inside "
                "them is not read",
            )
        )
    return SyntaxTreeNode(tokens), diags


_TITLE = re.compile(
    r"^actions,?\s+(?:resources,?\s+)?and\s+condition\s+(?:context\s+)?keys\s+for\s+(.+)$",
    re.IGNORECASE,
)
_PREFIX = re.compile(r"\(\s*service\s+prefix:\s*([^\s)]+)\s*\)", re.IGNORECASE)
_BR = re.compile(r"^<br\s*/?>$", re.IGNORECASE)
_ANCHOR_TAG = re.compile(r"^(?:<a\s[^>]*>|</a>)$", re.IGNORECASE)
_BROKEN_LINK = re.compile(r"^\s*\[([^\]]+)\]\(([^)]*)\)(.*)$", re.DOTALL)
_PERMISSION_ONLY_NOTE = re.compile(r"\bpermission\s+only\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"see the aws documentation website for more details", re.IGNORECASE)
_REQUIRED_SUFFIX = re.compile(r"\(\s*\*\s*required\s*\)")

# --------------------------------------------------------------------------- sniff

_MD_TITLE_LINE = re.compile(
    r"^#[ \t]+Actions,?[ \t]+(?:Resources,?[ \t]+)?and[ \t]+Condition[ \t]+(?:Context[ \t]+)?Keys",
    re.IGNORECASE | re.MULTILINE,
)
_ACTIONS_TABLE_LINE = re.compile(r"^\|\s*Actions\s*\|\s*Description\s*\|", re.MULTILINE)
_RESOURCE_TABLE_LINE = re.compile(r"^\|\s*Resource\s+Types\s*\|\s*ARN\s*\|", re.I | re.M)
_LIST_2017_LINE = re.compile(r"^\*\*Actions for .+\*\*\s*$", re.MULTILINE)
# Marks of the 2026 `.md` rendering (format markdown-list), never in the User Guide markdown.
_LAYOUT_2026 = re.compile(
    r"service-specific operations, resources|^##\s+API operations defined by"
    r"|^##\s+Permission-only actions for|\*\*Resource types \(\\\*required\):\*\*",
    re.IGNORECASE | re.MULTILINE,
)


def sniff(text: str) -> bool:
    """A User Guide markdown page: ``# Actions, ... Keys for`` title, a service prefix,
    and pipe tables or the 2017 lists; not the 2026 `.md` layout."""
    if not _MD_TITLE_LINE.search(text) or not _PREFIX.search(text.replace("\\", "")):
        return False
    if _LAYOUT_2026.search(text):
        return False
    return bool(
        _ACTIONS_TABLE_LINE.search(text)
        or _RESOURCE_TABLE_LINE.search(text)
        or _LIST_2017_LINE.search(text)
        or _PLACEHOLDER.search(text)
    )


# --------------------------------------------------------------------------- inline helpers


def _is_br(node: SyntaxTreeNode) -> bool:
    return node.type == "html_inline" and bool(_BR.match(node.content.strip()))


def _is_anchor_tag(node: SyntaxTreeNode) -> bool:
    return node.type == "html_inline" and bool(_ANCHOR_TAG.match(node.content.strip()))


def inline_text(nodes: Sequence[SyntaxTreeNode]) -> str:
    """The text the page means: escapes resolved, link text kept, emphasis markers
    kept as written (an unescaped ``*`` must not vanish), ``<br>`` as a newline,
    ``<a name>`` anchors dropped. Other inline "html" is text the page wrote
    unescaped (``s3:ExistingObjectTag/<key>``, ``<code>AWS::EC2::Instance</code>``,
    which the HTML pages show literally), so it is kept."""
    parts: list[str] = []
    for n in nodes:
        if n.type in ("text", "code_inline"):
            parts.append(n.content)
        elif n.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif n.type == "html_inline":
            if _is_br(n):
                parts.append("\n")
            elif not _is_anchor_tag(n):
                parts.append(n.content)
        elif n.type in ("em", "strong"):
            parts.append(n.markup + inline_text(n.children) + n.markup)
        else:  # link, image and anything else that wraps text
            parts.append(inline_text(n.children))
    return "".join(parts)


def cell_segments(nodes: Sequence[SyntaxTreeNode]) -> list[str]:
    """The ``<br>``-separated parts of a cell, cleaned, empty parts dropped (for
    cells whose values may contain spaces the page put there, like ARNs)."""
    return [s for s in (collapse(part) for part in inline_text(nodes).split("\n")) if s]


def cell_values(nodes: Sequence[SyntaxTreeNode]) -> list[str]:
    """The values of a multi-value cell (names, keys, actions), in order.

    A link is one value (its text); ``<br>`` separates values; other text is split
    on whitespace, since names and keys contain none (the 2018–2020 tables put
    values side by side, the 2026 rendering joins them with ``<br />``).
    """
    values: list[str] = []
    buffer: list[SyntaxTreeNode] = []

    def flush() -> None:
        values.extend(words(inline_text(buffer)))
        buffer.clear()

    for n in nodes:
        if n.type == "link":
            flush()
            v = collapse(inline_text(n.children))
            if v:
                values.append(v)
        elif _is_br(n):
            flush()
        else:
            buffer.append(n)
    flush()
    return values


def first_href(nodes: Sequence[SyntaxTreeNode]) -> str | None:
    """The target of the first link among ``nodes`` (searched depth-first)."""
    for n in nodes:
        if n.type == "link":
            href = str(n.attrs.get("href", "")).strip()
            return href or None
        found = first_href(n.children)
        if found is not None:
            return found
    return None


def line_of(node: SyntaxTreeNode) -> int | None:
    """1-based source line of a block node."""
    return node.map[0] + 1 if node.map else None


def inline_children(node: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    """The inline nodes of a paragraph, heading or table cell."""
    for c in node.children:
        if c.type == "inline":
            return list(c.children)
    return []


def normalise_header(text: str) -> str:
    """``Resource Types (*required)`` -> ``resource types``."""
    return clean(_REQUIRED_SUFFIX.sub("", text)).lower()


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True, slots=True)
class TableRow:
    """One body row of a pipe table."""

    cells: tuple[tuple[SyntaxTreeNode, ...], ...]
    """Inline nodes of each cell; markdown-it pads short rows with empty cells."""
    line: int | None
    """1-based source line."""
    source_cells: int
    """How many cells the source row really has (a short row is a rowspan continuation)."""


@dataclass(frozen=True, slots=True)
class Table:
    """A pipe table with its normalised header."""

    header: tuple[str, ...]
    rows: tuple[TableRow, ...]
    line: int | None

    def overfull(self, source: str) -> Diagnostic | None:
        """A warning for rows with more cells than the header: markdown-it drops the
        extra cells, and a row joined to the next by a lost line break loses that row."""
        lines = [r.line for r in self.rows if r.source_cells > len(self.header)]
        if not lines:
            return None
        return Diagnostic(
            source,
            lines[0],
            Severity.WARNING,
            "row-cell-count",
            f"{len(lines)} table row(s) have more cells than the header's "
            f"{len(self.header)} (first at line {lines[0]}); the extra cells are not read",
        )

    def column(self, *names: str) -> int | None:
        """Index of the first column whose normalised header is one of ``names``."""
        for name in names:
            if name in self.header:
                return self.header.index(name)
        return None


def _count_source_cells(source_lines: Sequence[str], line: int | None) -> int:
    # markdown-it pads a short row with empty cells, so its tokens cannot tell a
    # continuation row of the 2026-07 rendering (2 cells under a 5-column header)
    # from a row with empty trailing cells; count with markdown-it's own splitter.
    if line is None or line > len(source_lines):
        return 0
    text = source_lines[line - 1].strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    return len(escapedSplit(text))


def read_table(node: SyntaxTreeNode, source_lines: Sequence[str]) -> Table:
    """A ``table`` node as a :class:`Table`."""
    header: tuple[str, ...] = ()
    rows: list[TableRow] = []
    for part in node.children:
        for tr in part.children:
            cells = tuple(tuple(inline_children(c)) for c in tr.children)
            if part.type == "thead":
                header = tuple(normalise_header(inline_text(c)) for c in cells)
            else:
                line = line_of(tr)
                rows.append(TableRow(cells, line, _count_source_cells(source_lines, line)))
    return Table(header, tuple(rows), line_of(node))


def cell(row: TableRow, index: int | None) -> tuple[SyntaxTreeNode, ...]:
    """The inline nodes of column ``index`` (empty when the column is absent)."""
    if index is None or index >= len(row.cells):
        return ()
    return row.cells[index]


def resource_rows(table: Table) -> Iterator[ResourceRow]:
    """Rows of a resource-types table (``Resource types | ARN | Condition keys``)."""
    name_col = table.column("resource types", "resources", "resource type")
    arn_col = table.column("arn")
    keys_col = table.column("condition keys")
    for r in table.rows:
        yield ResourceRow(
            name=collapse(inline_text(cell(r, name_col))),
            arns=tuple(cell_segments(cell(r, arn_col))),
            condition_keys=tuple(cell_values(cell(r, keys_col))),
            line=r.line,
        )


def key_rows(table: Table) -> Iterator[KeyRow]:
    """Rows of a condition-keys table (``Condition keys | Description | Type``)."""
    name_col = table.column("condition keys", "condition key")
    desc_col = table.column("description")
    type_col = table.column("type")
    for r in table.rows:
        yield KeyRow(
            name=collapse(inline_text(cell(r, name_col))),
            description=inline_text(cell(r, desc_col)),
            types=tuple(cell_values(cell(r, type_col))),
            line=r.line,
        )


def unknown_table(table: Table) -> tuple[int | None, Severity, str, str]:
    """The diagnostic (line, severity, code, message) for a table of no known kind."""
    header = " | ".join(table.header)
    return (
        table.line,
        Severity.WARNING,
        "unknown-table",
        f"table with header {header!r} not understood; skipped",
    )


def table_kind(table: Table) -> str | None:
    """``actions``, ``resources``, ``keys`` or None, from the header text alone."""
    h = set(table.header)
    if "actions" in h and "description" in h:
        return "actions"
    if "arn" in h and ({"resource types", "resources", "resource type"} & h):
        return "resources"
    if "type" in h and ({"condition keys", "condition key"} & h):
        return "keys"
    return None


def missing_title_or_prefix(source: str, name: str | None, prefix: str | None) -> list[Diagnostic]:
    """Diagnostics for a page without the SAR title or the service-prefix sentence."""
    found = []
    if name is None:
        found.append(
            Diagnostic(
                source,
                1,
                Severity.WARNING,
                "no-title",
                "no '# Actions, resources, and condition keys for' title",
            )
        )
    if prefix is None:
        found.append(
            Diagnostic(
                source, None, Severity.ERROR, "no-prefix", "no '(service prefix: x)' sentence"
            )
        )
    return found


def title_and_prefix(root: SyntaxTreeNode) -> tuple[str | None, str | None, int | None]:
    """Service name from the ``#`` title, prefix from "(service prefix: `x`)", and the
    line of the prefix sentence."""
    name: str | None = None
    prefix: str | None = None
    line: int | None = None
    for node in root.children:
        if name is None and node.type == "heading" and node.tag == "h1":
            m = _TITLE.match(clean(inline_text(inline_children(node))))
            if m:
                name = m.group(1)
        elif prefix is None and node.type == "paragraph":
            m = _PREFIX.search(clean(inline_text(inline_children(node))))
            if m:
                prefix, line = m.group(1), line_of(node)
        if name is not None and prefix is not None:
            break
    return name, prefix, line


# --------------------------------------------------------------------------- sections

_SECTION_HEADINGS = (
    ("actions defined by", "actions"),
    ("resource types defined by", "resources"),
    ("resources defined by", "resources"),
    ("condition keys for", "keys"),
)
# 2017: bold paragraphs instead of headings.
_SECTION_PARAGRAPHS = (
    ("actions for", "actions"),
    ("condition context keys for", "keys"),
)


def _heading_section(node: SyntaxTreeNode, headings: Sequence[tuple[str, str]]) -> str:
    text = clean(inline_text(inline_children(node))).lower()
    return next((kind for start, kind in headings if text.startswith(start)), "other")


def _paragraph_section(node: SyntaxTreeNode, paragraphs: Sequence[tuple[str, str]]) -> str | None:
    children = [c for c in inline_children(node) if c.type != "text" or c.content.strip()]
    if len(children) != 1 or children[0].type != "strong":
        return None
    text = clean(inline_text(children[0].children)).lower()
    return next((kind for start, kind in paragraphs if text.startswith(start)), None)


def sections(
    root: SyntaxTreeNode,
    headings: Sequence[tuple[str, str]],
    paragraphs: Sequence[tuple[str, str]] = (),
) -> Iterator[tuple[str | None, SyntaxTreeNode]]:
    """Each top-level block with the kind of section it is in (None before the first).

    An h2 heading starts the section of the first of ``headings`` (lower-case start of
    its text, kind) it starts with, else an ``"other"`` one; a paragraph of bold text
    alone starts the section of one of ``paragraphs`` (2017 pages), if any matches."""
    section: str | None = None
    for node in root.children:
        if node.type == "heading" and node.tag == "h2":
            section = _heading_section(node, headings)
            continue
        if paragraphs and node.type == "paragraph":
            kind = _paragraph_section(node, paragraphs)
            if kind is not None:
                section = kind
                continue
        yield section, node


# --------------------------------------------------------------------------- parse


class _Page:
    """Rows and diagnostics gathered while walking one page."""

    def __init__(self, source: str, prefix: str | None) -> None:
        self.source = source
        self.prefix = prefix
        self.actions: list[ActionRow] = []
        self.resources: list[ResourceRow] = []
        self.keys: list[KeyRow] = []
        self.diags: list[Diagnostic] = []
        self.placeholder_line: int | None = None
        self.actions_table = False
        self.lists_2017 = False

    def diag(self, line: int | None, severity: Severity, code: str, message: str) -> None:
        self.diags.append(Diagnostic(self.source, line, severity, code, message))


def _action_cell(
    nodes: Sequence[SyntaxTreeNode], line: int | None, page: _Page
) -> tuple[str, str | None]:
    """Action cell text and the link on the action name."""
    text = inline_text(nodes)
    href = first_href(nodes)
    if href is None:
        m = _BROKEN_LINK.match(text)
        if m:
            # 2018 list_amazonelasticmapreduce: `[Name](http://…/API_ Name.html)`, a
            # space inside the target, so it is no link in markdown; read it as one.
            page.diag(
                line,
                Severity.WARNING,
                "malformed-link",
                f"action cell {clean(text)!r} is a link with whitespace in its target; "
                "read as the link it was meant to be",
            )
            return m.group(1) + m.group(3), compact(m.group(2)) or None
    return text, href


def _action_rows(table: Table, page: _Page) -> None:
    name_col = table.column("actions", "action")
    desc_col = table.column("description")
    level_col = table.column("access level")
    res_col = table.column("resource types", "resource type")
    keys_col = table.column("condition keys", "condition key")
    deps_col = table.column("dependent actions", "dependent action")
    for needed, col in (("access level", level_col), ("resource types", res_col)):
        if col is None:
            page.diag(
                table.line,
                Severity.WARNING,
                "missing-column",
                f"actions table has no {needed} column",
            )
    for r in table.rows:
        if r.source_cells and r.source_cells < len(table.header):
            # The User Guide markdown never writes continuation rows (see the module
            # docstring); a short row is damage, not structure.
            page.diag(
                r.line,
                Severity.WARNING,
                "short-row",
                f"actions-table row has {r.source_cells} of {len(table.header)} cells; "
                "missing cells read as empty",
            )
        resources = cell_values(cell(r, res_col))
        action, href = _action_cell(cell(r, name_col), r.line, page)
        common = {
            "action": action,
            "description": inline_text(cell(r, desc_col)),
            "access_level": inline_text(cell(r, level_col)),
            "line": r.line,
            "api_reference": href,
        }
        keys = tuple(cell_values(cell(r, keys_col)))
        deps = tuple(cell_values(cell(r, deps_col)))
        if len(resources) <= 1:
            page.actions.append(
                ActionRow(
                    resource_type=resources[0] if resources else "",
                    condition_keys=keys,
                    dependent_actions=deps,
                    **common,  # type: ignore[arg-type]
                )
            )
            continue
        # One row never lists two resource types in this layout (multi-row actions
        # are replaced by the placeholder); if it does, the keys cannot be assigned
        # to one of them, so they stay on the action's own row.
        page.diag(
            r.line,
            Severity.WARNING,
            "several-resource-types-in-row",
            f"{len(resources)} resource types in one row; its condition keys and "
            "dependent actions are kept on the action's own row",
        )
        for name in resources:
            page.actions.append(ActionRow(resource_type=name, **common))  # type: ignore[arg-type]
        page.actions.append(
            ActionRow(condition_keys=keys, dependent_actions=deps, **common)  # type: ignore[arg-type]
        )


def _list_2017(node: SyntaxTreeNode, section: str, page: _Page) -> None:
    """A 2017 bullet list of code spans: `` `acm:Foo` `` or `` `[acm:Foo](url)` ``."""
    page.lists_2017 = True
    seen: set[str] = set()
    for item in node.children:
        para = next((c for c in item.children if c.type == "paragraph"), None)
        if para is None:
            continue
        line = line_of(item)
        children = inline_children(para)
        # The 2017 pages put link syntax inside the code span; parse the span's
        # content as markdown to read the link.
        codes = [c.content for c in children if c.type == "code_inline"]
        source = codes[0] if codes else inline_text(children)
        # 2017 list_cloudsearch: "`cloudsearch:document` - this is an IAM policy
        # permission only, not an API action that can be called".
        note = inline_text([c for c in children if c.type != "code_inline"])
        permission_only = bool(_PERMISSION_ONLY_NOTE.search(note))
        inner = SyntaxTreeNode(MD.parseInline(source)).children
        nodes = inner[0].children if inner else []
        value = collapse(inline_text(nodes))
        href = first_href(nodes)
        if not value:
            continue
        if value.lower() in seen:
            # Rows of an identical repeat merge without loss (parsers.rows); say so.
            page.diag(line, Severity.INFO, "repeated-name", f"{value} is listed twice")
        seen.add(value.lower())
        if section == "keys":
            page.keys.append(KeyRow(value, "", (), line))
            continue
        prefix, sep, name = value.partition(":")
        if not sep:
            prefix, name = "", value
        if page.prefix and prefix and prefix.lower() != page.prefix.lower():
            page.diag(
                line,
                Severity.WARNING,
                "foreign-prefix",
                f"action {value} is listed under prefix {page.prefix}; kept as {name}",
            )
        cell_text = f"{name} [permission only]" if permission_only else name
        page.actions.append(ActionRow(cell_text, "", "", line=line, api_reference=href))


def parse(text: str, *, source: str, url: str | None = None) -> ParsedPage:
    """Parse one User Guide markdown page."""
    root, bounded = parse_markdown(text, source)
    source_lines = text.splitlines() if root is not None else []
    if root is None:
        return ParsedPage(
            PageRef(source, "markdown-table", "unknown", url),
            None,
            None,
            (),
            (),
            (),
            tuple(bounded),
        )
    name, prefix, _ = title_and_prefix(root)
    page = _Page(source, compact(prefix) if prefix else None)
    page.diags.extend(bounded)
    page.diags.extend(missing_title_or_prefix(source, name, prefix))

    for section, node in sections(root, _SECTION_HEADINGS, _SECTION_PARAGRAPHS):
        if node.type == "table":
            table = read_table(node, source_lines)
            if (overfull := table.overfull(source)) is not None:
                page.diags.append(overfull)
            kind = table_kind(table)
            if kind == "actions":
                page.actions_table = True
                _action_rows(table, page)
            elif kind == "resources":
                page.resources.extend(resource_rows(table))
            elif kind == "keys":
                page.keys.extend(key_rows(table))
            else:
                page.diag(*unknown_table(table))
            if kind is not None and section not in (kind, None, "other"):
                page.diag(
                    table.line,
                    Severity.WARNING,
                    "table-in-wrong-section",
                    f"{kind} table found in the {section} section; read by its header",
                )
        elif node.type == "bullet_list" and section in ("actions", "keys"):
            _list_2017(node, section, page)
        elif (
            node.type == "paragraph"
            and section == "actions"
            and _PLACEHOLDER.search(inline_text(inline_children(node)))
        ):
            page.placeholder_line = line_of(node)

    gap: tuple[str, ...] = ()
    if page.placeholder_line is not None and not page.actions_table:
        gap = ("service.actions",)
        page.diag(
            page.placeholder_line,
            Severity.WARNING,
            "actions-not-in-source",
            "the actions table is replaced by a link to the AWS documentation website "
            "(the page has multi-row actions); this page carries no actions",
        )
    elif not page.actions and not page.actions_table:
        page.diag(None, Severity.ERROR, "no-actions", "no actions table, list or placeholder found")
    if page.actions and (cut := truncation(source, text)) is not None:
        page.diags.append(cut)

    layout = (
        "userguide-md-2017" if page.lists_2017 and not page.actions_table else "userguide-md-table"
    )
    if layout == "userguide-md-2017" and page.actions:
        page.diag(
            page.actions[0].line,
            Severity.INFO,
            "names-only",
            "2017 layout lists action and condition-key names only: no descriptions, "
            "access levels, resource types or key types",
        )
    return build_page(
        PageRef(
            source,
            "markdown-table",
            layout,
            url,
            # A page whose actions table is a placeholder link carries no actions.
            carried.declare("markdown-table", layout, *gap),
        ),
        prefix=page.prefix,
        service_name=name,
        actions=page.actions,
        resources=page.resources,
        keys=page.keys,
        diagnostics=page.diags,
    )
