"""The page cache: a build that takes pages from it writes the same bytes as a full build,
parses only what changed, and survives a deleted or damaged cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from iam_catalog.output.build import build
from iam_catalog.output.writers import CSV_COLUMNS, write_catalog_dir
from iam_catalog.page_cache import PageCache, code_version
from iam_catalog.parsers.errors import SourceError

# Every file a build writes: the catalog and each CSV table of the writers.
OUTPUTS = ("catalog.json", *(f"csv/{name}" for name in CSV_COLUMNS))


def _write(sources: list[Path], out: Path, cache: PageCache | None) -> dict[str, bytes]:
    result = build(sources, render=True, cache=cache)
    write_catalog_dir(result.catalog, out, result.rendered)
    return {name: (out / name).read_bytes() for name in OUTPUTS}


@pytest.fixture(scope="module")
def pages_2026(corpus, tmp_path_factory) -> Path:
    """A copy of the 528 pages of 2026-04-01, to change some of them."""
    folder = tmp_path_factory.mktemp("pages") / "html"
    shutil.copytree(corpus / "html" / "2026-04-01_110d32e3", folder)
    return folder


def test_cached_build_of_528_pages_is_byte_identical_and_parses_only_changed_pages(
    pages_2026, corpus, tmp_path
):
    cache_dir = tmp_path / "cache"
    full = _write([pages_2026], tmp_path / "full", None)
    cold = PageCache(cache_dir)
    assert _write([pages_2026], tmp_path / "cold", cold) == full
    assert (cold.hits, cold.misses) == (0, 528)
    warm = PageCache(cache_dir)
    assert _write([pages_2026], tmp_path / "warm", warm) == full
    assert (warm.hits, warm.misses) == (528, 0)

    # Five pages replaced by their 2025-11-01 versions: five misses, and the same bytes as
    # a full build of the changed folder.
    older = corpus / "html" / "2025-11-01_f2b93173"
    changed = [
        p.name
        for p in sorted(pages_2026.glob("*.html"))
        if (older / p.name).is_file() and (older / p.name).read_bytes() != p.read_bytes()
    ][10:15]
    assert len(changed) == 5
    for name in changed:
        shutil.copyfile(older / name, pages_2026 / name)
    try:
        full_changed = _write([pages_2026], tmp_path / "full2", None)
        assert full_changed["catalog.json"] != full["catalog.json"]
        again = PageCache(cache_dir)
        assert _write([pages_2026], tmp_path / "warm2", again) == full_changed
        assert (again.hits, again.misses) == (523, 5)
    finally:
        for name in changed:
            shutil.copyfile(corpus / "html" / "2026-04-01_110d32e3" / name, pages_2026 / name)


def test_damaged_or_deleted_cache_entries_are_misses_and_change_nothing(corpus, tmp_path):
    pages = sorted((corpus / "html" / "2026-04-01_110d32e3").glob("*.html"))[:40]
    cache_dir = tmp_path / "cache"
    full = _write(pages, tmp_path / "full", None)
    _write(pages, tmp_path / "cold", PageCache(cache_dir))
    entries = sorted(cache_dir.rglob("*.pickle"))
    assert len(entries) == 40
    entries[0].write_bytes(b"not a pickle")
    entries[1].write_bytes(entries[1].read_bytes()[:100])  # torn
    entries[2].unlink()
    damaged = PageCache(cache_dir)
    assert _write(pages, tmp_path / "damaged", damaged) == full
    assert (damaged.hits, damaged.misses) == (37, 3)
    shutil.rmtree(cache_dir)
    gone = PageCache(cache_dir)
    assert _write(pages, tmp_path / "gone", gone) == full
    assert (gone.hits, gone.misses) == (0, 40)


def test_cache_key_holds_page_id_format_and_bytes_and_the_folder_the_code_version(tmp_path):
    digest = bytes(32)
    key = PageCache.key("list_amazons3", None, digest)
    assert key != PageCache.key("list_amazons3", "html", digest)
    assert key != PageCache.key("list_amazons3x", None, digest)
    assert key != PageCache.key("list_amazons3", None, b"\x01" * 32)
    cache = PageCache(tmp_path)
    assert cache.root == tmp_path / code_version()[:16]
    # An entry of another code version is never read, and prune removes it.
    (tmp_path / ("0" * 16)).mkdir()
    assert cache.prune() == 1
    assert [p.name for p in tmp_path.iterdir()] == []


def test_a_page_whose_bytes_do_not_match_its_manifest_is_not_taken_from_the_cache(corpus, tmp_path):
    """A snapshot page edited after the fetch is refused, even when the cache holds its new
    bytes: the cache never stands in for the snapshot's own check."""
    from iam_catalog.scraper.snapshot import (
        FileEntry,
        Manifest,
        file_sha256,
        write_manifest,
    )

    pages = sorted((corpus / "html" / "2026-04-01_110d32e3").glob("*.html"))[:3]
    snap = tmp_path / "snap"
    (snap / "html").mkdir(parents=True)
    manifest = Manifest(
        created_at="2026-12-01T00:00:00Z",
        base_url="http://x/",
        json_base_url=None,
        formats=["html"],
        tool={"name": "iam-catalog", "version": "test"},
    )
    for p in pages:
        shutil.copyfile(p, snap / "html" / p.name)
        manifest.files[f"html/{p.name}"] = FileEntry(
            url=f"http://x/{p.name}",
            format="html",
            role="page",
            status=200,
            sha256=file_sha256(p),
            bytes=p.stat().st_size,
        )
    write_manifest(snap, manifest)
    cache = PageCache(tmp_path / "cache")
    assert build([snap], cache=cache).catalog.source.pages == 3
    edited = snap / "html" / pages[0].name
    edited.write_bytes(pages[1].read_bytes())  # bytes the cache holds, under another name
    with pytest.raises(SourceError, match="does not verify"):
        build([snap], cache=PageCache(tmp_path / "cache"))


def test_cli_build_with_cache_writes_the_same_bytes_and_fills_the_cache(corpus, tmp_path, capsys):
    from iam_catalog.output.cli import main

    pages = sorted((corpus / "html" / "2026-04-01_110d32e3").glob("*.html"))[:20]
    src = tmp_path / "pages"
    src.mkdir()
    for p in pages:
        (src / p.name).write_bytes(p.read_bytes())
    assert main(["build", str(src), "--out", str(tmp_path / "plain")]) == 0
    for out in ("cold", "warm"):
        code = main(
            ["build", str(src), "--out", str(tmp_path / out), "--cache", str(tmp_path / "c")]
        )
        assert code == 0
        for name in OUTPUTS:
            assert (tmp_path / out / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    assert len(list((tmp_path / "c").rglob("*.pickle"))) == 20


def test_prune_deletes_what_no_recent_build_used_and_the_next_build_is_the_same(corpus, tmp_path):
    """Entries a build read or wrote in the last KEEP_DAYS days stay; an entry no build
    used for longer goes, as do other code versions' folders and killed writes' temporary
    files; a build after pruning writes the same bytes, parsing only the pruned pages."""
    import hashlib
    import os
    import time

    from iam_catalog.output.build import page_id
    from iam_catalog.output.cli import main
    from iam_catalog.page_cache import KEEP_DAYS

    pages = sorted((corpus / "html" / "2026-04-01_110d32e3").glob("*.html"))[:12]
    cache_dir = tmp_path / "cache"
    full = _write(pages, tmp_path / "full", None)
    _write(pages, tmp_path / "cold", PageCache(cache_dir))
    cache = PageCache(cache_dir)
    entries = [
        cache._path(PageCache.key(page_id(p), None, hashlib.sha256(p.read_bytes()).digest()))
        for p in pages
    ]
    assert sorted(entries) == sorted(cache_dir.rglob("*.pickle"))
    old = time.time() - (KEEP_DAYS + 1) * 86400
    for e in entries:
        os.utime(e, (old, old))
    recent = time.time() - (KEEP_DAYS - 1) * 86400
    os.utime(entries[0], (recent, recent))  # unused for 13 days: kept
    (cache_dir / ("0" * 16) / "ab").mkdir(parents=True)  # another code version
    shard = entries[1].parent
    killed, writing = shard / ".killed.tmp", shard / ".writing.tmp"
    killed.write_bytes(b"half")
    writing.write_bytes(b"being written")
    os.utime(killed, (time.time() - 7200,) * 2)

    # A build of 8 of the 12 pages uses their entries: those stay, 3 others go.
    used = pages[4:]
    args = ["build", *map(str, used), "--out", str(tmp_path / "out"), "--cache", str(cache_dir)]
    assert main(args) == 0
    left = sorted(cache_dir.rglob("*.pickle"))
    assert left == sorted([entries[0], *entries[4:]])  # the 8 used, one unused for 13 days
    assert not killed.exists() and writing.exists()
    assert [p.name for p in cache_dir.iterdir()] == [code_version()[:16]]
    again = PageCache(cache_dir)
    assert _write(pages, tmp_path / "again", again) == full
    assert (again.hits, again.misses) == (9, 3)
