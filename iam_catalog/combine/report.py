"""``crosscheck.md``: the cross-check for a person (``crosscheck.json`` is the same data)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from iam_catalog.combine.crosscheck import CrossCheck

# Services named in a not-compared line, at most.
_SERVICES_SHOWN = 12


def _value(v: Any) -> str:
    if isinstance(v, str):
        return f"`{v}`" if v not in ("present", "absent") else v
    return f"`{json.dumps(v, ensure_ascii=False)}`"


def render_markdown(report: CrossCheck) -> str:
    """The report: sources, counts, every disagreement by service with each source's
    value, then the fields not compared and why."""
    summary = report.summary()
    names = list(report.sources)
    lines = ["# Cross-check of the sources", ""]
    for name, info in report.sources.items():
        formats = ", ".join(f"{n} {f}" for f, n in sorted(info["formats"].items()))
        lines.append(f"- **{name}**: {info['pages']} pages ({formats})")
    levels = summary["actions_disagreeing"]
    lines += [
        "",
        f"{summary['disagreements']} disagreements; of {summary['actions']} actions, "
        f"{levels['existence']} are not in every source and {levels['access_level']} "
        "disagree on access level.",
        "",
        "| field | disagreements |",
        "|---|---|",
        *(f"| {f} | {n} |" for f, n in summary["by_field"].items()),
        "",
    ]
    by_service: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in report.disagreements:
        by_service[e["service"]].append(e)
    if by_service:
        lines += ["## Disagreements", ""]
    for service, entries in by_service.items():
        lines += [f"### {service}", "", f"| field | item | {' | '.join(names)} |"]
        lines.append("|---|---|" + "---|" * len(names))
        for e in entries:
            cells = [_value(e[n]) if n in e else "" for n in names]
            item = f"`{e['item']}`" if e["item"] else ""
            lines.append(f"| {e['field']} | {item} | {' | '.join(cells)} |")
        lines.append("")
    if report.not_compared:
        lines += ["## Not compared", ""]
        for nc in report.not_compared:
            shown = ", ".join(nc["services"][:_SERVICES_SHOWN])
            more = len(nc["services"]) - _SERVICES_SHOWN
            shown += f" and {more} more" if more > 0 else ""
            lines.append(f"- {nc['field']}: {nc['reason']} ({len(nc['services'])}: {shown})")
        lines.append("")
    return "\n".join(lines)
