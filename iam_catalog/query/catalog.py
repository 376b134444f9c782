"""``Catalog``: the questions one catalog answers (house style 23), over its SQLite query
store (:mod:`iam_catalog.query.store`): a query from a cold process opens one file and
reads a few indexed rows instead of parsing all of catalog.json.

``Catalog.load(path)`` takes a SQLite store (``export sqlite``), a catalog.json or any
source ``build`` accepts; for a catalog.json the store is made once and kept in the
cache folder (``$IAM_CATALOG_CACHE``, else ``$XDG_CACHE_HOME/iam-catalog``, else
``~/.cache/iam-catalog``) under the sha256 of the file and the store's version, so the
catalog is never read again while it is unchanged; for a folder of pages it is built in
memory. Names are looked up in dicts built once per catalog.
"""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import os
import re
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import orjson

from iam_catalog.parsers.errors import IamCatalogError
from iam_catalog.parsers.model import AccessLevel, Action, ResourceTypeRow
from iam_catalog.query.arn import arn_matches, split_arn
from iam_catalog.query.store import STORE_VERSION

SQLITE_MAGIC = b"SQLite format 3\0"


class QueryError(IamCatalogError):
    """A catalog cannot be opened or a query is malformed."""


@dataclass(frozen=True, slots=True)
class ActionMatch:
    """An action that a query matched."""

    action: str
    """``prefix:Name``."""
    access_levels: tuple[str, ...]
    """Every access level of the action."""
    resource_types: tuple[str, ...]
    """Names of its resource-type rows (empty: it takes only ``*``)."""
    condition_keys: tuple[str, ...]
    """Every key it takes: on the action, on a row, or through a resource type."""
    via: tuple[str, ...] = ()
    """With ``condition_key=``: where the key applies (``action``, ``row``,
    ``resource_type``)."""


@dataclass(frozen=True, slots=True)
class ResourceTypeInfo:
    service: str
    name: str
    arn_formats: tuple[str, ...]
    condition_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConditionKeyInfo:
    service: str
    name: str
    description: str
    types: tuple[str, ...]
    via: tuple[str, ...] = ()
    """With ``action=``: where it applies to the action."""


@dataclass(frozen=True, slots=True)
class ArnMatch:
    """A resource type whose ARN format matches an ARN, and the actions that take it."""

    service: str
    resource_type: str
    arn_format: str
    actions: tuple[str, ...]


def _cache_dir() -> Path:
    env = os.environ.get("IAM_CATALOG_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "iam-catalog"


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(16) == SQLITE_MAGIC


def _file_identity(path: Path) -> str:
    """What names one version of a file without reading it: its place, inode, size and
    times (``ctime`` moves on every write and cannot be set back)."""
    st = path.stat()
    facts = (path.resolve(), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return hashlib.sha256(repr(facts).encode()).hexdigest()[:32]


def _cached_store(path: Path) -> Path:
    """The query store of a catalog.json (or one page), made once per content into the
    cache folder: ``<sha256 of the bytes>.v<STORE_VERSION>.sqlite``, found again through
    ``<identity of the file>.digest`` without reading the file (a query would otherwise
    hash 17 MB each time)."""
    cache = _cache_dir()
    known = cache / f"{_file_identity(path)}.digest"
    try:
        digest = known.read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        digest = ""
    store = cache / f"{digest}.v{STORE_VERSION}.sqlite"
    if digest and store.is_file():
        return store
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    store = cache / f"{digest}.v{STORE_VERSION}.sqlite"
    if not store.is_file():
        # Only now: building a store needs the whole pipeline, answering from one does not.
        from iam_catalog.output.build import load_catalog
        from iam_catalog.query.store import write_store

        catalog = load_catalog(path)
        cache.mkdir(parents=True, exist_ok=True)
        _remove_killed_stores(cache)
        with _locked_temp(cache) as tmp:
            write_store(catalog, tmp)
            os.replace(tmp, store)
    with _locked_temp(cache) as tmp:
        tmp.write_text(digest, encoding="ascii")
        os.replace(tmp, known)
    return store


@contextmanager
def _locked_temp(folder: Path) -> Iterator[Path]:
    """A new empty file in ``folder``, locked (``flock``) while it is written, removed on
    failure; a killed writer's is removed by :func:`_remove_killed_stores`."""
    fd, name = tempfile.mkstemp(prefix=".store.", suffix=".tmp", dir=folder)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)
        os.close(fd)


def _remove_killed_stores(folder: Path) -> None:
    """Remove the temporary files of writers that died (no one holds their lock)."""
    for tmp in folder.glob(".store.*.tmp"):
        try:
            fd = os.open(tmp, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # a live writer's
        finally:
            os.close(fd)


def _memory_store(path: Path) -> sqlite3.Connection:
    """The query store of a source (a folder of pages), built as ``build`` would and
    held in memory: nothing is left in the cache or in temp, also when it fails."""
    from iam_catalog.output.build import load_catalog
    from iam_catalog.query.store import fill_store

    catalog = load_catalog(path)
    conn = sqlite3.connect(":memory:")
    try:
        fill_store(conn, catalog)
    except BaseException:
        conn.close()
        raise
    return conn


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Catalog:
    """One catalog and the questions it answers: ``Catalog.load(path).expand("s3:Get*")``."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._db = conn
        self.path = path

    @classmethod
    def load(cls, path: str | Path) -> Catalog:
        """Open a SQLite store, a catalog.json or any source ``build`` accepts."""
        p = Path(path)
        if not p.exists():
            raise QueryError(f"{p}: no such file or folder")
        if p.is_file():
            store = p if _is_sqlite(p) else _cached_store(p)
            conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        else:  # a folder, or what build turns into a diagnostic (a FIFO, a device)
            conn = _memory_store(p)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'store_version'").fetchone()
        except sqlite3.DatabaseError as e:
            conn.close()
            raise QueryError(f"{p}: not a catalog store ({e})") from None
        if row != (str(STORE_VERSION),):
            conn.close()
            raise QueryError(
                f"{p}: a catalog store of version {row[0] if row else 'unknown'}, this "
                f"iam-catalog reads version {STORE_VERSION} (export it again)"
            )
        return cls(conn, p)

    @classmethod
    def latest(cls, releases: str | Path) -> Catalog:
        """The latest release of a releases folder (``RELEASES/latest``, a link to or a
        file naming the release folder), its ``catalog.sqlite`` if it has one, else its
        ``catalog.json``."""
        root = Path(releases)
        latest = root / "latest"
        if latest.is_file():
            latest = root / latest.read_text(encoding="utf-8").strip()
        for name in ("catalog.sqlite", "catalog.json"):
            if (latest / name).is_file():
                return cls.load(latest / name)
        raise QueryError(f"{root}: no latest release (expected {latest}/catalog.json)")

    def close(self) -> None:
        self._db.close()

    # ----------------------------------------------------------------- name indexes
    # Names are looked up in dicts built once per Catalog, from one read of a table: a
    # hash look-up, then the row by its integer key. (SQLite's own NOCASE comparison
    # cannot use a column's binary index, and searched a table row by row.)

    @cached_property
    def _prefixes(self) -> dict[str, str]:
        """Lower-cased service prefix -> the prefix as stored."""
        return {p.lower(): p for (p,) in self._db.execute("SELECT prefix FROM services")}

    @cached_property
    def _action_ids(self) -> dict[str, int]:
        """Lower-cased ``prefix:Name`` -> the action's row id."""
        return {a.lower(): i for i, a in self._db.execute("SELECT id, action FROM actions")}

    def _prefix(self, service: str) -> str | None:
        return self._prefixes.get(service.lower())

    # ----------------------------------------------------------------- services

    def services(self, name: str | None = None) -> list[tuple[str, str]]:
        """``(prefix, name)`` of every service, or of those whose prefix is ``name`` or
        whose name contains it (case-insensitive)."""
        if name is None:
            return list(self._db.execute("SELECT prefix, name FROM services ORDER BY prefix"))
        prefix = self._prefix(name)
        if prefix is not None:
            return self._db.execute(
                "SELECT prefix, name FROM services WHERE prefix = ?", (prefix,)
            ).fetchall()
        # A part of a name is searched for in every name (459 of them), not looked up.
        return self._db.execute(
            "SELECT prefix, name FROM services WHERE name LIKE ? ESCAPE '\\' ORDER BY prefix",
            (f"%{_like_escape(name)}%",),
        ).fetchall()

    # ----------------------------------------------------------------- actions

    def action(self, name: str) -> Action | None:
        """The action ``prefix:Name`` (case-insensitive) with its typed fields, or None."""
        aid = self._action_ids.get(name.lower())
        if aid is None:
            return None
        aname, description, level, permission_only, api, not_carried = self._db.execute(
            "SELECT name, description, access_level, permission_only, api_reference, "
            "not_carried FROM actions WHERE id = ?",
            (aid,),
        ).fetchone()
        nc = frozenset(f for f in not_carried.split(",") if f)
        # The store lists every level of an action, its one ``access_level`` included,
        # for queries; a source that printed only that one does not carry the list.
        levels = (
            ()
            if "access_levels" in nc
            else tuple(
                AccessLevel(lv)
                for (lv,) in self._db.execute(
                    "SELECT access_level FROM action_access_levels WHERE action_id = ? "
                    "ORDER BY position",
                    (aid,),
                )
            )
        )
        keys: dict[int | None, list[str]] = defaultdict(list)
        for row_id, key in self._db.execute(
            "SELECT row_id, condition_key FROM action_condition_keys WHERE action_id = ? "
            "ORDER BY rowid",
            (aid,),
        ):
            keys[row_id].append(key)
        deps: dict[int | None, list[str]] = defaultdict(list)
        for row_id, dep in self._db.execute(
            "SELECT row_id, dependent_action FROM dependent_actions WHERE action_id = ? "
            "ORDER BY rowid",
            (aid,),
        ):
            deps[row_id].append(dep)
        rows = tuple(
            ResourceTypeRow(rt, bool(req), tuple(keys[rid]), tuple(deps[rid]))
            for rid, rt, req in self._db.execute(
                "SELECT id, resource_type, required FROM action_resource_types "
                "WHERE action_id = ? ORDER BY position",
                (aid,),
            )
        )
        ops = tuple(
            o
            for (o,) in self._db.execute(
                "SELECT operation FROM operations WHERE action_id = ? ORDER BY rowid", (aid,)
            )
        )
        return Action(
            aname,
            description or "",
            AccessLevel(level) if level else None,
            levels,
            bool(permission_only),
            api,
            rows,
            tuple(keys[None]),
            tuple(deps[None]),
            ops,
            nc,
        )

    def actions(
        self,
        *,
        service: str | None = None,
        access_level: str | None = None,
        resource_type: str | None = None,
        condition_key: str | None = None,
        wildcard_only: bool = False,
    ) -> list[ActionMatch]:
        """Actions matching every filter given, sorted: ``access_level`` among the action's
        levels (``read``, ``permissions-management``, ... or the page's words);
        ``condition_key`` on the action, a row, or through a resource type;
        ``wildcard_only``: actions with no resource-type row."""
        where, args = ["1"], []
        if service is not None:
            where.append("a.service = ?")
            args.append(self._prefix(service) or "")
        if access_level is not None:
            level = _level(access_level)
            where.append(
                "EXISTS (SELECT 1 FROM action_access_levels l WHERE l.action_id = a.id "
                "AND l.access_level = ?)"
            )
            args.append(level)
        if resource_type is not None:
            where.append(
                "EXISTS (SELECT 1 FROM action_resource_types r WHERE r.action_id = a.id "
                "AND r.resource_type = ?)"
            )
            args.append(resource_type)
        if wildcard_only:
            where.append(
                "NOT EXISTS (SELECT 1 FROM action_resource_types r WHERE r.action_id = a.id)"
            )
        condition = " AND ".join(where)
        # condition_key: the actions that take the key, each with where it applies.
        vias: dict[int, set[str]] = defaultdict(set)
        if condition_key is not None:
            for aid, where_ in self._db.execute(
                "SELECT action_id, CASE WHEN row_id IS NULL THEN 'action' ELSE 'row' END "
                "FROM action_condition_keys WHERE condition_key = ? UNION ALL "
                "SELECT r.action_id, 'resource_type' FROM resource_type_condition_keys t "
                "JOIN action_resource_types r ON r.resource_type_id = t.resource_type_id "
                "WHERE t.condition_key = ?",
                (condition_key, condition_key),
            ):
                vias[aid].add(where_)
        loads = orjson.loads
        return [
            ActionMatch(
                name,
                tuple(loads(levels)),
                tuple(loads(rts)),
                tuple(loads(keys)),
                tuple(sorted(vias.get(aid, ()))),
            )
            for aid, name, levels, rts, keys in self._db.execute(
                "SELECT a.id, a.action, l.access_levels, l.resource_types, l.condition_keys "
                f"FROM actions a JOIN action_lists l ON l.action_id = a.id WHERE {condition} "
                "ORDER BY a.action COLLATE NOCASE",
                args,
            )
            if condition_key is None or aid in vias
        ]

    def _keys_of(self, aid: int) -> dict[str, set[str]]:
        """Every key an action takes -> where: ``action``, ``row``, ``resource_type``
        (the same as the store's view ``action_keys``, through the indexes)."""
        keys: dict[str, set[str]] = defaultdict(set)
        for k, via in self._db.execute(
            "SELECT condition_key, CASE WHEN row_id IS NULL THEN 'action' ELSE 'row' END "
            "FROM action_condition_keys WHERE action_id = ? "
            "UNION SELECT t.condition_key, 'resource_type' FROM action_resource_types r "
            "JOIN resource_type_condition_keys t ON t.resource_type_id = r.resource_type_id "
            "WHERE r.action_id = ?",
            (aid, aid),
        ):
            keys[k].add(via)
        return keys

    def expand(self, *patterns: str, invert: bool = False) -> list[str]:
        """``prefix:Name`` of every action one of the IAM patterns matches (``*``, ``?``,
        case-insensitive, ``*:CreateTags`` across services); ``invert``: those none
        matches (what a ``NotAction`` allows). Sorted."""
        regex = re.compile(
            "|".join(f"(?:{fnmatch.translate(p.lower())})" for p in patterns) or "(?!)"
        )
        names = [n for (n,) in self._db.execute("SELECT action FROM actions")]
        hit = [n for n in names if (regex.match(n.lower()) is None) == invert]
        return sorted(hit, key=lambda n: (n.lower(), n))

    # ----------------------------------------------------------------- resources and keys

    def resource_types(self, service: str) -> list[ResourceTypeInfo]:
        """The resource types of a service, with their ARN formats and keys."""
        out = []
        for rid, svc, name in self._db.execute(
            "SELECT id, service, name FROM resource_types WHERE service = ? ORDER BY name",
            (self._prefix(service) or "",),
        ):
            arns = tuple(
                f
                for (f,) in self._db.execute(
                    "SELECT arn_format FROM arn_formats WHERE resource_type_id = ? "
                    "ORDER BY position",
                    (rid,),
                )
            )
            keys = tuple(
                k
                for (k,) in self._db.execute(
                    "SELECT condition_key FROM resource_type_condition_keys "
                    "WHERE resource_type_id = ? ORDER BY rowid",
                    (rid,),
                )
            )
            out.append(ResourceTypeInfo(svc, name, arns, keys))
        return out

    def match_arn(self, arn: str) -> list[ArnMatch]:
        """The resource types whose ARN formats match ``arn`` (IAM's rules, see
        :mod:`iam_catalog.query.arn`) and the actions that take each."""
        parts = split_arn(arn)
        if parts is None:
            raise QueryError(f"{arn}: not an ARN (arn:partition:service:region:account:resource)")
        candidates = self._db.execute(
            "SELECT r.id, r.service, r.name, f.arn_format FROM arn_formats f "
            "JOIN resource_types r ON r.id = f.resource_type_id "
            "ORDER BY r.service, r.name, f.position"
        ).fetchall()
        if "*" not in parts[2] and "?" not in parts[2]:  # a literal service: its formats only
            candidates = [c for c in candidates if c[3].split(":", 3)[2:3] == [parts[2]]]
        found: list[tuple[int, str, str, str]] = []
        for loose in (False, True):
            by_service: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)
            for rid, svc, name, fmt in candidates:
                if arn_matches(fmt, arn, loose=loose):
                    by_service[svc].append((rid, svc, name, fmt))
            for rows in by_service.values():
                if loose:
                    # A placeholder made to take "/" or ":" fits a shorter format too (the
                    # table of a stream ARN whose label holds colons): the format with the
                    # most literal text, the most specific, is the one.
                    best = max(_literal_length(fmt) for _, _, _, fmt in rows)
                    rows = [r for r in rows if _literal_length(r[3]) == best]
                found.extend(rows)
            if found:
                break
        out = []
        for rid, svc, name, fmt in found:
            actions = tuple(
                a
                for (a,) in self._db.execute(
                    "SELECT DISTINCT a.action FROM action_resource_types r JOIN actions a "
                    "ON a.id = r.action_id WHERE r.resource_type_id = ? ORDER BY a.action",
                    (rid,),
                )
            )
            out.append(ArnMatch(svc, name, fmt, actions))
        return out

    def condition_keys(
        self, *, action: str | None = None, service: str | None = None
    ) -> list[ConditionKeyInfo]:
        """The condition keys a service defines, or that an action takes (with where, and
        the types its service's page gives)."""
        if action is not None:
            prefix = action.partition(":")[0]
            aid = self._action_ids.get(action.lower())
            if aid is None:
                return []  # as for every other question about an action the catalog lacks
            vias = self._keys_of(aid)
            out = []
            own = self._prefix(prefix) or ""
            for k in sorted(vias, key=str.lower):
                # The key as the action's own service defines it, else as the first does.
                sql = "SELECT service, name, description, types FROM condition_keys WHERE "
                row = (
                    self._db.execute(sql + "service = ? AND name = ?", (own, k)).fetchone()
                    or self._db.execute(sql + "name = ? ORDER BY service LIMIT 1", (k,)).fetchone()
                )
                svc, name, desc, types = row if row else (prefix, k, "", "")
                desc, types = desc or "", types or ""
                out.append(
                    ConditionKeyInfo(
                        svc,
                        name,
                        desc,
                        tuple(t for t in types.split(",") if t),
                        tuple(sorted(vias[k])),
                    )
                )
            return out
        rows = self._db.execute(
            "SELECT service, name, description, types FROM condition_keys "
            + ("WHERE service = ? " if service else "")
            + "ORDER BY service, name",
            (self._prefix(service) or "",) if service else (),
        )
        return [
            ConditionKeyInfo(s, n, d or "", tuple(t for t in (types or "").split(",") if t))
            for s, n, d, types in rows
        ]


def _literal_length(fmt: str) -> int:
    return len(re.sub(r"\$\{[^}]*\}", "", fmt))


_LEVELS = {lv.value.lower().replace(" ", "-"): lv.value for lv in AccessLevel}


def _level(text: str) -> str:
    key = text.strip().lower().replace(" ", "-").replace("_", "-")
    if key not in _LEVELS:
        raise QueryError(f"{text}: not an access level (one of {', '.join(sorted(_LEVELS))})")
    return _LEVELS[key]
