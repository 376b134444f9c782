"""The catalog as one SQLite database (tables with foreign keys, views for the common
joins, full-text search on descriptions): see :mod:`iam_catalog.query.store`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iam_catalog.parsers.model import Catalog

NAME = "sqlite"
DESCRIPTION = "one SQLite database: tables, foreign keys, views, FTS5 on descriptions"
OUTPUT = "file"
EXAMPLE = "iam-catalog export sqlite build/catalog/catalog.json --output catalog.db"


def write(catalog: Catalog, out: Path) -> None:
    """Write ``catalog`` as a new SQLite file at ``out``."""
    from iam_catalog.query.store import write_store

    write_store(catalog, out)
