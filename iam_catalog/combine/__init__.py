"""One catalog from several sources of the same day: the SAR pages (``html``), their
``.md`` rendering (``md``) and AWS's programmatic JSON (``json``), as
``iam-catalog fetch --formats html,md,json`` saves them.

Each source's pages are merged alone (:func:`iam_catalog.parsers.catalog.merge`), then
:func:`combine` makes one service per prefix, every field taken from a source that carries
it, in the order of :data:`PRECEDENCE` (data, not code), recording which sources hold each
item (``item.sources``) and the order each field is taken in (``service.field_sources``);
:func:`crosscheck` lists every disagreement between the sources on a field two of them
carry (``crosscheck.json``, and ``crosscheck.md`` from :func:`render_markdown`).
"""

from iam_catalog.combine.crosscheck import CrossCheck, crosscheck, value_of
from iam_catalog.combine.merge import combine
from iam_catalog.combine.precedence import (
    GROUPS,
    PRECEDENCE,
    SOURCE_OF_FORMAT,
    SOURCES,
    uncovered,
)
from iam_catalog.combine.report import render_markdown

__all__ = [
    "GROUPS",
    "PRECEDENCE",
    "SOURCES",
    "SOURCE_OF_FORMAT",
    "CrossCheck",
    "combine",
    "crosscheck",
    "render_markdown",
    "uncovered",
    "value_of",
]
