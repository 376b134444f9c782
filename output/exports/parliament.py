"""parliament's ``iam_definition.json``, the file inside the installed ``parliament`` package.

parliament reads a list with one entry per service: ``prefix``, ``service_name``,
``privileges`` (per action: ``privilege``, ``description``, ``access_level`` and
``resource_types``, a list of rows whose ``resource_type`` ends in ``*`` when required,
the action's own row with ``resource_type`` ``""``), ``resources`` (``resource``, ``arn``,
``condition_keys``) and ``conditions`` (``condition``, ``description``, ``type``).

Where that schema holds less than the catalog (the README lists each case): one access
level per action (the catalog's most specific ``access_level``, ``""`` where the source
gives none) and one type per condition key (the first). A resource type with several
ARN formats is written once per format: parliament matches a resource against every
entry of the list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from iam_catalog.parsers.model import Action, Catalog, Service

NAME = "parliament"
DESCRIPTION = "parliament's iam_definition.json (a list of services), to replace the one it ships"
OUTPUT = "file"
EXAMPLE = (
    "iam-catalog export parliament build/catalog/catalog.json --output "
    "\"$(python -c 'import parliament, os; print(os.path.dirname(parliament.__file__))')"
    '/iam_definition.json"'
)


def _privilege(action: Action) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [
        {
            "resource_type": row.name + ("*" if row.required else ""),
            "condition_keys": list(row.condition_keys),
            "dependent_actions": list(row.dependent_actions),
        }
        for row in action.resource_types
    ]
    if not action.resource_types or action.condition_keys or action.dependent_actions:
        rows.append(
            {
                "resource_type": "",
                "condition_keys": list(action.condition_keys),
                "dependent_actions": list(action.dependent_actions),
            }
        )
    return {
        "privilege": action.name,
        "description": action.description or "",
        "access_level": action.access_level.value if action.access_level else "",
        "resource_types": rows,
    }


def service_entry(service: Service) -> dict[str, Any]:
    """parliament's entry for one service."""
    return {
        "prefix": service.prefix,
        "service_name": service.name,
        "privileges": [_privilege(a) for a in service.actions],
        "resources": [
            {"resource": r.name, "arn": arn, "condition_keys": list(r.condition_keys)}
            for r in service.resource_types
            for arn in r.arn_formats or ("",)
        ],
        "conditions": [
            {
                "condition": k.name,
                "description": k.description or "",
                "type": k.types[0] if k.types else "",
            }
            for k in service.condition_keys
        ],
    }


def write(catalog: Catalog, out: Path) -> None:
    """Write the list of services to ``out``: sorted keys, 2-space indent."""
    data = [service_entry(s) for s in catalog.services]
    out.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
