"""Placeholder: the service_reference parser is being written."""

from __future__ import annotations

from .errors import ParseError
from .model import ParsedPage

DESCRIPTION = "service_reference (not implemented yet)"


def sniff(text: str) -> bool:
    return False


def parse(text: str, *, source: str, url: str | None = None) -> ParsedPage:
    raise ParseError("service_reference parser not implemented yet")
