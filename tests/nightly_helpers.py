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
    """Pages whose older version differs and keeps more than half of today's actions (so
    the night with them is a real change, not a gate failure)."""
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
        if len(now & {a.name.lower() for a in old.actions}) > 0.6 * len(now):
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
    assert sorted(manifest["files"]) == on_disk, folder
    for rel, digest in manifest["files"].items():
        assert sha256(folder / rel) == digest, f"{folder / rel} does not match its manifest"
    json.loads((folder / "catalog.json").read_bytes())
    return manifest


def check_releases(releases: Path) -> list[str]:
    """The releases folder is readable and consistent with itself; the published ids,
    oldest first. ``latest``, the index, the changelog and the feed may lag behind the
    newest release folder (a night killed after its publication), never the other way."""
    index = json.loads((releases / "index.json").read_text())
    ids = [e["id"] for e in index["releases"]]
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
    assert names[: len(ids)] == ids  # the index lists releases that exist, in order
    assert len(names) - len(ids) <= 1
    target = (releases / "latest").readlink().as_posix()
    assert target in (ids[-1], names[-1])
    check_release(releases / target)
    changelog = (releases / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.startswith("# Changelog of the IAM catalog\n")
    for rid in ids:
        assert f"— release {rid}\n" in changelog
    feed = check_feed(releases / "feed.xml")
    assert [e["id"] for e in feed.entries] == [f"urn:iam-catalog:release:{i}" for i in ids[::-1]]
    return names


def check_feed(path: Path):  # type: ignore[no-untyped-def]
    """The Atom feed parses cleanly and has what RFC 4287 requires of a feed and each
    entry (id, title, updated; an author; a link per entry)."""
    feed = feedparser.parse(path.read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.id and feed.feed.title and feed.feed.updated and feed.feed.author
    ids = [e.id for e in feed.entries]
    assert len(ids) == len(set(ids))
    for e in feed.entries:
        assert e.id and e.title and e.updated and e.link
    return feed
