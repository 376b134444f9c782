"""AWS's programmatic service reference (``<svc>/<svc>.json``, schema version 1.4), from a
catalog built from any source, so that consumers of AWS's JSON can read catalogs built
from the HTML of any past date.

One document per service, as ``servicereference.us-east-1.amazonaws.com/v1/<svc>/<svc>.json``
writes it: ``Name`` first, then the other keys sorted, 2-space indent; ``Actions`` (with
``ActionConditionKeys``, ``Annotations.Properties`` access-level flags and ``Resources``
with their ``ConditionKeys``), ``Resources`` (``ARNFormats``, ``ConditionKeys``),
``ConditionKeys`` (``Types``), ``Operations`` (``AuthorizedActions`` of any service with
their ``Context``, ``SDK``), an action's ``SupportedBy`` and ``Version``. An empty list
or object is left out, as AWS leaves it out.

What the catalog does not carry is left out, never invented: ``Annotations`` for an
action without an access level, ``SupportedBy`` where the source has none, ``SDK`` of
an operation read from the July 2026 layout (which has none: :mod:`parsers.service_reference`
reads an operation without ``SDK`` as not carrying it), ``Operations`` where the source
has none (the HTML before July 2026), with ``Version`` the oldest whose schema says so
(``v1.3`` has no operations, ``v1.1`` no access levels). AWS's JSON has no descriptions,
required flags, permission-only marks, API links or dependent actions, so they are not
written either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from iam_catalog.parsers.errors import OutputError
from iam_catalog.parsers.model import AccessLevel, Action, Catalog, Operation, Service

NAME = "aws-json"
DESCRIPTION = "AWS's programmatic service reference JSON (<svc>/<svc>.json, version 1.4)"
OUTPUT = "folder"
EXAMPLE = "iam-catalog export aws-json build/catalog/catalog.json --output build/aws-json"

VERSION = "v1.4"
"""The schema version written (the newest in the corpus, 2026-03-31)."""

SOURCE_FORMAT = "service-reference"

# Annotation flag -> the access level it stands for; all false is Read.
FLAGS: tuple[tuple[str, AccessLevel], ...] = (
    ("IsList", AccessLevel.LIST),
    ("IsPermissionManagement", AccessLevel.PERMISSIONS_MANAGEMENT),
    ("IsTaggingOnly", AccessLevel.TAGGING),
    ("IsWrite", AccessLevel.WRITE),
)


def _ordered(entry: dict[str, Any]) -> dict[str, Any]:
    """``Name`` first, the other keys sorted (AWS's order), empty lists left out (but
    ``Actions``, by which a reader knows the document)."""
    rest = {k: v for k, v in sorted(entry.items()) if k != "Name" and (v != [] or k == "Actions")}
    return {"Name": entry["Name"], **rest} if "Name" in entry else rest


def _annotations(action: Action) -> dict[str, Any] | None:
    levels = set(action.access_levels) if action.carries("access_levels") else set()
    if action.access_level is not None:
        levels.add(action.access_level)
    if not levels:
        return None
    return {"Properties": {flag: level in levels for flag, level in FLAGS}}


def _action(action: Action) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Name": action.name,
        "ActionConditionKeys": list(action.condition_keys),
        "Resources": [
            _ordered({"Name": r.name, "ConditionKeys": list(r.condition_keys)})
            for r in action.resource_types
        ],
    }
    annotations = _annotations(action)
    if annotations is not None:
        entry["Annotations"] = annotations
    if action.supported_by:
        entry["SupportedBy"] = dict(sorted(action.supported_by))
    return _ordered(entry)


def _operation(o: Operation) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Name": o.name,
        "AuthorizedActions": [
            _ordered(
                {"Name": a.action, "Service": a.service}
                | ({"Context": {k: list(v) for k, v in sorted(a.context)}} if a.context else {})
            )
            for a in o.authorized_actions
        ],
    }
    if o.carries("sdk"):
        entry["SDK"] = [{"Name": m.client, "Method": m.method, "Package": m.package} for m in o.sdk]
    return _ordered(entry)


def _operations(service: Service) -> list[dict[str, Any]]:
    """The service's operations; from a catalog that holds only each action's operation
    names (``action.operations``, written before the service's operations had a place),
    the operations with the actions of this service they authorise."""
    if service.carries("operations"):
        # AWS sorts by name, code point order
        return [_operation(o) for o in sorted(service.operations, key=lambda o: o.name)]
    carried = sorted((a for a in service.actions if a.carries("operations")), key=lambda a: a.name)
    found: dict[str, list[str]] = {}
    for action in carried:
        for op in action.operations:
            found.setdefault(op, []).append(action.name)
    return [
        {
            "Name": op,
            "AuthorizedActions": [{"Name": a, "Service": service.prefix} for a in actions],
        }
        for op, actions in sorted(found.items())
    ]


def _version(service: Service) -> str:
    """The version of AWS's JSON the service was read from; for a service read from
    pages, the oldest version whose schema holds what the catalog carries: ``v1.4`` with
    operations, ``v1.3`` without (the HTML before July 2026 has none: a reader of version
    1.3 knows a document of it has no operations, where ``v1.4`` would say "none"),
    ``v1.1`` without access levels."""
    for page in service.pages:
        if page.format == SOURCE_FORMAT and page.layout.startswith("v"):
            return page.layout
    if service.carries("operations") or any(a.carries("operations") for a in service.actions):
        return VERSION
    if any(a.access_level is not None for a in service.actions):
        return "v1.3"
    return "v1.1"


def document(service: Service) -> dict[str, Any]:
    """The JSON document of one service."""
    doc: dict[str, Any] = {
        "Name": service.prefix,
        # AWS sorts by name, code point order (ListAutomationEventSteps before
        # ListAutomationEvents), whichever order the catalog holds them in
        "Actions": [_action(a) for a in sorted(service.actions, key=lambda a: a.name)],
        "Resources": [
            _ordered(
                {
                    "Name": r.name,
                    "ARNFormats": list(r.arn_formats),
                    "ConditionKeys": list(r.condition_keys),
                }
            )
            for r in sorted(service.resource_types, key=lambda r: r.name)
        ],
        "ConditionKeys": [
            _ordered({"Name": k.name, "Types": list(k.types)})
            for k in sorted(service.condition_keys, key=lambda k: k.name)
        ],
        "Version": _version(service),
    }
    operations = _operations(service)
    if operations:
        doc["Operations"] = operations
    return _ordered(doc)


def write(catalog: Catalog, out: Path) -> None:
    """Write ``<prefix>/<prefix>.json`` for every service into the new folder ``out``."""
    out.mkdir()
    for service in catalog.services:
        # the prefix names a folder: a catalog.json with "../x" or "a/b" as a prefix
        # must not write outside ``out``
        if "/" in service.prefix or "\\" in service.prefix or service.prefix in (".", ".."):
            raise OutputError(f"service prefix {service.prefix!r} cannot name a folder")
        folder = out / service.prefix
        folder.mkdir()
        data = orjson.dumps(document(service), option=orjson.OPT_INDENT_2)
        (folder / f"{service.prefix}.json").write_bytes(data + b"\n")
