"""Injected faults, each against a real server on 127.0.0.1 serving a few corpus pages:
every one ends as designed, with nothing lost and nothing half-written."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from iam_catalog.parsers.errors import FetchError, SourceError
from iam_catalog.scraper.fetch import fetch_snapshot
from iam_catalog.scraper.http import HttpConfig, UnreachableError
from iam_catalog.scraper.snapshot import read_manifest

from .servers import INDEX, SAR_BASE, Fault, SiteServer, marked, sar_index, sar_site
from .test_scraper_fetch import assert_consistent, html_pages

# Short timeouts and backoff so that every fault resolves in well under a second or two.
FAULTY = HttpConfig(connect_timeout=1.0, read_timeout=0.5, retries=2, backoff=0.01, rate=0)
PAGES = 6


@pytest.fixture
def pages(corpus) -> list[Path]:
    return html_pages(corpus)[:: 528 // PAGES][:PAGES]


@pytest.fixture
def site(pages):
    with SiteServer(sar_site(pages)) as server:
        yield server


def fetch(site: SiteServer, out: Path, config: HttpConfig = FAULTY, **kwargs):  # type: ignore[no-untyped-def]
    return fetch_snapshot(out, base_url=site.url(SAR_BASE), config=config, **kwargs)


def assert_all_pages_identical(out: Path, pages: list[Path], *, except_: str | None = None):
    for p in pages:
        if p.name != except_:
            assert (out / "html" / p.name).read_bytes() == p.read_bytes(), p.name


def test_500s_then_success_end_complete(site, pages, tmp_path):
    path = SAR_BASE + pages[1].name
    site.add_faults(path, Fault("status", 500), Fault("status", 503))
    summary = fetch(site, tmp_path / "s")
    assert summary.complete and summary.fetched == PAGES
    assert site.requests[path] == 3
    assert_all_pages_identical(tmp_path / "s", pages)
    assert_consistent(tmp_path / "s")


def test_500_after_all_retries_is_recorded_as_failed_and_the_rest_is_kept(site, pages, tmp_path):
    name = pages[2].name
    site.add_faults(SAR_BASE + name, *[Fault("status", 500)] * 3)
    summary = fetch(site, tmp_path / "s")
    assert (summary.complete, summary.fetched, summary.failed) == (False, PAGES - 1, 1)
    assert site.requests[SAR_BASE + name] == 3  # first try + 2 retries
    entry = read_manifest(tmp_path / "s").files[f"html/{name}"]
    assert (entry.status, entry.error) == (500, "HTTP 500 Internal Server Error (after 2 retries)")
    assert not (tmp_path / "s" / "html" / name).exists()
    assert summary.failures == [(f"html/{name}", entry.error)]
    assert "INCOMPLETE" in summary.line() and f"first failure html/{name}" in summary.line()
    assert_all_pages_identical(tmp_path / "s", pages, except_=name)
    assert_consistent(tmp_path / "s")


def test_404_and_410_are_not_retried_and_the_pages_left_the_index(site, pages, tmp_path):
    """A page the index still links but the site withdrew (404 Not Found, 410 Gone) is
    recorded as withdrawn, not failed: the snapshot is complete without it."""
    site.put(SAR_BASE + INDEX, sar_index([p.name for p in pages] + ["list_gone.html"]))
    site.add_faults(SAR_BASE + pages[2].name, Fault("status", 410))
    summary = fetch(site, tmp_path / "s")
    assert site.requests[SAR_BASE + "list_gone.html"] == 1
    assert site.requests[SAR_BASE + pages[2].name] == 1
    manifest = read_manifest(tmp_path / "s")
    assert "html/list_gone.html" not in manifest.files
    assert f"html/{pages[2].name}" not in manifest.files
    assert manifest.withdrawn == [
        {
            "path": f"html/{pages[2].name}",
            "url": site.url(SAR_BASE + pages[2].name),
            "status": 410,
            "reason": "HTTP 410",
        },
        {
            "path": "html/list_gone.html",
            "url": site.url(SAR_BASE + "list_gone.html"),
            "status": 404,
            "reason": "HTTP 404",
        },
    ]
    assert (summary.complete, summary.fetched, summary.failed) == (True, PAGES - 1, 0)
    assert summary.withdrawn == [
        (f"html/{pages[2].name}", "HTTP 410"),
        ("html/list_gone.html", "HTTP 404"),
    ]
    assert f"2 withdrawn (first html/{pages[2].name}: HTTP 410)" in summary.line()
    assert_consistent(tmp_path / "s")


def test_a_redirect_away_from_the_sar_withdraws_the_page_one_to_a_broken_page_fails_it(
    site, pages, tmp_path
):
    """The live index links list_awsiot1-click.html, which answers 301 to a page that is
    no SAR page: withdrawn, as is a redirect off the site (not followed). A redirect to
    a SAR page cut short, a 5xx and a stalled answer still fail the fetch."""
    moved, away, cut, broken = (p.name for p in pages[:4])
    site.put(
        "/iot/latest/developerguide/what-is.html", b"<html><title>What is AWS IoT</title></html>"
    )
    site.add_faults(
        SAR_BASE + moved,
        Fault("redirect", status=301, location="/iot/latest/developerguide/what-is.html"),
    )
    site.add_faults(
        SAR_BASE + away, Fault("redirect", status=301, location="https://example.com/x")
    )
    site.put("/cut.html", pages[2].read_bytes()[:5000])
    site.add_faults(SAR_BASE + cut, Fault("redirect", status=301, location="/cut.html"))
    site.add_faults(SAR_BASE + broken, *[Fault("status", 503)] * 3)
    summary = fetch(site, tmp_path / "s")
    manifest = read_manifest(tmp_path / "s")
    assert [(w["path"], w["status"], w["reason"]) for w in manifest.withdrawn] == [
        (
            f"html/{moved}",
            200,
            f"redirected to {site.url('/iot/latest/developerguide/what-is.html')}, which is "
            "not a page of the SAR",
        ),
        (f"html/{away}", None, "redirected off the site to https://example.com/x (not followed)"),
    ]
    assert sorted(manifest.failed) == sorted([f"html/{cut}", f"html/{broken}"])
    assert manifest.failed[f"html/{cut}"].error.startswith(
        f"redirected to {site.url('/cut.html')}: not a whole HTML page"
    )
    assert manifest.failed[f"html/{broken}"].status == 503
    assert (summary.complete, summary.failed, len(summary.withdrawn)) == (False, 2, 2)
    assert_consistent(tmp_path / "s")


def test_429_with_retry_after_is_honoured(site, pages, tmp_path):
    path = SAR_BASE + pages[0].name
    site.add_faults(path, Fault("status", 429, headers={"Retry-After": "1"}))
    start = time.monotonic()
    summary = fetch(site, tmp_path / "s", concurrency=1)
    assert time.monotonic() - start >= 1.0  # backoff alone would be 0.01 s
    assert summary.complete and site.requests[path] == 2
    assert_all_pages_identical(tmp_path / "s", pages)
    assert_consistent(tmp_path / "s")


def test_stalled_response_past_the_timeout_is_retried(site, pages, tmp_path):
    path = SAR_BASE + pages[3].name
    site.add_faults(path, Fault("stall", seconds=1.2))
    summary = fetch(site, tmp_path / "s")
    assert summary.complete and site.requests[path] == 2
    assert_all_pages_identical(tmp_path / "s", pages)
    assert_consistent(tmp_path / "s")


def test_response_stalled_on_every_try_fails_with_a_timeout(site, pages, tmp_path):
    name = pages[3].name
    site.add_faults(SAR_BASE + name, *[Fault("stall", seconds=1.2)] * 3)
    summary = fetch(site, tmp_path / "s")
    entry = read_manifest(tmp_path / "s").files[f"html/{name}"]
    assert (summary.failed, entry.status) == (1, None)
    assert entry.error is not None and entry.error.startswith("timed out")
    assert site.requests[SAR_BASE + name] == 3
    assert_all_pages_identical(tmp_path / "s", pages, except_=name)
    assert_consistent(tmp_path / "s")


def test_body_stalled_midway_is_retried_and_never_saved_half(site, pages, tmp_path):
    path = SAR_BASE + pages[4].name
    site.add_faults(path, Fault("stall_body", seconds=1.2))
    summary = fetch(site, tmp_path / "s")
    assert summary.complete and site.requests[path] == 2
    assert_all_pages_identical(tmp_path / "s", pages)
    assert_consistent(tmp_path / "s")


def test_body_cut_short_is_retried(site, pages, tmp_path):
    path = SAR_BASE + pages[5].name
    site.add_faults(path, Fault("truncate"), Fault("truncate"))
    summary = fetch(site, tmp_path / "s")
    assert summary.complete and site.requests[path] == 3
    assert_all_pages_identical(tmp_path / "s", pages)
    assert_consistent(tmp_path / "s")


def test_body_cut_short_on_every_try_fails_without_a_partial_file(site, pages, tmp_path):
    name = pages[5].name
    site.add_faults(SAR_BASE + name, *[Fault("truncate")] * 3)
    summary = fetch(site, tmp_path / "s")
    entry = read_manifest(tmp_path / "s").files[f"html/{name}"]
    assert summary.failed == 1 and site.requests[SAR_BASE + name] == 3
    assert entry.error is not None and entry.error.startswith("body broke off after ")
    assert entry.error.endswith("(after 2 retries)")
    assert not (tmp_path / "s" / "html" / name).exists()
    assert_consistent(tmp_path / "s")


def test_redirect_to_another_host_is_refused_without_contacting_it(site, pages, tmp_path):
    name = pages[0].name
    with SiteServer({SAR_BASE + name: b"<html>elsewhere</html>"}) as other:
        site.add_faults(SAR_BASE + name, Fault("redirect", location=other.url(SAR_BASE + name)))
        summary = fetch(site, tmp_path / "s")
        assert other.requests == {}
    manifest = read_manifest(tmp_path / "s")
    # Away from the SAR: the page left the index (a page that fails is a 5xx or no answer).
    assert summary.complete and f"html/{name}" not in manifest.files
    assert [w["reason"] for w in manifest.withdrawn] == [
        f"redirected off the site to {other.url(SAR_BASE + name)} (not followed)"
    ]
    assert_all_pages_identical(tmp_path / "s", pages, except_=name)
    assert_consistent(tmp_path / "s")


def test_redirect_on_the_same_host_is_followed_and_recorded(site, pages, tmp_path):
    name = pages[0].name
    moved = marked(pages[1].read_bytes(), "moved")
    site.put("/moved/here.html", moved)
    site.add_faults(SAR_BASE + name, Fault("redirect", status=301, location="/moved/here.html"))
    summary = fetch(site, tmp_path / "s")
    entry = read_manifest(tmp_path / "s").files[f"html/{name}"]
    assert summary.complete and entry.final_url == site.url("/moved/here.html")
    assert entry.url == site.url(SAR_BASE + name)
    assert (tmp_path / "s" / "html" / name).read_bytes() == moved
    assert_consistent(tmp_path / "s")


def test_redirect_loop_fails_the_page(site, pages, tmp_path):
    name = pages[0].name
    site.add_faults(SAR_BASE + name, *[Fault("redirect", location=SAR_BASE + name)] * 10)
    summary = fetch(site, tmp_path / "s")
    entry = read_manifest(tmp_path / "s").files[f"html/{name}"]
    assert summary.failed == 1 and entry.error == "more than 5 redirects"
    assert site.requests[SAR_BASE + name] == 6
    assert_consistent(tmp_path / "s")


def test_index_links_with_dotdot_or_other_hosts_are_not_followed(site, pages, tmp_path):
    bait = {
        "/service-authorization/latest/list_parent.html": "../list_parent.html",
        "/list_root.html": "../../../list_root.html",
        SAR_BASE + "sub/list_nested.html": "sub/list_nested.html",
    }
    for path in bait:
        site.put(path, b"<html>bait</html>")
    evil = "http://localhost.invalid/x/list_evil.html"
    site.put(
        SAR_BASE + INDEX,
        sar_index([p.name for p in pages], extra_links=[*bait.values(), evil, "../"]),
    )
    out = tmp_path / "inner" / "s"
    summary = fetch(site, out)
    assert all(site.requests[path] == 0 for path in bait)
    assert summary.complete and summary.fetched == PAGES and summary.rejected == 4
    manifest = read_manifest(out)
    assert [r["link"] for r in manifest.rejected] == [*bait.values(), evil]
    assert "4 links refused" in summary.line()
    # Nothing of the bait was written anywhere, inside the snapshot or beside it.
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and b"bait" in p.read_bytes()]
    assert not list(tmp_path.glob("list_*")) and not list((tmp_path / "inner").glob("list_*"))
    assert_consistent(out)


def test_oversized_body_with_content_length_is_refused_before_reading(site, pages, tmp_path):
    name = pages[1].name
    size = 64 * 1024 * 1024
    site.add_faults(SAR_BASE + name, Fault("endless", size=size, length=True))
    config = HttpConfig(read_timeout=2.0, retries=2, backoff=0.01, rate=0, size_cap=1024 * 1024)
    summary = fetch(site, tmp_path / "s", config=config)
    entry = read_manifest(tmp_path / "s").files[f"html/{name}"]
    assert summary.failed == 1
    assert entry.error == (
        f"refused, Content-Length {size} is over the size cap of {1024 * 1024} bytes"
    )
    assert site.requests[SAR_BASE + name] == 1  # refused, not retried
    assert site.bytes_by_path[SAR_BASE + name] < size // 4
    assert_consistent(tmp_path / "s")


def test_oversized_body_without_length_is_refused_while_streaming(site, pages, tmp_path):
    name = pages[1].name
    size = 512 * 1024 * 1024
    site.add_faults(SAR_BASE + name, Fault("endless", size=size, length=False))
    config = HttpConfig(read_timeout=2.0, retries=2, backoff=0.01, rate=0, size_cap=1024 * 1024)
    start = time.monotonic()
    fetch(site, tmp_path / "s", config=config)
    assert time.monotonic() - start < 10
    entry = read_manifest(tmp_path / "s").files[f"html/{name}"]
    assert entry.error == (
        f"refused while streaming, body is over the size cap of {1024 * 1024} bytes"
    )
    # The client stopped reading at the cap: the server got a small part of the body out.
    assert site.bytes_by_path[SAR_BASE + name] < 64 * 1024 * 1024
    assert not (tmp_path / "s" / "html" / name).exists()
    assert_consistent(tmp_path / "s")


def test_unreachable_site_raises_and_writes_nothing(tmp_path):
    with SiteServer() as gone:
        url = gone.url(SAR_BASE)
    with pytest.raises(UnreachableError, match="Connection refused"):
        fetch_snapshot(tmp_path / "s", base_url=url, config=FAULTY)
    assert list(tmp_path.iterdir()) == []


def test_index_error_raises_and_writes_nothing(site, tmp_path):
    site.add_faults(SAR_BASE + INDEX, *[Fault("status", 503)] * 3)
    with pytest.raises(FetchError, match=r"HTTP 503 Service Unavailable \(after 2 retries\)"):
        fetch(site, tmp_path / "s")
    assert list(tmp_path.iterdir()) == []


def test_index_without_page_links_raises(site, tmp_path):
    site.put(SAR_BASE + INDEX, sar_index([]))
    with pytest.raises(FetchError, match="the index links to no list_"):
        fetch(site, tmp_path / "s")
    assert list(tmp_path.iterdir()) == []


def test_fetch_refuses_to_replace_a_folder_that_is_not_a_snapshot(site, tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "notes.txt").write_text("mine")
    with pytest.raises(SourceError, match="exists and is not a snapshot"):
        fetch(site, tmp_path / "s")
    assert (tmp_path / "s" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_failed_fetch_leaves_the_earlier_snapshot_in_place(site, pages, tmp_path):
    fetch(site, tmp_path / "s")
    before = read_manifest(tmp_path / "s").id
    site.add_faults(SAR_BASE + INDEX, *[Fault("status", 500)] * 3)
    with pytest.raises(FetchError):
        fetch(site, tmp_path / "s", previous=tmp_path / "s")
    assert read_manifest(tmp_path / "s").id == before
    assert_all_pages_identical(tmp_path / "s", pages)
    assert_consistent(tmp_path / "s")


def test_interrupted_fetch_stops_early_and_leaves_nothing(corpus, tmp_path):
    pages = html_pages(corpus)[:100]

    def interrupt(signum, frame):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    with SiteServer(sar_site(pages), latency=0.05) as slow:
        previous = signal.signal(signal.SIGALRM, interrupt)
        signal.setitimer(signal.ITIMER_REAL, 0.4)
        start = time.monotonic()
        try:
            with pytest.raises(KeyboardInterrupt):
                fetch(slow, tmp_path / "s", concurrency=1)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        # 100 pages at 50 ms would take 5 s; the queued ones were dropped.
        assert time.monotonic() - start < 2.0
        assert sum(slow.requests.values()) < 30
    assert list(tmp_path.iterdir()) == []


def test_gzip_encoded_pages_are_stored_decoded_byte_for_byte(pages, tmp_path):
    with SiteServer(sar_site(pages), compress=True) as zipped:
        summary = fetch(zipped, tmp_path / "s")
        sent = zipped.body_bytes
    assert summary.complete
    assert_all_pages_identical(tmp_path / "s", pages)
    assert sent < sum(p.stat().st_size for p in pages) / 4  # it really was compressed
    assert_consistent(tmp_path / "s")


def test_gzip_bomb_is_refused_at_the_size_cap_after_decoding(pages, tmp_path):
    name = pages[2].name
    bomb = b"<html>" + b" " * (64 * 1024 * 1024)
    site = sar_site(pages) | {SAR_BASE + name: bomb}
    config = HttpConfig(read_timeout=2.0, retries=0, backoff=0.01, rate=0, size_cap=1024 * 1024)
    with SiteServer(site, compress=True) as zipped:
        summary = fetch(zipped, tmp_path / "s", config=config)
        sent = zipped.bytes_by_path[SAR_BASE + name]
    entry = read_manifest(tmp_path / "s").files[f"html/{name}"]
    assert summary.failed == 1 and sent < 200 * 1024  # 64 MB of spaces gzip to ~64 KB
    assert entry.error == (
        f"refused while streaming, body is over the size cap of {1024 * 1024} bytes"
    )
    assert_consistent(tmp_path / "s")
