"""The catalog as one SQLite file: the query store of :class:`iam_catalog.query.Catalog`
and the ``sqlite`` export (``iam-catalog export sqlite``).

Tables (foreign keys declared and enforced on write): ``services``, ``actions``,
``action_access_levels``, ``resource_types``, ``arn_formats``, ``condition_keys``,
``resource_type_condition_keys``, ``action_resource_types`` (one row per action x
resource-type row), ``action_condition_keys`` and ``dependent_actions`` (``row_id`` NULL
on the action's own row), ``operations`` (action -> the names of the operations of its
service that authorise it), ``action_supported_by`` (AWS's ``SupportedBy``), and a
service's API operations: ``api_operations``, ``authorized_actions`` (every action each
operation authorises, other services' too, with ``action_id`` where the catalog has that
action), ``authorized_action_context`` (the condition values the operation sets for it,
one row per value) and ``sdk_methods``. Views for the common joins:
``action_rows`` (action, resource type, required, ARN formats), ``action_keys`` (every
condition key an action takes and ``via`` which: ``action``, ``row`` or
``resource_type``), ``action_levels``, ``operation_actions`` (operation, authorised
action and its context as ``key=value`` pairs). ``action_lists`` holds each action's access
levels, resource types and every condition key it takes (on the action, a row or through
a resource type: the ``action_keys`` view's, sorted) as JSON arrays: what
``query actions`` prints, read from one row instead of three joins. Full-text search
(FTS5): ``actions_fts`` and ``condition_keys_fts`` on names and descriptions. Names
compare case-insensitively (``COLLATE NOCASE``), like IAM. A field the catalog's source
does not carry is NULL (never an invented ``0`` or ``''``), and ``not_carried`` lists
such fields of each service and action (comma-separated).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from iam_catalog.parsers.model import Catalog

STORE_VERSION = 2

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE services(
  prefix TEXT PRIMARY KEY COLLATE NOCASE,
  name TEXT,
  not_carried TEXT NOT NULL
);
CREATE TABLE actions(
  id INTEGER PRIMARY KEY,
  service TEXT NOT NULL REFERENCES services(prefix),
  name TEXT NOT NULL,
  action TEXT NOT NULL UNIQUE COLLATE NOCASE,
  description TEXT,
  access_level TEXT,
  permission_only INTEGER,
  api_reference TEXT,
  not_carried TEXT NOT NULL
);
CREATE INDEX actions_service ON actions(service);
CREATE TABLE action_access_levels(
  action_id INTEGER NOT NULL REFERENCES actions(id),
  position INTEGER NOT NULL,
  access_level TEXT NOT NULL,
  PRIMARY KEY(action_id, position)
);
CREATE TABLE resource_types(
  id INTEGER PRIMARY KEY,
  service TEXT NOT NULL REFERENCES services(prefix),
  name TEXT NOT NULL COLLATE NOCASE,
  UNIQUE(service, name)
);
CREATE TABLE arn_formats(
  resource_type_id INTEGER NOT NULL REFERENCES resource_types(id),
  position INTEGER NOT NULL,
  arn_format TEXT NOT NULL,
  PRIMARY KEY(resource_type_id, position)
);
CREATE TABLE condition_keys(
  id INTEGER PRIMARY KEY,
  service TEXT NOT NULL REFERENCES services(prefix),
  name TEXT NOT NULL COLLATE NOCASE,
  description TEXT,
  types TEXT,
  UNIQUE(service, name)
);
CREATE INDEX condition_keys_name ON condition_keys(name, service);
CREATE TABLE resource_type_condition_keys(
  resource_type_id INTEGER NOT NULL REFERENCES resource_types(id),
  condition_key TEXT NOT NULL COLLATE NOCASE
);
CREATE INDEX resource_type_condition_keys_type ON resource_type_condition_keys(resource_type_id);
CREATE INDEX resource_type_condition_keys_key ON resource_type_condition_keys(condition_key);
CREATE TABLE action_resource_types(
  id INTEGER PRIMARY KEY,
  action_id INTEGER NOT NULL REFERENCES actions(id),
  position INTEGER NOT NULL,
  resource_type TEXT NOT NULL COLLATE NOCASE,
  resource_type_id INTEGER REFERENCES resource_types(id),
  required INTEGER
);
CREATE INDEX action_resource_types_action ON action_resource_types(action_id);
CREATE INDEX action_resource_types_type ON action_resource_types(resource_type_id);
CREATE TABLE action_condition_keys(
  action_id INTEGER NOT NULL REFERENCES actions(id),
  row_id INTEGER REFERENCES action_resource_types(id),
  condition_key TEXT NOT NULL COLLATE NOCASE
);
CREATE INDEX action_condition_keys_action ON action_condition_keys(action_id);
CREATE INDEX action_condition_keys_key ON action_condition_keys(condition_key);
CREATE TABLE dependent_actions(
  action_id INTEGER NOT NULL REFERENCES actions(id),
  row_id INTEGER REFERENCES action_resource_types(id),
  dependent_action TEXT NOT NULL COLLATE NOCASE
);
CREATE INDEX dependent_actions_action ON dependent_actions(action_id);
CREATE TABLE action_lists(
  action_id INTEGER PRIMARY KEY REFERENCES actions(id),
  access_levels TEXT NOT NULL,
  resource_types TEXT NOT NULL,
  condition_keys TEXT NOT NULL
);
CREATE TABLE operations(
  action_id INTEGER NOT NULL REFERENCES actions(id),
  operation TEXT NOT NULL
);
CREATE INDEX operations_action ON operations(action_id);
CREATE TABLE action_supported_by(
  action_id INTEGER NOT NULL REFERENCES actions(id),
  feature TEXT NOT NULL,
  supported INTEGER NOT NULL,
  PRIMARY KEY(action_id, feature)
);
CREATE TABLE api_operations(
  id INTEGER PRIMARY KEY,
  service TEXT NOT NULL REFERENCES services(prefix),
  name TEXT NOT NULL COLLATE NOCASE,
  not_carried TEXT NOT NULL
);
CREATE INDEX api_operations_service ON api_operations(service);
CREATE TABLE authorized_actions(
  id INTEGER PRIMARY KEY,
  operation_id INTEGER NOT NULL REFERENCES api_operations(id),
  position INTEGER NOT NULL,
  action TEXT NOT NULL COLLATE NOCASE,
  action_id INTEGER REFERENCES actions(id)
);
CREATE INDEX authorized_actions_operation ON authorized_actions(operation_id);
CREATE INDEX authorized_actions_action ON authorized_actions(action);
CREATE TABLE authorized_action_context(
  authorized_action_id INTEGER NOT NULL REFERENCES authorized_actions(id),
  condition_key TEXT NOT NULL COLLATE NOCASE,
  position INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE TABLE sdk_methods(
  operation_id INTEGER NOT NULL REFERENCES api_operations(id),
  position INTEGER NOT NULL,
  package TEXT NOT NULL,
  client TEXT NOT NULL,
  method TEXT NOT NULL,
  PRIMARY KEY(operation_id, position)
);
CREATE VIEW operation_actions AS
  SELECT o.service, o.name AS operation, x.action AS authorized_action,
         (SELECT group_concat(c.condition_key || '=' || c.value, ' ')
          FROM authorized_action_context c WHERE c.authorized_action_id = x.id) AS context
  FROM authorized_actions x JOIN api_operations o ON o.id = x.operation_id;
CREATE VIEW action_rows AS
  SELECT a.action, a.service, r.resource_type, r.required, r.position,
         (SELECT group_concat(f.arn_format, ' ') FROM arn_formats f
          WHERE f.resource_type_id = r.resource_type_id) AS arn_formats
  FROM action_resource_types r JOIN actions a ON a.id = r.action_id;
CREATE VIEW action_keys AS
  SELECT a.action, k.condition_key, CASE WHEN k.row_id IS NULL THEN 'action' ELSE 'row' END AS via
  FROM action_condition_keys k JOIN actions a ON a.id = k.action_id
  UNION
  SELECT a.action, t.condition_key, 'resource_type' AS via
  FROM action_resource_types r
  JOIN actions a ON a.id = r.action_id
  JOIN resource_type_condition_keys t ON t.resource_type_id = r.resource_type_id;
CREATE VIEW action_levels AS
  SELECT a.action, a.service, l.access_level
  FROM action_access_levels l JOIN actions a ON a.id = l.action_id;
-- content="..." double-quoted: how datasette finds a table's full-text index
CREATE VIRTUAL TABLE actions_fts USING fts5(
  action, description, content="actions", content_rowid="id"
);
CREATE VIRTUAL TABLE condition_keys_fts USING fts5(
  name, description, content="condition_keys", content_rowid="id"
);
"""


def write_store(catalog: Catalog, path: Path) -> None:
    """Write ``catalog`` into a new SQLite file at ``path`` (which must not exist)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        fill_store(conn, catalog)
        conn.execute("VACUUM")
    finally:
        conn.close()


def fill_store(conn: sqlite3.Connection, catalog: Catalog) -> None:
    """Write ``catalog`` into the empty database of ``conn`` (a file or ``:memory:``)."""
    conn.isolation_level = None
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.executescript(SCHEMA)
    conn.execute("BEGIN")
    _fill(conn, catalog)
    conn.execute("INSERT INTO actions_fts(actions_fts) VALUES ('rebuild')")
    conn.execute("INSERT INTO condition_keys_fts(condition_keys_fts) VALUES ('rebuild')")
    conn.execute("COMMIT")


def _fill(conn: sqlite3.Connection, catalog: Catalog) -> None:
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [
            ("store_version", str(STORE_VERSION)),
            ("catalog_schema_version", str(catalog.schema_version)),
            ("source_kind", catalog.source.kind),
            ("source_id", catalog.source.id),
        ],
    )
    action_id = row_id = rt_id = key_id = 0
    action_ids: dict[str, int] = {}
    for s in catalog.services:
        conn.execute(
            "INSERT INTO services VALUES (?, ?, ?)",
            (s.prefix, s.name if s.carries("name") else None, ",".join(sorted(s.not_carried))),
        )
        rt_ids: dict[str, int] = {}
        rt_key_lists: dict[int, list[str]] = {}
        rts: list[tuple[int, str, str]] = []
        arns: list[tuple[int, int, str]] = []
        rt_keys: list[tuple[int, str]] = []
        for r in s.resource_types:
            rt_id += 1
            rt_ids.setdefault(r.name.lower(), rt_id)
            rts.append((rt_id, s.prefix, r.name))
            arns.extend((rt_id, i, f) for i, f in enumerate(r.arn_formats))
            rt_keys.extend((rt_id, k) for k in dict.fromkeys(r.condition_keys))
            rt_key_lists[rt_id] = list(r.condition_keys)
        conn.executemany("INSERT INTO resource_types VALUES (?, ?, ?)", rts)
        conn.executemany("INSERT INTO arn_formats VALUES (?, ?, ?)", arns)
        conn.executemany("INSERT INTO resource_type_condition_keys VALUES (?, ?)", rt_keys)
        keys = []
        for k in s.condition_keys:
            key_id += 1
            keys.append(
                (
                    key_id,
                    s.prefix,
                    k.name,
                    k.description if k.carries("description") else None,
                    ",".join(k.types) if k.carries("types") else None,
                )
            )
        conn.executemany("INSERT INTO condition_keys VALUES (?, ?, ?, ?, ?)", keys)
        acts: list[tuple[object, ...]] = []
        levels: list[tuple[int, int, str]] = []
        rows: list[tuple[object, ...]] = []
        akeys: list[tuple[int, int | None, str]] = []
        deps: list[tuple[int, int | None, str]] = []
        ops: list[tuple[int, str]] = []
        lists: list[tuple[int, str, str, str]] = []
        supported: list[tuple[int, str, int]] = []
        for a in s.actions:
            action_id += 1
            action_ids.setdefault(f"{s.prefix}:{a.name}".lower(), action_id)
            level = a.access_level.value if a.access_level else None
            c = a.carries
            acts.append(
                (
                    action_id,
                    s.prefix,
                    a.name,
                    f"{s.prefix}:{a.name}",
                    a.description if c("description") else None,
                    level,
                    int(a.permission_only) if c("permission_only") else None,
                    a.api_reference,
                    ",".join(sorted(a.not_carried)),
                )
            )
            required = c("resource_types.required")
            all_levels = dict.fromkeys(
                [*(lv.value for lv in a.access_levels), *([level] if level else [])]
            )
            levels.extend((action_id, i, lv) for i, lv in enumerate(all_levels))
            akeys.extend((action_id, None, k) for k in dict.fromkeys(a.condition_keys))
            deps.extend((action_id, None, d) for d in dict.fromkeys(a.dependent_actions))
            ops.extend((action_id, o) for o in dict.fromkeys(a.operations))
            takes = dict.fromkeys(a.condition_keys)
            for row in a.resource_types:
                takes.update(dict.fromkeys(row.condition_keys))
                takes.update(dict.fromkeys(rt_key_lists.get(rt_ids.get(row.name.lower(), 0), ())))
            lists.append(
                (
                    action_id,
                    _json(list(all_levels)),
                    _json(list(dict.fromkeys(r.name for r in a.resource_types))),
                    _json(sorted(takes, key=str.lower)),
                )
            )
            supported.extend((action_id, f, int(on)) for f, on in a.supported_by)
            for i, row in enumerate(a.resource_types):
                row_id += 1
                rows.append(
                    (
                        row_id,
                        action_id,
                        i,
                        row.name,
                        rt_ids.get(row.name.lower()),
                        int(row.required) if required else None,
                    )
                )
                akeys.extend((action_id, row_id, k) for k in dict.fromkeys(row.condition_keys))
                deps.extend((action_id, row_id, d) for d in dict.fromkeys(row.dependent_actions))
        conn.executemany("INSERT INTO actions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", acts)
        conn.executemany("INSERT INTO action_access_levels VALUES (?, ?, ?)", levels)
        conn.executemany("INSERT INTO action_resource_types VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO action_condition_keys VALUES (?, ?, ?)", akeys)
        conn.executemany("INSERT INTO dependent_actions VALUES (?, ?, ?)", deps)
        conn.executemany("INSERT INTO operations VALUES (?, ?)", ops)
        conn.executemany("INSERT INTO action_lists VALUES (?, ?, ?, ?)", lists)
        conn.executemany("INSERT INTO action_supported_by VALUES (?, ?, ?)", supported)
    _fill_operations(conn, catalog, action_ids)


def _json(names: list[str]) -> str:
    return orjson.dumps(names).decode()


def _fill_operations(
    conn: sqlite3.Connection, catalog: Catalog, action_ids: dict[str, int]
) -> None:
    """The services' API operations, after every action (an operation authorises other
    services' actions: ``iam:PassRole`` gets the id of IAM's action where the catalog
    has it)."""
    op_id = authorized_id = 0
    ops: list[tuple[object, ...]] = []
    authorized: list[tuple[object, ...]] = []
    context: list[tuple[int, str, int, str]] = []
    sdk: list[tuple[int, int, str, str, str]] = []
    for s in catalog.services:
        for o in s.operations:
            op_id += 1
            ops.append((op_id, s.prefix, o.name, ",".join(sorted(o.not_carried))))
            for i, a in enumerate(o.authorized_actions):
                authorized_id += 1
                name = a.qualified
                authorized.append((authorized_id, op_id, i, name, action_ids.get(name.lower())))
                context.extend(
                    (authorized_id, key, j, value)
                    for key, values in a.context
                    for j, value in enumerate(values)
                )
            sdk.extend((op_id, i, m.package, m.client, m.method) for i, m in enumerate(o.sdk))
    conn.executemany("INSERT INTO api_operations VALUES (?, ?, ?, ?)", ops)
    conn.executemany("INSERT INTO authorized_actions VALUES (?, ?, ?, ?, ?)", authorized)
    conn.executemany("INSERT INTO authorized_action_context VALUES (?, ?, ?, ?)", context)
    conn.executemany("INSERT INTO sdk_methods VALUES (?, ?, ?, ?, ?)", sdk)
