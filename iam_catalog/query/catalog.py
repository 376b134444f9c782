"""``Catalog``: the questions one catalog answers (house style 23), over its SQLite query
store (:mod:`iam_catalog.query.store`): a query from a cold process opens one file and
reads a few indexed rows instead of parsing all of catalog.json.

``Catalog.load(path)`` takes a SQLite store (``export sqlite``), a catalog.json or any
source ``build`` accepts; for a catalog.json the store is made once and kept in the
cache folder (``$IAM_CATALOG_CACHE``, else ``$XDG_CACHE_HOME/iam-catalog``, else
``~/.cache/iam-catalog``) under the sha256 of the file, so the catalog is never read
again while it is unchanged. Lookups by name go through SQLite's indexes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import sqlite3
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from iam_catalog.parsers.errors import IamCatalogError
from iam_catalog.parsers.model import AccessLevel, Action, ResourceTypeRow
from iam_catalog.query.arn import arn_matches, split_arn

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


def _make_store(path: Path) -> Path:
    """The query store of a catalog.json or source, made once per content."""
    if path.is_file():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
        cached = _cache_dir() / f"{digest}.sqlite"
        if cached.is_file():
            return cached
    else:
        cached = None
    # Only now: building a store needs the whole pipeline, answering from one does not.
    from iam_catalog.output.build import load_catalog
    from iam_catalog.query.store import write_store

    catalog = load_catalog(path)
    target_dir = cached.parent if cached else Path(tempfile.mkdtemp(prefix="iam-catalog-"))
    target_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".store.", suffix=".tmp", dir=target_dir)
    os.close(fd)
    os.unlink(tmp)
    try:
        write_store(catalog, Path(tmp))
        final = cached or target_dir / "catalog.sqlite"
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


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
        store = p if p.is_file() and _is_sqlite(p) else _make_store(p)
        conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        try:
            conn.execute("SELECT value FROM meta WHERE key = 'store_version'").fetchone()
        except sqlite3.DatabaseError as e:
            conn.close()
            raise QueryError(f"{p}: not a catalog store ({e})") from None
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

    # ----------------------------------------------------------------- services

    def services(self, name: str | None = None) -> list[tuple[str, str]]:
        """``(prefix, name)`` of every service, or of those whose prefix is ``name`` or
        whose name contains it (case-insensitive)."""
        if name is None:
            return list(self._db.execute("SELECT prefix, name FROM services ORDER BY prefix"))
        rows = self._db.execute(
            "SELECT prefix, name FROM services WHERE prefix = ? ORDER BY prefix", (name,)
        ).fetchall()
        if rows:
            return rows
        return self._db.execute(
            "SELECT prefix, name FROM services WHERE name LIKE ? ESCAPE '\\' ORDER BY prefix",
            (f"%{_like_escape(name)}%",),
        ).fetchall()

    # ----------------------------------------------------------------- actions

    def action(self, name: str) -> Action | None:
        """The action ``prefix:Name`` (case-insensitive) with its typed fields, or None."""
        row = self._db.execute(
            "SELECT id, name, description, access_level, permission_only, api_reference, "
            "not_carried FROM actions WHERE action = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        aid, aname, description, level, permission_only, api, not_carried = row
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
            where.append("a.service = ? COLLATE NOCASE")
            args.append(service)
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
        if condition_key is not None:
            where.append(
                "a.id IN (SELECT action_id FROM action_condition_keys WHERE condition_key = ? "
                "UNION SELECT r.action_id FROM resource_type_condition_keys t "
                "JOIN action_resource_types r ON r.resource_type_id = t.resource_type_id "
                "WHERE t.condition_key = ?)"
            )
            args.extend((condition_key, condition_key))
        condition = " AND ".join(where)
        rows = self._db.execute(
            f"SELECT a.id, a.action FROM actions a WHERE {condition} "
            "ORDER BY a.action COLLATE NOCASE",
            args,
        ).fetchall()
        # Three queries for all the matched actions, not three per action.
        chosen = f"SELECT a.id FROM actions a WHERE {condition}"
        levels: dict[int, list[str]] = defaultdict(list)
        for aid, lv in self._db.execute(
            f"SELECT action_id, access_level FROM action_access_levels WHERE action_id IN "
            f"({chosen}) ORDER BY action_id, position",
            args,
        ):
            levels[aid].append(lv)
        rts: dict[int, dict[str, None]] = defaultdict(dict)
        for aid, rt in self._db.execute(
            f"SELECT action_id, resource_type FROM action_resource_types WHERE action_id IN "
            f"({chosen}) ORDER BY action_id, position",
            args,
        ):
            rts[aid][rt] = None
        keys: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for aid, k, where_ in self._db.execute(
            "SELECT action_id, condition_key, CASE WHEN row_id IS NULL THEN 'action' ELSE "
            f"'row' END FROM action_condition_keys WHERE action_id IN ({chosen}) "
            "UNION SELECT r.action_id, t.condition_key, 'resource_type' "
            "FROM action_resource_types r JOIN resource_type_condition_keys t "
            f"ON t.resource_type_id = r.resource_type_id WHERE r.action_id IN ({chosen})",
            [*args, *args],
        ):
            keys[aid][k].add(where_)
        out = []
        for aid, name in rows:
            own = keys[aid]
            via: tuple[str, ...] = ()
            if condition_key is not None:
                wanted = condition_key.lower()
                via = tuple(sorted({v for k, vs in own.items() if k.lower() == wanted for v in vs}))
            out.append(
                ActionMatch(
                    name,
                    tuple(levels[aid]),
                    tuple(rts[aid]),
                    tuple(sorted(own, key=str.lower)),
                    via,
                )
            )
        return out

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
            "SELECT id, service, name FROM resource_types WHERE service = ? COLLATE NOCASE "
            "ORDER BY name",
            (service,),
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
            found = self._db.execute(
                "SELECT id FROM actions WHERE action = ?", (action,)
            ).fetchone()
            if found is None:
                return []  # as for every other question about an action the catalog lacks
            vias = self._keys_of(found[0])
            out = []
            for k in sorted(vias, key=str.lower):
                row = self._db.execute(
                    "SELECT service, name, description, types FROM condition_keys "
                    "WHERE name = ? ORDER BY service = ? COLLATE NOCASE DESC, service LIMIT 1",
                    (k, prefix),
                ).fetchone()
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
            + ("WHERE service = ? COLLATE NOCASE " if service else "")
            + "ORDER BY service, name",
            (service,) if service else (),
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
