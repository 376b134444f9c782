"""Placeholder: the html parser is being written."""

from __future__ import annotations

from .errors import ParseError
from .model import ParsedPage

DESCRIPTION = "html (not implemented yet)"


def sniff(text: str) -> bool:
    return False


def parse(text: str, *, source: str, url: str | None = None) -> ParsedPage:
    raise ParseError("html parser not implemented yet")
