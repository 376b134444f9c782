"""The canonical model of the IAM catalog (schema version 1).

Every parser returns a :class:`ParsedPage`; pages are merged by service prefix
into a :class:`Catalog`. All objects are frozen and slotted, collections are
tuples. Provenance (``page``, ``line``) is carried on every parsed object but
excluded from equality, so two sources that say the same thing compare equal.

``catalog_to_dict`` / ``catalog_from_dict`` convert to and from the JSON shape
described in DESIGN.md; ``CATALOG_SCHEMA`` is its JSON Schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1


class AccessLevel(StrEnum):
    """The access-level classification of an action."""

    LIST = "List"
    READ = "Read"
    WRITE = "Write"
    PERMISSIONS_MANAGEMENT = "Permissions management"
    TAGGING = "Tagging"


# Most specific first: the 2026 layout lists e.g. "Tagging, Write" and the
# single `access_level` is then the most specific of them (Tagging).
ACCESS_LEVEL_SPECIFICITY: tuple[AccessLevel, ...] = (
    AccessLevel.PERMISSIONS_MANAGEMENT,
    AccessLevel.TAGGING,
    AccessLevel.LIST,
    AccessLevel.WRITE,
    AccessLevel.READ,
)


def most_specific(levels: Iterable[AccessLevel]) -> AccessLevel | None:
    """The most specific access level among ``levels`` (None if empty)."""
    present = set(levels)
    for level in ACCESS_LEVEL_SPECIFICITY:
        if level in present:
            return level
    return None


class Severity(StrEnum):
    """How bad a diagnostic is."""

    ERROR = "error"  # input not understood or data lost
    WARNING = "warning"  # data kept, but reconstructed or conflicting
    INFO = "info"  # worth knowing, nothing lost


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found while reading a page, never silently dropped."""

    page: str
    """Page id (file stem, e.g. ``list_amazons3``) or file path for unreadable files."""
    line: int | None
    """1-based source line, where known."""
    severity: Severity
    """error, warning or info."""
    code: str
    """Stable machine-readable kind, e.g. ``no-tables``, ``merge-conflict``."""
    message: str
    """One line for a person."""

    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (self.page, self.line or 0, self.severity.value, self.code, self.message)


@dataclass(frozen=True, slots=True)
class ResourceTypeRow:
    """One resource-type row of an action (or the action's own row, without a name)."""

    name: str
    """Resource type name as written on the page."""
    required: bool
    """Marked with ``*`` on the page."""
    condition_keys: tuple[str, ...] = ()
    """Condition keys on this row."""
    dependent_actions: tuple[str, ...] = ()
    """Dependent actions on this row, ``prefix:Action``."""


@dataclass(frozen=True, slots=True)
class Action:
    """An IAM action of one service."""

    name: str
    """Action name, page casing."""
    description: str
    """Description cell, whitespace-normalised."""
    access_level: AccessLevel | None
    """The most specific of ``access_levels``; None when the page leaves it empty."""
    access_levels: tuple[AccessLevel, ...]
    """Every access level the page lists, in page order."""
    permission_only: bool = False
    """``[permission only]``: no API operation of the same name."""
    api_reference: str | None = None
    """Link to the API reference, where the page has one."""
    resource_types: tuple[ResourceTypeRow, ...] = ()
    """Resource-type rows, in page order."""
    condition_keys: tuple[str, ...] = ()
    """Condition keys of the action's own row (no resource type)."""
    dependent_actions: tuple[str, ...] = ()
    """Dependent actions of the action's own row."""
    operations: tuple[str, ...] = ()
    """API operations authorized by this action, where the source says so."""
    page: str = field(default="", compare=False)
    """Provenance: page id."""
    line: int | None = field(default=None, compare=False)
    """Provenance: line of the action's first row."""


@dataclass(frozen=True, slots=True)
class ResourceType:
    """A resource type of one service."""

    name: str
    """Resource type name."""
    arn_formats: tuple[str, ...]
    """ARN formats, whitespace-normalised, page order."""
    condition_keys: tuple[str, ...] = ()
    """Condition keys that apply to this resource type."""
    page: str = field(default="", compare=False)
    """Provenance: page id."""
    line: int | None = field(default=None, compare=False)
    """Provenance: source line."""


@dataclass(frozen=True, slots=True)
class ConditionKey:
    """A condition key defined by one service's page."""

    name: str
    """Key name, e.g. ``s3:ResourceAccount`` or ``aws:RequestTag/${TagKey}``."""
    description: str
    """Description cell."""
    types: tuple[str, ...]
    """Value types, e.g. ``("String",)``, ``("ArrayOfString",)``."""
    page: str = field(default="", compare=False)
    """Provenance: page id."""
    line: int | None = field(default=None, compare=False)
    """Provenance: source line."""


@dataclass(frozen=True, slots=True)
class PageRef:
    """A source page that contributed to a service."""

    page: str
    """Page id (file stem)."""
    format: str
    """Source format name (see ``parsers.detect.FORMATS``)."""
    layout: str
    """Layout within the format, e.g. ``sar-2023``, ``userguide-2020``."""
    url: str | None = None
    """Where the page was fetched from, if known."""


@dataclass(frozen=True, slots=True)
class ParsedPage:
    """What one parser made of one page."""

    ref: PageRef
    """Which page, format and layout."""
    prefix: str | None
    """Service prefix the page declares (None if it declares none)."""
    service_name: str | None
    """Service name from the page title."""
    actions: tuple[Action, ...] = ()
    """Actions in page order."""
    resource_types: tuple[ResourceType, ...] = ()
    """Resource types in page order."""
    condition_keys: tuple[ConditionKey, ...] = ()
    """Condition keys in page order."""
    diagnostics: tuple[Diagnostic, ...] = ()
    """Everything the parser could not carry over faithfully."""


@dataclass(frozen=True, slots=True)
class Service:
    """All pages of one service prefix, merged."""

    prefix: str
    """Service prefix, e.g. ``s3``."""
    name: str
    """Service name (of the first page)."""
    pages: tuple[PageRef, ...]
    """Every page merged into this service."""
    actions: tuple[Action, ...] = ()
    """Actions, sorted by name."""
    resource_types: tuple[ResourceType, ...] = ()
    """Resource types, sorted by name."""
    condition_keys: tuple[ConditionKey, ...] = ()
    """Condition keys, sorted by name."""


@dataclass(frozen=True, slots=True)
class CatalogSource:
    """Where a catalog came from."""

    kind: str
    """``files``, ``snapshot`` or ``fixtures``."""
    id: str
    """Stable id of the input (hash of page ids and bytes, or the snapshot id)."""
    pages: int
    """Number of pages read."""
    formats: tuple[tuple[str, int], ...]
    """Pages per format, sorted by format name."""
    note: str | None = None
    """Free text, e.g. why fixtures were used instead of a fetch."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """The canonical catalog."""

    source: CatalogSource
    """Provenance of the whole catalog."""
    services: tuple[Service, ...]
    """Services sorted by prefix."""
    diagnostics: tuple[Diagnostic, ...] = ()
    """Every diagnostic of every page and of the merge, sorted."""
    schema_version: int = SCHEMA_VERSION
    """Schema version of the JSON form."""


# --------------------------------------------------------------------------- JSON form


def _action_to_dict(a: Action) -> dict[str, Any]:
    return {
        "name": a.name,
        "description": a.description,
        "access_level": a.access_level,
        "access_levels": a.access_levels,
        "permission_only": a.permission_only,
        "api_reference": a.api_reference,
        "resource_types": [
            {
                "name": r.name,
                "required": r.required,
                "condition_keys": r.condition_keys,
                "dependent_actions": r.dependent_actions,
            }
            for r in a.resource_types
        ]
        if a.resource_types
        else [],
        "condition_keys": a.condition_keys,
        "dependent_actions": a.dependent_actions,
        "operations": a.operations,
    }


def _page_ref_to_dict(p: PageRef) -> dict[str, Any]:
    return {"page": p.page, "format": p.format, "layout": p.layout, "url": p.url}


def diagnostic_to_dict(d: Diagnostic) -> dict[str, Any]:
    return {
        "page": d.page,
        "line": d.line,
        "severity": d.severity.value,
        "code": d.code,
        "message": d.message,
    }


def service_to_dict(s: Service) -> dict[str, Any]:
    return {
        "prefix": s.prefix,
        "name": s.name,
        "pages": [_page_ref_to_dict(p) for p in s.pages],
        "actions": {a.name: _action_to_dict(a) for a in s.actions},
        "resource_types": {
            r.name: {
                "name": r.name,
                "arn_formats": r.arn_formats,
                "condition_keys": r.condition_keys,
            }
            for r in s.resource_types
        },
        "condition_keys": {
            k.name: {"name": k.name, "description": k.description, "types": k.types}
            for k in s.condition_keys
        },
    }


def catalog_to_dict(c: Catalog) -> dict[str, Any]:
    """The JSON form of a catalog (DESIGN.md, schema version 1), ready for orjson: arrays
    are tuples and access levels and severities their (str) enums, which orjson writes as
    JSON arrays and strings without copying them into lists first. To compare with parsed
    JSON, pass it through ``orjson.loads(orjson.dumps(...))``."""
    source: dict[str, Any] = {
        "kind": c.source.kind,
        "id": c.source.id,
        "pages": c.source.pages,
        "formats": dict(c.source.formats),
    }
    if c.source.note is not None:
        source["note"] = c.source.note
    return {
        "schema_version": c.schema_version,
        "source": source,
        "services": {s.prefix: service_to_dict(s) for s in c.services},
        "diagnostics": [diagnostic_to_dict(d) for d in c.diagnostics],
    }


def _levels(values: Iterable[str]) -> tuple[AccessLevel, ...]:
    return tuple(AccessLevel(v) for v in values)


def catalog_from_dict(d: Mapping[str, Any]) -> Catalog:
    """Rebuild a catalog from its JSON form (provenance lines are not stored there)."""
    if d.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"unsupported catalog schema_version {d.get('schema_version')!r} "
            f"(this tool reads {SCHEMA_VERSION})"
        )
    services = []
    for prefix in sorted(d["services"]):
        s = d["services"][prefix]
        pages = tuple(
            PageRef(p["page"], p["format"], p["layout"], p.get("url")) for p in s["pages"]
        )
        first_page = pages[0].page if pages else ""
        actions = tuple(
            Action(
                name=a["name"],
                description=a["description"],
                access_level=AccessLevel(a["access_level"]) if a["access_level"] else None,
                access_levels=_levels(a["access_levels"]),
                permission_only=a["permission_only"],
                api_reference=a["api_reference"],
                resource_types=tuple(
                    ResourceTypeRow(
                        r["name"],
                        r["required"],
                        tuple(r["condition_keys"]),
                        tuple(r["dependent_actions"]),
                    )
                    for r in a["resource_types"]
                ),
                condition_keys=tuple(a["condition_keys"]),
                dependent_actions=tuple(a["dependent_actions"]),
                operations=tuple(a["operations"]),
                page=first_page,
            )
            for _, a in sorted(s["actions"].items())
        )
        resource_types = tuple(
            ResourceType(r["name"], tuple(r["arn_formats"]), tuple(r["condition_keys"]), first_page)
            for _, r in sorted(s["resource_types"].items())
        )
        condition_keys = tuple(
            ConditionKey(k["name"], k["description"], tuple(k["types"]), first_page)
            for _, k in sorted(s["condition_keys"].items())
        )
        services.append(
            Service(s["prefix"], s["name"], pages, actions, resource_types, condition_keys)
        )
    src = d["source"]
    source = CatalogSource(
        kind=src["kind"],
        id=src["id"],
        pages=src["pages"],
        formats=tuple(sorted(src["formats"].items())),
        note=src.get("note"),
    )
    diagnostics = tuple(
        Diagnostic(x["page"], x["line"], Severity(x["severity"]), x["code"], x["message"])
        for x in d.get("diagnostics", ())
    )
    return Catalog(source, tuple(services), diagnostics, d["schema_version"])


# --------------------------------------------------------------------------- JSON Schema

_STRINGS = {"type": "array", "items": {"type": "string"}}
_NAME = {"type": "string", "minLength": 1}

CATALOG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "iam-catalog catalog.json",
    "type": "object",
    "additionalProperties": False,
    "required": ["schema_version", "source", "services", "diagnostics"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "source": {
            "type": "object",
            "additionalProperties": False,
            "required": ["kind", "id", "pages", "formats"],
            "properties": {
                "kind": {"enum": ["files", "snapshot", "fixtures"]},
                "id": {"type": "string"},
                "pages": {"type": "integer", "minimum": 0},
                "formats": {"type": "object", "additionalProperties": {"type": "integer"}},
                "note": {"type": "string"},
            },
        },
        "services": {
            "type": "object",
            "additionalProperties": {"$ref": "#/$defs/service"},
        },
        "diagnostics": {"type": "array", "items": {"$ref": "#/$defs/diagnostic"}},
    },
    "$defs": {
        "access_level": {"enum": [level.value for level in AccessLevel]},
        "diagnostic": {
            "type": "object",
            "additionalProperties": False,
            "required": ["page", "line", "severity", "code", "message"],
            "properties": {
                "page": {"type": "string"},
                "line": {"type": ["integer", "null"]},
                "severity": {"enum": [s.value for s in Severity]},
                "code": _NAME,
                "message": _NAME,
            },
        },
        "page": {
            "type": "object",
            "additionalProperties": False,
            "required": ["page", "format", "layout", "url"],
            "properties": {
                "page": _NAME,
                "format": _NAME,
                "layout": {"type": "string"},
                "url": {"type": ["string", "null"]},
            },
        },
        "row": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "required", "condition_keys", "dependent_actions"],
            "properties": {
                "name": _NAME,
                "required": {"type": "boolean"},
                "condition_keys": _STRINGS,
                "dependent_actions": _STRINGS,
            },
        },
        "action": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "name",
                "description",
                "access_level",
                "access_levels",
                "permission_only",
                "api_reference",
                "resource_types",
                "condition_keys",
                "dependent_actions",
                "operations",
            ],
            "properties": {
                "name": _NAME,
                "description": {"type": "string"},
                "access_level": {"anyOf": [{"$ref": "#/$defs/access_level"}, {"type": "null"}]},
                "access_levels": {"type": "array", "items": {"$ref": "#/$defs/access_level"}},
                "permission_only": {"type": "boolean"},
                "api_reference": {"type": ["string", "null"]},
                "resource_types": {"type": "array", "items": {"$ref": "#/$defs/row"}},
                "condition_keys": _STRINGS,
                "dependent_actions": _STRINGS,
                "operations": _STRINGS,
            },
        },
        "resource_type": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "arn_formats", "condition_keys"],
            "properties": {"name": _NAME, "arn_formats": _STRINGS, "condition_keys": _STRINGS},
        },
        "condition_key": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "description", "types"],
            "properties": {"name": _NAME, "description": {"type": "string"}, "types": _STRINGS},
        },
        "service": {
            "type": "object",
            "additionalProperties": False,
            "required": ["prefix", "name", "pages", "actions", "resource_types", "condition_keys"],
            "properties": {
                "prefix": _NAME,
                "name": {"type": "string"},
                "pages": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/page"}},
                "actions": {"type": "object", "additionalProperties": {"$ref": "#/$defs/action"}},
                "resource_types": {
                    "type": "object",
                    "additionalProperties": {"$ref": "#/$defs/resource_type"},
                },
                "condition_keys": {
                    "type": "object",
                    "additionalProperties": {"$ref": "#/$defs/condition_key"},
                },
            },
        },
    },
}
