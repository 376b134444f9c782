"""``feed.xml``: an Atom feed (RFC 4287) with one entry per published release, made with
feedgen, so people can subscribe to the releases.

Every date in it is a release's ``published_at`` (the feed's own ``updated`` is the
newest one), so the same releases give the same bytes. Links are relative to the feed
(``<id>/diff.html``) unless ``IAM_CATALOG_RELEASES_URL`` names where the releases folder
is served.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

FEED_ID = "urn:iam-catalog:releases"
TITLE = "IAM catalog releases"
AUTHOR = "iam-catalog nightly"
BASE_URL_ENV = "IAM_CATALOG_RELEASES_URL"
# Entries kept in the feed (readers poll the newest; index.json has them all).
MAX_ENTRIES = 50


def entry_id(release_id: str) -> str:
    return f"urn:iam-catalog:release:{release_id}"


def atom(entries: Sequence[dict[str, Any]], sections: Sequence[str]) -> bytes:
    """The feed of the releases ``entries`` (index entries, oldest first), each with its
    changelog section (Markdown, as the entry's text content)."""
    from feedgen.feed import FeedGenerator

    base = os.environ.get(BASE_URL_ENV, "").rstrip("/")
    prefix = f"{base}/" if base else ""
    fg = FeedGenerator()
    fg.id(FEED_ID)
    fg.title(TITLE)
    fg.author({"name": AUTHOR})
    fg.link(href=f"{prefix}feed.xml", rel="self", type="application/atom+xml")
    fg.link(href=f"{prefix}CHANGELOG.md", rel="alternate", type="text/markdown")
    fg.subtitle("Nightly releases of the canonical catalog of AWS IAM actions.")
    fg.generator("iam-catalog")
    kept = list(zip(entries, sections, strict=True))[-MAX_ENTRIES:]
    updated = kept[-1][0]["published_at"] if kept else "1970-01-01T00:00:00Z"
    fg.updated(updated)
    for entry, text in kept:  # feedgen puts the last added first
        rid = entry["id"]
        fe = fg.add_entry(order="prepend")
        fe.id(entry_id(rid))
        changes = entry.get("changes") or {}
        fe.title(f"Release {rid}: {_title_counts(changes)}")
        fe.updated(entry["published_at"])
        fe.published(entry["published_at"])
        fe.link(href=f"{prefix}{rid}/diff.html", rel="alternate", type="text/html")
        fe.content(text, type="text")
    data: bytes = fg.atom_str(pretty=True)
    return data


def _title_counts(changes: dict[str, Any]) -> str:
    severities = changes.get("by_severity") or {}
    parts = [f"{severities.get(s, 0)} {s}" for s in ("breaking", "security", "info")]
    return ", ".join(parts)
