"""Placeholder: the markdown_list parser is being written."""

from __future__ import annotations

from .errors import ParseError
from .model import ParsedPage

DESCRIPTION = "markdown_list (not implemented yet)"


def sniff(text: str) -> bool:
    return False


def parse(text: str, *, source: str, url: str | None = None) -> ParsedPage:
    raise ParseError("markdown_list parser not implemented yet")
