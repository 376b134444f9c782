"""Diff reports: JSON for machines, Markdown for a pull request, one HTML page for people.

``render(d, fmt)`` returns the whole report as text. The JSON is the contract in
DESIGN.md ("Diff"). Markdown and HTML start with the two releases (id, snapshot date,
what each was built from, note) and the counts.

The Markdown (:func:`render_markdown`, also the changelog's renderer) lists every
breaking change, then every security change, by service, within :data:`MD_LIMIT`
characters: what does not fit is counted per service, one line each; then the info
changes, folded per service, as many as fit, and a count of the rest.

The HTML page is self-contained (inline CSS and JS, no external assets, everything
escaped): a service index with counts by severity, filters by severity, kind and item
type, a search by exact name (prefix, item, ``prefix:Action``, condition key, ``*``
wildcards), links to each item's SAR page and each action's API reference. Its rows
are data embedded in the page, drawn by its script a section at a time as sections
open; a link can preset the filters (``report.html#sev=breaking,security&q=s3``).
"""

from __future__ import annotations

import bisect
import difflib
import html
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from importlib import resources

import orjson

from iam_catalog.parsers.model import Action, ResourceTypeRow

from .diff import (
    SUMMARY_KEYS,
    CatalogDiff,
    Change,
    ChangeKind,
    ChangeSeverity,
    Value,
    pass_role_route,
)

FORMATS = ("json", "md", "html")
"""The report formats :func:`render` accepts."""

MD_LIMIT = 60_000
"""Most characters of a Markdown report: GitHub refuses pull-request bodies over
65,536 characters, and a margin leaves room for text around the report."""

MD_TEXT_CHARS = 300
"""Descriptions longer than this are shortened in Markdown (the JSON has them whole)."""

_ITEM_LABEL = {
    "service": "service",
    "action": "action",
    "resource_type": "resource type",
    "condition_key": "condition key",
}
_ROW_FIELD = re.compile(r"^resource_types\[(?P<row>.*)\](?:\.(?P<sub>\w+))?$")


def render(d: CatalogDiff, fmt: str) -> str:
    """The report of ``d`` in ``fmt`` (``json``, ``md`` or ``html``)."""
    if fmt == "json":
        return render_json(d)
    if fmt == "md":
        return render_markdown(d)
    if fmt == "html":
        return render_html(d)
    raise ValueError(f"unknown report format {fmt!r} (expected one of {', '.join(FORMATS)})")


def render_json(d: CatalogDiff) -> str:
    """The JSON contract: sorted keys, 2-space indent, final newline."""
    data = orjson.dumps(d.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    return data.decode("utf-8") + "\n"


# --------------------------------------------------------------------------- shared


def _by_service(changes: Iterable[Change]) -> dict[str, list[Change]]:
    """Changes grouped by service prefix, in diff order (services already sorted)."""
    out: dict[str, list[Change]] = {}
    for c in changes:
        out.setdefault(c.service, []).append(c)
    return out


def list_delta(old: Sequence[str], new: Sequence[str]) -> tuple[list[str], list[str]]:
    """(added, removed) between two lists, compared case-insensitively like the diff."""
    old_folded = {v.lower() for v in old}
    new_folded = {v.lower() for v in new}
    added = [v for v in new if v.lower() not in old_folded]
    removed = [v for v in old if v.lower() not in new_folded]
    return added, removed


def plural(n: int, word: str) -> str:
    """``1 change``, ``2 changes``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _kind_phrase(c: Change) -> str:
    return f"{_ITEM_LABEL[c.kind.item_type]} {c.kind.verb}"


GAP_NOTE = {
    "new": "the new source lists no actions for {n} services ({names}): their actions show as "
    "removed because the source does not carry them, so those removals are marked info, "
    "not breaking",
    "old": "the old source lists no actions for {n} services ({names}): their actions show as "
    "added because the old source did not carry them",
}
GAP_NAMES_SHOWN = 12
"""How many service prefixes a source-gap note names before it says "and N more"."""


NOT_COMPARED_NAMES_SHOWN = 8
"""How many service prefixes a "not compared" line names before it says "and N more"."""


def not_compared_lines(
    d: CatalogDiff, code: Callable[[str], str], text: Callable[[str], str] = str
) -> list[str]:
    """One line per field and reason the diff did not compare (one side does not carry
    the field), naming the services: ``action.dependent_actions: not carried by the new
    side (…) — 6 services (a, b, …)``."""
    out = []
    for field, reason, services in d.not_compared_by_reason():
        names = ", ".join(code(p) for p in services[:NOT_COMPARED_NAMES_SHOWN])
        if len(services) > NOT_COMPARED_NAMES_SHOWN:
            names += f" and {len(services) - NOT_COMPARED_NAMES_SHOWN} more"
        out.append(f"{code(field)}: {text(reason)} — {plural(len(services), 'service')} ({names})")
    return out


def gap_notes(d: CatalogDiff) -> list[tuple[str, list[str]]]:
    """(note template, prefixes) for each side whose source lacks some services' actions."""
    out = []
    for side in ("old", "new"):
        prefixes = [prefix for prefix, s in d.source_gaps if s == side]
        if prefixes:
            out.append((GAP_NOTE[side], prefixes))
    return out


def _gap_text(template: str, prefixes: list[str], code: Callable[[str], str]) -> str:
    names = ", ".join(code(p) for p in prefixes[:GAP_NAMES_SHOWN])
    if len(prefixes) > GAP_NAMES_SHOWN:
        names += f" and {len(prefixes) - GAP_NAMES_SHOWN} more"
    return template.format(n=len(prefixes), names=names)


def _severity_line(counts: Counter[ChangeSeverity]) -> list[tuple[ChangeSeverity, int]]:
    return [(s, counts[s]) for s in ChangeSeverity if counts[s]]


# --------------------------------------------------------------------------- Markdown


def md_code(text: str) -> str:
    """``text`` as a Markdown code span, whatever backticks it holds."""
    text = text.replace("\n", " ")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# Characters that mean something mid-line in GitHub Markdown; < > & are escaped as
# HTML. Text never starts a line here, so line-start markers (#, -, +, 1.) are safe.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_text(text: str, limit: int = MD_TEXT_CHARS) -> str:
    """Plain text made inert in Markdown (and HTML), shortened to ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return html.escape(text, quote=False)


def _md_value(value: Value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return md_code("true" if value else "false")
    if isinstance(value, ResourceTypeRow):
        return _md_row(value)
    if isinstance(value, tuple):
        return ", ".join(md_code(v) for v in value) if value else "(none)"
    return md_code(value)


def _md_row(row: ResourceTypeRow) -> str:
    parts = ["required" if row.required else "optional"]
    if row.condition_keys:
        parts.append("keys " + ", ".join(md_code(k) for k in row.condition_keys))
    if row.dependent_actions:
        parts.append("dependent actions " + ", ".join(md_code(a) for a in row.dependent_actions))
    return "; ".join(parts)


def _md_delta(old: Value, new: Value) -> str:
    assert isinstance(old, tuple) and isinstance(new, tuple)
    added, removed = list_delta(old, new)
    parts = [f"+{md_code(v)}" for v in added] + [f"−{md_code(v)}" for v in removed]
    return " ".join(parts)


def md_line(c: Change) -> str:
    """One bullet for one change (without the severity marker)."""
    if c.kind.verb != "changed":
        if c.kind.item_type == "service":
            return _kind_phrase(c)
        line = f"{_kind_phrase(c)}: {md_code(c.item or '')}"
        a = c.subject
        if isinstance(a, Action):
            # what a reviewer asks of a new (or gone) action: how much it grants
            line += f" ({md_text(levels_text(a), 80)})"
            if a.description:
                line += f" — {md_text(a.description, 200)}"
            passes = c.passes_roles or pass_role_route(a)
            if passes:
                line += f"; can pass roles ({md_code(passes)})"
        return line
    subject = (
        "service"
        if c.kind.item_type == "service"
        else (f"{_ITEM_LABEL[c.kind.item_type]} {md_code(c.item or '')}")
    )
    field = c.field or ""
    row = _ROW_FIELD.match(field)
    if row and row.group("sub") is None:
        verb = "added" if c.old is None else "removed"
        value = c.new if c.old is None else c.old
        assert isinstance(value, ResourceTypeRow)
        return f"{subject}: resource-type row {md_code(row.group('row'))} {verb} ({_md_row(value)})"
    sub = row.group("sub") if row else None
    where = (
        f"row {md_code(row.group('row'))} {_FIELD_WORDS.get(sub or '', sub)}"
        if row
        else _FIELD_WORDS.get(field, field)
    )
    if isinstance(c.old, tuple) and isinstance(c.new, tuple):
        return f"{subject} · {where}: {_md_delta(c.old, c.new)}"
    if isinstance(c.old, str) and isinstance(c.new, str) and field.endswith("description"):
        return f"{subject} · {where}: “{md_text(c.old)}” → “{md_text(c.new)}”"
    return f"{subject} · {where}: {_md_value(c.old)} → {_md_value(c.new)}"


def _md_bullet(c: Change) -> str:
    return f"- {md_line(c)}\n"


def _md_head(d: CatalogDiff) -> str:
    """Title, the two releases, the counts and the source notes."""
    s = d.summary
    lines = [f"## IAM catalog changes: {md_text(release_name(d, 'old'), 80)} → "]
    lines.append(f"{md_text(release_name(d, 'new'), 80)}\n\n| | old | new |\n|---|---|---|\n")
    for what, old, new in release_rows(d):
        cell = md_code if what == "catalog id" else md_text
        lines.append(f"| {what} | {cell(old)} | {cell(new)} |\n")
    if d.is_empty:
        lines.append("\n**No changes.**\n")
        lines.extend(_md_not_compared(d))
        return "".join(lines)
    counts = Counter({sev: s.severity_count(sev) for sev in ChangeSeverity})
    services = len({c.service.lower() for c in d.changes})
    sev_text = ", ".join(
        f"**{n} {sev.value}**" if sev is not ChangeSeverity.INFO else f"{n} {sev.value}"
        for sev, n in _severity_line(counts)
    )
    total = plural(len(d.changes), "change")
    lines.append(f"\n**{total}** in {plural(services, 'service')}: {sev_text}.\n\n")
    lines.append("| | added | removed | changed |\n|---|---:|---:|---:|\n")
    for item in ("service", "action", "resource_type", "condition_key"):
        row = [str(s[f"{item}s_{verb}"]) for verb in ("added", "removed", "changed")]
        lines.append(f"| {_ITEM_LABEL[item]}s | {' | '.join(row)} |\n")
    for template, prefixes in gap_notes(d):
        lines.append(f"\n> **Note:** {_gap_text(template, prefixes, md_code)}.\n")
    lines.extend(_md_not_compared(d))
    return "".join(lines)


def _md_not_compared(d: CatalogDiff) -> list[str]:
    found = not_compared_lines(d, md_code, md_text)
    if not found:
        return []
    head = "\n**Not compared** (one side does not carry the field; no change reported):\n\n"
    return [head, *(f"- {line}\n" for line in found)]


MD_PHRASES_SHOWN = 4
"""How many kinds of change a service's count line names before "…"."""


def _md_phrase(c: Change) -> str:
    """What kind of change ``c`` is, for counting: ``action removed``, ``action
    condition keys``, ``resource-type row added``."""
    if c.kind.verb != "changed":
        return _kind_phrase(c)
    row = _ROW_FIELD.match(c.field or "")
    if row:
        sub = row.group("sub")
        return f"row {_FIELD_WORDS.get(sub, sub)} changed" if sub else _html_kind(c)
    return f"{_ITEM_LABEL[c.kind.item_type]} {field_label(c.field)} changed"


def _md_count_line(service: str, title: str, changes: list[Change]) -> str:
    """One line for a service whose changes of one severity are counted, not listed."""
    phrases = Counter(_md_phrase(c) for c in changes).most_common()
    parts = [f"{n} × {phrase}" for phrase, n in phrases[:MD_PHRASES_SHOWN]]
    if len(phrases) > MD_PHRASES_SHOWN:
        parts.append("…")
    name = f" {md_text(title, 60)}" if title else ""
    return f"- {md_code(service)}{name}: **{len(changes)}** ({', '.join(parts)})\n"


def _md_block(service: str, title: str, changes: list[Change], bullets: dict[int, str]) -> str:
    name = f" {md_text(title, 120)}" if title else ""
    body = "".join(bullets[id(c)] for c in changes)
    return f"\n#### {md_code(service)}{name} · {plural(len(changes), 'change')}\n\n{body}"


def _md_urgent(
    d: CatalogDiff,
    severity: ChangeSeverity,
    groups: dict[str, list[Change]],
    bullets: dict[int, str],
    counted: set[str],
) -> str:
    """The section of one severity: services in ``counted`` as one count line each, the
    others with every change listed."""
    if not groups:
        return ""
    total = sum(len(cs) for cs in groups.values())
    out = [f"\n### {severity.value.capitalize()} changes ({total})\n"]
    if counted:
        out.append(
            f"\nCounted per service ({plural(len(counted), 'service')}; the HTML and JSON "
            "reports list each change):\n\n"
        )
        out.extend(
            _md_count_line(s, d.service_name(s), cs) for s, cs in groups.items() if s in counted
        )
    out.extend(
        _md_block(s, d.service_name(s), cs, bullets) for s, cs in groups.items() if s not in counted
    )
    return "".join(out)


def _md_rest_line(left: dict[str, list[Change]]) -> str:
    if not left:
        return ""
    n = sum(len(cs) for cs in left.values())
    names = " · ".join(f"{md_code(s)} {len(cs)}" for s, cs in left.items())
    return (
        f"\n_Not listed here: {plural(n, 'info change')} in {plural(len(left), 'service')} "
        f"(the HTML and JSON reports have every change):_ {names}\n"
    )


def _md_info(
    d: CatalogDiff, groups: dict[str, list[Change]], bullets: dict[int, str], budget: int | None
) -> str:
    """The info changes: each service folded in ``<details>``, as many as ``budget``
    characters hold (in service order), and a count of the rest."""
    if not groups:
        return ""
    total = sum(len(cs) for cs in groups.values())
    out = [f"\n### Other changes ({total} info)\n\n"]
    blocks = {
        s: (
            f"<details><summary>{html.escape(s)} {html.escape(d.service_name(s))} · "
            f"{plural(len(cs), 'info change')}</summary>\n\n"
            + "".join(bullets[id(c)] for c in cs)
            + "\n</details>\n"
        )
        for s, cs in groups.items()
    }
    if budget is None:
        return "".join(out) + "".join(blocks.values())
    left = dict(groups)
    room = budget - len(out[0]) - len(_md_rest_line(left))
    for s, block in blocks.items():
        if len(block) <= room:
            out.append(block)
            room -= len(block)
            del left[s]
            # what the count of the rest no longer needs
            room += len(f" · {md_code(s)} {len(groups[s])}")
    out.append(_md_rest_line(left))
    return "".join(out)


def render_markdown(d: CatalogDiff, *, limit: int | None = MD_LIMIT) -> str:
    """The Markdown report, at most ``limit`` characters (None: everything).

    After the releases and counts come every breaking change, then every security
    change, grouped by service; then the info changes, each service folded. When the
    breaking and security lists do not fit, the services with the longest lists are
    counted (one line each: how many changes of which kind) instead of listed, until
    they fit; the info changes take what room is left, and the rest are counted.
    """
    head = _md_head(d)
    if d.is_empty:
        return head
    bullets = {id(c): _md_bullet(c) for c in d.changes}
    by_sev = {sev: _by_service(c for c in d.changes if c.severity is sev) for sev in ChangeSeverity}
    urgent = (ChangeSeverity.BREAKING, ChangeSeverity.SECURITY)
    counted: dict[ChangeSeverity, set[str]] = {sev: set() for sev in urgent}

    def urgent_text() -> str:
        return "".join(_md_urgent(d, sev, by_sev[sev], bullets, counted[sev]) for sev in urgent)

    text = urgent_text()
    info = by_sev[ChangeSeverity.INFO]
    if limit is not None:
        # room for the count of every info service, so the info section always fits
        reserve = len(_md_rest_line(info)) + 200
        budget = limit - len(head) - reserve
        saving: list[tuple[int, int, str]] = []
        if len(text) > budget:
            # count, instead of list, the services whose lists are longest
            saving = sorted(
                (
                    len(_md_block(s, "", cs, bullets)) - len(_md_count_line(s, "", cs)),
                    sev.rank,
                    s,
                )
                for sev in urgent
                for s, cs in by_sev[sev].items()
            )
            excess = len(text) - budget
            while excess > 0 and saving:
                gain, rank, service = saving.pop()
                counted[urgent[rank]].add(service)
                excess -= gain
            text = urgent_text()
        rest = _md_info(d, info, bullets, limit - len(head) - len(text))
        # The count lines were estimated without service names: count more services
        # until the whole really fits.
        while len(head) + len(text) + len(rest) > limit and saving:
            _, rank, service = saving.pop()
            counted[urgent[rank]].add(service)
            text = urgent_text()
            rest = _md_info(d, info, bullets, limit - len(head) - len(text))
    else:
        rest = _md_info(d, info, bullets, None)
    return head + text + rest


# --------------------------------------------------------------------------- HTML


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_code(text: str) -> str:
    return f"<code>{_h(text)}</code>"


_TOKEN = re.compile(r"\$\{[^}]*\}|\w+|\s+|.", re.S)
INLINE_DIFF_MIN_RATIO = 0.4
"""Below this similarity two texts count as rewritten and are shown without marks."""
INLINE_DIFF_MAX_CHARS = 2000
"""Longer texts are shown without marks (difflib is quadratic)."""


def inline_diff(a: str, b: str) -> tuple[str, str] | None:
    """Escaped HTML of ``a`` and ``b`` with the differing runs in ``<del>`` / ``<ins>``,
    or None when the two are too different (or too long) for marks to help."""
    if len(a) > INLINE_DIFF_MAX_CHARS or len(b) > INLINE_DIFF_MAX_CHARS:
        return None
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    if matcher.ratio() < INLINE_DIFF_MIN_RATIO:
        return None
    out_a: list[str] = []
    out_b: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        sa, sb = _h("".join(ta[i1:i2])), _h("".join(tb[j1:j2]))
        if op == "equal":
            out_a.append(sa)
            out_b.append(sb)
            continue
        if sa:
            out_a.append(f"<del>{sa}</del>")
        if sb:
            out_b.append(f"<ins>{sb}</ins>")
    return "".join(out_a), "".join(out_b)


PAIR_CANDIDATES = 3
"""How many added values on each side a removed value is scored against: the one at the
same place in the list and its neighbours, and its neighbours in sorted order."""


def _pair(removed: list[str], added: list[str]) -> dict[str, tuple[str, str]]:
    """Inline diffs of removed and added values that look like edits of each other,
    keyed by lower-cased value (both sides).

    Each removed value is scored against a bounded set of candidates (an edit keeps its
    place in the list, or sorts next to the old value), not against every added value:
    one resource type whose 400 ARN formats all changed took 34 s with every pair scored.
    """
    out: dict[str, tuple[str, str]] = {}
    free = set(range(len(added)))
    by_text = sorted(range(len(added)), key=lambda j: added[j])
    texts = [added[j] for j in by_text]
    for i, r in enumerate(removed):
        if not free:
            break
        here = bisect.bisect_left(texts, r)
        near = {
            *range(i - PAIR_CANDIDATES, i + PAIR_CANDIDATES + 1),
            *(
                by_text[k]
                for k in range(max(0, here - PAIR_CANDIDATES), here + PAIR_CANDIDATES)
                if k < len(by_text)
            ),
        }
        candidates = sorted(j for j in near & free)
        if not candidates:
            continue
        best = max(candidates, key=lambda j: difflib.SequenceMatcher(None, r, added[j]).ratio())
        marks = inline_diff(r, added[best])
        if marks is not None:
            out[r.lower()] = (marks[0], "")
            out[added[best].lower()] = ("", marks[1])
            free.discard(best)
    return out


UNCHANGED_SHOWN = 3
"""A list with more unchanged values than this shows them folded, under a count."""


def _html_list(
    values: Sequence[str], marked: set[str], cls: str, edits: dict[str, tuple[str, str]]
) -> str:
    """A list of values with the changed ones marked; in a list with many unchanged
    values (an action's 20 condition keys of which one changed) the unchanged ones fold
    under a count, so the change is what the eye meets."""
    if not values:
        return '<span class="none">(none)</span>'
    changed = [v for v in values if v.lower() in edits or v.lower() in marked]
    kept = set(changed)
    same = [f"<li><code>{_h(v)}</code></li>" for v in values if v not in kept]
    if not changed or len(same) <= UNCHANGED_SHOWN:
        # nothing marked (a list shown whole), or few unchanged: keep the page's order
        return f'<ul class="vals">{"".join(_in_order(values, marked, cls, edits))}</ul>'
    folded = (
        f'<li class="same"><details><summary>{len(same)} unchanged</summary>'
        f'<ul class="vals">{"".join(same)}</ul></details></li>'
    )
    items = _in_order(changed, marked, cls, edits)
    return f'<ul class="vals">{"".join(items)}{folded}</ul>'


def _in_order(
    values: Sequence[str], marked: set[str], cls: str, edits: dict[str, tuple[str, str]]
) -> list[str]:
    out = []
    for v in values:
        key = v.lower()
        if key in edits:
            text = edits[key][0] or edits[key][1]
            out.append(f'<li class="edit"><code>{text}</code></li>')
        elif key in marked:
            out.append(f'<li class="{cls}"><code>{_h(v)}</code></li>')
        else:
            out.append(f"<li><code>{_h(v)}</code></li>")
    return out


def _html_row(row: ResourceTypeRow) -> str:
    parts = [f"<b>{'required' if row.required else 'optional'}</b>"]
    if row.condition_keys:
        keys = ", ".join(f"<code>{_h(k)}</code>" for k in row.condition_keys)
        parts.append(f"keys: {keys}")
    if row.dependent_actions:
        deps = ", ".join(f"<code>{_h(a)}</code>" for a in row.dependent_actions)
        parts.append(f"dependent actions: {deps}")
    return "<br>".join(parts)


_NONE = '<span class="none">(none)</span>'


def _html_scalar(value: Value) -> str:
    if value is None:
        return _NONE
    if isinstance(value, bool):
        return f"<code>{'true' if value else 'false'}</code>"
    if isinstance(value, ResourceTypeRow):
        return _html_row(value)
    if isinstance(value, tuple):
        return _html_list(value, set(), "", {})
    if value.startswith(("https://", "http://")):
        return f'<span class="url">{_h(value)}</span>'
    if " " in value:
        return _h(value)
    return f"<code>{_h(value)}</code>"


def _html_values(c: Change) -> tuple[str, str]:
    if c.kind.verb != "changed":
        return "", ""
    if isinstance(c.old, tuple) and isinstance(c.new, tuple):
        added, removed = list_delta(c.old, c.new)
        # Only an ARN format is edited in place; two condition keys or actions that
        # look alike are still different names, so they are never paired.
        edits = _pair(removed, added) if c.field == "arn_formats" else {}
        return (
            _html_list(c.old, {v.lower() for v in removed}, "del", edits),
            _html_list(c.new, {v.lower() for v in added}, "ins", edits),
        )
    if isinstance(c.old, str) and isinstance(c.new, str):
        marks = inline_diff(c.old, c.new)
        if marks is not None:
            cls = "url" if c.old.startswith(("https://", "http://")) else "text"
            return (
                f'<span class="{cls}">{marks[0]}</span>',
                f'<span class="{cls}">{marks[1]}</span>',
            )
    return _html_scalar(c.old), _html_scalar(c.new)


def _html_kind(c: Change) -> str:
    row = _ROW_FIELD.match(c.field or "")
    if row and row.group("sub") is None:
        return "resource-type row " + ("added" if c.old is None else "removed")
    return _kind_phrase(c)


_FIELD_WORDS = {
    "access_level": "access level",
    "access_levels": "access levels",
    "api_reference": "API reference",
    "arn_formats": "ARN formats",
    "condition_keys": "condition keys",
    "dependent_actions": "dependent actions",
    "permission_only": "permission only",
}


def field_label(field: str | None) -> str:
    """A changed field in words: ``resource_types[object].required`` is ``row object:
    required``, ``access_level`` is ``access level``."""
    if not field:
        return ""
    row = _ROW_FIELD.match(field)
    if row:
        sub = row.group("sub")
        where = f"row {row.group('row')}"
        return f"{where}: {_FIELD_WORDS.get(sub, sub)}" if sub else where
    return _FIELD_WORDS.get(field, field)


def anchor(name: str) -> str:
    """The id a SAR page gives an item: ``aws:RequestTag/${TagKey}`` is
    ``aws_RequestTag___TagKey_`` (after the page's anchor base and a hyphen)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def levels_text(action: Action) -> str:
    """An action's access levels as the page lists them (``Tagging, Write``)."""
    levels = action.access_levels or ((action.access_level,) if action.access_level else ())
    return ", ".join(level.value for level in levels) or "no access level given"


def _html_item_detail(c: Change) -> str:
    """What an added or removed action is: access levels, description, pass-role."""
    a = c.subject
    if not isinstance(a, Action) or c.kind.verb == "changed":
        return ""
    parts = [f'<span class="lvl">{_h(levels_text(a))}</span>']
    if a.description:
        parts.append(f'<span class="text">{_h(a.description)}</span>')
    passes = c.passes_roles or pass_role_route(a)
    if passes:
        parts.append(f"can pass roles: <code>{_h(passes)}</code>")
    return "<br>".join(parts)


def _dependents(a: Action) -> list[str]:
    return [*a.dependent_actions, *(d for r in a.resource_types for d in r.dependent_actions)]


_SEV_INDEX = {sev: i for i, sev in enumerate(ChangeSeverity)}
_VERBS = ("added", "removed", "changed")
_TYPES = tuple(_ITEM_LABEL)
# Fields whose values are names a search may ask for (an operation's are its actions).
_KEY_FIELDS = re.compile(r"(condition_keys|dependent_actions|authorized_actions|operations\[.*\])$")


def _search_tokens(c: Change) -> list[str]:
    """What a search term is matched against besides the service prefix, the item and
    ``prefix:item`` (the script adds those), lower-cased: the field's last word and the
    condition keys and dependent actions the change names."""
    tokens: list[str] = []
    if c.field:
        tokens.append(c.field.rsplit(".", 1)[-1].split("[", 1)[0].lower())
        if _KEY_FIELDS.search(c.field):
            for value in (c.old, c.new):
                if isinstance(value, tuple):
                    tokens += [v.lower() for v in value]
    for value in (c.old, c.new):
        if isinstance(value, ResourceTypeRow):
            tokens += [k.lower() for k in (*value.condition_keys, *value.dependent_actions)]
    if isinstance(c.subject, Action) and c.kind.verb != "changed":
        a = c.subject
        tokens += [k.lower() for k in (*a.condition_keys, *_dependents(a))]
        tokens += [k.lower() for r in a.resource_types for k in r.condition_keys]
    return list(dict.fromkeys(tokens))


DOCS = "https://docs.aws.amazon.com/"
"""Left off the start of the API links in the page's data (the script puts it back)."""


def why(c: Change) -> str:
    """Why a breaking or security change has its severity, in a few words ("" for info);
    the rules are :mod:`output.diff`'s."""
    if c.severity is ChangeSeverity.INFO:
        return ""
    if c.kind.verb == "removed":
        return "removed: policies naming it no longer match"
    if c.kind.verb == "added":
        a = c.subject
        if c.passes_roles or (isinstance(a, Action) and pass_role_route(a)):
            return "a new action that can pass roles"
        return "a new action that manages permissions"
    field = c.field or ""
    row = _ROW_FIELD.match(field)
    if row and row.group("sub") is None:
        if c.old is not None:
            return "a resource-type row removed"
        if c.severity is ChangeSeverity.BREAKING:
            return "a new required row: the action now needs that resource"
        return "a new dependent action"
    if field.startswith("operations["):
        return "an API operation that newly authorises iam:PassRole"
    if field.endswith(".required"):
        return "the row became required"
    if field == "arn_formats":
        return "an ARN format changed or removed"
    if field.endswith("condition_keys"):
        return "a condition key no longer available to the action"
    if field.endswith("dependent_actions"):
        return "a new dependent action"
    if field.startswith("access_level"):
        return "access level to or from Permissions management or Write"
    return ""


def _html_data_row(c: Change) -> list[object]:
    """One change as the page's script draws it: severity, verb and item type as
    indexes, the item's name, HTML cells (already escaped), the search tokens and the
    API reference (its item link is made from the service's page and the name)."""
    old, new = _html_values(c)
    if c.kind.verb == "added":
        new = _html_item_detail(c)
    elif c.kind.verb == "removed":
        old = _html_item_detail(c)
    row = _ROW_FIELD.match(c.field or "")
    if row and row.group("sub") is None:  # a whole row added or removed
        old, new = [
            v if v != _NONE else '<span class="none">(no such row)</span>' for v in (old, new)
        ]
    api = c.subject.api_reference if isinstance(c.subject, Action) else None
    if api and api.startswith(DOCS):
        api = api[len(DOCS) :]
    return [
        _SEV_INDEX[c.severity],
        _VERBS.index(c.kind.verb),
        _TYPES.index(c.kind.item_type),
        c.item or "",
        _h(_html_kind(c)),
        _h(field_label(c.field)),
        old,
        new,
        " ".join(_search_tokens(c)),
        api or "",
        _h(why(c)),
    ]


def _html_service_data(d: CatalogDiff, service: str, changes: list[Change]) -> list[object]:
    """``[prefix, rows, new page, old page, API base]``. Most API links of a service are
    ``<base><action>.html``: those rows hold ``=`` and the base is given once (1.4 of the
    9.9 MB of the 2020 -> 2026 page were API links)."""
    rows = [_html_data_row(c) for c in changes]
    bases = Counter(
        str(r[9])[: -len(f"{r[3]}.html")]
        for r in rows
        if r[9] and str(r[9]).endswith(f"{r[3]}.html")
    )
    base = bases.most_common(1)[0][0] if bases else ""
    if base:
        for r in rows:
            if r[9] == f"{base}{r[3]}.html":
                r[9] = "="
    return [service, rows, _html_page(d, service, "new"), _html_page(d, service, "old"), base]


def _html_page(d: CatalogDiff, service: str, side: str) -> str:
    """``url#anchor-base`` of a service's page on one side, for the script's links."""
    found = [page for p, s, page in d.pages if p == service and s == side]
    return found[0] if found else ""


def release_rows(d: CatalogDiff) -> list[tuple[str, str, str]]:
    """(what, old, new) lines that say which two releases a report compares."""
    rows = [("catalog id", d.old_id, d.new_id)]
    old, new = d.old_source, d.new_source
    created = [(s.created_at if s is not None else None) or "" for s in (old, new)]
    if any(created):
        rows.append(
            ("snapshot taken", created[0] or "(no snapshot)", created[1] or "(no snapshot)")
        )
    rows.append(("built from", d.old_label, d.new_label))
    notes = [(s.note if s is not None else None) or "" for s in (old, new)]
    if any(notes):
        rows.append(("note", notes[0] or "(none)", notes[1] or "(none)"))
    return rows


def release_name(d: CatalogDiff, side: str) -> str:
    """How a report names one side: the snapshot's date, else its note, else its id."""
    source = d.old_source if side == "old" else d.new_source
    ident = d.old_id if side == "old" else d.new_id
    created = source.created_at if source is not None else None
    if created:
        return created[:10]
    if source is not None and source.note:
        return source.note if len(source.note) <= 60 else source.note[:59] + "…"
    return ident


def _html_releases(d: CatalogDiff) -> str:
    rows = "".join(
        f"<tr><th>{_h(what)}</th><td>{_h(old)}</td><td>{_h(new)}</td></tr>"
        for what, old, new in release_rows(d)
    )
    return (
        '<table class="releases"><thead><tr><th></th><th>old</th><th>new</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _html_summary(d: CatalogDiff) -> str:
    s = d.summary
    rows = []
    for item in ("service", "action", "resource_type", "condition_key"):
        cells = "".join(
            f'<td class="n">{s[f"{item}s_{verb}"]}</td>' for verb in ("added", "removed", "changed")
        )
        rows.append(f"<tr><th>{_h(_ITEM_LABEL[item])}s</th>{cells}</tr>")
    sev = "".join(
        f'<li><a href="#sev={sev.value}"><span class="sev {sev.value}">{sev.value}</span> '
        f'<span class="n" id="count-{sev.value}">{s.severity_count(sev)}</span></a></li>'
        for sev in ChangeSeverity
    )
    notes = "".join(
        f'<p class="note"><b>Note:</b> {_gap_text(template, prefixes, _html_code)}.</p>'
        for template, prefixes in gap_notes(d)
    )
    not_compared = not_compared_lines(d, _html_code, _h)
    if not_compared:
        notes += (
            '<details class="note" id="not-compared"><summary><b>Not compared</b> '
            f"({plural(len(not_compared), 'field')}: one side does not carry it; no change "
            "reported)</summary><ul>"
            + "".join(f"<li>{line}</li>" for line in not_compared)
            + "</ul></details>"
        )
    return (
        notes + '<section id="summary"><table class="summary"><thead><tr><th></th>'
        '<th class="n">added</th><th class="n">removed</th><th class="n">changed</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        f'<ul class="sevs">{sev}</ul>{_html_releases(d)}</section>'
    )


def _html_index(d: CatalogDiff, groups: dict[str, list[Change]]) -> str:
    """Every changed service with its counts by severity, most breaking first."""
    entries = []
    for service, changes in groups.items():
        counts = Counter(c.severity for c in changes)
        kinds = {c.kind for c in changes}
        status = (
            "new"
            if ChangeKind.SERVICE_ADDED in kinds
            else "removed"
            if ChangeKind.SERVICE_REMOVED in kinds
            else ""
        )
        entries.append((service, counts, status, len(changes)))
    entries.sort(
        key=lambda e: (
            -e[1][ChangeSeverity.BREAKING],
            -e[1][ChangeSeverity.SECURITY],
            -e[3],
            e[0],
        )
    )
    rows = []
    for service, counts, status, total in entries:
        cells = "".join(
            f'<td class="n">{f"""<a class="sev {sev.value}" href="#sev={sev.value}&amp;q={_h(service)}">{counts[sev]}</a>""" if counts[sev] else ""}</td>'  # noqa: E501
            for sev in ChangeSeverity
        )
        tag = f' <span class="tag">{status}</span>' if status else ""
        rows.append(
            f'<tr><td><a href="#q={_h(service)}"><code>{_h(service)}</code></a>{tag}</td>'
            f'<td class="title">{_h(d.service_name(service))}</td>{cells}'
            f'<td class="n">{total}</td></tr>'
        )
    head = "".join(f'<th class="n">{sev.value}</th>' for sev in ChangeSeverity)
    return (
        f'<details id="index" open><summary>Services changed: {len(entries)} (most breaking '
        "first; a name shows only that service, a count only those changes)</summary>"
        f'<div class="index"><table><thead><tr><th>prefix</th><th>service</th>{head}'
        f'<th class="n">changes</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        "</div></details>"
    )


def _html_filters(d: CatalogDiff) -> str:
    sev_counts = Counter(c.severity.value for c in d.changes)
    verb_counts = Counter(c.kind.verb for c in d.changes)
    type_counts = Counter(c.kind.item_type for c in d.changes)

    def boxes(name: str, values: Iterable[tuple[str, str]], counts: Counter[str]) -> str:
        return "".join(
            f'<label><input type="checkbox" name="{name}" value="{_h(v)}" checked> '
            f'{_h(label)} <span class="n">({counts[v]})</span></label>'
            for v, label in values
        )

    return (
        '<form id="filters" onsubmit="return false">'
        f"<fieldset><legend>Severity</legend>{boxes('sev', [(s.value, s.value) for s in ChangeSeverity], sev_counts)}</fieldset>"  # noqa: E501
        f"<fieldset><legend>Change</legend>{boxes('verb', [(v, v) for v in _VERBS], verb_counts)}</fieldset>"  # noqa: E501
        f"<fieldset><legend>Item</legend>{boxes('type', list(_ITEM_LABEL.items()), type_counts)}</fieldset>"  # noqa: E501
        '<fieldset><legend>Search</legend><input type="search" id="q" '
        'placeholder="s3, s3:GetObject, GetObject, s3:Get*, a key" '
        'title="Exact names, several separated by spaces; * matches any text. A prefix (s3) '
        "shows that service, a name (GetObject) that item in any service, prefix:Action one "
        'action, a condition key every change that names it."></fieldset>'
        '<fieldset><button type="button" id="expand">expand all</button>'
        '<button type="button" id="collapse">collapse all</button></fieldset>'
        f'<p id="shown"><span id="shown-n">{len(d.changes)}</span> of '
        f"{plural(len(d.changes), 'change')} shown</p></form>"
    )


def _html_service(service: str, title: str, changes: list[Change], index: int) -> str:
    """A service's section; its rows are drawn by the script when it is opened."""
    counts = Counter(c.severity for c in changes)
    badges = "".join(
        f'<span class="sev {sev.value}">{n} {sev.value}</span>' for sev, n in _severity_line(counts)
    )
    kinds = {c.kind for c in changes}
    status = ""
    if ChangeKind.SERVICE_ADDED in kinds:
        status = '<span class="tag">new service</span>'
    elif ChangeKind.SERVICE_REMOVED in kinds:
        status = '<span class="tag">removed service</span>'
    urgent = counts[ChangeSeverity.BREAKING] + counts[ChangeSeverity.SECURITY]
    name = f' <span class="title">{_h(title)}</span>' if title else ""
    return (
        f'<details class="svc" id="svc-{_h(service)}" data-i="{index}"{" open" if urgent else ""}>'
        f"<summary><code>{_h(service)}</code>{name} {status}{badges}"
        f'<span class="shown">{plural(len(changes), "change")}</span></summary></details>'
    )


_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")


def _template() -> str:
    return (resources.files("iam_catalog.output.templates") / "diff.html").read_text(
        encoding="utf-8"
    )


def _script_json(data: object) -> str:
    """JSON to put inside ``<script type="application/json">``: ``<`` only ever occurs in
    JSON strings, where ``\\u003c`` means the same, so no ``</script>`` can end it early."""
    return orjson.dumps(data).decode("utf-8").replace("<", "\\u003c")


def render_html(d: CatalogDiff) -> str:
    """One self-contained HTML page: releases, summary, service index, filters, and a
    section per service whose rows the page's script draws from embedded data when the
    section is opened (a page of 29,000 rows drawn at once took 8 s to open)."""
    groups = _by_service(d.changes)
    if d.is_empty:
        sections = '<p class="empty">No changes: the two catalogs say the same thing.</p>'
        data: list[object] = []
    else:
        sections = "".join(
            _html_service(service, d.service_name(service), changes, i)
            for i, (service, changes) in enumerate(groups.items())
        )
        data = [
            _html_service_data(d, service, sorted(cs, key=lambda c: c.severity.rank))
            for service, cs in groups.items()
        ]
    fills = {
        "OLD": _h(release_name(d, "old")),
        "NEW": _h(release_name(d, "new")),
        "TOTAL": plural(len(d.changes), "change"),
        "SUMMARY": _html_summary(d),
        "INDEX": "" if d.is_empty else _html_index(d, groups),
        "FILTERS": "" if d.is_empty else _html_filters(d),
        "SERVICES": sections,
        "DATA": _script_json(data),
    }
    # One pass, so text filled in is never scanned for placeholders again.
    return _PLACEHOLDER.sub(lambda m: fills[m.group(1)], _template())


__all__ = [
    "FORMATS",
    "MD_LIMIT",
    "SUMMARY_KEYS",
    "list_delta",
    "md_code",
    "md_line",
    "md_text",
    "render",
    "render_html",
    "render_json",
    "render_markdown",
]
