"""``History``: the questions a history database answers (house style 23).

Changes between two releases are never worked out here: the item as it stood at both
dates is rebuilt from its versions and handed to :func:`iam_catalog.output.diff.diff`, so
history reports exactly the kinds and severities ``iam-catalog diff`` does. A field one
side does not know (no release up to then carried it) is rebuilt as not carried, which
``diff`` never compares.
"""

from __future__ import annotations

import bisect
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iam_catalog.history import items as it
from iam_catalog.history.store import AddResult, HistoryError, add, connect, parse_date
from iam_catalog.output.diff import ChangeSeverity, diff, value_to_json
from iam_catalog.parsers.model import Catalog, CatalogSource, Service, operation_from_dict

Fields = dict[str, str]
Runs = dict[str, list[tuple[str, str, str | None]]]
"""field -> [(value, valid_from, valid_to)], by valid_from."""


@dataclass(frozen=True, slots=True)
class HistoryChange:
    """One change of one item between a release and the one before it."""

    date: str
    """The release that shows the change."""
    kind: str
    """The diff's kind, e.g. ``action_changed``."""
    severity: str
    """The diff's severity: ``breaking``, ``security`` or ``info``."""
    service: str
    """Service prefix."""
    item: str | None
    """Action, resource-type or condition-key name (None for a service)."""
    field: str | None = None
    """The changed field (``*_changed`` only)."""
    old: Any = None
    """Old value (JSON data)."""
    new: Any = None
    """New value (JSON data)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "kind": self.kind,
            "severity": self.severity,
            "service": self.service,
            "item": self.item,
            "field": self.field,
            "old": self.old,
            "new": self.new,
        }


@dataclass(frozen=True, slots=True)
class ItemHistory:
    """The life of one item (as asked for) across the releases of a history."""

    item: str
    """The item as asked, e.g. ``s3:GetObject``."""
    kind: str | None
    """``service``, ``action``, ``resource_type`` or ``condition_key``; None if never seen."""
    first_seen: str | None
    """Date of the first release that has it."""
    last_seen: str | None
    """Date of the last release that has it."""
    removed: str | None
    """Date of the first release after ``last_seen`` that lacks it (None if none does)."""
    changes: tuple[HistoryChange, ...]
    """Every change, oldest first."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "kind": self.kind,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "removed": self.removed,
            "changes": [c.to_dict() for c in self.changes],
        }


_SOURCE = CatalogSource("history", "", 0, ())


def _at(runs: Runs, date: str) -> Fields | None:
    """The item's fields at ``date`` (None when it is absent); a field no run covers is
    not known and left out."""
    if not any(
        start <= date and (end is None or end > date) for _, start, end in runs.get(it.PRESENT, ())
    ):
        return None
    out: Fields = {}
    for field, field_runs in runs.items():
        for value, start, end in field_runs:
            if start <= date and (end is None or end > date):
                out[field] = value
                break
    return out


def _service(prefix: str, kind: str, fields: Fields | None, display: str) -> Service | None:
    if fields is None:
        return None if kind == it.SERVICE else Service(display, "", ())
    if kind == it.SERVICE:
        return Service(
            it._load(fields, "prefix", display),
            it._load(fields, "name", ""),
            (),
            not_carried=frozenset(f for f in ("name", "operations") if f not in fields),
            operations=tuple(operation_from_dict(o) for o in it._load(fields, "operations", [])),
        )
    if kind == it.ACTION:
        return Service(display, "", (), actions=(it.to_action(fields),))
    if kind == it.RESOURCE_TYPE:
        return Service(display, "", (), resource_types=(it.to_resource_type(fields),))
    return Service(display, "", (), condition_keys=(it.to_condition_key(fields),))


def _changes(
    kind: str,
    prefix: str,
    runs: Runs,
    before: str,
    date: str,
    unknown: frozenset[tuple[str, str, str]],
) -> list[HistoryChange]:
    """The item's changes from the release of ``before`` to that of ``date``, by diff.
    ``unknown``: ``(release, service, kind)`` whose items that release does not carry."""
    old, new = _at(runs, before), _at(runs, date)
    if (old is None and (before, prefix, kind) in unknown) or (
        new is None and (date, prefix, kind) in unknown
    ):
        return []  # one side's source does not carry such items: nothing is known
    if old == new:
        return []
    display = prefix
    a, b = _service(prefix, kind, old, display), _service(prefix, kind, new, display)
    result = diff(
        Catalog(_SOURCE, (a,) if a else ()),
        Catalog(_SOURCE, (b,) if b else ()),
    )
    return [
        HistoryChange(
            date,
            c.kind.value,
            c.severity.value,
            c.service,
            c.item,
            c.field,
            value_to_json(c.old),
            value_to_json(c.new),
        )
        for c in result.changes
        if c.kind.item_type == kind
    ]


class History:
    """A history database: ``History.open(path).show("s3:GetObject")``."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._conn = conn
        self.path = path
        self._not_carried: frozenset[tuple[str, str, str]] | None = None

    def _unknown(self) -> frozenset[tuple[str, str, str]]:
        """``(release, service, kind)`` of the items a release's source does not carry."""
        if self._not_carried is None:
            self._not_carried = frozenset(
                self._conn.execute(
                    "SELECT release, service, kind FROM not_carried WHERE field = ''"
                ).fetchall()
            )
        return self._not_carried

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False) -> History:
        """Open the history at ``path`` (``create``: start an empty one if there is none)."""
        return cls(connect(str(path), create=create), str(path))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- writing

    def add(self, catalog: Catalog, date: str) -> AddResult:
        """Add ``catalog`` as the release of ``date`` (``YYYY-MM-DD``); see :func:`store.add`."""
        self._not_carried = None
        return add(self._conn, catalog, date)

    # ----------------------------------------------------------------- reading

    def releases(self) -> list[str]:
        """The dates of every release, oldest first."""
        return [d for (d,) in self._conn.execute("SELECT date FROM releases ORDER BY date")]

    def _runs(self, item_ids: Iterable[int]) -> dict[int, Runs]:
        out: dict[int, Runs] = defaultdict(lambda: defaultdict(list))
        ids = sorted(set(item_ids))
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            for item, field, value, start, end in self._conn.execute(
                f"SELECT item, field, value, valid_from, valid_to FROM versions "
                f"WHERE item IN ({marks}) ORDER BY item, field, valid_from",
                part,
            ):
                out[item][field].append((value, start, end))
        return out

    def _resolve(self, text: str) -> list[tuple[int, str, str]]:
        """The items ``text`` names: ``(id, kind, service)``. ``s3`` a service,
        ``s3/object`` a resource type, ``s3:GetObject`` an action (else a condition key),
        ``aws:RequestTag/${TagKey}`` a condition key of every service that defines it."""
        q = text.strip().lower()

        def find(kind: str, service: str | None, name: str) -> list[tuple[int, str, str]]:
            sql = "SELECT id, kind, service FROM items WHERE kind = ? AND name = ?"
            args: list[str] = [kind, name]
            if service is not None:
                sql += " AND service = ?"
                args.append(service)
            return [tuple(r) for r in self._conn.execute(sql + " ORDER BY service", args)]  # type: ignore[misc]

        if ":" in q:
            prefix, _, name = q.partition(":")
            return (
                find(it.ACTION, prefix, name)
                or find(it.CONDITION_KEY, prefix, q)
                or find(it.CONDITION_KEY, None, q)
            )
        if "/" in q:
            prefix, _, name = q.partition("/")
            return find(it.RESOURCE_TYPE, prefix, name)
        return find(it.SERVICE, q, q)

    def show(self, item: str) -> ItemHistory:
        """When ``item`` first and last appeared, when it was removed, and every change."""
        found = self._resolve(item)
        if not found:
            return ItemHistory(item, None, None, None, None, ())
        dates = self.releases()
        runs = self._runs(i for i, _, _ in found)
        kind = found[0][1]
        first: str | None = None
        last: str | None = None
        removed: str | None = None
        changes: list[HistoryChange] = []
        for item_id, _, service in found:
            item_runs = runs[item_id]
            present = item_runs.get(it.PRESENT, [])
            if not present:
                continue
            start = present[0][1]
            end = present[-1][2]
            seen_last = _last_release_before(dates, end) if end else dates[-1]
            if first is None or start < first:
                first = start
            if last is None or seen_last > last:
                last, removed = seen_last, end
            changes.extend(self._item_changes(kind, service, item_runs, dates))
        changes.sort(key=lambda c: c.date)
        return ItemHistory(item, kind, first, last, removed, tuple(changes))

    def _item_changes(
        self, kind: str, service: str, runs: Runs, dates: Sequence[str], only: str | None = None
    ) -> list[HistoryChange]:
        bounds = sorted(
            {start for rs in runs.values() for _, start, _ in rs}
            | {end for rs in runs.values() for _, _, end in rs if end is not None}
        )
        out: list[HistoryChange] = []
        for date in bounds:
            if only is not None and date != only:
                continue
            i = bisect.bisect_left(dates, date)
            if i == 0:
                continue  # the first release: nothing to compare with
            out.extend(_changes(kind, service, runs, dates[i - 1], date, self._unknown()))
        return out

    def log(
        self,
        *,
        since: str | None = None,
        service: str | None = None,
        severities: Iterable[str] | None = None,
    ) -> list[HistoryChange]:
        """Every change across the releases, newest release first (within one release:
        by service, then as ``diff`` orders them), filtered by date, service prefix and
        severity."""
        dates = self.releases()
        wanted = {ChangeSeverity(s).value for s in severities} if severities else None
        svc = service.lower() if service else None
        out: list[HistoryChange] = []
        for date in reversed(dates[1:]):
            if since is not None and date < parse_date(since):
                break
            sql = (
                "SELECT DISTINCT i.id, i.kind, i.service FROM versions v JOIN items i "
                "ON i.id = v.item WHERE (v.valid_from = ? OR v.valid_to = ?)"
            )
            args: list[str] = [date, date]
            if svc is not None:
                sql += " AND i.service = ?"
                args.append(svc)
            touched = self._conn.execute(sql, args).fetchall()
            runs = self._runs(i for i, _, _ in touched)
            found: list[tuple[tuple[str, int, str], HistoryChange]] = []
            for item_id, kind, prefix in touched:
                for c in self._item_changes(kind, prefix, runs[item_id], dates, only=date):
                    if wanted is None or c.severity in wanted:
                        found.append(((prefix, _KIND_ORDER[c.kind], (c.item or "").lower()), c))
            found.sort(key=lambda pair: pair[0])
            out.extend(c for _, c in found)
        return out


_KIND_ORDER = {
    k: n
    for n, k in enumerate(
        f"{item}_{verb}"
        for item in ("service", "action", "resource_type", "condition_key")
        for verb in ("added", "removed", "changed")
    )
}


def _last_release_before(dates: Sequence[str], date: str) -> str:
    return dates[bisect.bisect_left(dates, date) - 1]


_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")


def release_date(source: Path) -> str:
    """The date of the release in ``source``: the first ``YYYY-MM-DD`` in its folder name
    (the corpus's ``html/2026-04-01_110d32e3``, ``servicereference/2026-03-31``; for a
    ``catalog.json``, its folder's name), else the ``created_at`` of a snapshot's
    ``manifest.json``."""
    folder = source.parent if source.is_file() else source
    for name in (source.name, folder.name):
        m = _DATE_IN_NAME.search(name)
        if m:
            return parse_date(m.group(1))
    manifest = folder / "manifest.json"
    if manifest.is_file():
        import orjson

        try:
            created = orjson.loads(manifest.read_bytes()).get("created_at")
        except (orjson.JSONDecodeError, AttributeError):
            created = None
        if isinstance(created, str) and _DATE_IN_NAME.match(created[:10]):
            return parse_date(created[:10])
    raise HistoryError(
        f"{source}: cannot tell the release date (no YYYY-MM-DD in the name, no manifest "
        f"created_at); use history add --date"
    )


def backfill(
    history: History,
    sources: Sequence[Path],
    *,
    on_release: Callable[[Path, AddResult], None] | None = None,
) -> list[AddResult]:
    """Add a release per source (folder, snapshot or catalog.json), each built as
    ``iam-catalog build`` would and dated by :func:`release_date`, oldest first."""
    from iam_catalog.output.build import load_catalog

    dated = sorted((release_date(s), str(s), s) for s in sources)
    seen: dict[str, Path] = {}
    for date, _, source in dated:
        if date in seen:
            raise HistoryError(f"{source}: same release date {date} as {seen[date]}")
        seen[date] = source
    results = []
    for date, _, source in dated:
        result = history.add(load_catalog(source), date)
        if on_release is not None:
            on_release(source, result)
        results.append(result)
    return results
