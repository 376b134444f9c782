"""Release gates: each a name, a measured figure, a threshold and a verdict (house style 25).

:func:`evaluate` is pure: it takes the new catalog, the latest published one, the pages
the index listed, the previous release's diff and the thresholds, and returns every gate
with its figure. The pipeline writes them to ``gates.json`` before it decides anything.

Thresholds (:data:`DEFAULT_THRESHOLDS`) are data too: each gate's is a number (a
percentage, a share in points or a count) or, for ``smoke``, a list of actions; a
``--gate NAME=VALUE`` flag or a JSON config file overrides them by gate name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from iam_catalog.parsers.errors import SourceError
from iam_catalog.parsers.model import AccessLevel, Action, Catalog, Service

# Diagnostic codes that say a page's tables were not understood: a page in a layout the
# parsers do not know, never to pass as a smaller service.
UNKNOWN_LAYOUT_CODES = frozenset(
    {
        "empty-page",
        "missing-column",
        "no-actions",
        "no-actions-table",
        "no-prefix",
        "no-tables",
        "parse-failed",
        "unknown-column",
        "unknown-format",
        "unknown-table",
    }
)
# Diagnostic codes of an access level outside the vocabulary.
UNKNOWN_ACCESS_LEVEL_CODES = frozenset({"unknown-access-level"})

SMOKE_ACTIONS = (
    "s3:GetObject",
    "iam:PassRole",
    "sts:AssumeRole",
    "ec2:RunInstances",
    "kms:Decrypt",
)

FILL_FIELDS = (
    "description",
    "resource_rows",
    "condition_keys",
    "dependent_actions",
    "operations",
    "required",
)

DEFAULT_THRESHOLDS: dict[str, Any] = {
    # Largest fall, in percent of the latest release's count.
    "totals.actions": 2.0,
    "totals.services": 2.0,
    # Largest share, in percent, of a service's actions that may go while its page stays.
    "service.actions": 50.0,
    # Largest share, in percent, of its resource types / condition keys (100: not all).
    "service.resource_types": 99.99,
    "service.condition_keys": 99.99,
    # Largest fall of a fill rate, in percentage points.
    **{f"fill.{name}": 5.0 for name in FILL_FIELDS},
    "smoke": list(SMOKE_ACTIONS),
    # Pages whose tables were not understood (and were understood in the latest release).
    "layout": 0,
    # Access levels outside the vocabulary.
    "access_levels": 0,
    # Items removed in the last release and back now, or back and removed (warning only).
    "flapping": 0,
    # Largest share, in percent, of the actions that the sources (the pages and AWS's JSON)
    # disagree on: on the access level, on existence (one source lacks the action).
    "crosscheck.access_level": 1.0,
    "crosscheck.existence": 1.0,
}


class Verdict(StrEnum):
    """What a gate says."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    """Reported, never blocks (flapping)."""
    SKIP = "skip"
    """Nothing to measure (no previous release, no cross-check report)."""


@dataclass(frozen=True, slots=True)
class Gate:
    """One gate, measured."""

    name: str
    """Stable name, e.g. ``totals.actions``, ``fill.dependent_actions``."""
    figure: float | int | None
    """What was measured (None when skipped)."""
    threshold: Any
    """The limit it was held to."""
    verdict: Verdict
    """pass, fail, warn or skip."""
    summary: str
    """One line for a person: the figure in words."""
    details: tuple[str, ...] = field(default=())
    """The items behind a failure or warning (services, actions, pages), sorted."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "figure": self.figure,
            "threshold": self.threshold,
            "verdict": self.verdict.value,
            "summary": self.summary,
            "details": list(self.details),
        }

    @property
    def failed(self) -> bool:
        return self.verdict is Verdict.FAIL


def thresholds(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The default thresholds with ``overrides`` applied (an unknown name is an error)."""
    out = dict(DEFAULT_THRESHOLDS)
    for name, value in (overrides or {}).items():
        if name not in out:
            known = ", ".join(sorted(out))
            raise SourceError(f"unknown gate {name!r} (known: {known})")
        out[name] = _threshold_value(name, value)
    return out


def _threshold_value(name: str, value: Any) -> Any:
    if name == "smoke":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SourceError(f"gate smoke: expected a list of service:Action, not {value!r}")
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SourceError(f"gate {name}: expected a number, not {value!r}") from None


def parse_gate_flag(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` of a ``--gate`` flag."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise SourceError(f"--gate {text!r}: expected NAME=VALUE")
    return name.strip(), value.strip()


# --------------------------------------------------------------------------- fill rates


# The field of the model (``Action.carries``) each fill rate is about.
_CARRIED_AS = {
    "description": "description",
    "resource_rows": "resource_types",
    "condition_keys": "condition_keys",
    "dependent_actions": "dependent_actions",
    "operations": "operations",
    "required": "resource_types.required",
}


def _has(action: Action, name: str) -> bool:
    if name == "description":
        return bool(action.description)
    if name == "resource_rows":
        return any(r.name for r in action.resource_types)
    if name == "condition_keys":
        return bool(action.condition_keys) or any(r.condition_keys for r in action.resource_types)
    if name == "dependent_actions":
        return bool(action.dependent_actions) or any(
            r.dependent_actions for r in action.resource_types
        )
    if name == "operations":
        return bool(action.operations)
    raise ValueError(name)


@dataclass(frozen=True, slots=True)
class FillRate:
    """How often a field is filled, where its source carries it."""

    filled: int
    """Actions (rows, for ``required``) with a value."""
    total: int
    """Actions (rows) of the services whose source carries the field."""

    @property
    def percent(self) -> float:
        return 100.0 * self.filled / self.total if self.total else 0.0


def fill_rates(catalog: Catalog) -> dict[str, FillRate]:
    """Per field of :data:`FILL_FIELDS`: the share of actions with a value (for
    ``required``: of named resource-type rows marked required), over the actions whose
    source carries the field (``Action.carries``: not carried is not empty)."""
    counts = {name: [0, 0] for name in FILL_FIELDS}
    for service in catalog.services:
        for action in service.actions:
            for name in FILL_FIELDS:
                if not action.carries(_CARRIED_AS[name]):
                    continue
                c = counts[name]
                if name == "required":
                    rows = [r for r in action.resource_types if r.name]
                    c[0] += sum(1 for r in rows if r.required)
                    c[1] += len(rows)
                else:
                    c[0] += _has(action, name)
                    c[1] += 1
    return {name: FillRate(f, t) for name, (f, t) in counts.items()}


# --------------------------------------------------------------------------- evaluate


def _names(items: Iterable[Any]) -> set[str]:
    return {i.name.lower() for i in items}


def _pct_drop(old: int, new: int) -> float:
    return round(100.0 * (old - new) / old, 3) if old else 0.0


def _by_prefix(catalog: Catalog) -> dict[str, Service]:
    return {s.prefix.lower(): s for s in catalog.services}


def _unknown_layout_pages(catalog: Catalog) -> set[str]:
    return {d.page for d in catalog.diagnostics if d.code in UNKNOWN_LAYOUT_CODES}


def _page_key(page: str) -> str:
    """A page id, whether a diagnostic names it by id or by the path of its file."""
    name = page.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the gates look at besides the two catalogs."""

    index_pages: frozenset[str] | None = None
    """Page ids the index listed this night (None: unknown, every page counts as listed)."""
    previous_changes: Sequence[Mapping[str, Any]] = ()
    """The ``changes`` of the latest release's diff.json (for flapping)."""
    changes: Sequence[Mapping[str, Any]] = ()
    """The ``changes`` of this night's diff (JSON form)."""
    crosscheck: Mapping[str, Any] | None = None
    """The cross-check report, when the night has one."""


def evaluate(
    new: Catalog,
    old: Catalog | None,
    inputs: Inputs,
    limits: Mapping[str, Any],
) -> list[Gate]:
    """Every gate, in a fixed order. ``old`` is the latest published release (None on the
    first night: the gates that compare with it are skipped)."""
    gates: list[Gate] = []
    for check in _CHECKS:
        gates.extend(check(new, old, inputs, limits))
    return gates


def _totals(new: Catalog, old: Catalog | None, _: Inputs, limits: Mapping[str, Any]) -> list[Gate]:
    out = []
    counts = {
        "actions": lambda c: sum(len(s.actions) for s in c.services),
        "services": lambda c: len(c.services),
    }
    for what, count in counts.items():
        name = f"totals.{what}"
        limit = limits[name]
        n = count(new)
        if old is None:
            out.append(_skip(name, limit, f"{n} {what}; no earlier release to compare with"))
            continue
        o = count(old)
        drop = _pct_drop(o, n)
        verdict = Verdict.FAIL if drop > limit else Verdict.PASS
        text = f"{o} -> {n} {what} ({-drop:+.2f}%)"
        out.append(Gate(name, drop, limit, verdict, text))
    return out


def _per_service(
    new: Catalog, old: Catalog | None, inputs: Inputs, limits: Mapping[str, Any]
) -> list[Gate]:
    parts = {
        "actions": lambda s: s.actions,
        "resource_types": lambda s: s.resource_types,
        "condition_keys": lambda s: s.condition_keys,
    }
    if old is None:
        return [
            _skip(f"service.{p}", limits[f"service.{p}"], "no earlier release to compare with")
            for p in parts
        ]
    new_by = _by_prefix(new)
    listed = inputs.index_pages
    out = []
    for part, items in parts.items():
        name = f"service.{part}"
        limit = limits[name]
        worst = 0.0
        failing: list[str] = []
        checked = 0
        for service in old.services:
            if listed is not None and not any(p.page in listed for p in service.pages):
                continue  # its page left the index: a real removal, reported by the diff
            had = _names(items(service))
            if not had:
                continue
            checked += 1
            now = new_by.get(service.prefix.lower())
            kept = had & _names(items(now)) if now is not None else set()
            lost = round(100.0 * (len(had) - len(kept)) / len(had), 3)
            worst = max(worst, lost)
            if lost > limit:
                failing.append(f"{service.prefix}: {len(had) - len(kept)} of {len(had)} lost")
        verdict = Verdict.FAIL if failing else Verdict.PASS
        text = (
            f"{len(failing)} of {checked} services still in the index lost more than "
            f"{limit:g}% of their {part.replace('_', ' ')} (worst {worst:g}%)"
        )
        out.append(Gate(name, worst, limit, verdict, text, tuple(sorted(failing))))
    return out


def _fill(new: Catalog, old: Catalog | None, _: Inputs, limits: Mapping[str, Any]) -> list[Gate]:
    now = fill_rates(new)
    before = fill_rates(old) if old is not None else None
    out = []
    for field_name in FILL_FIELDS:
        name = f"fill.{field_name}"
        limit = limits[name]
        rate = now[field_name]
        if before is None:
            text = f"{rate.percent:.2f}% ({rate.filled} of {rate.total}); no earlier release"
            out.append(_skip(name, limit, text))
            continue
        was = before[field_name]
        drop = round(was.percent - rate.percent, 3)
        # A field the sources stopped carrying (or filling) entirely: a layout change
        # fails whatever the points say, until a person accepts it.
        not_carried = was.total > 0 and rate.total == 0
        emptied = was.filled > 0 and rate.filled == 0
        verdict = Verdict.FAIL if drop > limit or not_carried or emptied else Verdict.PASS
        text = (
            f"{was.percent:.2f}% -> {rate.percent:.2f}% ({rate.filled} of {rate.total}; "
            f"{-drop:+.2f} points)"
        )
        if not_carried:
            text += "; no source carries it any more (a layout change?): accept to publish"
        elif emptied:
            text += "; no action has it any more (a layout change?): accept to publish"
        out.append(Gate(name, drop, limit, verdict, text))
    return out


def _smoke(new: Catalog, _o: Catalog | None, _i: Inputs, limits: Mapping[str, Any]) -> list[Gate]:
    wanted = limits["smoke"]
    by = _by_prefix(new)
    missing = []
    for full in wanted:
        prefix, _, action = full.partition(":")
        service = by.get(prefix.lower())
        if service is None or action.lower() not in _names(service.actions):
            missing.append(full)
    verdict = Verdict.FAIL if missing else Verdict.PASS
    text = f"{len(wanted) - len(missing)} of {len(wanted)} must-exist actions present"
    return [Gate("smoke", len(missing), wanted, verdict, text, tuple(sorted(missing)))]


def _layout(new: Catalog, old: Catalog | None, _: Inputs, limits: Mapping[str, Any]) -> list[Gate]:
    limit = limits["layout"]
    pages = {_page_key(p) for p in _unknown_layout_pages(new)}
    known_bad = {_page_key(p) for p in _unknown_layout_pages(old)} if old is not None else set()
    fresh = sorted(pages - known_bad)
    verdict = Verdict.FAIL if len(fresh) > limit else Verdict.PASS
    text = f"{len(fresh)} pages in a layout the parsers do not recognise"
    if known_bad & pages:
        text += f" ({len(known_bad & pages)} more already so in the latest release)"
    return [Gate("layout", len(fresh), limit, verdict, text, tuple(fresh))]


def _access_levels(
    new: Catalog, _o: Catalog | None, _i: Inputs, limits: Mapping[str, Any]
) -> list[Gate]:
    limit = limits["access_levels"]
    vocabulary = set(AccessLevel)
    bad = [
        f"{s.prefix}:{a.name}"
        for s in new.services
        for a in s.actions
        if not set(a.access_levels) <= vocabulary
    ]
    bad += [
        f"{d.page}: {d.message}" for d in new.diagnostics if d.code in UNKNOWN_ACCESS_LEVEL_CODES
    ]
    verdict = Verdict.FAIL if len(bad) > limit else Verdict.PASS
    text = f"{len(bad)} access levels outside {', '.join(sorted(vocabulary))}"
    return [Gate("access_levels", len(bad), limit, verdict, text, tuple(sorted(bad)))]


def _item(change: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(item type, service, item) of an added or removed change, lower-cased."""
    kind = str(change.get("kind", ""))
    item_type, _, verb = kind.rpartition("_")
    if verb not in ("added", "removed"):
        return None
    item = str(change.get(item_type, "")) if item_type != "service" else ""
    return item_type, str(change.get("service", "")).lower(), item.lower()


def _flapping(
    _n: Catalog, _o: Catalog | None, inputs: Inputs, limits: Mapping[str, Any]
) -> list[Gate]:
    limit = limits["flapping"]
    before: dict[tuple[str, str, str], str] = {}
    for c in inputs.previous_changes:
        key = _item(c)
        if key is not None:
            before[key] = str(c["kind"]).rpartition("_")[2]
    flaps = []
    for c in inputs.changes:
        key = _item(c)
        if key is None or key not in before:
            continue
        verb = str(c["kind"]).rpartition("_")[2]
        if verb != before[key]:
            item_type, service, item = key
            label = f"{service}:{item}" if item else service
            flaps.append(f"{item_type.replace('_', ' ')} {label}: {before[key]}, then {verb}")
    verdict = Verdict.WARN if len(flaps) > limit else Verdict.PASS
    text = f"{len(flaps)} items removed in the latest release and back now, or back and removed"
    return [Gate("flapping", len(flaps), limit, verdict, text, tuple(sorted(flaps)))]


# The report's fields whose disagreements count for each cross-check gate.
_CROSSCHECK_FIELDS = {
    "access_level": ("action.access_level", "action.access_levels"),
    "existence": ("action", "service"),
}


def _expects_crosscheck(catalog: Catalog) -> bool:
    """Whether the build read AWS's JSON beside pages (then it must have cross-checked
    them: a night without the report fails closed)."""
    from iam_catalog.combine.precedence import SOURCE_OF_FORMAT

    sources = {SOURCE_OF_FORMAT.get(f, f) for f, _ in catalog.source.formats}
    return "json" in sources and len(sources) > 1


def _crosscheck_details(report: Mapping[str, Any], what: str) -> tuple[str, ...]:
    """The disagreements behind a cross-check figure, one line each."""
    out = []
    for e in report.get("disagreements", ()):
        if not isinstance(e, Mapping) or e.get("field") not in _CROSSCHECK_FIELDS[what]:
            continue
        values = ", ".join(
            f"{k}: {v}" for k, v in e.items() if k not in ("service", "field", "item")
        )
        item = f"{e.get('service')}:{e.get('item')}" if e.get("item") else f"{e.get('service')}"
        out.append(f"{e.get('field')} {item} ({values})")
    return tuple(sorted(out))


def _crosscheck(
    new: Catalog, _o: Catalog | None, inputs: Inputs, limits: Mapping[str, Any]
) -> list[Gate]:
    report = inputs.crosscheck
    out = []
    for what in _CROSSCHECK_FIELDS:
        name = f"crosscheck.{what}"
        limit = limits[name]
        if report is None:
            if _expects_crosscheck(new):
                text = (
                    "the build read AWS's JSON beside the pages but made no cross-check report "
                    "(they share no service?)"
                )
                out.append(Gate(name, None, limit, Verdict.FAIL, text))
            else:
                out.append(_skip(name, limit, "no cross-check (the snapshot has no JSON)"))
            continue
        try:
            summary = report["summary"]
            n, actions = int(summary["actions_disagreeing"][what]), int(summary["actions"])
        except (KeyError, TypeError, ValueError):
            text = "the cross-check report has no summary of actions in disagreement"
            out.append(Gate(name, None, limit, Verdict.FAIL, text))
            continue
        pct = round(100.0 * n / actions, 3) if actions else 0.0
        verdict = Verdict.FAIL if pct > limit else Verdict.PASS
        about = "the access level" if what == "access_level" else "existence"
        text = f"{n} of {actions} actions ({pct:g}%) disagree between the sources on {about}"
        out.append(Gate(name, pct, limit, verdict, text, _crosscheck_details(report, what)))
    return out


def _skip(name: str, limit: Any, text: str) -> Gate:
    return Gate(name, None, limit, Verdict.SKIP, text)


_CHECKS: tuple[Callable[[Catalog, Catalog | None, Inputs, Mapping[str, Any]], list[Gate]], ...] = (
    _totals,
    _per_service,
    _fill,
    _smoke,
    _layout,
    _access_levels,
    _flapping,
    _crosscheck,
)
