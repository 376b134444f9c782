"""The gates on small catalogs made for each rule: a figure, a threshold and a verdict each."""

from __future__ import annotations

import pytest

from iam_catalog.parsers.errors import SourceError
from iam_catalog.parsers.model import (
    AccessLevel,
    Action,
    Catalog,
    CatalogSource,
    ConditionKey,
    Diagnostic,
    PageRef,
    ResourceType,
    ResourceTypeRow,
    Service,
    Severity,
)
from iam_catalog.release.gates import (
    DEFAULT_THRESHOLDS,
    Inputs,
    Verdict,
    evaluate,
    fill_rates,
    parse_gate_flag,
    thresholds,
)

SOURCE = CatalogSource("snapshot", "x", 1, (("html", 1),))
WRITE = (AccessLevel.WRITE,)


def _action(name: str, *, dependent: tuple[str, ...] = (), **kw) -> Action:  # type: ignore[no-untyped-def]
    rows = (ResourceTypeRow("thing", True, (), dependent),)
    return Action(
        name, f"Grants permission to {name}", AccessLevel.WRITE, WRITE, resource_types=rows, **kw
    )


def _service(prefix: str, n: int, *, page: str | None = None, **kw) -> Service:  # type: ignore[no-untyped-def]
    actions = tuple(_action(f"Do{i}", **kw) for i in range(n))
    return Service(
        prefix,
        prefix.upper(),
        (PageRef(page or f"list_{prefix}", "html", "sar-2023"),),
        actions,
        (ResourceType("thing", (f"arn:${{Partition}}:{prefix}:::thing/${{Id}}",)),),
        (ConditionKey(f"{prefix}:Key", "k", ("String",)),),
    )


def _catalog(*services: Service, diagnostics: tuple[Diagnostic, ...] = ()) -> Catalog:
    return Catalog(SOURCE, tuple(sorted(services, key=lambda s: s.prefix)), diagnostics)


LIMITS = thresholds({"smoke": []})


def _by_name(gates):  # type: ignore[no-untyped-def]
    return {g.name: g for g in gates}


def test_totals_fail_past_two_percent_and_a_withdrawn_page_is_not_a_service_gate_failure():
    old = _catalog(_service("a", 50), _service("b", 50), _service("c", 2))
    # c's page left the index: its removal is reported by the diff, only the totals count it.
    new = _catalog(_service("a", 50), _service("b", 50))
    listed = frozenset({"list_a", "list_b"})
    gates = _by_name(evaluate(new, old, Inputs(index_pages=listed), LIMITS))
    assert (gates["totals.actions"].figure, gates["totals.actions"].verdict) == (
        1.961,
        Verdict.PASS,
    )
    assert gates["totals.services"].figure == pytest.approx(33.333)
    assert gates["totals.services"].verdict is Verdict.FAIL
    assert gates["service.actions"].verdict is Verdict.PASS
    # The same page still listed: c lost everything, which the per-service gates catch.
    gates = _by_name(evaluate(new, old, Inputs(index_pages=listed | {"list_c"}), LIMITS))
    assert gates["service.actions"].verdict is Verdict.FAIL
    assert gates["service.actions"].details == ("c: 2 of 2 lost",)
    assert gates["service.resource_types"].verdict is Verdict.FAIL


def test_a_service_may_lose_half_its_actions_but_not_more():
    old = _catalog(_service("a", 10), _service("b", 200))
    half = _catalog(_service("a", 5), _service("b", 200))
    more = _catalog(_service("a", 4), _service("b", 200))
    assert _by_name(evaluate(half, old, Inputs(), LIMITS))["service.actions"].figure == 50.0
    assert (
        _by_name(evaluate(half, old, Inputs(), LIMITS))["service.actions"].verdict is Verdict.PASS
    )
    gate = _by_name(evaluate(more, old, Inputs(), LIMITS))["service.actions"]
    assert (gate.figure, gate.verdict, gate.details) == (60.0, Verdict.FAIL, ("a: 6 of 10 lost",))


def test_fill_rate_counts_only_actions_whose_source_carries_the_field():
    carried = _service("a", 10, dependent=("iam:PassRole",))
    not_carried = _service("b", 10, not_carried=frozenset({"dependent_actions"}))
    rates = fill_rates(_catalog(carried, not_carried))
    assert (rates["dependent_actions"].filled, rates["dependent_actions"].total) == (10, 10)
    assert rates["description"].total == 20 and rates["required"].percent == 100.0


def test_a_field_no_source_carries_any_more_fails_whatever_its_share_was():
    # 3 of 100 actions had dependent actions (3 points): a fall to "not carried" is a
    # layout change, not a 3-point dip.
    old = _catalog(_service("a", 3, dependent=("iam:PassRole",)), _service("b", 97))
    new = _catalog(
        _service("a", 3, not_carried=frozenset({"dependent_actions"})),
        _service("b", 97, not_carried=frozenset({"dependent_actions"})),
    )
    gate = _by_name(evaluate(new, old, Inputs(), LIMITS))["fill.dependent_actions"]
    assert gate.verdict is Verdict.FAIL and gate.figure == 3.0
    assert "no source carries it any more" in gate.summary
    # A dip of 3 points while still carried passes.
    dip = _catalog(_service("a", 3), _service("b", 97), _service("c", 1, dependent=("x:Y",)))
    assert _by_name(evaluate(dip, old, Inputs(), LIMITS))["fill.dependent_actions"].verdict is (
        Verdict.PASS
    )


def test_smoke_layout_and_access_levels_gates():
    limits = thresholds({"smoke": "a:Do0, a:Gone"})
    bad_page = Diagnostic("list_x", None, Severity.ERROR, "no-tables", "no tables")
    bad_level = Diagnostic("list_a", 9, Severity.ERROR, "unknown-access-level", "'Admin'")
    new = _catalog(_service("a", 2), diagnostics=(bad_page, bad_level))
    gates = _by_name(evaluate(new, None, Inputs(), limits))
    assert (gates["smoke"].figure, gates["smoke"].details) == (1, ("a:Gone",))
    assert (gates["layout"].figure, gates["layout"].details) == (1, ("list_x",))
    assert gates["access_levels"].figure == 1 and gates["access_levels"].verdict is Verdict.FAIL
    # A page already unrecognised in the latest release is not a new failure.
    old = _catalog(_service("a", 2), diagnostics=(bad_page,))
    assert _by_name(evaluate(new, old, Inputs(), limits))["layout"].verdict is Verdict.PASS
    # No earlier release: the comparing gates are skipped, with their figure None.
    assert (
        gates["totals.actions"].verdict is Verdict.SKIP and gates["totals.actions"].figure is None
    )


def test_flapping_is_a_warning_listing_each_item():
    prev = [
        {"kind": "action_removed", "service": "a", "action": "Do1", "severity": "breaking"},
        {"kind": "service_added", "service": "z", "severity": "info"},
    ]
    now = [
        {"kind": "action_added", "service": "a", "action": "do1", "severity": "info"},
        {"kind": "service_removed", "service": "z", "severity": "breaking"},
        {"kind": "action_added", "service": "a", "action": "Do9", "severity": "info"},
    ]
    cat = _catalog(_service("a", 2))
    gate = _by_name(evaluate(cat, cat, Inputs(previous_changes=prev, changes=now), LIMITS))[
        "flapping"
    ]
    assert (gate.verdict, gate.figure) == (Verdict.WARN, 2)
    assert gate.details == ("action a:do1: removed, then added", "service z: added, then removed")
    assert not gate.failed


def test_thresholds_are_overridden_by_name_and_unknown_names_are_refused():
    assert thresholds({"totals.actions": "5"})["totals.actions"] == 5.0
    assert thresholds({})["smoke"] == DEFAULT_THRESHOLDS["smoke"]
    assert parse_gate_flag("fill.description = 7") == ("fill.description", "7")
    with pytest.raises(SourceError, match=r"unknown gate 'totals\.pages'"):
        thresholds({"totals.pages": 1})
    with pytest.raises(SourceError, match="expected a number"):
        thresholds({"layout": "many"})
    with pytest.raises(SourceError, match=r"expected NAME=VALUE"):
        parse_gate_flag("layout")


def _crosscheck_gates(catalog: Catalog, report):  # type: ignore[no-untyped-def]
    gates = evaluate(catalog, None, Inputs(crosscheck=report), LIMITS)
    return {g.name: g for g in gates if g.name.startswith("crosscheck.")}


def test_crosscheck_gates_hold_each_share_of_disagreeing_actions_to_one_percent():
    def entry(service: str, field: str, item: str, html: str, json: str) -> dict[str, str]:
        return {"service": service, "field": field, "item": item, "html": html, "json": json}

    report = {
        "summary": {"actions": 400, "actions_disagreeing": {"access_level": 4, "existence": 5}},
        "disagreements": [
            entry("s", "action.access_level", "A", "Read", "Write"),
            entry("s", "action", "B", "present", "absent"),
            entry("t", "service", "", "absent", "present"),
            entry("s", "resource_type", "r", "present", "absent"),
        ],
    }
    gates = _crosscheck_gates(_catalog(_service("s", 3)), report)
    level, existence = gates["crosscheck.access_level"], gates["crosscheck.existence"]
    assert (level.figure, level.threshold, level.verdict) == (1.0, 1.0, Verdict.PASS)
    assert level.details == ("action.access_level s:A (html: Read, json: Write)",)
    assert (existence.figure, existence.verdict) == (1.25, Verdict.FAIL)
    assert existence.details == (
        "action s:B (html: present, json: absent)",
        "service t (html: absent, json: present)",
    )
    assert existence.summary == "5 of 400 actions (1.25%) disagree between the sources on existence"


def test_crosscheck_gates_fail_closed_when_the_json_was_read_but_not_cross_checked():
    pages_and_json = CatalogSource("snapshot", "x", 2, (("html", 1), ("service-reference", 1)))
    catalog = Catalog(pages_and_json, (_service("s", 3),))
    gates = _crosscheck_gates(catalog, None)
    assert {g.verdict for g in gates.values()} == {Verdict.FAIL}
    assert "made no cross-check report" in gates["crosscheck.existence"].summary
    # A report without its summary fails too; pages alone skip the gates.
    assert {g.verdict for g in _crosscheck_gates(catalog, {"disagreements": []}).values()} == {
        Verdict.FAIL
    }
    assert {g.verdict for g in _crosscheck_gates(_catalog(_service("s", 3)), None).values()} == {
        Verdict.SKIP
    }
