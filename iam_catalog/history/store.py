"""The history database: one SQLite file, item versions valid from one release to the next.

Tables (house style 22):

- ``releases(date, source_id, source_kind, source_label)``: one row per release added.
- ``items(id, kind, service, name, digest)``: every item ever seen, names lower-cased;
  ``digest`` sums up its fields in the newest release that has it (NULL if that release
  lacks it), so that adding the next day's release reads the versions of the items that
  changed only.
- ``versions(item, field, value, valid_from, valid_to)``: one row per value a field of an
  item held over a run of releases. ``valid_from`` is the date of the first release of
  the run, ``valid_to`` the date of the first later release that carries the field with
  another value or lacks the item (NULL while it holds). A release whose source does not
  carry a field neither ends nor starts a run of it: it is simply not counted.
- ``not_carried(release, service, kind, field)``: what each release's source did not
  carry for most items of a kind in a service, their usual set (``field = ''``: the
  items of that kind themselves).
- ``item_not_carried(release, item, field)``: an item whose fields not carried are not
  its service's usual set (a service whose pages are in two layouts, one of them without
  dependent actions): a row of field ``''``, then one per field it does not carry. So
  history knows it as finely as the catalog's own ``not_carried``, with rows only for
  the few items that differ. A service in one layout has no rows here (an action without
  resource-type rows counts as lacking the row fields its service's rows lack).

A release that changes nothing adds one row (to ``releases``); 22,000 unchanged actions
are never copied. Releases may be added in any date order: adding one between two others
splits and joins the runs around its date.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date as Date
from functools import partial

from iam_catalog.history.items import PRESENT, Key, not_carried, observe, recorded_not_carried
from iam_catalog.output.gc_pause import cyclic_gc_paused
from iam_catalog.parsers.errors import IamCatalogError
from iam_catalog.parsers.model import Catalog

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE releases(
  date TEXT PRIMARY KEY,
  source_id TEXT NOT NULL,
  source_kind TEXT NOT NULL,
  source_label TEXT NOT NULL
);
CREATE TABLE items(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  service TEXT NOT NULL,
  name TEXT NOT NULL,
  digest BLOB,
  UNIQUE(kind, service, name)
);
CREATE TABLE versions(
  item INTEGER NOT NULL REFERENCES items(id),
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  valid_from TEXT NOT NULL REFERENCES releases(date),
  valid_to TEXT REFERENCES releases(date),
  PRIMARY KEY(item, field, valid_from)
) WITHOUT ROWID;
CREATE INDEX versions_to ON versions(valid_to);
CREATE INDEX versions_from ON versions(valid_from);
CREATE TABLE not_carried(
  release TEXT NOT NULL REFERENCES releases(date),
  service TEXT NOT NULL,
  kind TEXT NOT NULL,
  field TEXT NOT NULL,
  PRIMARY KEY(release, service, kind, field)
) WITHOUT ROWID;
CREATE TABLE item_not_carried(
  release TEXT NOT NULL REFERENCES releases(date),
  item INTEGER NOT NULL REFERENCES items(id),
  field TEXT NOT NULL,
  PRIMARY KEY(release, item, field)
) WITHOUT ROWID;
"""


class HistoryError(IamCatalogError):
    """A history database or a release cannot be used (not a history file, a date taken)."""


@dataclass(frozen=True, slots=True)
class AddResult:
    """What :func:`add` did."""

    date: str
    """The release's date, ``YYYY-MM-DD``."""
    added: bool
    """False when the same release (same source id) was already there for that date."""
    versions_opened: int
    """Version rows written (a field taking a new value, an item appearing)."""
    versions_closed: int
    """Version rows whose run this release ended."""


def parse_date(text: str) -> str:
    """``YYYY-MM-DD``, checked to be a real date."""
    try:
        return Date.fromisoformat(text).isoformat()
    except ValueError:
        raise HistoryError(f"{text}: not a date (YYYY-MM-DD)") from None


def connect(path: str, *, create: bool = False) -> sqlite3.Connection:
    """Open a history database (``create``: make an empty one if the file does not exist)."""
    import os

    exists = os.path.exists(path)
    if not exists and not create:
        raise HistoryError(f"{path}: no such history database")
    if not exists:  # as every output of the tool: its folder is made when missing
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    try:
        conn = sqlite3.connect(path, isolation_level=None)
    except sqlite3.OperationalError as e:  # a folder in its place, a folder not writable
        raise HistoryError(f"{path}: cannot open the history database ({e})") from None
    try:
        if not exists:
            conn.executescript(f"BEGIN;{SCHEMA}COMMIT;")
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as e:
        conn.close()
        raise HistoryError(f"{path}: not a history database ({e})") from None
    if row == ("1",):  # version 1 lacked item_not_carried: its releases keep what they had
        conn.executescript(
            "BEGIN IMMEDIATE;"
            + SCHEMA[SCHEMA.index("CREATE TABLE item_not_carried") :]
            + "UPDATE meta SET value = '2' WHERE key = 'schema_version'; COMMIT;"
        )
        row = (str(SCHEMA_VERSION),)
    if row is None or row[0] != str(SCHEMA_VERSION):
        conn.close()
        raise HistoryError(
            f"{path}: history schema version {row and row[0]}, expected {SCHEMA_VERSION}"
        )
    return conn


_ABSENT = None  # an observation: the release carries the item's kind and lacks the item


def add(conn: sqlite3.Connection, catalog: Catalog, date: str) -> AddResult:
    """Add ``catalog`` as the release of ``date`` (``YYYY-MM-DD``), in one transaction.

    Adding the same release (same ``source.id``) for a date again changes nothing; another
    catalog for a date already there is an error."""
    from iam_catalog.output.diff import source_label

    date = parse_date(date)
    old = conn.execute("SELECT source_id FROM releases WHERE date = ?", (date,)).fetchone()
    if old is not None:
        if old[0] == catalog.source.id:
            return AddResult(date, False, 0, 0)
        raise HistoryError(
            f"release {date} is already in the history, from another source ({old[0]})"
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Tens of thousands of short-lived tuples beside a catalog of hundreds of
        # thousands of objects: the collector's full passes took a third of an add.
        with cyclic_gc_paused():
            result = _add(conn, catalog, date, source_label(catalog))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _add(conn: sqlite3.Connection, catalog: Catalog, date: str, label: str) -> AddResult:
    conn.execute(
        "INSERT INTO releases VALUES (?, ?, ?, ?)",
        (date, catalog.source.id, catalog.source.kind, label),
    )
    gaps = not_carried(catalog)
    usual, unusual = recorded_not_carried(catalog)
    conn.executemany(
        "INSERT INTO not_carried VALUES (?, ?, ?, ?)",
        sorted((date, svc, kind, f) for svc, pairs in usual.items() for kind, f in pairs),
    )
    observed = dict(observe(catalog))
    newest = conn.execute("SELECT max(date) FROM releases WHERE date != ?", (date,)).fetchone()[0]
    append = newest is None or date > newest
    ids: dict[Key, int] = {}
    digests: dict[int, bytes | None] = {}
    for i, k, s, n, d in conn.execute("SELECT id, kind, service, name, digest FROM items"):
        ids[k, s, n] = i
        digests[i] = d
    new_items = sorted(key for key in observed if key not in ids)
    cur = conn.cursor()
    for key in new_items:
        cur.execute("INSERT INTO items(kind, service, name) VALUES (?, ?, ?)", key)
        assert cur.lastrowid is not None
        ids[key] = cur.lastrowid
        digests[cur.lastrowid] = None
    keys = {i: key for key, i in ids.items()}
    # The items whose fields not carried are not their service's usual set: all of
    # their own, after a row of field '' that says so.
    conn.executemany(
        "INSERT INTO item_not_carried VALUES (?, ?, ?)",
        sorted(
            (date, ids[key], f)
            for key, fields in unusual.items()
            if key in ids
            for f in (PRESENT, *fields)
        ),
    )

    # The items this release can change: when it is the newest, those whose digest
    # differs from the newest release's, and those it lacks; else every item.
    fresh: dict[int, bytes] = {}
    if append:
        for key, obs in observed.items():
            d = obs.digest()
            if digests[ids[key]] != d:
                fresh[ids[key]] = d
        gone = [
            i
            for i, d in digests.items()
            if d is not None and keys[i] not in observed and _carried(gaps, keys[i], PRESENT)
        ]
        candidates = set(fresh) | set(gone)
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS candidates(id INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM candidates")
        conn.executemany("INSERT INTO candidates VALUES (?)", ((i,) for i in sorted(candidates)))
        # CROSS JOIN: SQLite's order as written, candidates first, each item's versions by
        # the primary key (left to itself it walks the 200,000 open versions instead).
        query = (
            "SELECT item, field, value, valid_from, valid_to FROM candidates CROSS JOIN "
            "versions ON versions.item = candidates.id WHERE valid_to IS NULL "
            "ORDER BY item, field, valid_from"
        )
        args: tuple[str, ...] = ()
    else:
        candidates = set(ids.values())
        query = (
            "SELECT item, field, value, valid_from, valid_to FROM versions "
            "WHERE valid_to IS NULL OR valid_to > ? ORDER BY item, field, valid_from"
        )
        args = (date,)
    # Runs that hold at or after `date`: the only ones a new release can touch.
    runs: dict[tuple[int, str], list[list[str | None]]] = defaultdict(list)
    for item, field, value, start, end in conn.execute(query, args):
        runs[item, field].append([value, start, end])

    later = [
        r
        for (r,) in conn.execute("SELECT date FROM releases WHERE date > ? ORDER BY date", (date,))
    ]
    later_gaps: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    later_item_gaps: dict[str, set[tuple[int, str]]] = defaultdict(set)
    if later:
        for rel, svc, kind, f in conn.execute(
            "SELECT release, service, kind, field FROM not_carried WHERE release > ?", (date,)
        ):
            later_gaps[rel].add((svc, kind, f))
        for rel, item, f in conn.execute(
            "SELECT release, item, field FROM item_not_carried WHERE release > ?", (date,)
        ):
            later_item_gaps[rel].add((item, f))

    def next_carried(key: Key, field: str) -> str | None:
        """The first later release that carries ``field`` of the item."""
        kind, svc, _ = key
        item = ids[key]
        for rel in later:
            g = later_gaps.get(rel, ())
            if (svc, kind, PRESENT) in g:
                continue  # the release does not carry such items at all
            own = later_item_gaps.get(rel, ())
            if field != PRESENT and (item, PRESENT) in own:
                # The item's own set (the '' row marks it), not its service's usual one.
                if (item, field) not in own:
                    return rel
            elif (svc, kind, field) not in g:
                return rel
        return None

    edits = _Edits()
    seen: set[tuple[int, str]] = set()
    for key, obs in observed.items():
        item = ids[key]
        if item not in candidates:
            continue
        for field, value in obs.fields().items():
            seen.add((item, field))
            _apply(
                edits,
                item,
                field,
                runs.get((item, field), []),
                value,
                date,
                partial(next_carried, key, field),
            )
    for (item, field), item_runs in runs.items():
        if (item, field) in seen:
            continue
        key = keys[item]
        if key in observed or not _carried(gaps, key, field):
            continue  # the field (or the item's kind) is not carried: nothing known
        _apply(edits, item, field, item_runs, _ABSENT, date, partial(next_carried, key, field))
    edits.flush(conn)
    if append:
        conn.executemany(
            "UPDATE items SET digest = ? WHERE id = ?", ((d, i) for i, d in fresh.items())
        )
        conn.executemany("UPDATE items SET digest = NULL WHERE id = ?", ((i,) for i in gone))
    return AddResult(date, True, len(edits.inserts), edits.closed)


def _carried(gaps: dict[str, frozenset[tuple[str, str]]], key: Key, field: str) -> bool:
    kind, svc, _ = key
    skip = gaps.get(svc)
    return not skip or ((kind, PRESENT) not in skip and (kind, field) not in skip)


class _Edits:
    """Row changes of one release, written together at the end."""

    def __init__(self) -> None:
        self.inserts: list[tuple[int, str, str, str, str | None]] = []
        self.ends: list[tuple[str | None, int, str, str]] = []
        self.deletes: list[tuple[int, str, str]] = []
        self.closed = 0

    def flush(self, conn: sqlite3.Connection) -> None:
        conn.executemany(
            "DELETE FROM versions WHERE item = ? AND field = ? AND valid_from = ?", self.deletes
        )
        conn.executemany(
            "UPDATE versions SET valid_to = ? WHERE item = ? AND field = ? AND valid_from = ?",
            self.ends,
        )
        conn.executemany("INSERT INTO versions VALUES (?, ?, ?, ?, ?)", self.inserts)


def _apply(
    edits: _Edits,
    item: int,
    field: str,
    runs: list[list[str | None]],
    observed: str | None,
    date: str,
    next_carried: Callable[[], str | None],
) -> None:
    """Fold one observation (a value, or :data:`_ABSENT`) at ``date`` into the runs of one
    field of one item (``runs``: those still holding at ``date`` or later, by start)."""
    current = runs[0] if runs and runs[0][1] is not None and runs[0][1] <= date else None
    if current is not None:
        value, start, end = current
        if value == observed:
            return
        assert start is not None and value is not None
        edits.ends.append((date, item, field, start))
        edits.closed += 1
        nxt = next_carried()
        resume = nxt if nxt is not None and (end is None or nxt < end) else None
        if resume is not None:  # later releases inside the run still hold the old value
            edits.inserts.append((item, field, value, resume, end))
        if observed is None:
            return
        stop = resume if resume is not None else end
        if resume is None and end is not None and len(runs) > 1:
            following = runs[1]
            if following[1] == end and following[0] == observed:
                edits.deletes.append((item, field, end))
                stop = following[2]
        edits.inserts.append((item, field, observed, date, stop))
        return
    if observed is None:
        return
    nxt = next_carried()
    if nxt is None:
        edits.inserts.append((item, field, observed, date, None))
        return
    after = runs[0] if runs else None
    if after is not None and after[1] == nxt and after[0] == observed:
        edits.deletes.append((item, field, nxt))
        edits.inserts.append((item, field, observed, date, after[2]))
    else:
        edits.inserts.append((item, field, observed, date, nxt))


def release_dates(conn: sqlite3.Connection) -> list[str]:
    """Every release's date, oldest first."""
    return [d for (d,) in conn.execute("SELECT date FROM releases ORDER BY date")]
