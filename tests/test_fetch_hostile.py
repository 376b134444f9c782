"""Hostile server behaviours, each from a real server on 127.0.0.1: what is not a whole
SAR page fails its page (and the snapshot is incomplete), a trickling body is cut off
by the request's deadline, junk headers are survived, and the index cannot make a fetch
unbounded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from iam_catalog.parsers.errors import FetchError
from iam_catalog.scraper.discover import page_targets
from iam_catalog.scraper.fetch import fetch_snapshot
from iam_catalog.scraper.http import HttpConfig
from iam_catalog.scraper.snapshot import read_manifest

from .servers import INDEX, SAR_BASE, Fault, SiteServer, sar_index, sar_site
from .test_scraper_fetch import SAVED_REDIRECT, assert_consistent, html_pages

HOSTILE = HttpConfig(
    connect_timeout=1.0, read_timeout=0.5, request_timeout=1.0, retries=2, backoff=0.01, rate=0
)
PAGES = 4


@pytest.fixture
def pages(corpus) -> list[Path]:
    return html_pages(corpus)[200 : 200 + PAGES]


@pytest.fixture
def site(pages):
    with SiteServer(sar_site(pages)) as server:
        yield server


def fetch(site: SiteServer, out: Path, **kwargs):  # type: ignore[no-untyped-def]
    return fetch_snapshot(out, base_url=site.url(SAR_BASE), config=HOSTILE, **kwargs)


def failure(site: SiteServer, out: Path, name: str, *faults: Fault) -> str:
    """Fetch with ``faults`` on page ``name``; the error recorded for it, after checking
    that only it failed and the snapshot says it is incomplete."""
    site.add_faults(SAR_BASE + name, *faults)
    summary = fetch(site, out)
    assert (summary.complete, summary.failed, summary.fetched) == (False, 1, PAGES - 1)
    assert not (out / "html" / name).exists()
    assert_consistent(out)
    entry = read_manifest(out).files[f"html/{name}"]
    assert entry.error is not None
    return entry.error


def answer(status: str, headers: dict[str, str], body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body


UNAVAILABLE = (
    b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>"
    b"<h1>Service Unavailable</h1><p>Please try again later.</p></body></html>\n"
)


def test_200_with_a_service_unavailable_page_fails_the_page(site, pages, tmp_path):
    name = pages[0].name
    raw = answer("200 OK", {"Content-Length": str(len(UNAVAILABLE))}, UNAVAILABLE)
    error = failure(site, tmp_path / "s", name, Fault("raw", body=raw))
    assert error == (
        "not a SAR page (no 'Actions, resources, and condition keys for'); it starts "
        "'<!DOCTYPE html><html><head><title>Service Unavailable</title'"
    )


def test_200_with_an_empty_body_fails_the_page(site, pages, tmp_path):
    raw = answer("200 OK", {"Content-Length": "0"}, b"")
    error = failure(site, tmp_path / "s", pages[1].name, Fault("raw", body=raw))
    assert error == "empty body"


def test_connection_closed_mid_headers_fails_the_page(site, pages, tmp_path):
    raw = b'HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nETag: "ab'
    error = failure(site, tmp_path / "s", pages[2].name, Fault("raw", body=raw))
    assert error == "empty body"


def test_302_without_location_fails_the_page(site, pages, tmp_path):
    error = failure(site, tmp_path / "s", pages[3].name, Fault("status", 302))
    assert error == "HTTP 302 Found without a Location header"


def test_body_longer_than_its_content_length_fails_the_page(site, pages, tmp_path):
    data = pages[0].read_bytes()
    short = len(data) - 500  # the client reads this much: the page without its end
    raw = answer("200 OK", {"Content-Length": str(short)}, data)
    error = failure(site, tmp_path / "s", pages[0].name, Fault("raw", body=raw))
    assert error == "not a whole HTML page (it does not end with </html>)"


def test_body_shorter_than_its_content_length_names_the_bytes_that_came(site, pages, tmp_path):
    raw = answer("200 OK", {"Content-Length": "1000"}, b"<html>" + b"x" * 114)
    error = failure(site, tmp_path / "s", pages[1].name, *[Fault("raw", body=raw)] * 3)
    assert error.startswith("body broke off after 120 bytes: ")
    assert error.endswith("(after 2 retries)")


def test_saved_redirect_page_of_the_corpus_served_with_200_fails(corpus, pages, tmp_path):
    saved = corpus / "html" / "2026-04-01_110d32e3" / SAVED_REDIRECT
    with SiteServer(sar_site([*pages, saved])) as server:
        summary = fetch(server, tmp_path / "s")
    assert (summary.complete, summary.failed) == (False, 1)
    error = read_manifest(tmp_path / "s").files[f"html/{SAVED_REDIRECT}"].error
    assert error is not None and error.startswith("not a SAR page")


def test_body_trickling_in_is_cut_off_by_the_request_deadline(site, pages, tmp_path):
    # 400 bytes at 20 ms each: every read comes well within read_timeout (0.5 s), and
    # the whole body would take 8 s; the request timeout (1 s) ends it, with no retry.
    name = pages[2].name
    site.add_faults(SAR_BASE + name, Fault("trickle", seconds=0.02, body=b"<" * 400))
    started = time.monotonic()
    summary = fetch(site, tmp_path / "s")
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed
    assert (summary.complete, summary.failed) == (False, 1)
    assert site.requests[SAR_BASE + name] == 1
    error = read_manifest(tmp_path / "s").files[f"html/{name}"].error
    assert error is not None
    assert error.startswith("not whole after 1 s (") and error.endswith("; the request timeout)")


def test_retry_after_that_is_negative_is_retried_after_the_backoff(site, pages, tmp_path):
    path = SAR_BASE + pages[3].name
    site.add_faults(path, Fault("status", 503, headers={"Retry-After": "-5"}))
    summary = fetch(site, tmp_path / "s")
    assert summary.complete and site.requests[path] == 2
    assert (tmp_path / "s" / "html" / pages[3].name).read_bytes() == pages[3].read_bytes()


def test_https_link_for_an_http_base_on_the_same_host_and_port_is_refused():
    base = "http://127.0.0.1:8123" + SAR_BASE
    link = "https://127.0.0.1:8123" + SAR_BASE + "list_amazons3.html"
    targets, rejected = page_targets(sar_index([], extra_links=[link]), base)
    assert targets == []
    assert [(r.link, r.reason) for r in rejected] == [
        (link, "not on the base's scheme http:// (https://127.0.0.1:8123)")
    ]


def test_redirect_to_https_on_the_same_host_and_port_is_refused(site, pages, tmp_path):
    name = pages[0].name
    target = site.url(SAR_BASE + name).replace("http://", "https://")
    error = failure(site, tmp_path / "s", name, Fault("redirect", location=target))
    assert error == f"redirect to {target} refused (not on an allowed host)"


def test_index_listing_100000_pages_is_refused_before_any_page_is_fetched(site, tmp_path):
    names = [f"list_service{i:06d}.html" for i in range(100_000)]
    site.put(SAR_BASE + INDEX, sar_index(names))
    started = time.monotonic()
    with pytest.raises(FetchError) as refused:
        fetch(site, tmp_path / "s")
    assert str(refused.value) == (
        f"{site.url(SAR_BASE + INDEX)}: 100000 files to fetch, over the cap of 5000 (--max-files)"
    )
    assert time.monotonic() - started < 10
    assert sum(site.requests.values()) == 1  # the index only
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing left


def test_index_longer_than_its_content_length_fails_the_fetch(site, pages, tmp_path):
    index = site.data(SAR_BASE + INDEX)
    cut = index.index(pages[2].name.encode())  # the links before the third page only
    raw = answer("200 OK", {"Content-Length": str(cut)}, index)
    site.add_faults(SAR_BASE + INDEX, Fault("raw", body=raw))
    with pytest.raises(FetchError) as refused:
        fetch(site, tmp_path / "s")
    assert str(refused.value) == (
        f"{site.url(SAR_BASE + INDEX)}: the index is not a whole HTML page (no </html> at its end)"
    )
    assert list(tmp_path.iterdir()) == []
