"""Snapshots and source folders are not trusted: in a snapshot, anything that is not a
regular file inside it, or not what the manifest says, makes the snapshot not verify (and
it is refused as an incomplete one is); in a source folder, FIFOs, devices and dangling
links each get a diagnostic and are never opened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iam_catalog.output.build import build
from iam_catalog.parsers.errors import SourceError
from iam_catalog.scraper.snapshot import (
    Manifest,
    dumps_manifest,
    read_manifest,
    snapshot_pages,
)

from .servers import SAR_BASE, SiteServer, sar_site
from .test_scraper_fetch import FAST, html_pages

PAGES = 4
CLI = [sys.executable, "-m", "iam_catalog"]
# A FIFO or device that is opened by mistake hangs or fills memory; every command that
# meets one runs in a subprocess under this limit, so a regression fails instead of hanging.
LIMIT_SECONDS = 30


@pytest.fixture(scope="module")
def pages(corpus) -> list[Path]:
    return html_pages(corpus)[40 : 40 + PAGES]


@pytest.fixture(scope="module")
def pristine(pages, tmp_path_factory) -> Path:
    """A complete snapshot of ``pages``, fetched once; tests tamper with copies."""
    from iam_catalog.scraper.fetch import fetch_snapshot

    out = tmp_path_factory.mktemp("pristine") / "snap"
    with SiteServer(sar_site(pages)) as site:
        assert fetch_snapshot(out, base_url=site.url(SAR_BASE), config=FAST).complete
    return out


@pytest.fixture
def snapshot(pristine, tmp_path) -> Path:
    import shutil

    out = tmp_path / "snap"
    shutil.copytree(pristine, out)
    return out


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iam_catalog", *args],
        capture_output=True,
        text=True,
        timeout=LIMIT_SECONDS,
    )


def refusal(snapshot: Path, relative: str, why: str) -> str:
    manifest = read_manifest(snapshot)
    return (
        f"{snapshot}: snapshot {manifest.id} does not verify, 1 of {len(manifest.files)} files "
        f"are not as its manifest says (first: {relative}: {why}); use --allow-incomplete "
        "--previous DIR to build with older copies"
    )


def first_page(snapshot: Path) -> str:
    return sorted(p for p in read_manifest(snapshot).pages())[0]


def test_pristine_snapshot_verifies(snapshot, pages):
    assert len(snapshot_pages(snapshot).files) == PAGES


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("/dev/zero", "a symbolic link to /dev/zero, not a regular file inside the snapshot"),
        ("/etc/passwd", "a symbolic link to /etc/passwd, not a regular file inside the snapshot"),
    ],
)
def test_page_linked_outside_the_snapshot_is_refused(snapshot, tmp_path, target, why):
    relative = first_page(snapshot)
    (snapshot / relative).unlink()
    (snapshot / relative).symlink_to(target)
    done = run_cli("build", str(snapshot), "--out", str(tmp_path / "out"))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"iam-catalog: error: {refusal(snapshot, relative, why)}\n"
    assert not (tmp_path / "out").exists()


def test_page_linked_to_another_page_of_the_snapshot_is_refused(snapshot):
    first, second = sorted(read_manifest(snapshot).pages())[:2]
    (snapshot / first).unlink()
    (snapshot / first).symlink_to(Path(second).name)  # "ec2 replaced s3"
    with pytest.raises(SourceError) as refused:
        build([snapshot])
    why = f"a symbolic link to {Path(second).name}, not a regular file inside the snapshot"
    assert str(refused.value) == refusal(snapshot, first, why)


def test_pages_folder_linked_elsewhere_is_refused(snapshot, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (snapshot / "html").rename(elsewhere)
    (snapshot / "html").symlink_to(elsewhere)
    manifest = read_manifest(snapshot)
    with pytest.raises(SourceError) as refused:
        build([snapshot])
    why = (
        f"its folder html is a symbolic link to {elsewhere}, not a regular file inside the snapshot"
    )
    assert str(refused.value) == (
        f"{snapshot}: snapshot {manifest.id} does not verify, {PAGES} of {len(manifest.files)} "
        f"files are not as its manifest says (first: {first_page(snapshot)}: {why}); use "
        "--allow-incomplete --previous DIR to build with older copies"
    )


def test_page_replaced_by_a_fifo_is_refused_without_blocking(snapshot, tmp_path):
    relative = first_page(snapshot)
    (snapshot / relative).unlink()
    os.mkfifo(snapshot / relative)
    done = run_cli("build", str(snapshot), "--out", str(tmp_path / "out"))
    why = "a FIFO (named pipe), not a regular file inside the snapshot"
    assert (done.returncode, done.stderr) == (
        2,
        f"iam-catalog: error: {refusal(snapshot, relative, why)}\n",
    )


def test_manifest_that_is_a_link_to_dev_zero_is_refused(snapshot, tmp_path):
    (snapshot / "manifest.json").unlink()
    (snapshot / "manifest.json").symlink_to("/dev/zero")
    done = run_cli("build", str(snapshot), "--out", str(tmp_path / "out"))
    assert (done.returncode, done.stderr) == (
        2,
        f"iam-catalog: error: {snapshot}/manifest.json: a symbolic link to /dev/zero, "
        "not a regular file; not read\n",
    )


def edit_same_size(path: Path) -> None:
    data = bytearray(path.read_bytes())
    at = data.index(b"<title>") + len(b"<title>")
    data[at : at + 1] = b"X" if data[at : at + 1] != b"X" else b"Y"
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        (edit_same_size, "bytes do not match the sha256 in the manifest"),
        (
            lambda p: p.write_bytes(p.read_bytes()[:1000]),
            "1000 bytes on disk, {size} in the manifest",
        ),
        (lambda p: p.unlink(), "missing from the snapshot folder"),
    ],
    ids=["edited", "truncated", "deleted"],
)
def test_page_changed_after_fetch_is_refused_and_allow_incomplete_takes_the_previous_copy(
    snapshot, pristine, pages, tamper, why
):
    relative = first_page(snapshot)
    size = (snapshot / relative).stat().st_size
    tamper(snapshot / relative)
    with pytest.raises(SourceError) as refused:
        build([snapshot])
    assert str(refused.value) == refusal(snapshot, relative, why.format(size=size))
    # As for an incomplete snapshot: built with the previous snapshot's copy, said so.
    result = build([snapshot], allow_incomplete=True, previous=pristine)
    stale = [d for d in result.catalog.diagnostics if d.code == "stale-page"]
    assert [d.page for d in stale] == [str(snapshot / relative)]
    assert f"does not verify ({why.format(size=size)}); built from the copy in" in stale[0].message
    assert result.catalog.services == build([pristine]).catalog.services


def rewrite_manifest(snapshot: Path, edit, *, new_id: bool) -> None:  # type: ignore[no-untyped-def]
    path = snapshot / "manifest.json"
    data = json.loads(path.read_bytes())
    edit(data)
    if new_id:
        path.write_bytes(dumps_manifest(Manifest.from_dict(data)))
    else:
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def test_role_changed_without_a_new_id_fails_the_id_check(snapshot):
    relative = first_page(snapshot)
    rewrite_manifest(snapshot, lambda d: d["files"][relative].update(role="index"), new_id=False)
    with pytest.raises(SourceError, match=r"manifest.json: id \w+ does not match the files listed"):
        build([snapshot])


def test_role_changed_with_a_new_id_does_not_verify(snapshot):
    relative = first_page(snapshot)
    rewrite_manifest(snapshot, lambda d: d["files"][relative].update(role="index"), new_id=True)
    with pytest.raises(SourceError) as refused:
        build([snapshot])
    assert str(refused.value) == refusal(
        snapshot, relative, "role 'index' in the manifest, 'page' by its folder"
    )


def test_id_of_a_snapshot_with_layout_roles_is_the_one_before_roles_were_covered(pristine):
    import hashlib

    manifest = read_manifest(pristine)
    before = hashlib.sha256()  # the id as it was computed before roles were covered
    for path, e in sorted(manifest.files.items()):
        before.update(f"{path}\0{e.sha256 if e.ok else 'failed'}\n".encode())
    assert manifest.id == before.hexdigest()[:16]


def test_fetch_previous_does_not_copy_a_link_from_the_previous_snapshot(pages, snapshot, tmp_path):
    from iam_catalog.scraper.fetch import fetch_snapshot

    relative = first_page(snapshot)
    outside = tmp_path / "outside.html"  # the same bytes, so the sha256 alone passes it
    (snapshot / relative).rename(outside)
    (snapshot / relative).symlink_to(outside)
    with SiteServer(sar_site(pages)) as site:
        summary = fetch_snapshot(
            tmp_path / "next", base_url=site.url(SAR_BASE), config=FAST, previous=snapshot
        )
        asked = dict(site.request_headers)
    assert summary.complete and (summary.fetched, summary.unchanged) == (1, PAGES - 1)
    assert "If-None-Match" not in asked[SAR_BASE + Path(relative).name]  # fetched whole
    copied = tmp_path / "next" / relative
    assert not copied.is_symlink() and not copied.samefile(outside)
    assert copied.read_bytes() == outside.read_bytes()


# -- source folders


def test_fifo_device_dangling_and_looping_links_in_a_source_folder_are_diagnosed(pages, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / pages[0].name).write_bytes(pages[0].read_bytes())
    os.mkfifo(src / "pipe.html")
    (src / "zero.html").symlink_to("/dev/zero")
    (src / "gone.html").symlink_to(tmp_path / "nowhere.html")
    (src / "loop.html").symlink_to("loop.html")
    done = run_cli("build", str(src), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    catalog = json.loads((tmp_path / "out" / "catalog.json").read_text())
    problems = [
        (d["code"], d["severity"], d["message"])
        for d in catalog["diagnostics"]
        if d["code"] == "not-a-file"
    ]
    assert problems == [
        (
            "not-a-file",
            "error",
            f"{src / 'gone.html'}: a symbolic link to {tmp_path / 'nowhere.html'}, which does "
            "not exist, not a regular file; not read",
        ),
        (
            "not-a-file",
            "error",
            f"{src / 'loop.html'}: a symbolic link to loop.html that cannot be followed (Too "
            "many levels of symbolic links), not a regular file; not read",
        ),
        (
            "not-a-file",
            "error",
            f"{src / 'pipe.html'}: a FIFO (named pipe), not a regular file; not read",
        ),
        (
            "not-a-file",
            "error",
            f"{src / 'zero.html'}: a character device, not a regular file; not read",
        ),
    ]
    assert catalog["source"]["pages"] == 1


def test_fifo_given_as_source_is_named_and_not_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.md")
    done = run_cli("build", str(tmp_path / "pipe.md"), "--out", str(tmp_path / "out"))
    assert (done.returncode, done.stderr) == (
        2,
        f"iam-catalog: error: nothing usable in the sources ({tmp_path / 'pipe.md'}: a FIFO "
        "(named pipe), not a regular file; not read)\n",
    )


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


# The fetch runs under this address-space limit: /dev/zero read to its end would pass it.
MEMORY_LIMIT = 2 * 1024**3


def test_fetch_previous_with_a_page_linked_to_dev_zero_fetches_it_whole(pages, snapshot, tmp_path):
    relative = first_page(snapshot)
    (snapshot / relative).unlink()
    (snapshot / relative).symlink_to("/dev/zero")
    out = tmp_path / "next"
    with SiteServer(sar_site(pages)) as site:
        base, previous = site.url(SAR_BASE), str(snapshot)
        done = subprocess.run(
            [*CLI, "fetch", "--out", str(out), "--base-url", base, "--previous", previous],
            capture_output=True,
            text=True,
            timeout=LIMIT_SECONDS,
            preexec_fn=_limit_memory,
        )
    assert done.returncode == 0, done.stderr
    assert "fetched 1, unchanged 3, failed 0" in done.stderr
    copied = out / relative
    assert not copied.is_symlink()
    assert copied.read_bytes() == (pages[0].parent / copied.name).read_bytes()


def test_file_that_became_a_fifo_after_listing_is_read_without_blocking(tmp_path):
    import threading

    from iam_catalog.output.build import _read_file

    fifo = tmp_path / "list_x.html"
    os.mkfifo(fifo)  # as if swapped in between the listing and the read
    outcome: list[object] = []
    reader = threading.Thread(target=lambda: outcome.append(_read_file((fifo, None), None, 1000)))
    reader.start()
    reader.join(LIMIT_SECONDS / 3)
    if reader.is_alive():  # blocked in open(): a writer lets it go, and the test fails
        with open(fifo, "wb"):
            pass
        reader.join()
        pytest.fail("reading a FIFO blocked")
    ((problem, _digest),) = outcome  # type: ignore[misc]
    assert (problem.code, problem.message) == (
        "not-a-file",
        f"{fifo}: a FIFO (named pipe), not a regular file; not read",
    )
