"""Helpers for the nightly tests: a SAR site served from corpus pages that a test can
break or change between nights, and checks that a releases folder is whole."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import feedparser
import lxml.html

from iam_catalog.output.cli import main

from .servers import SAR_BASE, SiteServer, sar_index

INDEX_PATH = SAR_BASE + "reference_policies_actions-resources-contextkeys.html"
# The 301 body saved as a page in the corpus: no tables, so an unknown layout every night.
MOVED_PAGE = "list_awsiot1-click.html"
OLDER = "2025-11-01_f2b93173"

# The pages of the default smoke actions' services, and a few more.
SMALL = (
    "list_amazons3.html",
    "list_awsidentityandaccessmanagementiam.html",
    "list_awssecuritytokenservice.html",
    "list_amazonec2.html",
    "list_awskeymanagementservice.html",
)


def load_corpus_pages(corpus: Path) -> dict[str, bytes]:
    """The 527 pages of 2026-04-01 (not the saved 301 body), by file name."""
    folder = corpus / "html" / "2026-04-01_110d32e3"
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.html")) if p.name != MOVED_PAGE}


def small_pages(pages: dict[str, bytes]) -> dict[str, bytes]:
    """40 pages, the smoke actions' among them: for tests about the command, not scale."""
    names = [*SMALL, *[n for n in sorted(pages) if n not in SMALL][::15]][:40]
    return {n: pages[n] for n in names}


def swappable(pages: dict[str, bytes], older: Path) -> list[str]:
    """Pages whose older version lists other actions but keeps more than 60% of today's
    (so a night with it is a real change, not a gate failure)."""
    from iam_catalog.output.build import parse_bytes
    from iam_catalog.parsers.model import ParsedPage

    out = []
    for name, data in sorted(pages.items()):
        path = older / name
        if not path.is_file() or path.read_bytes() == data:
            continue
        new, old = parse_bytes(Path(name), data), parse_bytes(Path(name), path.read_bytes())
        assert isinstance(new, ParsedPage) and isinstance(old, ParsedPage)
        now = {a.name.lower() for a in new.actions}
        then = {a.name.lower() for a in old.actions}
        if now != then and len(now & then) > 0.6 * len(now):
            out.append(name)
        if len(out) == 30:
            break
    return out


def serve(site: SiteServer, pages: dict[str, bytes]) -> None:
    """Serve exactly ``pages`` (file name -> bytes) and an index listing them."""
    served = set(site.paths())
    for path in served:
        if path.startswith(SAR_BASE) and path != INDEX_PATH and path[len(SAR_BASE) :] not in pages:
            site.remove(path)  # withdrawn from the site
    for name, data in pages.items():
        if SAR_BASE + name not in served or site.data(SAR_BASE + name) != data:
            site.put(SAR_BASE + name, data)
    site.put(INDEX_PATH, sar_index(pages))


def night(site: SiteServer, root: Path, day: str, *extra: str) -> int:
    """One ``iam-catalog nightly`` against ``site``, in this process."""
    return main(
        [
            "nightly",
            *night_args(site.url(SAR_BASE), root, day),
            *extra,
        ]
    )


def night_args(base_url: str, root: Path, day: str) -> list[str]:
    return [
        "--snapshots",
        str(root / "snapshots"),
        "--releases",
        str(root / "releases"),
        "--today",
        day,
        "--base-url",
        base_url,
        "--rate",
        "0",
        "--retries",
        "1",
        "--timeout",
        "10",
    ]


def strip_tables(data: bytes) -> bytes:
    """The page with every table removed (what a layout change can do to a parser)."""
    doc = lxml.html.document_fromstring(data)
    for table in list(doc.iter("table")):
        table.drop_tree()
    return lxml.html.tostring(doc, encoding="utf-8", doctype="<!DOCTYPE html>")


def drop_dependent_actions(data: bytes) -> bytes:
    """The page with every cell of its "Dependent actions" column emptied."""
    doc = lxml.html.document_fromstring(data)
    for table in doc.iter("table"):
        heads = [" ".join(th.text_content().split()).lower() for th in table.iter("th")]
        if not heads or heads[-1] != "dependent actions":
            continue
        for tr in table.iter("tr"):
            cells = tr.findall("td")
            if cells:
                last = cells[-1]
                for child in list(last):
                    last.remove(child)
                last.text = ""
    return lxml.html.tostring(doc, encoding="utf-8", doctype="<!DOCTYPE html>")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_files(releases: Path) -> dict[str, str]:
    """sha256 of every published file: releases, index, changelog, feed, ``latest``'s
    target (not status.json, not the quarantine)."""
    out = {}
    for p in sorted(releases.rglob("*")):
        rel = p.relative_to(releases).as_posix()
        if rel.startswith(("quarantine", ".")) or rel == "status.json" or p.is_symlink():
            continue
        if p.is_file():
            out[rel] = sha256(p)
    latest = releases / "latest"
    if latest.is_symlink():
        out["latest ->"] = str(latest.readlink())
    return out


def check_release(folder: Path) -> dict:
    """A release folder is whole: its manifest lists every other file with its sha256."""
    manifest = json.loads((folder / "manifest.json").read_text())
    on_disk = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    )
    assert sorted(manifest["files"]) == on_disk, f"{folder}: files not as its manifest says"
    for rel, digest in manifest["files"].items():
        assert sha256(folder / rel) == digest, f"{folder / rel} does not match its manifest"
    json.loads((folder / "catalog.json").read_bytes())
    return manifest


def check_releases(releases: Path, *, up_to_date: bool = True) -> list[str]:
    """The releases folder is readable and each of its files whole; the published ids
    (release folders), oldest first. Each derived file (``index.json``, ``CHANGELOG.md``,
    ``feed.xml``, ``latest``) lists every release but, at most, the newest one: a night
    killed after its publication leaves them to the next night, which rewrites each.
    ``up_to_date``: no lag allowed (after a night that ran to its end)."""
    folders = sorted(
        (
            p
            for p in releases.iterdir()
            if not p.name.startswith(".")
            and p.name not in ("latest", "quarantine")
            and p.is_dir()
            and (p / "manifest.json").is_file()
        ),
        key=lambda p: json.loads((p / "manifest.json").read_text())["sequence"],
    )
    for folder in folders:
        check_release(folder)
    names = [f.name for f in folders]
    # Up to date, or lagging by the newest release only.
    allowed = (names,) if up_to_date else (names, names[:-1])
    index = json.loads((releases / "index.json").read_text())
    ids = [e["id"] for e in index["releases"]]
    assert ids in allowed, f"index.json lists {ids}, the releases are {names}"
    target = (releases / "latest").readlink().as_posix()
    assert target in names[-1 if up_to_date else -2 :], f"latest -> {target}, releases {names}"
    check_release(releases / target)
    changelog = (releases / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.startswith("# Changelog of the IAM catalog\n"), "CHANGELOG.md"
    listed = [
        line.split("— release ", 1)[1] for line in changelog.splitlines() if line.startswith("## ")
    ]
    assert listed[::-1] in allowed, f"CHANGELOG.md has {listed}, the releases are {names}"
    feed = check_feed(releases / "feed.xml")
    entries = [e["id"].rsplit(":", 1)[1] for e in feed.entries][::-1]
    assert entries in allowed, f"feed.xml has {entries}, the releases are {names}"
    return names


def check_feed(path: Path):  # type: ignore[no-untyped-def]
    """The Atom feed parses cleanly and has what RFC 4287 requires of a feed and each
    entry (id, title, updated; an author; a link per entry)."""
    feed = feedparser.parse(path.read_bytes())
    assert not feed.bozo, f"{path}: {feed.get('bozo_exception')}"
    assert feed.version == "atom10", f"{path}: {feed.version}"
    assert feed.feed.id and feed.feed.title and feed.feed.updated and feed.feed.author, path
    ids = [e.id for e in feed.entries]
    assert len(ids) == len(set(ids)), f"{path}: entry ids repeat"
    for e in feed.entries:
        assert e.id and e.title and e.updated and e.link, f"{path}: entry {e.get('id')}"
    return feed
