"""The table of source formats, and detection of a page's format from its content.

Every format module has the same contract: ``DESCRIPTION`` (one line),
``sniff(text) -> bool`` and ``parse(text, *, source, url=None) -> ParsedPage``.
A module that sets ``TAKES_UTF8 = True`` (``html``) also takes ``utf8=``, the UTF-8
bytes the text was decoded from, when the caller has them.
Detection walks :data:`FORMATS` in order and takes the first module whose
``sniff`` says yes, so more specific formats come before more general ones.
"""

from __future__ import annotations

from types import ModuleType

from . import flat_text, html, markdown_list, markdown_table, pipe_text, service_reference
from .errors import UnknownFormatError

FORMATS: dict[str, ModuleType] = {
    "service-reference": service_reference,
    "html": html,
    "markdown-list": markdown_list,
    "markdown-table": markdown_table,
    "pipe-text": pipe_text,
    "flat-text": flat_text,
}


def get_format(name: str) -> ModuleType:
    """The parser module registered as ``name``."""
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(FORMATS)
        raise UnknownFormatError(f"unknown format {name!r} (known: {known})") from None


def detect(text: str) -> str:
    """The name of the first format whose ``sniff`` accepts ``text``."""
    for name, module in FORMATS.items():
        if module.sniff(text):
            return name
    raise UnknownFormatError("content matches no known format")
