"""``CHANGELOG.md``: one dated section per release, newest first.

A section says, in this order: the counts of the release and how they moved; every
breaking and security change, grouped by service (each line as the Markdown diff report
writes it, :func:`iam_catalog.output.report.md_line`); the other changes summarised per
service; a link to the release's ``diff.html``. Each release keeps its own section
(``RELEASES/<id>/changelog.md``) and the file is their concatenation, so it is rebuilt,
not edited.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from iam_catalog.output.diff import CatalogDiff, Change, ChangeKind, ChangeSeverity
from iam_catalog.output.report import md_code, md_line, plural

TITLE = "# Changelog of the IAM catalog\n"
INTRO = (
    "One section per published release, newest first: counts, then breaking and security "
    "changes by service, then the rest summarised, then the full report.\n"
)
# Breaking and security lines a section lists before it points at the full report, in all
# and per service (a service rewritten from scratch must not hide the others).
MAX_IMPORTANT_LINES = 300
MAX_LINES_PER_SERVICE = 15
# Services whose other changes a section names one by one before it sums up the rest.
MAX_OTHER_SERVICES = 40

_ITEMS = ("service", "action", "resource_type", "condition_key")
_COUNT_WORDS = {
    "services": "service",
    "actions": "action",
    "resource_types": "resource type",
    "condition_keys": "condition key",
}


def changelog(sections: Sequence[str]) -> str:
    """The whole file from the sections, newest first."""
    return TITLE + "\n" + INTRO + "".join("\n" + s for s in sections)


def _count_line(counts: Mapping[str, int], before: Mapping[str, int] | None) -> str:
    parts = []
    for key, word in _COUNT_WORDS.items():
        n = counts.get(key, 0)
        text = f"{n:,} {word}s" if n != 1 else f"1 {word}"
        if before is not None and before.get(key, 0) != n:
            text += f" ({n - before.get(key, 0):+,})"
        parts.append(text)
    return ", ".join(parts)


def _service_title(d: CatalogDiff, prefix: str) -> str:
    name = d.service_name(prefix)
    return f"{md_code(prefix)} ({name})" if name else md_code(prefix)


def _summary(changes: Sequence[Change]) -> str:
    counts = Counter((c.kind.item_type, c.kind.verb) for c in changes)
    words = []
    for item in _ITEMS:
        for verb in ("added", "removed", "changed"):
            n = counts[(item, verb)]
            if n:
                words.append(f"{plural(n, item.replace('_', ' '))} {verb}")
    return ", ".join(words)


def accepted_note(accepted: Mapping[str, Any]) -> str:
    """The paragraph of a release a person published although gates failed."""
    gates = ", ".join(md_code(g) for g in accepted.get("failed_gates", []))
    return (
        f"Published after review: accepted by {accepted.get('by')} at "
        f"{accepted.get('at')} although gates {gates} failed.\n\n"
    )


def section(
    *,
    release_id: str,
    date: str,
    snapshot: str,
    previous: str | None,
    counts: Mapping[str, int],
    previous_counts: Mapping[str, int] | None,
    d: CatalogDiff,
    accepted: Mapping[str, Any] | None = None,
) -> str:
    """This release's section of the changelog."""
    out = [f"## {date} — release {release_id}\n\n"]
    out.append(f"{_count_line(counts, previous_counts)}; snapshot {md_code(snapshot)}.\n\n")
    severities = Counter(c.severity for c in d.changes)
    since = f"since release {md_code(previous)}" if previous else "in the first release"
    out.append(
        f"{plural(len(d.changes), 'change')} {since}: "
        + ", ".join(f"{severities[s]} {s.value}" for s in ChangeSeverity)
        + ".\n\n"
    )
    if accepted:
        out.append(accepted_note(accepted))
    by_service: dict[str, list[Change]] = {}
    for c in d.changes:
        by_service.setdefault(c.service, []).append(c)
    important = {
        p: [c for c in cs if c.severity is not ChangeSeverity.INFO] for p, cs in by_service.items()
    }
    important = {p: cs for p, cs in important.items() if cs}
    if important:
        out.append("### Breaking and security changes\n\n")
        shown = 0
        for prefix, cs in important.items():
            out.append(f"**{_service_title(d, prefix)}**\n\n")
            if cs[0].kind is ChangeKind.SERVICE_REMOVED:
                # One line for a whole service, not one per item it took with it.
                taken = _summary(cs[1:])
                what = f" with {taken.replace(' removed', '')}" if taken else ""
                out.append(f"- **{cs[0].severity.value}** service removed{what}\n\n")
                shown += 1
                continue
            room = max(0, min(MAX_LINES_PER_SERVICE, MAX_IMPORTANT_LINES - shown))
            for c in cs[:room]:
                out.append(f"- **{c.severity.value}** {md_line(c)}\n")
            shown += min(room, len(cs))
            if len(cs) > room:
                out.append(f"- … and {len(cs) - room} more in the full report\n")
            out.append("\n")
    rest = {p: [c for c in cs if c.severity is ChangeSeverity.INFO] for p, cs in by_service.items()}
    rest = {p: cs for p, cs in rest.items() if cs}
    if rest:
        out.append("### Other changes\n\n")
        for prefix, cs in list(rest.items())[:MAX_OTHER_SERVICES]:
            out.append(f"- {_service_title(d, prefix)}: {_summary(cs)}\n")
        if len(rest) > MAX_OTHER_SERVICES:
            more = [c for cs in list(rest.values())[MAX_OTHER_SERVICES:] for c in cs]
            out.append(
                f"- {plural(len(rest) - MAX_OTHER_SERVICES, 'more service')}: {_summary(more)}\n"
            )
        out.append("\n")
    out.append(f"Full report: [{release_id}/diff.html]({release_id}/diff.html)\n")
    return "".join(out)
