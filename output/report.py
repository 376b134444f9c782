"""Diff reports: JSON for machines, Markdown for a pull request, one HTML page for people.

``render(d, fmt)`` returns the whole report as text. The JSON is the contract in
DESIGN.md ("Diff"). The Markdown starts with a summary table, then one section
per service with its breaking and security changes first and long lists folded
into ``<details>``. When it would not fit a pull-request body (:data:`MD_LIMIT`
characters) it adds a table of every changed service with its counts and keeps
breaking over security over info lines, round-robin over services, and says how
many it left out. The HTML page is self-contained (inline CSS and JS, no
external assets, everything escaped) and filters its rows by severity, kind,
item type and text; a link can preset the filters
(``report.html#sev=breaking,security&type=action&q=s3``).
"""

from __future__ import annotations

import difflib
import html
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from importlib import resources

import orjson

from iam_catalog.parsers.model import ResourceTypeRow

from .diff import SUMMARY_KEYS, CatalogDiff, Change, ChangeKind, ChangeSeverity, Value

FORMATS = ("json", "md", "html")
"""The report formats :func:`render` accepts."""

MD_LIMIT = 60_000
"""Most characters of a Markdown report: GitHub refuses pull-request bodies over
65,536 characters, and a margin leaves room for text around the report."""

MD_OPEN_LINES = 15
"""A service's breaking and security lines stay open up to this many; longer
lists, and every list of info lines, collapse into ``<details>``."""

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
        return f"{_kind_phrase(c)}: {md_code(c.item or '')}"
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
    where = f"row {md_code(row.group('row'))} {row.group('sub')}" if row else field
    if isinstance(c.old, tuple) and isinstance(c.new, tuple):
        return f"{subject} · {where}: {_md_delta(c.old, c.new)}"
    if isinstance(c.old, str) and isinstance(c.new, str) and field.endswith("description"):
        return f"{subject} · {where}: “{md_text(c.old)}” → “{md_text(c.new)}”"
    return f"{subject} · {where}: {_md_value(c.old)} → {_md_value(c.new)}"


def _md_bullet(c: Change) -> str:
    marker = "" if c.severity is ChangeSeverity.INFO else f"**{c.severity.value}** "
    return f"- {marker}{md_line(c)}\n"


def _md_summary(d: CatalogDiff) -> str:
    s = d.summary
    counts = Counter({sev: s.severity_count(sev) for sev in ChangeSeverity})
    services = len({c.service.lower() for c in d.changes})
    sev_text = ", ".join(
        f"**{n} {sev.value}**" if sev is not ChangeSeverity.INFO else f"{n} {sev.value}"
        for sev, n in _severity_line(counts)
    )
    lines = [
        "## IAM catalog changes\n",
        "\n",
        f"old {md_code(d.old_id)} ({d.old_label}) → new {md_code(d.new_id)} ({d.new_label}): ",
    ]
    if d.is_empty:
        lines.append("**no changes**.\n")
        return "".join(lines)
    total = plural(len(d.changes), "change")
    lines.append(f"**{total}** in {plural(services, 'service')}: {sev_text}.\n\n")
    lines.append("| | added | removed | changed |\n|---|---:|---:|---:|\n")
    for item in ("service", "action", "resource_type", "condition_key"):
        row = [str(s[f"{item}s_{verb}"]) for verb in ("added", "removed", "changed")]
        lines.append(f"| {_ITEM_LABEL[item]}s | {' | '.join(row)} |\n")
    for template, prefixes in gap_notes(d):
        lines.append(f"\n> **Note:** {_gap_text(template, prefixes, md_code)}.\n")
    return "".join(lines)


def render_markdown(d: CatalogDiff, *, limit: int | None = MD_LIMIT) -> str:
    """The Markdown report, at most ``limit`` characters (None: everything)."""
    head = _md_summary(d)
    if d.is_empty:
        return head
    groups = _by_service(d.changes)
    bullets = {id(c): _md_bullet(c) for c in d.changes}
    headings = {s: _md_heading(s, d.service_name(s), cs) for s, cs in groups.items()}
    whole = _md_body(head, "", groups, bullets, headings, set(bullets), limit)
    if limit is None or len(whole) <= limit:
        return whole
    overview = _md_overview(groups)
    order = _md_priority(d, groups)
    shown = _md_fit(order, bullets, headings, limit - len(head) - len(overview))
    text = _md_body(head, overview, groups, bullets, headings, set(shown), limit)
    # The fit estimates each service's wrappers; drop the least urgent lines until
    # the text really fits.
    while len(text) > limit and shown:
        excess_lines = (len(text) - limit) // 80 + 1
        shown = shown[: max(0, len(shown) - excess_lines)]
        text = _md_body(head, overview, groups, bullets, headings, set(shown), limit)
    return text


def _md_body(
    head: str,
    overview: str,
    groups: dict[str, list[Change]],
    bullets: dict[int, str],
    headings: dict[str, str],
    shown: set[int],
    limit: int | None,
) -> str:
    out = [head, overview]
    left_out = 0
    for service, changes in groups.items():
        visible = [c for c in changes if id(c) in shown]
        left_out += len(changes) - len(visible)
        if visible:
            out.append(_md_service(headings[service], service, changes, visible, bullets))
    if left_out:
        out.append(
            f"\n_{plural(left_out, 'more change')} not shown: this report is cut at {limit} "
            "characters to fit a pull-request body. The JSON and HTML reports have every "
            "change._\n"
        )
    return "".join(out)


def _md_priority(d: CatalogDiff, groups: dict[str, list[Change]]) -> list[Change]:
    """Changes most urgent first: breaking before security before info, and within a
    severity round-robin over services (every service's first breaking change before
    any service's second), so no service crowds out the rest."""
    turn: dict[int, int] = {}
    for changes in groups.values():
        seen: Counter[ChangeSeverity] = Counter()
        for c in changes:
            turn[id(c)] = seen[c.severity]
            seen[c.severity] += 1
    order = sorted(
        range(len(d.changes)),
        key=lambda i: (d.changes[i].severity.rank, turn[id(d.changes[i])], i),
    )
    return [d.changes[i] for i in order]


# Estimates: a service's <details> wrappers and its "N more changes of `service`
# not shown" line (plus the service's length); the closing note of a cut report.
_MD_WRAPPER_CHARS = 100
_MD_CLOSING_CHARS = 200


def _md_fit(
    order: list[Change], bullets: dict[int, str], headings: dict[str, str], budget: int
) -> list[int]:
    """Ids of the changes, in ``order``, that fit in ``budget`` characters."""
    budget -= _MD_CLOSING_CHARS
    shown: list[int] = []
    opened: set[str] = set()
    for c in order:
        cost = len(bullets[id(c)])
        if c.service not in opened:
            cost += len(headings[c.service]) + _MD_WRAPPER_CHARS + len(c.service)
        if cost > budget:
            continue
        budget -= cost
        opened.add(c.service)
        shown.append(id(c))
    return shown


def _md_overview(groups: dict[str, list[Change]]) -> str:
    """A table of every changed service and its counts, for a report that is cut."""
    rows = []
    for service, changes in groups.items():
        counts = Counter(c.severity for c in changes)
        cells = " | ".join(str(counts[sev]) for sev in ChangeSeverity)
        rows.append(f"| {md_code(service)} | {cells} |\n")
    header = "| service | " + " | ".join(s.value for s in ChangeSeverity) + " |\n"
    header += "|---|" + "---:|" * len(ChangeSeverity) + "\n"
    summary = html.escape(f"Changes per service ({len(groups)} services)")
    return f"\n<details><summary>{summary}</summary>\n\n{header}{''.join(rows)}\n</details>\n"


def _md_heading(service: str, title: str, changes: list[Change]) -> str:
    counts = Counter(c.severity for c in changes)
    tags = " · ".join(f"{n} {sev.value}" for sev, n in _severity_line(counts))
    kinds = {c.kind for c in changes}
    if ChangeKind.SERVICE_ADDED in kinds:
        tags = "new service · " + tags
    elif ChangeKind.SERVICE_REMOVED in kinds:
        tags = "removed service · " + tags
    name = f" {md_text(title, 120)}" if title else ""
    return f"\n### {md_code(service)}{name} · {tags}\n\n"


def _md_service(
    heading: str,
    service: str,
    changes: list[Change],
    visible: list[Change],
    bullets: dict[int, str],
) -> str:
    out = [heading]
    urgent = [c for c in visible if c.severity is not ChangeSeverity.INFO]
    info = [c for c in visible if c.severity is ChangeSeverity.INFO]
    urgent.sort(key=lambda c: c.severity.rank)  # stable: diff order within a severity
    if urgent:
        if len(urgent) <= MD_OPEN_LINES:
            out.extend(bullets[id(c)] for c in urgent)
        else:
            label = plural(len(urgent), "breaking and security change")
            out.append(_md_details(label, urgent, bullets))
    if info:
        if urgent and len(urgent) <= MD_OPEN_LINES:
            out.append("\n")
        out.append(_md_details(plural(len(info), "info change"), info, bullets))
    hidden = len(changes) - len(visible)
    if hidden:
        out.append(f"\n_{plural(hidden, 'more change')} of {md_code(service)} not shown._\n")
    return "".join(out)


def _md_details(summary: str, changes: list[Change], bullets: dict[int, str]) -> str:
    body = "".join(bullets[id(c)] for c in changes)
    return f"<details><summary>{html.escape(summary)}</summary>\n\n{body}\n</details>\n"


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


def _pair(removed: list[str], added: list[str]) -> dict[str, tuple[str, str]]:
    """Inline diffs of removed and added values that look like edits of each other,
    keyed by lower-cased value (both sides)."""
    out: dict[str, tuple[str, str]] = {}
    free = list(added)
    for r in removed:
        best = max(free, key=lambda x: difflib.SequenceMatcher(None, r, x).ratio(), default=None)
        if best is None:
            break
        marks = inline_diff(r, best)
        if marks is not None:
            out[r.lower()] = (marks[0], "")
            out[best.lower()] = ("", marks[1])
            free.remove(best)
    return out


def _html_list(
    values: Sequence[str], marked: set[str], cls: str, edits: dict[str, tuple[str, str]]
) -> str:
    if not values:
        return '<span class="none">(none)</span>'
    items = []
    for v in values:
        key = v.lower()
        if key in edits:
            text = edits[key][0] or edits[key][1]
            items.append(f'<li class="edit"><code>{text}</code></li>')
        elif key in marked:
            items.append(f'<li class="{cls}"><code>{_h(v)}</code></li>')
        else:
            items.append(f"<li><code>{_h(v)}</code></li>")
    return f'<ul class="vals">{"".join(items)}</ul>'


def _html_row(row: ResourceTypeRow) -> str:
    parts = [f"<b>{'required' if row.required else 'optional'}</b>"]
    if row.condition_keys:
        keys = ", ".join(f"<code>{_h(k)}</code>" for k in row.condition_keys)
        parts.append(f"keys: {keys}")
    if row.dependent_actions:
        deps = ", ".join(f"<code>{_h(a)}</code>" for a in row.dependent_actions)
        parts.append(f"dependent actions: {deps}")
    return "<br>".join(parts)


def _html_scalar(value: Value) -> str:
    if value is None:
        return '<span class="none">(none)</span>'
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


def _html_change_row(c: Change) -> str:
    old, new = _html_values(c)
    search = f"{c.service} {c.item or ''} {c.field or ''}".lower()
    return (
        f'<tr data-sev="{c.severity.value}" data-verb="{c.kind.verb}" '
        f'data-type="{c.kind.item_type}" data-q="{_h(search)}">'
        f'<td><span class="sev {c.severity.value}">{c.severity.value}</span></td>'
        f"<td>{_h(_html_kind(c))}</td>"
        f"<td><code>{_h(c.item or '')}</code></td>"
        f"<td>{_h(c.field or '')}</td>"
        f'<td class="old">{old}</td><td class="new">{new}</td></tr>'
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
        f'<li><span class="sev {sev.value}">{sev.value}</span> '
        f'<span class="n" id="count-{sev.value}">{s.severity_count(sev)}</span></li>'
        for sev in ChangeSeverity
    )
    notes = "".join(
        f'<p class="note"><b>Note:</b> {_gap_text(template, prefixes, _html_code)}.</p>'
        for template, prefixes in gap_notes(d)
    )
    return (
        notes + '<section id="summary"><table class="summary"><thead><tr><th></th>'
        '<th class="n">added</th><th class="n">removed</th><th class="n">changed</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        f'<ul class="sevs">{sev}</ul></section>'
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
        f"<fieldset><legend>Change</legend>{boxes('verb', [(v, v) for v in ('added', 'removed', 'changed')], verb_counts)}</fieldset>"  # noqa: E501
        f"<fieldset><legend>Item</legend>{boxes('type', list(_ITEM_LABEL.items()), type_counts)}</fieldset>"  # noqa: E501
        '<fieldset><legend>Search</legend><input type="search" id="q" '
        'placeholder="service, name or field"></fieldset>'
        '<fieldset><button type="button" id="expand">expand all</button>'
        '<button type="button" id="collapse">collapse all</button></fieldset>'
        f'<p id="shown"><span id="shown-n">{len(d.changes)}</span> of {len(d.changes)} '
        "changes shown</p></form>"
    )


def _html_service(service: str, title: str, changes: list[Change]) -> str:
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
    ordered = sorted(changes, key=lambda c: c.severity.rank)
    urgent = counts[ChangeSeverity.BREAKING] + counts[ChangeSeverity.SECURITY]
    name = f' <span class="title">{_h(title)}</span>' if title else ""
    body = "".join(_html_change_row(c) for c in ordered)
    return (
        f'<details class="svc" id="svc-{_h(service)}"{" open" if urgent else ""}>'
        f"<summary><code>{_h(service)}</code>{name} {status}{badges}"
        f'<span class="shown"></span></summary>'
        '<table class="changes"><thead><tr><th>severity</th><th>change</th><th>item</th>'
        "<th>field</th><th>old</th><th>new</th></tr></thead>"
        f"<tbody>{body}</tbody></table></details>"
    )


_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")


def _template() -> str:
    return (resources.files("iam_catalog.output.templates") / "diff.html").read_text(
        encoding="utf-8"
    )


def render_html(d: CatalogDiff) -> str:
    """One self-contained HTML page: summary, filters, a section per service."""
    if d.is_empty:
        sections = '<p class="empty">No changes: the two catalogs say the same thing.</p>'
    else:
        sections = "".join(
            _html_service(service, d.service_name(service), changes)
            for service, changes in _by_service(d.changes).items()
        )
    fills = {
        "OLD": _h(d.old_id),
        "NEW": _h(d.new_id),
        "OLD_LABEL": _h(d.old_label),
        "NEW_LABEL": _h(d.new_label),
        "TOTAL": str(len(d.changes)),
        "SUMMARY": _html_summary(d),
        "FILTERS": "" if d.is_empty else _html_filters(d),
        "SERVICES": sections,
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
