"""Mutants of real corpus pages in every source format, for ``tests/test_fuzz_pages.py``.

Seeds are corpus pages (the text formats rendered from corpus HTML by
:mod:`tests.textrender`); a mutant is a seed with local damage, the kind a bad
download, a hand edit or a broken extraction leaves: bytes inserted, deleted or
replaced, a run of markup characters, the text cut off, a JSON value of the wrong
type. Everything is drawn from one :class:`random.Random` with a fixed seed, so a run
makes the same mutants every time.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.textrender import read_page, render_flat, render_pipe

SEED = 17
# Seeds per format: small pages, so that 1,000+ mutants parse within the test's budget.
SEEDS_PER_FORMAT = 4
MAX_SEED_BYTES = 50_000
# A seed must have actions to lose (most 2020 markdown pages replace their actions table
# with a link).
MIN_SEED_ACTIONS = 3

# Characters and runs that mean something to one of the formats.
_MARKUP = [
    "<",
    ">",
    "</tr>",
    "<tr>",
    "<td>",
    "</td>",
    "<table>",
    "</table>",
    "<p>",
    "<br>",
    "|",
    "||",
    "\n",
    "\n\n",
    "*",
    "**",
    "`",
    "[",
    "]",
    "(",
    ")",
    "#",
    "- ",
    "> ",
    "\\",
    "&",
    "&amp;",
    ":",
    "$",
    "{",
    "}",
    '"',
    ",",
    "\t",
    "\u202e",
    "\u00a0",
    "\x00",
    "\ufffd",
    "Read",
    "Write",
    "[permission only]",
]
_RUNS = ["*", "<span>", "<div>", ">", "|", "[", "![", "- ", "  ", "{", "["]


@dataclass(frozen=True)
class Seed:
    """A corpus page in one format."""

    format: str
    name: str
    data: bytes


def seeds(corpus: Path) -> list[Seed]:
    """Small corpus pages of every format (text formats rendered from HTML)."""

    from iam_catalog.output.build import parse_bytes
    from iam_catalog.parsers.model import ParsedPage

    def has_actions(path: Path) -> bool:
        page = parse_bytes(path, path.read_bytes())
        return isinstance(page, ParsedPage) and len(page.actions) >= MIN_SEED_ACTIONS

    def small(paths: Iterator[Path], count: int) -> list[Path]:
        found = sorted(p for p in paths if 4_000 < p.stat().st_size < MAX_SEED_BYTES)
        step = max(1, len(found) // count)
        spread = found[::step] + [p for i, p in enumerate(found) if i % step]
        chosen: list[Path] = []
        for p in spread:
            if len(chosen) == count:
                break
            if has_actions(p):
                chosen.append(p)
        return chosen

    html_2026 = small((corpus / "html" / "2026-04-01_110d32e3").glob("*.html"), SEEDS_PER_FORMAT)
    out = [Seed("html", f"{p.parent.name}/{p.name}", p.read_bytes()) for p in html_2026]
    html_2020 = small((corpus / "html" / "2020-11-01_65f99eab").glob("*.html"), 2)
    out += [Seed("html", f"{p.parent.name}/{p.name}", p.read_bytes()) for p in html_2020]
    md = small((corpus / "markdown" / "2020-11-06_b585974").glob("*.md"), SEEDS_PER_FORMAT)
    out += [Seed("markdown-table", f"{p.parent.name}/{p.name}", p.read_bytes()) for p in md]
    md_list = small((corpus / "new-layout-md").rglob("*.md"), SEEDS_PER_FORMAT)
    out += [Seed("markdown-list", f"{p.parent.name}/{p.name}", p.read_bytes()) for p in md_list]
    sr = small((corpus / "servicereference" / "2026-03-31").rglob("*.json"), SEEDS_PER_FORMAT)
    out += [Seed("service-reference", f"{p.parent.name}/{p.name}", p.read_bytes()) for p in sr]
    rng = random.Random(SEED)
    for path in html_2026:
        page = read_page(path.read_bytes())
        for fmt, render in (("pipe-text", render_pipe), ("flat-text", render_flat)):
            text = render(page, rng)
            out.append(Seed(fmt, f"{path.stem}.{fmt}.txt", text.encode("utf-8")))
    return out


# --------------------------------------------------------------------------- mutations


def _insert(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(_MARKUP).encode("utf-8") + data[at:]


def _delete(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + data[at + rng.randint(1, 16) :]


def _replace(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + rng.choice(_MARKUP).encode("utf-8") + data[at + rng.randint(1, 8) :]


def _flip(data: bytes, rng: random.Random) -> bytes:
    """One byte changed: mostly to another ASCII character (any byte is rarely valid
    UTF-8, and the whole page is then refused before any parser sees it)."""
    at = rng.randrange(len(data))
    byte = rng.randrange(256) if rng.random() < 0.1 else rng.randrange(32, 127)
    return data[:at] + bytes([byte]) + data[at + 1 :]


def _run(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    run = rng.choice(_RUNS) * rng.choice([50, 300, 1000])
    return data[:at] + run.encode("utf-8") + data[at:]


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def _repeat(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data))
    span = data[at : at + rng.randint(1, 200)]
    return data[:at] + span * rng.randint(2, 200) + data[at:]


def _json_value(data: bytes, rng: random.Random) -> bytes:
    """One value somewhere in the JSON document replaced by a value of another type."""
    try:
        doc = json.loads(data)
    except ValueError:
        return _replace(data, rng)
    nodes: list[tuple[object, object]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                nodes.append((node, k))
                walk(v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                nodes.append((node, i))
                walk(v)

    walk(doc)
    if not nodes:
        return data
    parent, key = rng.choice(nodes)
    value = rng.choice([None, True, 0, 1.5, "", "x", [], [1], {}, {"Name": 1}, [[]]])
    parent[key] = value  # type: ignore[index]
    return json.dumps(doc).encode("utf-8")


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "insert": _insert,
    "delete": _delete,
    "replace": _replace,
    "flip": _flip,
    "run": _run,
    "truncate": _truncate,
    "repeat": _repeat,
}


@dataclass(frozen=True)
class Mutant:
    seed: Seed
    mutations: tuple[str, ...]
    data: bytes


def mutants(corpus: Path, per_seed: int) -> Iterator[Mutant]:
    """``per_seed`` mutants of every seed, each with one to three mutations."""
    rng = random.Random(SEED)
    for seed in seeds(corpus):
        names = list(MUTATIONS)
        if seed.format == "service-reference":
            names.append("json-value")
        for _ in range(per_seed):
            data = seed.data
            applied = []
            for _ in range(rng.choice([1, 1, 2, 3])):
                name = rng.choice(names)
                data = (_json_value if name == "json-value" else MUTATIONS[name])(data, rng)
                applied.append(name)
                if not data:
                    break
            yield Mutant(seed, tuple(applied), data)
