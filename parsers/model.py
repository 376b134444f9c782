"""The canonical model of the IAM catalog (schema version 2).

Every parser returns a :class:`ParsedPage`; pages are merged by service prefix
into a :class:`Catalog`. All objects are frozen and slotted, collections are
tuples. Provenance (``page``, ``line``) is carried on every parsed object but
excluded from equality, so two sources that say the same thing compare equal.

*Not carried* is distinct from empty: every page declares the fields its format has no
place for (``PageRef.not_carried``, see :mod:`parsers.carried`), and every item says
which of its fields its source did not carry (``not_carried``; ask
``action.carries("dependent_actions")``). A field not carried holds its empty value in
the model (``""``, ``False``, ``()``) and ``null`` in ``catalog.json``; never read it
without asking ``carries`` first.

``catalog_to_dict`` / ``catalog_from_dict`` convert to and from the JSON shape
described in DESIGN.md and the README (``catalog_from_dict`` also reads schema version
1, declaring for each service what its pages' formats do not carry);
``CATALOG_SCHEMA`` is its JSON Schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

from . import carried

SCHEMA_VERSION = 2
READABLE_SCHEMA_VERSIONS = (1, 2)


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
    not_carried: frozenset[str] = frozenset()
    """Fields (names of :data:`parsers.carried.ACTION_FIELDS`) its source does not carry."""
    page: str = field(default="", compare=False)
    """Provenance: page id."""
    line: int | None = field(default=None, compare=False)
    """Provenance: line of the action's first row."""
    sources: tuple[str, ...] = field(default=(), compare=False)
    """Provenance, in a build from several sources (``html``, ``md``, ``json``): those
    that hold this item; each field comes from the first of its service's
    ``field_sources`` among them (see :mod:`iam_catalog.combine`). Empty otherwise."""
    supported_by: tuple[tuple[str, bool], ...] = ()
    """AWS's JSON ``SupportedBy``: which IAM features support the action (``("IAM Access
    Analyzer Policy Generation", True)``), sorted by feature."""

    def carries(self, field: str) -> bool:
        """False when this item's source does not carry ``field`` (its value is then
        empty, not a fact about AWS)."""
        return field not in self.not_carried


@dataclass(frozen=True, slots=True)
class ResourceType:
    """A resource type of one service."""

    name: str
    """Resource type name."""
    arn_formats: tuple[str, ...]
    """ARN formats, whitespace-normalised, page order."""
    condition_keys: tuple[str, ...] = ()
    """Condition keys that apply to this resource type."""
    not_carried: frozenset[str] = frozenset()
    """Fields (names of :data:`parsers.carried.RESOURCE_TYPE_FIELDS`) its source does not carry."""
    page: str = field(default="", compare=False)
    """Provenance: page id."""
    line: int | None = field(default=None, compare=False)
    """Provenance: source line."""
    sources: tuple[str, ...] = field(default=(), compare=False)
    """Provenance, in a build from several sources: those that hold this item (see
    :attr:`Action.sources`)."""

    def carries(self, field: str) -> bool:
        """False when this item's source does not carry ``field`` (its value is then
        empty, not a fact about AWS)."""
        return field not in self.not_carried


@dataclass(frozen=True, slots=True)
class ConditionKey:
    """A condition key defined by one service's page."""

    name: str
    """Key name, e.g. ``s3:ResourceAccount`` or ``aws:RequestTag/${TagKey}``."""
    description: str
    """Description cell."""
    types: tuple[str, ...]
    """Value types, e.g. ``("String",)``, ``("ArrayOfString",)``."""
    not_carried: frozenset[str] = frozenset()
    """Fields (names of :data:`parsers.carried.CONDITION_KEY_FIELDS`) its source does not carry."""
    page: str = field(default="", compare=False)
    """Provenance: page id."""
    line: int | None = field(default=None, compare=False)
    """Provenance: source line."""
    sources: tuple[str, ...] = field(default=(), compare=False)
    """Provenance, in a build from several sources: those that hold this item (see
    :attr:`Action.sources`)."""

    def carries(self, field: str) -> bool:
        """False when this item's source does not carry ``field`` (its value is then
        empty, not a fact about AWS)."""
        return field not in self.not_carried


@dataclass(frozen=True, slots=True)
class AuthorizedAction:
    """An IAM action an API operation needs, of this service or another (``iam:PassRole``)."""

    service: str
    """Service prefix of the action."""
    action: str
    """Action name."""
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Condition keys the operation sets when it asks for the action, with their values
    (``("iam:PassedToService", ("iotdeviceadvisor.amazonaws.com",))``), sorted by key."""

    @property
    def qualified(self) -> str:
        """``service:Action``, as the CSVs, diff and the cross-check write it."""
        return f"{self.service}:{self.action}"


@dataclass(frozen=True, slots=True)
class SdkMethod:
    """An SDK call of an API operation (AWS's JSON ``SDK``)."""

    package: str
    """SDK, e.g. ``Boto3``."""
    client: str
    """Client name in that SDK, e.g. ``iotdeviceadvisor``."""
    method: str
    """Method name, e.g. ``create_suite_definition``."""

    def __str__(self) -> str:
        """``Boto3 iotdeviceadvisor.create_suite_definition``, as the CSVs, diff and the
        cross-check write it."""
        return f"{self.package} {self.client}.{self.method}"


@dataclass(frozen=True, slots=True)
class Operation:
    """An API operation of a service and every action it needs (AWS's JSON ``Operations``,
    the July 2026 layout's "API operations" section)."""

    name: str
    """Operation name."""
    authorized_actions: tuple[AuthorizedAction, ...] = ()
    """The actions it needs, in source order, other services' included."""
    sdk: tuple[SdkMethod, ...] = ()
    """Its SDK methods."""
    not_carried: frozenset[str] = frozenset()
    """Fields (names of :data:`parsers.carried.OPERATION_FIELDS`) its source does not carry."""
    page: str = field(default="", compare=False)
    """Provenance: page id."""
    line: int | None = field(default=None, compare=False)
    """Provenance: source line."""

    def carries(self, field: str) -> bool:
        """False when this operation's source does not carry ``field``."""
        return field not in self.not_carried


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
    not_carried: tuple[str, ...] = ()
    """Qualified fields (``action.dependent_actions``, see :mod:`parsers.carried`) the
    page's format and layout do not carry, sorted."""


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
    operations: tuple[Operation, ...] = ()
    """API operations in page order, where the source has them."""


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
    not_carried: frozenset[str] = frozenset()
    """Fields (names of :data:`parsers.carried.SERVICE_FIELDS`) its source does not carry."""
    field_sources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """In a build from several sources (``html``, ``md``, ``json``): per field (group) of
    :data:`iam_catalog.combine.PRECEDENCE`, sorted, the sources of this service that carry
    it, in the order they are taken (an item's field comes from the first of them that
    holds the item, ``item.sources``). Empty for a build from one source."""
    operations: tuple[Operation, ...] = ()
    """API operations, sorted by name, where a source has them."""

    def carries(self, field: str) -> bool:
        """False when this item's source does not carry ``field`` (its value is then
        empty, not a fact about AWS)."""
        return field not in self.not_carried


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
    created_at: str | None = None
    """When the snapshot was taken (its manifest's ``created_at``), for a catalog built
    from one snapshot; reports name a release by it."""


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


def _row_to_dict(r: ResourceTypeRow, nc: frozenset[str]) -> dict[str, Any]:
    return {
        "name": r.name,
        "required": None if "resource_types.required" in nc else r.required,
        "condition_keys": None if "resource_types.condition_keys" in nc else r.condition_keys,
        "dependent_actions": (
            None if "resource_types.dependent_actions" in nc else r.dependent_actions
        ),
    }


def _action_to_dict(a: Action) -> dict[str, Any]:
    out = {
        "name": a.name,
        "description": a.description,
        "access_level": a.access_level,
        "access_levels": a.access_levels,
        "permission_only": a.permission_only,
        "api_reference": a.api_reference,
        "resource_types": [_row_to_dict(r, a.not_carried) for r in a.resource_types]
        if a.resource_types
        else [],
        "condition_keys": a.condition_keys,
        "dependent_actions": a.dependent_actions,
        "operations": a.operations,
        "supported_by": dict(a.supported_by),
    }
    for f in a.not_carried:
        if f in out:  # the row fields are nulls in each row
            out[f] = None
    if a.sources:
        out["sources"] = a.sources
    return out


def operation_to_dict(o: Operation) -> dict[str, Any]:
    """The JSON form of an operation (``sdk`` null where its source does not carry it)."""
    return {
        "name": o.name,
        "authorized_actions": [
            {"service": a.service, "action": a.action, "context": dict(a.context)}
            for a in o.authorized_actions
        ],
        "sdk": None
        if "sdk" in o.not_carried
        else [{"package": m.package, "client": m.client, "method": m.method} for m in o.sdk],
    }


def operation_from_dict(o: Mapping[str, Any], page: str = "") -> Operation:
    """An operation from its JSON form."""
    return Operation(
        o["name"],
        tuple(
            AuthorizedAction(
                a["service"],
                a["action"],
                tuple((k, tuple(v)) for k, v in sorted(a["context"].items())),
            )
            for a in o["authorized_actions"]
        ),
        tuple(SdkMethod(m["package"], m["client"], m["method"]) for m in o["sdk"] or ()),
        frozenset({"sdk"}) if o["sdk"] is None else frozenset(),
        page,
    )


def _page_ref_to_dict(p: PageRef) -> dict[str, Any]:
    return {
        "page": p.page,
        "format": p.format,
        "layout": p.layout,
        "url": p.url,
        "not_carried": p.not_carried,
    }


def diagnostic_to_dict(d: Diagnostic) -> dict[str, Any]:
    return {
        "page": d.page,
        "line": d.line,
        "severity": d.severity.value,
        "code": d.code,
        "message": d.message,
    }


def _nulled(out: dict[str, Any], not_carried: frozenset[str]) -> dict[str, Any]:
    for f in not_carried:
        out[f] = None
    return out


def _sourced(out: dict[str, Any], sources: tuple[str, ...]) -> dict[str, Any]:
    if sources:
        out["sources"] = sources
    return out


def service_to_dict(s: Service) -> dict[str, Any]:
    out = _nulled(
        {
            "prefix": s.prefix,
            "name": s.name,
            "pages": [_page_ref_to_dict(p) for p in s.pages],
            "actions": {a.name: _action_to_dict(a) for a in s.actions},
            "resource_types": {
                r.name: _sourced(
                    _nulled(
                        {
                            "name": r.name,
                            "arn_formats": r.arn_formats,
                            "condition_keys": r.condition_keys,
                        },
                        r.not_carried,
                    ),
                    r.sources,
                )
                for r in s.resource_types
            },
            "condition_keys": {
                k.name: _sourced(
                    _nulled(
                        {"name": k.name, "description": k.description, "types": k.types},
                        k.not_carried,
                    ),
                    k.sources,
                )
                for k in s.condition_keys
            },
            "operations": [operation_to_dict(o) for o in s.operations],
        },
        s.not_carried,
    )
    if s.field_sources:
        out["field_sources"] = dict(s.field_sources)
    return out


def catalog_to_dict(c: Catalog) -> dict[str, Any]:
    """The JSON form of a catalog (schema version 2), ready for orjson: arrays
    are tuples and access levels and severities their (str) enums, which orjson writes as
    JSON arrays and strings without copying them into lists first. To compare with parsed
    JSON, pass it through ``orjson.loads(orjson.dumps(...))``. A field its source does not
    carry is ``null``."""
    source: dict[str, Any] = {
        "kind": c.source.kind,
        "id": c.source.id,
        "pages": c.source.pages,
        "formats": dict(c.source.formats),
    }
    if c.source.note is not None:
        source["note"] = c.source.note
    if c.source.created_at is not None:
        source["created_at"] = c.source.created_at
    return {
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "services": {s.prefix: service_to_dict(s) for s in c.services},
        "diagnostics": [diagnostic_to_dict(d) for d in c.diagnostics],
    }


def _levels(values: Iterable[str] | None) -> tuple[AccessLevel, ...]:
    return tuple(AccessLevel(v) for v in values or ())


def _absent(d: Mapping[str, Any], names: Iterable[str]) -> frozenset[str]:
    """The names whose value in ``d`` is null (not carried, schema version 2)."""
    return frozenset(n for n in names if d.get(n, ()) is None)


def _strings(value: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(value) if value else ()


# Fields whose value may be null where the source carries them (no access level, no link
# on the page): whether they are carried is read from the pages' declarations.
_NULLABLE = frozenset({"access_level", "api_reference"})


def _action_from_dict(a: Mapping[str, Any], page: str, declared: frozenset[str]) -> Action:
    rows = a["resource_types"] or ()
    nc = (_absent(a, carried.ACTION_FIELDS) - _NULLABLE) | (declared & _NULLABLE)
    if "supported_by" not in a:  # absent: a catalog written before it had a place
        nc |= {"supported_by"}
    for r in rows:
        nc |= {f"resource_types.{f}" for f in _absent(r, carried.ROW_FIELDS)}
    if not rows:  # an action without rows says nothing about row fields
        nc = frozenset(f for f in nc if not f.startswith("resource_types."))
    return Action(
        name=a["name"],
        description=a["description"] or "",
        access_level=AccessLevel(a["access_level"]) if a["access_level"] else None,
        access_levels=_levels(a["access_levels"]),
        permission_only=bool(a["permission_only"]),
        api_reference=a["api_reference"],
        resource_types=tuple(
            ResourceTypeRow(
                r["name"],
                bool(r["required"]),
                _strings(r["condition_keys"]),
                _strings(r["dependent_actions"]),
            )
            for r in rows
        ),
        condition_keys=_strings(a["condition_keys"]),
        dependent_actions=_strings(a["dependent_actions"]),
        operations=_strings(a["operations"]),
        supported_by=tuple(sorted((a.get("supported_by") or {}).items())),
        not_carried=frozenset(nc),
        sources=tuple(a.get("sources", ())),
        page=page,
    )


def _blank(item: _Carrier, not_carried: frozenset[str]) -> _Carrier:
    """``item`` with the fields ``not_carried`` declared and emptied (version-1 catalogs
    wrote a value for every field, invented where the source had none)."""
    if isinstance(item, Action) and not item.resource_types:
        not_carried = frozenset(f for f in not_carried if not f.startswith("resource_types."))
    if isinstance(item, Action) and len(item.access_levels) > 1:
        # A layout of one level per action that lists several carries this action's set.
        not_carried -= {"access_levels"}
    if not not_carried <= item.not_carried:
        item = replace(item, not_carried=item.not_carried | not_carried)
    return emptied(item)


_Carrier = TypeVar("_Carrier", Action, ResourceType, ConditionKey)

# The empty value of each field a source may not carry; a row field is the row's field.
_EMPTY: dict[str, Any] = {
    "description": "",
    "access_level": None,
    "access_levels": (),
    "permission_only": False,
    "api_reference": None,
    "resource_types": (),
    "condition_keys": (),
    "dependent_actions": (),
    "operations": (),
    "arn_formats": (),
    "types": (),
    "supported_by": (),
}
_ROW_EMPTY: dict[str, Any] = {
    "resource_types.required": ("required", False),
    "resource_types.condition_keys": ("condition_keys", ()),
    "resource_types.dependent_actions": ("dependent_actions", ()),
}


def emptied(item: _Carrier) -> _Carrier:
    """``item`` with every field it does not carry set to its empty value (the same object
    when they already are): a parser may read a value its format has no place for (the
    older HTML's single access level is not the set of levels)."""
    nc = item.not_carried
    if not nc:
        return item
    empty = {f: v for f, v in _EMPTY.items() if f in nc and getattr(item, f) != v}
    if isinstance(item, Action) and item.resource_types and "resource_types" not in nc:
        row = dict(v for f, v in _ROW_EMPTY.items() if f in nc)
        if any(getattr(r, f) != v for r in item.resource_types for f, v in row.items()):
            empty["resource_types"] = tuple(replace(r, **row) for r in item.resource_types)
    return replace(item, **empty) if empty else item


def _declared(pages: Iterable[PageRef]) -> frozenset[str]:
    """What none of a service's pages carries, by their declarations."""
    found: frozenset[str] | None = None
    for p in pages:
        mine = frozenset(p.not_carried)
        found = mine if found is None else found & mine
    return found or frozenset()


def catalog_from_dict(d: Mapping[str, Any]) -> Catalog:
    """Rebuild a catalog from its JSON form (provenance lines are not stored there).

    A version-1 catalog wrote a value for every field; each of its services is read with
    the fields none of its pages' formats carries declared not carried (a version-1 build
    of AWS's JSON wrote ``required: false`` on every row)."""
    version = d.get("schema_version")
    if version not in READABLE_SCHEMA_VERSIONS:
        raise ValueError(
            f"unsupported catalog schema_version {version!r} "
            f"(this tool reads {', '.join(map(str, READABLE_SCHEMA_VERSIONS))})"
        )
    services = []
    for prefix in sorted(d["services"]):
        s = d["services"][prefix]
        pages = tuple(
            PageRef(
                p["page"],
                p["format"],
                p["layout"],
                p.get("url"),
                tuple(p["not_carried"])
                if version == SCHEMA_VERSION
                else carried.check(carried.declared(p["format"], p["layout"])),
            )
            for p in s["pages"]
        )
        first_page = pages[0].page if pages else ""
        declared = _declared(pages)
        if version == SCHEMA_VERSION:  # the nulls say the rest
            declared = frozenset(f for f in declared if f.partition(".")[2] in _NULLABLE)
        actions = tuple(
            _blank(
                _action_from_dict(a, first_page, carried.for_item(declared, "action")),
                carried.for_item(declared, "action"),
            )
            for _, a in sorted((s["actions"] or {}).items())
        )
        resource_types = tuple(
            _blank(
                ResourceType(
                    r["name"],
                    _strings(r["arn_formats"]),
                    _strings(r["condition_keys"]),
                    _absent(r, carried.RESOURCE_TYPE_FIELDS),
                    first_page,
                    sources=tuple(r.get("sources", ())),
                ),
                carried.for_item(declared, "resource_type"),
            )
            for _, r in sorted(s["resource_types"].items())
        )
        condition_keys = tuple(
            _blank(
                ConditionKey(
                    k["name"],
                    k["description"] or "",
                    _strings(k["types"]),
                    _absent(k, carried.CONDITION_KEY_FIELDS),
                    first_page,
                    sources=tuple(k.get("sources", ())),
                ),
                carried.for_item(declared, "condition_key"),
            )
            for _, k in sorted(s["condition_keys"].items())
        )
        # Absent (version 1, and version 2 before operations had a place): not carried.
        service_nc = _absent(s, carried.SERVICE_FIELDS) | (
            carried.for_item(declared, "service") - {"actions"}
        )
        if "operations" not in s:
            service_nc |= {"operations"}
        operations = tuple(operation_from_dict(o, first_page) for o in s.get("operations") or ())
        services.append(
            Service(
                s["prefix"],
                "" if "name" in service_nc else s["name"],
                pages,
                actions,
                resource_types,
                condition_keys,
                service_nc,
                tuple((f, tuple(v)) for f, v in sorted(s.get("field_sources", {}).items())),
                operations,
            )
        )
    src = d["source"]
    source = CatalogSource(
        kind=src["kind"],
        id=src["id"],
        pages=src["pages"],
        formats=tuple(sorted(src["formats"].items())),
        note=src.get("note"),
        created_at=src.get("created_at"),
    )
    diagnostics = tuple(
        Diagnostic(x["page"], x["line"], Severity(x["severity"]), x["code"], x["message"])
        for x in d.get("diagnostics", ())
    )
    return Catalog(source, tuple(services), diagnostics, SCHEMA_VERSION)


# --------------------------------------------------------------------------- JSON Schema

_STRINGS = {"type": "array", "items": {"type": "string"}}
_NAME = {"type": "string", "minLength": 1}
# A field its source does not carry is null.
_STRINGS_OR_NULL = {"anyOf": [_STRINGS, {"type": "null"}]}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_FLAG_OR_NULL = {"type": ["boolean", "null"]}
# The sources of a build from several (``iam_catalog.combine.SOURCES``), in their order.
_SOURCE_NAMES = {
    "type": "array",
    "minItems": 1,
    "uniqueItems": True,
    "items": {"enum": ["html", "md", "json"]},
}

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
                "created_at": {"type": "string"},
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
            "required": ["page", "format", "layout", "url", "not_carried"],
            "properties": {
                "page": _NAME,
                "format": _NAME,
                "layout": {"type": "string"},
                "url": {"type": ["string", "null"]},
                "not_carried": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"enum": sorted(carried.QUALIFIED)},
                },
            },
        },
        "row": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "required", "condition_keys", "dependent_actions"],
            "properties": {
                "name": _NAME,
                "required": _FLAG_OR_NULL,
                "condition_keys": _STRINGS_OR_NULL,
                "dependent_actions": _STRINGS_OR_NULL,
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
                "description": _TEXT_OR_NULL,
                "access_level": {"anyOf": [{"$ref": "#/$defs/access_level"}, {"type": "null"}]},
                "access_levels": {
                    "anyOf": [
                        {"type": "array", "items": {"$ref": "#/$defs/access_level"}},
                        {"type": "null"},
                    ]
                },
                "permission_only": _FLAG_OR_NULL,
                "api_reference": _TEXT_OR_NULL,
                "resource_types": {
                    "anyOf": [
                        {"type": "array", "items": {"$ref": "#/$defs/row"}},
                        {"type": "null"},
                    ]
                },
                "condition_keys": _STRINGS_OR_NULL,
                "dependent_actions": _STRINGS_OR_NULL,
                "operations": _STRINGS_OR_NULL,
                "sources": _SOURCE_NAMES,
                "supported_by": {
                    "type": ["object", "null"],
                    "additionalProperties": {"type": "boolean"},
                },
            },
        },
        "resource_type": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "arn_formats", "condition_keys"],
            "properties": {
                "name": _NAME,
                "arn_formats": _STRINGS_OR_NULL,
                "condition_keys": _STRINGS_OR_NULL,
                "sources": _SOURCE_NAMES,
            },
        },
        "operation": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "authorized_actions", "sdk"],
            "properties": {
                "name": _NAME,
                "authorized_actions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["service", "action", "context"],
                        "properties": {
                            "service": _NAME,
                            "action": _NAME,
                            "context": {"type": "object", "additionalProperties": _STRINGS},
                        },
                    },
                },
                "sdk": {
                    "anyOf": [
                        {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["package", "client", "method"],
                                "properties": {
                                    "package": {"type": "string"},
                                    "client": {"type": "string"},
                                    "method": {"type": "string"},
                                },
                            },
                        },
                        {"type": "null"},
                    ]
                },
            },
        },
        "condition_key": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "description", "types"],
            "properties": {
                "name": _NAME,
                "description": _TEXT_OR_NULL,
                "types": _STRINGS_OR_NULL,
                "sources": _SOURCE_NAMES,
            },
        },
        "service": {
            "type": "object",
            "additionalProperties": False,
            "required": ["prefix", "name", "pages", "actions", "resource_types", "condition_keys"],
            "properties": {
                "prefix": _NAME,
                "name": _TEXT_OR_NULL,
                "pages": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/page"}},
                "actions": {
                    "type": ["object", "null"],
                    "additionalProperties": {"$ref": "#/$defs/action"},
                },
                "resource_types": {
                    "type": "object",
                    "additionalProperties": {"$ref": "#/$defs/resource_type"},
                },
                "condition_keys": {
                    "type": "object",
                    "additionalProperties": {"$ref": "#/$defs/condition_key"},
                },
                "field_sources": {"type": "object", "additionalProperties": _SOURCE_NAMES},
                "operations": {
                    "anyOf": [
                        {"type": "array", "items": {"$ref": "#/$defs/operation"}},
                        {"type": "null"},
                    ]
                },
            },
        },
    },
}
