"""policy_sentry's ``iam-definition.json`` (its schema ``v2``), for ``~/.policy_sentry/``.

policy_sentry reads one JSON object: ``policy_sentry_schema_version`` and, per service
prefix, ``service_name``, ``prefix``, ``service_authorization_url``, ``privileges``
(per action: ``privilege``, ``description``, ``access_level``, ``api_documentation_link``,
``resource_types`` keyed by resource-type name, the action's own row under ``""``, each
with ``required``, ``condition_keys`` and ``dependent_actions``), ``resources`` (per
resource type: ``resource``, ``arn``, ``condition_keys``), ``conditions`` (per key:
``condition``, ``description``, ``type``) and the ``*_lower_name`` lookups it uses to
match names case-insensitively.

Where that schema holds less than the catalog (the README lists each case):

- one access level per action: the catalog's ``access_level`` (the most specific of
  ``access_levels``), ``""`` where the source gives none;
- one ARN per resource type: the first of ``arn_formats`` (13 resource types of the
  2026 pages have two, e.g. API Gateway's v1 and v2 paths);
- one type per condition key: the first of ``types``;
- one row per resource-type name: a name the page lists on two rows (directconnect
  ``AssociateHostedConnection``: ``dxcon`` required and optional) becomes one row,
  required if the first is, with the keys and dependent actions of both;
- text the source does not carry (AWS's JSON has no descriptions) is ``""``.

Dependent actions are written as the page writes them (policy_sentry's own scraper
lower-cases their prefixes), and access levels as the page says (policy_sentry applies
its overrides file when it scrapes; this export does not).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from iam_catalog.parsers.model import Action, Catalog, ResourceTypeRow, Service

NAME = "policy-sentry"
DESCRIPTION = "policy_sentry's iam-definition.json (schema v2), for ~/.policy_sentry/"
OUTPUT = "file"
EXAMPLE = (
    "iam-catalog export policy-sentry build/catalog/catalog.json "
    "--output ~/.policy_sentry/iam-definition.json"
)

SCHEMA_VERSION = "v2"
"""policy_sentry's ``POLICY_SENTRY_SCHEMA_VERSION_LATEST``."""

SAR_BASE = "https://docs.aws.amazon.com/service-authorization/latest/reference/"
"""Where a page lives when the source did not record its URL (files named by page id)."""


def page_url(service: Service) -> str:
    """The SAR page of ``service``: the first page's URL, or the SAR address of a
    ``list_*`` page id; ``""`` for a source that is no SAR page (AWS's JSON)."""
    for page in service.pages:
        if page.url:
            return page.url
    for page in service.pages:
        if page.page.startswith("list_"):
            return f"{SAR_BASE}{page.page}.html"
    return ""


def _merged_rows(action: Action) -> dict[str, dict[str, Any]]:
    """Rows by resource-type name (the action's own row under ``""``), a repeated name
    folded into its first row."""
    rows: dict[str, dict[str, Any]] = {}
    for row in action.resource_types:
        entry = rows.get(row.name)
        if entry is None:
            rows[row.name] = _row(row.name, row)
            continue
        for field, values in (
            ("condition_keys", row.condition_keys),
            ("dependent_actions", row.dependent_actions),
        ):
            entry[field].extend(v for v in values if v not in entry[field])
    # policy_sentry's "wildcard" row: it is how policy_sentry tells an action with no
    # resource type (only this row) and reads the action's own keys.
    if not action.resource_types or action.condition_keys or action.dependent_actions:
        rows[""] = _row(
            "", ResourceTypeRow("", False, action.condition_keys, action.dependent_actions)
        )
    return rows


def _row(name: str, row: ResourceTypeRow) -> dict[str, Any]:
    return {
        "resource_type": name,
        "required": row.required,
        "condition_keys": list(row.condition_keys),
        "dependent_actions": list(row.dependent_actions),
    }


def _privilege(action: Action) -> dict[str, Any]:
    rows = _merged_rows(action)
    return {
        "privilege": action.name,
        "description": action.description or "",
        "access_level": action.access_level.value if action.access_level else "",
        "resource_types": rows,
        "resource_types_lower_name": {name.lower(): name for name in rows},
        "api_documentation_link": action.api_reference,
    }


def service_entry(service: Service) -> dict[str, Any]:
    """policy_sentry's entry for one service."""
    return {
        "service_name": service.name,
        "prefix": service.prefix,
        "service_authorization_url": page_url(service),
        "privileges": {a.name: _privilege(a) for a in service.actions},
        "privileges_lower_name": {a.name.lower(): a.name for a in service.actions},
        "resources": {
            r.name: {
                "resource": r.name,
                "arn": r.arn_formats[0] if r.arn_formats else "",
                "condition_keys": list(r.condition_keys),
            }
            for r in service.resource_types
        },
        "resources_lower_name": {r.name.lower(): r.name for r in service.resource_types},
        "conditions": {
            k.name: {
                "condition": k.name,
                "description": k.description or "",
                "type": k.types[0] if k.types else "",
            }
            for k in service.condition_keys
        },
    }


def iam_definition(catalog: Catalog) -> dict[str, Any]:
    """The whole ``iam-definition.json`` as data."""
    out: dict[str, Any] = {"policy_sentry_schema_version": SCHEMA_VERSION}
    for service in catalog.services:
        out[service.prefix] = service_entry(service)
    return out


def write(catalog: Catalog, out: Path) -> None:
    """Write ``iam-definition.json`` to ``out``: sorted keys, 2-space indent."""
    data = orjson.dumps(iam_definition(catalog), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    out.write_bytes(data + b"\n")
