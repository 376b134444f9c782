"""The scraper's pure parts: link discovery, safe file names, the manifest, the rate limit."""

from __future__ import annotations

import json
import time

import pytest

from iam_catalog.parsers.errors import FetchError, SourceError
from iam_catalog.scraper.discover import (
    host_key,
    index_url,
    is_safe_name,
    md_url,
    page_targets,
    service_targets,
)
from iam_catalog.scraper.http import RateLimiter
from iam_catalog.scraper.snapshot import (
    FileEntry,
    Manifest,
    dumps_manifest,
    read_manifest,
    safe_path,
)

from .servers import SAR_BASE, sar_index

BASE = "https://docs.aws.amazon.com" + SAR_BASE


def _index(*hrefs: str) -> bytes:
    links = "".join(f'<li><a href="{h}">x</a></li>' for h in hrefs)
    return f'<html><body><div class="highlights"><ul>{links}</ul></div></body></html>'.encode()


def test_index_links_relative_and_absolute_resolve_to_pages_in_the_base_folder():
    targets, rejected = page_targets(
        _index(
            "./list_amazons3.html",
            "list_amazonec2.html",
            SAR_BASE + "list_awslambda.html",
            BASE + "list_amazonappstream2.0.html",
            "sub/../list_awsiam.html#actions",
            "list_awsmigrationhubstrategyrecommendations..html",
        ),
        BASE,
    )
    assert rejected == []
    assert [(t.path, t.url, t.format, t.role) for t in targets] == [
        ("html/list_amazons3.html", BASE + "list_amazons3.html", "html", "page"),
        ("html/list_amazonec2.html", BASE + "list_amazonec2.html", "html", "page"),
        ("html/list_awslambda.html", BASE + "list_awslambda.html", "html", "page"),
        (
            "html/list_amazonappstream2.0.html",
            BASE + "list_amazonappstream2.0.html",
            "html",
            "page",
        ),
        ("html/list_awsiam.html", BASE + "list_awsiam.html", "html", "page"),
        (
            "html/list_awsmigrationhubstrategyrecommendations..html",
            BASE + "list_awsmigrationhubstrategyrecommendations..html",
            "html",
            "page",
        ),
    ]


def test_index_links_that_leave_the_base_folder_or_host_are_rejected_not_followed():
    hrefs = [
        "../list_parent.html",
        "../../../list_root.html",
        "https://evil.example" + SAR_BASE + "list_amazons3.html",
        "http://docs.aws.amazon.com" + SAR_BASE + "list_plainhttp.html",  # other port
        "sub/list_nested.html",
        "list_%2e%2e%2fescape.html",
        "list_bad name.html",
    ]
    targets, rejected = page_targets(_index(*hrefs, "list_ok.html"), BASE)
    assert [t.path for t in targets] == ["html/list_ok.html"]
    assert [r.link for r in rejected] == hrefs
    reasons = [r.reason for r in rejected]
    assert reasons[0].startswith("outside the base folder")
    assert reasons[1].startswith("outside the base folder")
    assert reasons[2].startswith("not on the base host docs.aws.amazon.com:443")
    assert reasons[3].startswith("not on the base host docs.aws.amazon.com:443")
    assert reasons[4].startswith("outside the base folder")
    assert reasons[5] == "not a plain list_*.html file name"
    assert reasons[6] == "not a plain list_*.html file name"


def test_links_that_are_not_pages_are_ignored_and_duplicates_collapse():
    targets, rejected = page_targets(
        _index(
            "reference_policies_elements.html",
            "#top",
            "https://aws.amazon.com/",
            "list_amazons3.html",
            "./list_amazons3.html",
            "LIST_AMAZONS3.HTML",  # not list_ (case matters on the site)
        ),
        BASE,
    )
    assert ([t.path for t in targets], rejected) == (["html/list_amazons3.html"], [])


def test_md_format_adds_the_md_rendering_of_every_page():
    targets, _ = page_targets(_index("list_braket.html"), BASE, ("html", "md"))
    assert [(t.path, t.url) for t in targets] == [
        ("html/list_braket.html", BASE + "list_braket.html"),
        ("md/list_braket.md", BASE + "list_braket.md"),
    ]
    assert md_url(BASE + "list_braket.html") == BASE + "list_braket.md"


def test_generated_test_index_lists_every_page_once(corpus):
    names = sorted(p.name for p in (corpus / "html/2026-04-01_110d32e3").glob("*.html"))
    targets, rejected = page_targets(sar_index(names, origin="http://127.0.0.1:9"), BASE)
    # The absolute-URL links name another host, so they are the refused quarter.
    assert len(targets) + len(rejected) == len(names) == 528
    assert {r.reason.split(" (")[0] for r in rejected} == {
        "not on the base host docs.aws.amazon.com:443"
    }
    targets, rejected = page_targets(sar_index(names), BASE)
    assert (sorted(t.path.removeprefix("html/") for t in targets), rejected) == (names, [])


def test_index_that_is_not_html_raises_fetch_error():
    with pytest.raises(FetchError, match="index page is not HTML"):
        page_targets(b"", BASE)


def test_service_list_entries_become_json_targets_on_allowed_hosts_only():
    allowed = frozenset({"https://servicereference.us-east-1.amazonaws.com:443"})
    listing = json.dumps(
        [
            {
                "service": "s3",
                "url": "https://servicereference.us-east-1.amazonaws.com/v1/s3/s3.json",
            },
            {"service": "ec2", "url": "v1/ec2/ec2.json"},
            {"service": "evil", "url": "https://evil.example/v1/evil/evil.json"},
            {"service": "../etc", "url": "https://servicereference.us-east-1.amazonaws.com/x"},
            {"service": "s3", "url": "https://servicereference.us-east-1.amazonaws.com/again"},
            {"url": "https://servicereference.us-east-1.amazonaws.com/nameless"},
            "not an object",
        ]
    ).encode()
    targets, rejected = service_targets(
        listing, "https://servicereference.us-east-1.amazonaws.com/", allowed
    )
    assert [(t.path, t.url, t.format) for t in targets] == [
        ("json/s3.json", "https://servicereference.us-east-1.amazonaws.com/v1/s3/s3.json", "json"),
        (
            "json/ec2.json",
            "https://servicereference.us-east-1.amazonaws.com/v1/ec2/ec2.json",
            "json",
        ),
    ]
    assert [r.reason for r in rejected] == [
        "not on an allowed host",
        "service name '../etc' is not a plain name",
        "service 's3' listed twice",
        "entry without a service name",
        "entry without a service name",
    ]


def test_service_list_that_is_not_a_json_array_raises():
    with pytest.raises(FetchError, match="not a JSON array"):
        service_targets(b'{"service": "s3"}', "https://x/", frozenset())
    with pytest.raises(FetchError, match="not JSON"):
        service_targets(b"<html>", "https://x/", frozenset())


def test_host_key_fills_in_default_ports_and_ignores_case():
    assert host_key("https://Docs.AWS.amazon.com/x") == "docs.aws.amazon.com:443"
    assert host_key("http://127.0.0.1:8080/") == "127.0.0.1:8080"
    assert host_key("ftp://example.com/") == ""
    assert host_key("http://example.com:port/") == ""
    assert (
        index_url("https://h/a/b")
        == "https://h/a/b/reference_policies_actions-resources-contextkeys.html"
    )


@pytest.mark.parametrize(
    "name", ["..", ".", ".hidden", "a/b", "a\\b", "", "x" * 201, "caf\u00e9.html", "a b", "a\x00b"]
)
def test_unsafe_file_names_are_refused(name):
    assert not is_safe_name(name)


@pytest.mark.parametrize(
    "relative",
    [
        "../x.html",
        "/etc/passwd",
        "html/../../x",
        "html/.x.part",
        "html\\x.html",
        "",
        "html//x",
        "./x",
    ],
)
def test_safe_path_refuses_anything_that_could_leave_the_snapshot(tmp_path, relative):
    with pytest.raises(SourceError, match="not a safe path inside a snapshot"):
        safe_path(tmp_path, relative)


def test_safe_path_keeps_plain_paths_inside_the_root(tmp_path):
    assert safe_path(tmp_path, "html/list_a..html") == tmp_path / "html" / "list_a..html"


def _manifest() -> Manifest:
    m = Manifest("2026-04-01T00:00:00Z", BASE, None, ["html"], {"name": "iam-catalog"})
    m.files["html/list_b.html"] = FileEntry(
        BASE + "list_b.html", "html", "page", 200, "ab" * 32, 3, '"e"', None, "t", None
    )
    m.files["html/list_a.html"] = FileEntry(
        BASE + "list_a.html", "html", "page", 500, error="HTTP 500"
    )
    return m


def test_manifest_round_trips_with_sorted_keys_and_a_content_id(tmp_path):
    m = _manifest()
    text = dumps_manifest(m).decode()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert list(data["files"]) == ["html/list_a.html", "html/list_b.html"]
    assert data["complete"] is False
    assert data["id"] == m.id and len(m.id) == 16
    (tmp_path / "manifest.json").write_text(text)
    again = read_manifest(tmp_path)
    assert again.files == m.files and again.id == m.id
    # The id depends on the content: the same files fetched later have the same id,
    # a different digest gives a different id.
    later = _manifest()
    later.created_at = "2026-05-01T00:00:00Z"
    assert later.id == m.id
    later.files["html/list_b.html"] = FileEntry(BASE, "html", "page", 200, "cd" * 32, 3)
    assert later.id != m.id


def test_manifest_with_a_path_outside_the_snapshot_is_refused(tmp_path):
    data = json.loads(dumps_manifest(_manifest()))
    data["files"]["../../etc/passwd"] = data["files"].pop("html/list_b.html")
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(SourceError, match="not a safe path"):
        read_manifest(tmp_path)


def test_manifest_whose_id_does_not_match_its_files_is_refused(tmp_path):
    data = json.loads(dumps_manifest(_manifest()))
    data["id"] = "0" * 16
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(SourceError, match="does not match the files listed"):
        read_manifest(tmp_path)


def test_rate_limiter_allows_a_burst_then_spaces_requests():
    limiter = RateLimiter(rate=20.0, burst=2)
    start = time.monotonic()
    for _ in range(2):
        limiter.acquire("h:1")
    assert time.monotonic() - start < 0.03
    for _ in range(4):
        limiter.acquire("h:1")
    elapsed = time.monotonic() - start
    # 4 requests past the burst at 20/s: 4 x 50 ms.
    assert 0.18 <= elapsed < 0.45
    assert limiter.waited >= 0.18
    # Another host has its own bucket.
    t = time.monotonic()
    limiter.acquire("other:1")
    assert time.monotonic() - t < 0.03


def test_rate_limit_of_zero_never_waits():
    limiter = RateLimiter(rate=0, burst=1)
    start = time.monotonic()
    for _ in range(1000):
        limiter.acquire("h:1")
    assert time.monotonic() - start < 0.1 and limiter.waited == 0
