"""Fetching from a real HTTP server on 127.0.0.1: the whole 2026-04-01 reference (527 SAR
pages) byte for byte, conditional re-fetches, md and json formats, and the snapshot
folder's invariants (no temp files, a manifest consistent with the files)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from iam_catalog.scraper.fetch import fetch_snapshot, latest_snapshot
from iam_catalog.scraper.http import TOOL_VERSION, HttpConfig
from iam_catalog.scraper.snapshot import Manifest, read_manifest

from .servers import (
    INDEX,
    SAR_BASE,
    SiteServer,
    marked,
    sar_index,
    sar_site,
    service_list,
    tiny_sar_page,
)

# Fast settings for a local server: no rate limit, short timeouts and backoff.
FAST = HttpConfig(connect_timeout=2.0, read_timeout=2.0, retries=2, backoff=0.01, rate=0)


# The one page of the 2026 folder that is no SAR page: a saved "301 Moved Permanently"
# body (corpus README). Served with a 200 it is a failed page, as any page that is not a
# SAR page is (test_fetch_hostile); the sites here serve the 527 others.
SAVED_REDIRECT = "list_awsiot1-click.html"


def html_pages(corpus: Path) -> list[Path]:
    """The SAR pages of html/2026-04-01_110d32e3 (all but :data:`SAVED_REDIRECT`)."""
    folder = corpus / "html" / "2026-04-01_110d32e3"
    return sorted(p for p in folder.glob("*.html") if p.name != SAVED_REDIRECT)


def assert_consistent(out: Path) -> None:
    """The snapshot invariants: the files on disk are exactly the manifest's successful
    entries (plus the manifest), each with the recorded size and sha256; failed entries
    have an error and no file; nothing hidden or temporary is left, inside or beside."""
    manifest = read_manifest(out)
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    ok = {path for path, e in manifest.files.items() if e.ok}
    assert on_disk == ok | {"manifest.json"}
    for path, e in manifest.files.items():
        if e.ok:
            data = (out / path).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (e.bytes, e.sha256), path
            assert e.status in (200, 304)
        else:
            assert e.error and e.sha256 is None and e.bytes is None, path
    assert not [p for p in out.rglob(".*")]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]
    assert manifest.complete == all(e.ok for e in manifest.files.values())


@pytest.fixture(scope="module")
def site(corpus):
    """The 527 SAR pages of html/2026-04-01_110d32e3 under an index in the real layout."""
    pages = html_pages(corpus)
    with SiteServer(sar_site(pages)) as server:
        # Links written four ways, a quarter as absolute URLs naming this server.
        server.put(SAR_BASE + INDEX, sar_index([p.name for p in pages], origin=server.origin))
        yield server


@pytest.fixture(scope="module")
def first(site, tmp_path_factory):
    """One full fetch of the site: (snapshot folder, summary)."""
    out = tmp_path_factory.mktemp("snapshots") / "first"
    site.reset_counts()
    summary = fetch_snapshot(out, base_url=site.url(SAR_BASE), concurrency=8, config=FAST)
    return out, summary


def test_full_fetch_is_byte_identical_to_the_served_pages(site, first, corpus):
    out, summary = first
    assert (summary.complete, summary.fetched, summary.unchanged, summary.failed) == (
        True,
        527,
        0,
        0,
    )
    for page in html_pages(corpus):
        assert (out / "html" / page.name).read_bytes() == page.read_bytes(), page.name
    assert (out / "index" / INDEX).read_bytes() == site.data(SAR_BASE + INDEX)
    assert_consistent(out)
    served = sum(p.stat().st_size for p in html_pages(corpus))
    assert summary.bytes == served + len(site.data(SAR_BASE + INDEX))


def test_manifest_records_every_page_and_the_snapshot(site, first):
    out, summary = first
    text = (out / "manifest.json").read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert data["id"] == summary.id
    assert data["complete"] is True
    assert data["base_url"] == site.url(SAR_BASE)
    assert data["tool"] == {"name": "iam-catalog", "version": TOOL_VERSION}
    assert data["formats"] == ["html"] and data["previous"] is None and data["rejected"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["created_at"])
    pages = {p: e for p, e in data["files"].items() if e["role"] == "page"}
    assert len(pages) == 527
    entry = pages["html/list_amazons3.html"]
    assert entry["url"] == site.url(SAR_BASE + "list_amazons3.html")
    assert entry["status"] == 200 and entry["error"] is None
    assert entry["etag"].startswith('"') and entry["last_modified"].endswith(" GMT")
    assert set(entry) >= {"url", "status", "sha256", "bytes", "etag", "last_modified"}
    assert set(entry) >= {"fetched_at", "error"}
    assert data["files"]["index/" + INDEX]["role"] == "index"


def test_refetch_with_previous_downloads_no_page_when_nothing_changed(site, first, tmp_path):
    out, summary = first
    site.reset_counts()
    again = fetch_snapshot(
        tmp_path / "again", base_url=site.url(SAR_BASE), concurrency=8, previous=out, config=FAST
    )
    assert (again.complete, again.fetched, again.unchanged, again.failed) == (True, 0, 527, 0)
    index_bytes = site.bytes_by_path[SAR_BASE + INDEX]
    assert site.body_bytes - index_bytes == 0  # not one byte of a page body
    page_requests = [h for p, h in site.request_headers if p != SAR_BASE + INDEX]
    assert len(page_requests) == 527
    assert all("If-None-Match" in h and "If-Modified-Since" in h for h in page_requests)
    assert again.id == summary.id
    manifest = read_manifest(tmp_path / "again")
    assert manifest.previous == {"id": summary.id, "path": str(out)}
    for path, e in manifest.pages().items():
        assert (e.status, e.copied_from) == (304, summary.id)
        assert (tmp_path / "again" / path).read_bytes() == (out / path).read_bytes()
        # Same file system: the unchanged page is a hard link, not a second copy.
        assert (tmp_path / "again" / path).stat().st_ino == (out / path).stat().st_ino
    assert_consistent(tmp_path / "again")


def test_refetch_downloads_exactly_the_changed_pages(site, first, tmp_path):
    out, _ = first
    changed = ["list_amazons3.html", "list_awslambda.html", "list_amazonec2.html"]
    originals = {n: site.data(SAR_BASE + n) for n in changed}
    try:
        for n in changed:
            site.put(SAR_BASE + n, originals[n].replace(b"Grants permission", b"Grants leave", 1))
        site.reset_counts()
        again = fetch_snapshot(
            tmp_path / "again",
            base_url=site.url(SAR_BASE),
            previous=out,
            concurrency=8,
            config=FAST,
        )
    finally:
        for n in changed:
            site.put(SAR_BASE + n, originals[n])
    assert (again.fetched, again.unchanged, again.failed) == (3, 524, 0)
    full = {p for (p, status), count in site.statuses.items() if status == 200 and count}
    assert full == {SAR_BASE + n for n in changed} | {SAR_BASE + INDEX}
    manifest = read_manifest(tmp_path / "again")
    for n in changed:
        data = (tmp_path / "again" / "html" / n).read_bytes()
        assert b"Grants leave" in data and data != originals[n]
        assert manifest.files[f"html/{n}"].status == 200
        assert manifest.files[f"html/{n}"].copied_from is None
    assert sum(e.status == 304 for e in manifest.files.values()) == 524
    assert_consistent(tmp_path / "again")


def test_refetch_into_the_previous_folder_replaces_it_whole(site, tmp_path, corpus):
    pages = html_pages(corpus)[:5]
    with SiteServer(sar_site(pages)) as server:
        out = tmp_path / "snap"
        fetch_snapshot(out, base_url=server.url(SAR_BASE), config=FAST)
        changed = marked(pages[0].read_bytes(), "changed")
        server.put(SAR_BASE + pages[0].name, changed)
        summary = fetch_snapshot(out, base_url=server.url(SAR_BASE), previous=out, config=FAST)
    assert (summary.fetched, summary.unchanged) == (1, 4)
    assert (out / "html" / pages[0].name).read_bytes() == changed
    assert_consistent(out)


def test_last_modified_alone_drives_conditional_requests(tmp_path, corpus):
    pages = html_pages(corpus)[:6]
    with SiteServer(sar_site(pages), etags=False) as server:
        fetch_snapshot(tmp_path / "a", base_url=server.url(SAR_BASE), config=FAST)
        new = marked(pages[2].read_bytes(), "new")
        server.put(SAR_BASE + pages[2].name, new)
        server.reset_counts()
        summary = fetch_snapshot(
            tmp_path / "b", base_url=server.url(SAR_BASE), previous=tmp_path / "a", config=FAST
        )
        headers = dict(server.request_headers)
    assert (summary.fetched, summary.unchanged) == (1, 5)
    assert "If-None-Match" not in headers[SAR_BASE + pages[0].name]
    assert headers[SAR_BASE + pages[0].name]["If-Modified-Since"].endswith(" GMT")
    assert (tmp_path / "b" / "html" / pages[2].name).read_bytes() == new
    assert_consistent(tmp_path / "b")


def test_previous_copy_that_no_longer_matches_its_sha256_is_downloaded_again(tmp_path, corpus):
    pages = html_pages(corpus)[:4]
    with SiteServer(sar_site(pages)) as server:
        fetch_snapshot(tmp_path / "a", base_url=server.url(SAR_BASE), config=FAST)
        (tmp_path / "a" / "html" / pages[1].name).write_bytes(b"corrupted on disk")
        server.reset_counts()
        summary = fetch_snapshot(
            tmp_path / "b", base_url=server.url(SAR_BASE), previous=tmp_path / "a", config=FAST
        )
        headers = dict(server.request_headers)
    assert (summary.fetched, summary.unchanged) == (1, 3)
    assert "If-None-Match" not in headers[SAR_BASE + pages[1].name]  # plain request
    assert (tmp_path / "b" / "html" / pages[1].name).read_bytes() == pages[1].read_bytes()
    assert_consistent(tmp_path / "b")


def test_md_and_json_formats_are_fetched_beside_the_pages(tmp_path, corpus):
    md_dir = corpus / "new-layout-md" / "2026-08_8d3f1c7"
    md_pages = sorted(md_dir.glob("list_*.md"))
    # The html of those services is not in the corpus: serve stand-ins for the html.
    site = {SAR_BASE + p.stem + ".html": tiny_sar_page(p.stem) for p in md_pages}
    site |= {SAR_BASE + p.name: p.read_bytes() for p in md_pages}
    site[SAR_BASE + INDEX] = sar_index(p.stem + ".html" for p in md_pages)
    ref = corpus / "servicereference" / "2026-03-31"
    services = ["s3", "braket", "account"]
    with SiteServer(site) as sar, SiteServer() as json_host:
        for s in services:
            json_host.put(f"/v1/{s}/{s}.json", (ref / s / f"{s}.json").read_bytes())
        listing = json.loads(service_list(json_host.origin, services))
        listing.append({"service": "evil", "url": sar.url("/v1/evil/evil.json")})
        json_host.put("/", json.dumps(listing).encode())
        summary = fetch_snapshot(
            tmp_path / "snap",
            base_url=sar.url(SAR_BASE),
            json_base_url=json_host.url("/"),
            formats=("html", "md", "json"),
            config=FAST,
        )
        assert sar.requests["/v1/evil/evil.json"] == 0
    out = tmp_path / "snap"
    assert summary.complete and summary.fetched == 2 * len(md_pages) + len(services)
    for p in md_pages:
        assert (out / "md" / p.name).read_bytes() == p.read_bytes()
        assert (out / "html" / (p.stem + ".html")).read_bytes() == site[SAR_BASE + p.stem + ".html"]
    for s in services:
        assert (out / "json" / f"{s}.json").read_bytes() == (ref / s / f"{s}.json").read_bytes()
    manifest = read_manifest(out)
    assert manifest.json_base_url == json_host.url("/")
    assert manifest.files["index/servicereference.json"].role == "index"
    assert manifest.files["json/s3.json"].format == "json"
    assert manifest.rejected == [
        {"link": sar.url("/v1/evil/evil.json"), "reason": "not on an allowed host"}
    ]
    assert_consistent(out)


def _set_created_at(snapshot: Path, when: str) -> None:
    manifest = json.loads((snapshot / "manifest.json").read_text())
    manifest["created_at"] = when
    (snapshot / "manifest.json").write_text(json.dumps(manifest))


def test_latest_snapshot_is_the_newest_by_creation_time(tmp_path, corpus):
    pages = html_pages(corpus)[:2]
    with SiteServer(sar_site(pages)) as server:
        for name in ("2026-01-02", "2026-01-01"):
            fetch_snapshot(tmp_path / name, base_url=server.url(SAR_BASE), config=FAST)
    (tmp_path / "not-a-snapshot").mkdir()
    shutil.copytree(tmp_path / "2026-01-02", tmp_path / ".hidden")
    _set_created_at(tmp_path / ".hidden", "2030-01-01T00:00:00Z")  # hidden: never taken
    _set_created_at(tmp_path / "2026-01-02", "2026-01-02T00:00:00Z")
    _set_created_at(tmp_path / "2026-01-01", "2026-01-03T00:00:00Z")
    assert latest_snapshot(tmp_path) == tmp_path / "2026-01-01"
    _set_created_at(tmp_path / "2026-01-02", "2026-01-04T00:00:00Z")
    assert latest_snapshot(tmp_path) == tmp_path / "2026-01-02"
    assert latest_snapshot(tmp_path / "missing") is None
    # An incomplete snapshot is passed over when a complete one is asked for.
    manifest = json.loads((tmp_path / "2026-01-02" / "manifest.json").read_text())
    entry = manifest["files"]["html/" + pages[0].name]
    entry.update(sha256=None, bytes=None, error="HTTP 500")
    (tmp_path / "2026-01-02" / "html" / pages[0].name).unlink()
    manifest["id"] = Manifest.from_dict(manifest).id
    (tmp_path / "2026-01-02" / "manifest.json").write_text(json.dumps(manifest))
    assert latest_snapshot(tmp_path) == tmp_path / "2026-01-02"
    assert latest_snapshot(tmp_path, complete_only=True) == tmp_path / "2026-01-01"
