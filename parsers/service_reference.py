"""The ``service-reference`` format: AWS's programmatic service authorization reference.

One JSON document per service (``servicereference.us-east-1.amazonaws.com/v1/<svc>/<svc>.json``)::

    {"Name": "s3", "Version": "v1.4",
     "Actions": [{"Name": "AbortMultipartUpload",
                  "ActionConditionKeys": [...],                # the action's own row
                  "Annotations": {"Properties": {"IsList": false, "IsPermissionManagement": false,
                                                 "IsTaggingOnly": false, "IsWrite": true}},
                  "Resources": [{"Name": "object", "ConditionKeys": [...]}]}],
     "Resources": [{"Name": "object", "ARNFormats": [...], "ConditionKeys": [...]}],
     "ConditionKeys": [{"Name": "s3:authType", "Types": ["String"]}],
     "Operations": [{"Name": "AbortMultipartUpload",
                     "AuthorizedActions": [{"Name": "AbortMultipartUpload", "Service": "s3"}],
                     "SDK": [{"Name": "s3", "Method": "abort_multipart_upload",
                              "Package": "Boto3"}]}]}

An action also has ``SupportedBy`` (IAM features -> true/false), and an operation's
authorised action may be another service's, with the condition values the operation sets
(``{"Name": "PassRole", "Service": "iam", "Context": {"iam:PassedToService":
["iotdeviceadvisor.amazonaws.com"]}}``): all kept (the service's ``operations``).

The access level is four booleans: all false means Read, several true means several
access levels (``IsTaggingOnly`` and ``IsWrite`` together are "Tagging, Write", as the
2026-07 pages write it). The JSON has no descriptions, no required flag and no
dependent actions: the page declares them not carried (``PageRef.not_carried``, see
:mod:`parsers.carried`) and says so once in an info diagnostic. Rows go through the
shared normaliser like every other format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from . import carried
from .model import (
    AccessLevel,
    AuthorizedAction,
    Diagnostic,
    Operation,
    PageRef,
    ParsedPage,
    SdkMethod,
    Severity,
)
from .rows import ActionRow, KeyRow, ResourceRow, build_page, compact

DESCRIPTION = "AWS's programmatic service reference JSON (servicereference.us-east-1.amazonaws.com)"
FORMAT = "service-reference"

# Annotation flag -> access level, in the order a page lists several ("Tagging, Write").
_FLAGS: tuple[tuple[str, AccessLevel], ...] = (
    ("IsList", AccessLevel.LIST),
    ("IsPermissionManagement", AccessLevel.PERMISSIONS_MANAGEMENT),
    ("IsTaggingOnly", AccessLevel.TAGGING),
    ("IsWrite", AccessLevel.WRITE),
)
_KNOWN_FLAGS = frozenset(flag for flag, _ in _FLAGS)


def _load(text: str) -> Any:
    return orjson.loads(text)


def sniff(text: str) -> bool:
    """True for a JSON object with top-level ``Name`` and ``Actions``."""
    if not text.lstrip().startswith("{"):
        return False
    try:
        data = _load(text)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and "Name" in data and "Actions" in data


class _Diags:
    def __init__(self, page: str) -> None:
        self.page = page
        self.items: list[Diagnostic] = []

    def add(self, severity: Severity, code: str, message: str) -> None:
        self.items.append(Diagnostic(self.page, None, severity, code, message))


def _strings(value: Any, what: str, d: _Diags) -> tuple[str, ...]:
    """A list of strings, or () with a diagnostic when it is something else."""
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    d.add(Severity.WARNING, "bad-field", f"{what} is not a list of strings; not read")
    return ()


def _list(value: Any, what: str, d: _Diags) -> list[Any]:
    """A list field of an entry, or [] with an error diagnostic when it is something else."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    d.add(Severity.ERROR, "bad-field", f"{what} is not a list; not read")
    return []


def _entries(data: Mapping[str, Any], field: str, d: _Diags) -> list[Mapping[str, Any]]:
    """The named objects of a top-level list; entries without a string Name are reported."""
    value = data.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        d.add(Severity.ERROR, "bad-field", f"{field} is not a list; not read")
        return []
    out: list[Mapping[str, Any]] = []
    for i, entry in enumerate(value):
        if isinstance(entry, dict) and isinstance(entry.get("Name"), str) and entry["Name"]:
            out.append(entry)
        else:
            d.add(Severity.ERROR, "bad-entry", f"{field}[{i}] has no Name; not read")
    return out


def _access_level(action: Mapping[str, Any], d: _Diags) -> str:
    """The access-level cell text the annotation flags stand for."""
    annotations = action.get("Annotations")
    if annotations is None:
        # Older documents (Version v1.1: deeplens) have no annotations at all; the
        # shared normaliser reports actions without an access level once per page.
        return ""
    props = annotations.get("Properties") if isinstance(annotations, dict) else None
    if props is None and isinstance(annotations, dict):
        return ""
    if not isinstance(props, dict):
        d.add(
            Severity.ERROR,
            "bad-field",
            f"{action['Name']}: Annotations is not an object with Properties as an object; "
            "access level not read",
        )
        return ""
    unknown = sorted(set(props) - _KNOWN_FLAGS)
    if unknown:
        d.add(
            Severity.WARNING,
            "unknown-flag",
            f"{action['Name']}: unknown annotation flag(s) {', '.join(unknown)} not read",
        )
    levels = [level.value for flag, level in _FLAGS if props.get(flag) is True]
    return ", ".join(levels) if levels else AccessLevel.READ.value


def _context(
    a: Mapping[str, Any], where: str, d: _Diags
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """An authorized action's ``Context``: condition key -> the values the operation sets."""
    value = a.get("Context")
    if value is None:
        return ()
    if not isinstance(value, dict):
        d.add(Severity.WARNING, "bad-field", f"{where} Context is not an object; not read")
        return ()
    return tuple((k, _strings(v, f"{where} Context {k}", d)) for k, v in sorted(value.items()))


def _sdk(op: Mapping[str, Any], d: _Diags) -> tuple[SdkMethod, ...]:
    out: list[SdkMethod] = []
    for i, m in enumerate(_list(op.get("SDK"), f"operation {op['Name']} SDK", d)):
        fields = [m.get(f) if isinstance(m, dict) else None for f in ("Package", "Name", "Method")]
        if not all(isinstance(f, str) for f in fields):
            d.add(Severity.WARNING, "bad-entry", f"operation {op['Name']}: SDK[{i}] not read")
            continue
        out.append(SdkMethod(*fields))  # type: ignore[arg-type]
    return tuple(out)


def _operations(
    data: Mapping[str, Any], prefix: str, source: str, d: _Diags
) -> tuple[dict[str, list[str]], list[Operation]]:
    """Lower-cased action name of this service -> the operations that authorize it, and
    every operation with every action it needs (other services' too: ``iam:PassRole``
    with the ``iam:PassedToService`` value it sets) and its SDK methods."""
    found: dict[str, list[str]] = {}
    operations: list[Operation] = []
    for op in _entries(data, "Operations", d):
        authorized = op.get("AuthorizedActions") or []
        if not isinstance(authorized, list):
            d.add(Severity.WARNING, "bad-field", f"operation {op['Name']}: bad AuthorizedActions")
            continue
        needs: list[AuthorizedAction] = []
        for a in authorized:
            if (
                not isinstance(a, dict)
                or not isinstance(a.get("Name"), str)
                or not isinstance(a.get("Service"), str)
            ):
                d.add(Severity.WARNING, "bad-entry", f"operation {op['Name']}: bad action entry")
                continue
            service = a["Service"]
            where = f"operation {op['Name']} {service}:{a['Name']}"
            needs.append(AuthorizedAction(service, a["Name"], _context(a, where, d)))
            # Another service's action (s3-object-lambda, iam:PassRole) is listed in this
            # service's operations only, not as an action of this service.
            if service.lower() != prefix.lower():
                continue
            ops = found.setdefault(a["Name"].lower(), [])
            if op["Name"] not in ops:
                ops.append(op["Name"])
        # Every operation of AWS's documents lists its SDK methods; one without the field
        # (an export of a catalog read from the July 2026 layout, which has none) does not
        # carry them.
        sdk_carried = "SDK" in op
        operations.append(
            Operation(
                op["Name"],
                tuple(needs),
                _sdk(op, d),
                frozenset() if sdk_carried else frozenset({"sdk"}),
                page=source,
            )
        )
    return found, operations


def parse(text: str, *, source: str, url: str | None = None) -> ParsedPage:
    """Parse one service-reference JSON document."""
    d = _Diags(source)
    try:
        data = _load(text)
    except orjson.JSONDecodeError as e:
        d.add(Severity.ERROR, "bad-json", f"not valid JSON ({e})")
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("Name"), str):
        if data is not None:
            d.add(Severity.ERROR, "bad-json", "not a service reference: no top-level Name")
        return ParsedPage(
            PageRef(source, FORMAT, "unknown", url), None, None, diagnostics=tuple(d.items)
        )

    prefix = compact(data["Name"])
    version = data.get("Version")
    layout = str(version) if version else "unknown"
    ref = PageRef(source, FORMAT, layout, url, carried.declare(FORMAT, layout))
    d.add(
        Severity.INFO,
        "no-descriptions",
        "service-reference JSON carries no descriptions, no required flags and no "
        "dependent actions; they are recorded as not carried (null), never as empty",
    )

    operations, service_operations = _operations(data, prefix, source, d)
    actions: list[ActionRow] = []
    defined: set[str] = set()
    without_supported_by: set[str] = set()
    for action in _entries(data, "Actions", d):
        name = action["Name"]
        defined.add(name.lower())
        if "SupportedBy" not in action:
            without_supported_by.add(name.lower())
        level = _access_level(action, d)
        for res in _list(action.get("Resources"), f"{name} Resources", d):
            if not isinstance(res, dict) or not isinstance(res.get("Name"), str):
                d.add(Severity.WARNING, "bad-entry", f"{name}: resource entry without a Name")
                continue
            actions.append(
                ActionRow(
                    action=name,
                    description="",
                    access_level=level,
                    resource_type=res["Name"],
                    condition_keys=_strings(
                        res.get("ConditionKeys"), f"{name}/{res['Name']} ConditionKeys", d
                    ),
                )
            )
        # The action's own row (no resource type): its condition keys and operations.
        # Always written, so an action with neither still exists.
        actions.append(
            ActionRow(
                action=name,
                description="",
                access_level=level,
                condition_keys=_strings(
                    action.get("ActionConditionKeys"), f"{name} ActionConditionKeys", d
                ),
                operations=tuple(operations.get(name.lower(), ())),
                supported_by=_supported_by(action, d),
            )
        )
    for name in operations:
        if name not in defined:
            d.add(
                Severity.WARNING,
                "operation-unknown-action",
                f"an operation authorizes {prefix}:{name}, which Actions does not define; "
                "kept in the service's operations only",
            )

    resources = [
        ResourceRow(
            name=r["Name"],
            arns=_strings(r.get("ARNFormats"), f"resource {r['Name']} ARNFormats", d),
            condition_keys=_strings(r.get("ConditionKeys"), f"resource {r['Name']} keys", d),
        )
        for r in _entries(data, "Resources", d)
    ]
    keys = [
        KeyRow(
            name=k["Name"],
            description="",
            types=_strings(k.get("Types"), f"condition key {k['Name']} Types", d),
        )
        for k in _entries(data, "ConditionKeys", d)
    ]
    page = build_page(
        ref,
        prefix=prefix,
        service_name=None,
        actions=actions,
        resources=resources,
        keys=keys,
        diagnostics=d.items,
        operations=service_operations,
    )
    # Every action of AWS's documents since version 1.3 has SupportedBy; one without it
    # (an export of a catalog read from pages, which have none) does not carry it.
    if "action.supported_by" not in ref.not_carried and without_supported_by:
        page = replace(
            page,
            actions=tuple(
                replace(a, not_carried=a.not_carried | {"supported_by"})
                if a.name.lower() in without_supported_by
                else a
                for a in page.actions
            ),
        )
    return page


def _supported_by(action: Mapping[str, Any], d: _Diags) -> tuple[tuple[str, bool], ...]:
    """``SupportedBy``: IAM feature -> whether it supports the action, sorted."""
    value = action.get("SupportedBy")
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(v, bool) for v in value.values()):
        d.add(Severity.WARNING, "bad-field", f"{action['Name']}: SupportedBy not read")
        return ()
    return tuple(sorted(value.items()))
