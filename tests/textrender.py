"""Render SAR HTML pages as flat text and pipe text, for the round-trip tests.

This is test machinery, independent of ``parsers.html``: it reads the page with
lxml directly and writes what a text extraction of the page would give.

- ``render_flat``: like seeds 001 and 004. The cells of a row joined by spaces on
  one line, every ``<p>`` of a cell as its own blank-line separated paragraph, so
  the boundaries between the rows of one action are lost.
- ``render_pipe``: like seed 003. Cells separated by ``|``, every cell closed by
  ``|``, multi-value cells space-joined, rows padded to the header's column count
  (a continuation row's cells either before or after the padding), rows sometimes
  wrapped over lines before a multi-value cell or inside a long description.

Both add whitespace noise driven by a seeded :class:`random.Random`: extra spaces,
extra blank lines, and ``$ { Partition}`` instead of ``${Partition}``. The noise
never changes what a cell says, so a parser must recover every field the text
carries.
"""

from __future__ import annotations

import random
import re
import textwrap
from dataclasses import dataclass

from lxml import html as lxml_html

_VAR = re.compile(r"\$\s*\{\s*([^{}\s]*)\s*\}")


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: inline text, or the texts of its ``<p>`` paragraphs."""

    text: str
    paragraphs: tuple[str, ...] | None = None
    """None for an inline cell; the paragraph texts otherwise (possibly empty)."""


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True)
class Block:
    """A heading, a paragraph of prose, or a table, in page order."""

    kind: str  # "heading", "para", "list-item" or "table"
    text: str = ""
    table: Table | None = None


@dataclass(frozen=True, slots=True)
class Page:
    title: str
    blocks: tuple[Block, ...]


def _text(el: lxml_html.HtmlElement) -> str:
    return " ".join(el.text_content().split())


def _inside(el: lxml_html.HtmlElement, tags: tuple[str, ...]) -> bool:
    return any(a.tag in tags for a in el.iterancestors())


def _cell(td: lxml_html.HtmlElement) -> Cell:
    ps = td.findall(".//p")
    if ps:
        return Cell(_text(td), tuple(t for t in (_text(p) for p in ps) if t))
    return Cell(_text(td))


def read_page(source: str | bytes) -> Page:
    """The headings, prose and tables of a SAR HTML page, in order."""
    root = lxml_html.fromstring(source)
    title_el = root.find(".//title")
    title = _text(title_el) if title_el is not None else ""
    body = root.find(".//*[@id='main-col-body']")
    if body is None:
        body = root.find(".//body")
    if body is None:
        body = root
    blocks: list[Block] = []
    for el in body.iter("h1", "h2", "h6", "p", "table"):
        if _inside(el, ("table",)):
            continue
        if el.tag == "table":
            header = tuple(_text(th) for th in el.findall(".//th"))
            rows = tuple(
                tuple(_cell(td) for td in tr.findall("td"))
                for tr in el.findall(".//tr")
                if tr.findall("td")
            )
            blocks.append(Block("table", table=Table(header, rows)))
            continue
        text = _text(el)
        if not text:
            continue
        if el.tag in ("h1", "h2", "h6"):
            blocks.append(Block("heading", text))
        elif _inside(el, ("li",)):
            blocks.append(Block("list-item", text))
        else:
            blocks.append(Block("para", text))
    return Page(title, tuple(blocks))


# --------------------------------------------------------------------------- noise


class _Noise:
    """Whitespace variations that must not change what a parser reads."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        # Per page: how noisy, and which ${…} spelling ARNs use (seed 004 splits them).
        self.space_rate = rng.choice((0.0, 0.05, 0.2))
        self.blank_rate = rng.choice((0.0, 0.1, 0.3))
        self.split_vars = rng.random() < 0.6

    def spaces(self, text: str) -> str:
        """Some single spaces doubled or tripled."""
        if not self.space_rate:
            return text
        return " ".join(
            w + (" " * self.rng.randint(1, 2) if self.rng.random() < self.space_rate else "")
            for w in text.split(" ")
        )

    def var(self, value: str) -> str:
        """``${Partition}`` or ``$ { Partition}``, as a text extraction may give it, in a
        value (ARN, key, resource type); prose keeps the page's own spelling."""
        if " " in _VAR.sub("", value):
            return value
        if self.split_vars and self.rng.random() < 0.7:
            return _VAR.sub(lambda m: "$ { " + m.group(1) + "}", value)
        return _VAR.sub(lambda m: "${" + m.group(1) + "}", value)

    def blank_lines(self) -> str:
        """Usually one blank line, sometimes more."""
        n = 1
        while self.rng.random() < self.blank_rate and n < 4:
            n += 1
        return "\n" * (n + 1)

    def trailing(self) -> str:
        return " " * self.rng.randint(1, 3) if self.rng.random() < self.space_rate else ""


# --------------------------------------------------------------------------- flat text


def render_flat(page: Page, rng: random.Random) -> str:
    """The page as flat text (seeds 001 and 004)."""
    noise = _Noise(rng)
    out: list[str] = [page.title, noise.blank_lines()]
    for block in page.blocks:
        if block.kind == "table":
            assert block.table is not None
            out.append(" ".join(block.table.header) + "\n")
            for row in block.table.rows:
                inline = [
                    noise.spaces(noise.var(c.text)) for c in row if c.paragraphs is None and c.text
                ]
                if inline:
                    out.append(" ".join(inline) + noise.trailing() + "\n")
                for cell in row:
                    for p in cell.paragraphs or ():
                        out.append(noise.blank_lines() + noise.var(p) + noise.blank_lines())
            out.append(noise.blank_lines())
        else:
            out.append(noise.spaces(block.text) + noise.trailing() + noise.blank_lines())
    return _collapse("".join(out))


def _collapse(text: str) -> str:
    # Paragraph breaks from both sides of a value add up; keep at most four newlines.
    return re.sub(r"\n{5,}", "\n\n\n\n", text).strip() + "\n"


# --------------------------------------------------------------------------- pipe text

_MIN_WRAP, _MAX_WRAP = 60, 100


def _pipe_cell(cell: Cell, noise: _Noise) -> str:
    if cell.paragraphs is None:
        return noise.spaces(noise.var(cell.text))
    return " ".join(noise.var(p) for p in cell.paragraphs)


def _pipe_row(cells: list[str], multi: list[bool], noise: _Noise, rng: random.Random) -> str:
    """Cells each closed by ``|``; a line break sometimes before a multi-value cell
    (seed 003: ``Write |`` / ``iam:PassRole |`` / ``||``) or inside a long cell."""
    parts: list[str] = []
    for text, is_multi in zip(cells, multi, strict=True):
        sep = " " if parts else ""
        if parts and is_multi and text and rng.random() < 0.5:
            sep = "\n"
        if len(text) > 60 and rng.random() < 0.15:
            cut = text.find(" ", rng.randint(20, len(text) - 20))
            if cut > 0:
                text = text[:cut] + "\n" + text[cut + 1 :]
        if not text:
            parts.append(sep.strip(" ") + ("|" if rng.random() < 0.5 else " |"))
        else:
            parts.append(f"{sep}{text} |")
    return "".join(parts) + noise.trailing()


def _pad(
    cells: list[str], multi: list[bool], width: int, after: bool
) -> tuple[list[str], list[bool]]:
    pad = width - len(cells)
    if pad <= 0:
        return cells, multi
    if after:
        return cells + [""] * pad, multi + [False] * pad
    return [""] * pad + cells, [False] * pad + multi


def render_pipe(page: Page, rng: random.Random) -> str:
    """The page as pipe text (seed 003)."""
    noise = _Noise(rng)
    width = rng.randint(_MIN_WRAP, _MAX_WRAP)
    pad_after = rng.random() < 0.5  # where continuation rows put their padding
    out: list[str] = [page.title]
    for block in page.blocks:
        if block.kind == "table":
            assert block.table is not None
            header = block.table.header
            out.append(" | ".join(header) + " |")
            out.append("---|" * len(header))
            for row in block.table.rows:
                cells = [_pipe_cell(c, noise) for c in row]
                multi = [c.paragraphs is not None for c in row]
                after = pad_after if rng.random() < 0.8 else not pad_after
                cells, multi = _pad(cells, multi, len(header), after)
                out.append(_pipe_row(cells, multi, noise, rng))
            if noise.blank_rate:
                out.append("")
        elif block.kind == "list-item":
            out.append("-")
            out.append(block.text)
        elif block.kind == "heading":
            out.append(block.text)
        else:
            out.extend(
                textwrap.wrap(
                    noise.spaces(block.text), width, break_long_words=False, break_on_hyphens=False
                )
                or [""]
            )
    return "\n".join(out) + "\n"
