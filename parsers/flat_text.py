"""Placeholder: the flat_text parser is being written."""

from __future__ import annotations

from .errors import ParseError
from .model import ParsedPage

DESCRIPTION = "flat_text (not implemented yet)"


def sniff(text: str) -> bool:
    return False


def parse(text: str, *, source: str, url: str | None = None) -> ParsedPage:
    raise ParseError("flat_text parser not implemented yet")
