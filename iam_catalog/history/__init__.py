"""History of the catalog across releases: one SQLite file of item versions, each valid
from one release to the next (house style 22).

``History.open(path, create=True).add(catalog, "2026-12-01")`` adds a release;
``History.open(path).show("s3:GetObject")`` answers when an item appeared, changed and
went. :func:`add_release` is the one-call form the nightly job uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from iam_catalog.history.api import History, HistoryChange, ItemHistory, backfill, release_date
from iam_catalog.history.store import AddResult, HistoryError

if TYPE_CHECKING:
    from iam_catalog.parsers.model import Catalog

__all__ = [
    "AddResult",
    "History",
    "HistoryChange",
    "HistoryError",
    "ItemHistory",
    "add_release",
    "backfill",
    "release_date",
]


def add_release(db: Path, catalog: Catalog, date: str) -> AddResult:
    """Add ``catalog`` as the release of ``date`` (``YYYY-MM-DD``) to the history database
    ``db``, creating the file if needed. One transaction: on failure the database is as it
    was. Adding the same release again for the same date changes nothing
    (``AddResult.added`` is False); another catalog for a date already there raises
    :class:`HistoryError`. Releases may be added in any date order."""
    with History.open(db, create=True) as history:
        return history.add(catalog, date)
