"""Fetch the Service Authorization Reference into a snapshot folder.

:func:`fetch_snapshot` discovers the pages from the SAR index (and, with ``json`` in
``formats``, from AWS's service list), fetches them with bounded concurrency through one
:class:`~scraper.http.Fetcher`, and writes the snapshot described in
:mod:`scraper.snapshot`. The whole snapshot is assembled in a hidden folder beside
``out`` and renamed into place at the end, so ``out`` never holds half a snapshot; a
page that fails after all retries is recorded as failed and the snapshot is marked
incomplete. A page the site withdrew (404, 410, a redirect away from the SAR) left the
index: it is recorded under the manifest's ``withdrawn``, not as a failure; a network
failure or a 5xx still fails the page. With ``previous``, each page is requested
conditionally (If-None-Match / If-Modified-Since) and a 304 takes the previous bytes
(after checking their sha256; hard-linked when possible).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from iam_catalog.atomic import atomic_folder, remove_stale
from iam_catalog.parsers.errors import FetchError, SourceError

from .discover import (
    DEFAULT_BASE_URL,
    DEFAULT_JSON_BASE_URL,
    FORMATS,
    INDEX_PAGE,
    Rejected,
    Target,
    host_key,
    index_url,
    normalize_base,
    origin_key,
    page_targets,
    service_targets,
)
from .http import (
    TOOL_VERSION,
    Fetched,
    Fetcher,
    HttpConfig,
    HTTPStatusError,
    RedirectedAwayError,
    UnreachableError,
)
from .snapshot import (
    MANIFEST,
    FileEntry,
    Manifest,
    is_snapshot,
    read_manifest,
    safe_path,
    verified_bytes,
    write_atomic,
    write_manifest,
)

SERVICE_LIST = "servicereference.json"
# Files one fetch may take (pages in every format asked for): the reference had some 530
# pages and 450 JSON documents in 2026, 1,500 files in three formats. An index listing
# 100,000 would otherwise be fetched whole.
DEFAULT_MAX_FILES = 5000


@dataclass(slots=True)
class FetchSummary:
    """What a fetch did; :meth:`line` is the one-line report."""

    out: Path
    """The snapshot folder."""
    id: str
    """Snapshot id."""
    complete: bool
    """False when any file failed."""
    fetched: int = 0
    """Files downloaded (200)."""
    unchanged: int = 0
    """Files the server said were unchanged (304), copied from the previous snapshot."""
    failed: int = 0
    """Files that failed after all retries."""
    rejected: int = 0
    """Links discovery refused to follow."""
    bytes: int = 0
    """Body bytes downloaded, indexes included."""
    seconds: float = 0.0
    """Wall time."""
    rate_wait: float = 0.0
    """Seconds spent waiting on the per-host rate limit, summed over workers."""
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(path, error) of each failed file."""
    withdrawn: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of each page the site withdrew (it left the index)."""

    def line(self) -> str:
        state = "complete" if self.complete else "INCOMPLETE"
        text = (
            f"fetched {self.fetched}, unchanged {self.unchanged}, failed {self.failed}, "
            f"{self.bytes / 1e6:.1f} MB, {self.seconds:.1f} s -> {self.out} "
            f"(snapshot {self.id}, {state}"
        )
        if self.rejected:
            text += f", {self.rejected} links refused"
        if self.withdrawn:
            path, reason = self.withdrawn[0]
            text += f", {len(self.withdrawn)} withdrawn (first {path}: {reason})"
        if self.failures:
            path, error = self.failures[0]
            text += f"; first failure {path}: {error}"
        return text + ")"


def now_utc() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_network(url: str) -> None:
    """Raise :class:`UnreachableError` when the host of ``url`` cannot be resolved (no network:
    name resolution is what fails first, and fast)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError) as e:
        raise UnreachableError(f"cannot resolve {host} ({e})") from None


def latest_snapshot(folder: Path, *, complete_only: bool = False) -> Path | None:
    """The snapshot in ``folder`` with the newest ``created_at`` (unreadable ones, and
    with ``complete_only`` incomplete ones, are passed over), or None."""
    best: tuple[str, str, Path] | None = None
    if not folder.is_dir():
        return None
    for child in folder.iterdir():
        if child.name.startswith(".") or not is_snapshot(child):
            continue
        try:
            manifest = read_manifest(child)
        except SourceError:
            continue
        if complete_only and not manifest.complete:
            continue
        created = manifest.created_at
        key = (created, child.name, child)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else None


def fetch_snapshot(
    out: Path,
    *,
    base_url: str = DEFAULT_BASE_URL,
    json_base_url: str = DEFAULT_JSON_BASE_URL,
    formats: Iterable[str] = ("html",),
    concurrency: int = 4,
    previous: Path | None = None,
    progress: bool = False,
    config: HttpConfig | None = None,
    max_files: int = DEFAULT_MAX_FILES,
) -> FetchSummary:
    """Fetch every page into the snapshot folder ``out`` (created, or replaced when it
    already holds a snapshot) and return the summary.

    Raises :class:`FetchError` when discovery fails (index unreachable, no pages listed,
    more than ``max_files`` files to fetch) and :class:`SourceError` for unusable
    arguments; nothing is written then.
    """
    config = config or HttpConfig()
    fmts = tuple(dict.fromkeys(formats))
    unknown = [f for f in fmts if f not in FORMATS]
    if unknown or not fmts:
        raise SourceError(f"unknown --formats {','.join(unknown)!r} (known: {','.join(FORMATS)})")
    if concurrency < 1:
        raise SourceError(f"--concurrency must be at least 1, not {concurrency}")
    if max_files < 1:
        raise SourceError(f"--max-files must be at least 1, not {max_files}")
    if out.exists() and not (out.is_dir() and (is_snapshot(out) or not any(out.iterdir()))):
        raise SourceError(f"{out}: exists and is not a snapshot; refusing to replace it")
    prev_manifest = read_manifest(previous) if previous is not None else None
    base = normalize_base(base_url)
    hosts = {origin_key(base)}
    json_list = json_base_url if "json" in fmts else None
    if json_list is not None:
        if not host_key(json_list):
            raise SourceError(f"{json_list}: not an http(s) URL")
        hosts.add(origin_key(json_list))
    started = time.monotonic()
    manifest = Manifest(
        created_at=now_utc(),
        base_url=base,
        json_base_url=json_list,
        formats=list(fmts),
        tool={"name": "iam-catalog", "version": TOOL_VERSION},
        previous=(
            {"id": prev_manifest.id, "path": str(previous)}
            if prev_manifest is not None and previous is not None
            else None
        ),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_legacy_partials(out)
    # The snapshot is assembled in a hidden folder beside out and swapped in whole, in one
    # step (see atomic_folder): kill -9 anywhere leaves out the old snapshot or the new,
    # and the next run removes what a killed one left.
    with atomic_folder(out) as staging:
        with Fetcher(config, frozenset(hosts), pool_size=concurrency) as fetcher:
            run = _Run(fetcher, staging, manifest, previous, prev_manifest)
            targets = run.discover(base, json_list, fmts)
            if len(targets) > max_files:
                raise FetchError(
                    f"{index_url(base) if 'html' in fmts or 'md' in fmts else json_list}: "
                    f"{len(targets)} files to fetch, over the cap of {max_files} (--max-files)"
                )
            run.fetch_all(targets, concurrency, progress)
            run.summary.rate_wait = fetcher.limiter.waited
        manifest.finished_at = now_utc()
        write_manifest(staging, manifest)
    summary = run.summary
    summary.out, summary.id, summary.complete = out, manifest.id, manifest.complete
    summary.rejected = len(manifest.rejected)
    summary.failures = [(p, e.error or "") for p, e in manifest.failed.items()]
    summary.failed = len(summary.failures)
    summary.withdrawn = [
        (str(w["path"]), str(w["reason"])) for w in manifest.to_dict()["withdrawn"]
    ]
    summary.seconds = time.monotonic() - started
    return summary


class _Run:
    """The state of one fetch: the fetcher, the staging folder, the manifest being filled."""

    def __init__(
        self,
        fetcher: Fetcher,
        staging: Path,
        manifest: Manifest,
        previous: Path | None,
        prev_manifest: Manifest | None,
    ) -> None:
        self.fetcher = fetcher
        self.staging = staging
        self.manifest = manifest
        self.previous = previous
        self.prev_manifest = prev_manifest
        self.summary = FetchSummary(Path(), "", False)
        self._lock = threading.Lock()

    def discover(self, base: str, json_list: str | None, fmts: tuple[str, ...]) -> list[Target]:
        """Fetch the index(es), keep them in the snapshot, and list the targets."""
        targets: list[Target] = []
        rejected: list[Rejected] = []
        if "html" in fmts or "md" in fmts:
            url = index_url(base)
            data = self._fetch_index(Target(f"index/{INDEX_PAGE}", url, "html", "index"))
            if not _HTML_END.search(data[-_QUOTED:]):
                # An index cut short lists only some of the pages: the snapshot would look
                # complete without the rest.
                raise FetchError(
                    f"{url}: the index is not a whole HTML page (no </html> at its end)"
                )
            targets, rejected = page_targets(data, base, fmts)
            if not targets:
                raise FetchError(f"{url}: the index links to no list_*.html pages")
        if json_list is not None:
            data = self._fetch_index(Target(f"index/{SERVICE_LIST}", json_list, "json", "index"))
            # Service documents come from the JSON host only, not from the SAR site.
            json_targets, json_rejected = service_targets(
                data, json_list, frozenset({origin_key(json_list)})
            )
            if not json_targets:
                raise FetchError(f"{json_list}: the service list names no services")
            targets += json_targets
            rejected += json_rejected
        self.manifest.rejected = [{"link": r.link, "reason": r.reason} for r in rejected]
        return targets

    def _fetch_index(self, target: Target) -> bytes:
        fetched, data = self.fetcher.fetch_bytes(target.url)
        write_atomic(safe_path(self.staging, target.path), data)
        self._record(target, _entry(target, fetched))
        return data

    def fetch_all(self, targets: list[Target], concurrency: int, progress: bool) -> None:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(targets), desc="fetching", unit="page", file=sys.stderr)
        pool = ThreadPoolExecutor(max_workers=concurrency)
        try:
            futures = [pool.submit(self.fetch_one, t) for t in targets]
            for future in as_completed(futures):
                future.result()  # fetch_one records page failures; this raises the rest
                if bar is not None:
                    bar.update(1)
        except BaseException:
            # Interrupted (Ctrl-C, a full disk): drop the queued pages instead of
            # fetching them all before the error surfaces.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
            if bar is not None:
                bar.close()

    def fetch_one(self, target: Target) -> None:
        """Fetch one target (conditionally when the previous snapshot has a verified copy)
        and record the outcome; a failure is recorded, never raised."""
        dest = safe_path(self.staging, target.path)
        prev_data, prev_entry = None, None
        if self.previous is not None and self.prev_manifest is not None:
            prev_data = verified_bytes(self.previous, self.prev_manifest, target.path)
            prev_entry = self.prev_manifest.files.get(target.path)
        headers: dict[str, str] = {}
        if prev_data is not None and prev_entry is not None:
            if prev_entry.etag:
                headers["If-None-Match"] = prev_entry.etag
            if prev_entry.last_modified:
                headers["If-Modified-Since"] = prev_entry.last_modified
        try:
            fetched = self.fetcher.fetch_file(target.url, dest, headers)
            if fetched.status == 304:
                if not headers or prev_data is None or prev_entry is None:
                    raise FetchError(f"{target.url}: 304 Not Modified to a plain request")
                entry = self._copy_previous(target, fetched, prev_data, prev_entry, dest)
            else:
                with dest.open("rb") as f:  # the file just written, under the size cap
                    data = f.read()
                problem = page_problem(target.format, data)
                if problem is not None:
                    if fetched.url != target.url and _other_page(target.format, data):
                        dest.unlink(missing_ok=True)
                        why = f"redirected to {fetched.url}, which is not a page of the SAR"
                        self._withdraw(target, fetched.status, why)
                        return
                    redirected = (
                        f"redirected to {fetched.url}: " if fetched.url != target.url else ""
                    )
                    raise FetchError(f"{target.url}: {redirected}{problem}")
                entry = _entry(target, fetched)
        except FetchError as e:
            dest.unlink(missing_ok=True)
            status = e.status if isinstance(e, HTTPStatusError) else None
            if status in WITHDRAWN_STATUSES:
                self._withdraw(target, status, f"HTTP {status}")
                return
            if isinstance(e, RedirectedAwayError) and not _same_document(target.url, e.target):
                self._withdraw(
                    target, None, f"redirected off the site to {e.target} (not followed)"
                )
                return
            message = str(e).removeprefix(f"{target.url}: ")
            entry = FileEntry(
                target.url, target.format, target.role, status, fetched_at=now_utc(), error=message
            )
        self._record(target, entry)

    def _copy_previous(
        self, target: Target, fetched: Fetched, data: bytes, prev: FileEntry, dest: Path
    ) -> FileEntry:
        """The entry of a 304 page, whose previous (verified) bytes go to ``dest``: as a
        hard link to the previous file where the file system allows (snapshots are never
        modified in place, so sharing is safe, and a nightly snapshot then costs only the
        pages that changed), else as a copy."""
        assert self.previous is not None and self.prev_manifest is not None
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Never through a symbolic link: the file verified was a regular one, and one
            # swapped in since is linked as the link itself, then replaced below.
            os.link(safe_path(self.previous, target.path), dest, follow_symlinks=False)
            linked = os.lstat(dest)
            if not stat.S_ISREG(linked.st_mode) or linked.st_size != len(data):
                raise OSError("not the file verified")
        except OSError:  # another file system, links not supported, or changed
            dest.unlink(missing_ok=True)
            write_atomic(dest, data)
        return FileEntry(
            target.url,
            target.format,
            target.role,
            304,
            sha256=prev.sha256,
            bytes=len(data),
            etag=fetched.etag or prev.etag,
            last_modified=fetched.last_modified or prev.last_modified,
            fetched_at=now_utc(),
            final_url=fetched.url if fetched.url != target.url else None,
            copied_from=self.prev_manifest.id,
        )

    def _withdraw(self, target: Target, status: int | None, reason: str) -> None:
        """Record a page the site withdrew: it left the index (no file, no failure)."""
        with self._lock:
            self.manifest.withdrawn.append(
                {"path": target.path, "url": target.url, "status": status, "reason": reason}
            )

    def _record(self, target: Target, entry: FileEntry) -> None:
        with self._lock:
            self.manifest.files[target.path] = entry
            if entry.status == 304 and entry.ok:
                self.summary.unchanged += 1
            elif entry.ok:
                if target.role == "page":
                    self.summary.fetched += 1
                self.summary.bytes += entry.bytes or 0


# Every SAR page says this near its top (the <title> and the first heading), in every
# layout since 2017; an error page served with a 200 ("Service Unavailable") does not.
_SAR_TITLE = re.compile(rb"actions,\s+resources,\s+and\s+condition\s+keys\s+for", re.I)
_SAR_TITLE_WITHIN = 64 * 1024
# A whole HTML page ends with its closing tag: one cut short, or cut at a Content-Length
# smaller than the body sent, does not.
_HTML_END = re.compile(rb"</html>\s*\Z", re.I)
# Characters of an unexpected body quoted in the failure, to say what came instead.
_QUOTED = 60


def _same_document(url: str, target: str) -> bool:
    """Whether a redirect from ``url`` to ``target`` (off the configured origins) names the
    same document on the same host and port: an http -> https move is the site's setup,
    which fails the page (refused), not a page that left the SAR."""
    a, b = urlsplit(url), urlsplit(target)
    return (a.hostname, a.port, a.path) == (b.hostname, b.port, b.path)


# What a withdrawn page answers: gone, or never there.
WITHDRAWN_STATUSES = frozenset({404, 410})


def _other_page(fmt: str, data: bytes) -> bool:
    """Whether ``data`` is a page of another kind (where a withdrawn page's redirect
    leads), not an empty body or a page of ``fmt`` cut short."""
    if not data.strip():
        return False
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return not _is_page(fmt, data, text)


def _is_page(fmt: str, data: bytes, text: str) -> bool:
    """Whether ``data`` says it is a page of ``fmt`` (a SAR title, a sniffing parser)."""
    if fmt == "json":
        from iam_catalog.parsers import service_reference

        return service_reference.sniff(text)
    if fmt == "md":
        from iam_catalog.parsers import markdown_list, markdown_table

        return markdown_list.sniff(text) or markdown_table.sniff(text)
    return bool(_SAR_TITLE.search(data[:_SAR_TITLE_WITHIN]))


def page_problem(fmt: str, data: bytes) -> str | None:
    """Why ``data``, fetched as a page of format ``fmt`` (``html``, ``md``, ``json``), is
    not one (empty, an error page, cut short), or None."""
    if not data.strip():
        return "empty body" if not data else "body of whitespace only"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
    ok = _is_page(fmt, data, text)
    if fmt == "json":
        what = "not a service reference JSON document (an object with Name and Actions)"
    elif fmt == "md":
        what = "not a SAR page in markdown"
    else:
        what = "not a SAR page (no 'Actions, resources, and condition keys for')"
        if ok and not _HTML_END.search(data[-_QUOTED:]):
            return "not a whole HTML page (it does not end with </html>)"
    if ok:
        return None
    start = " ".join(text[: _QUOTED * 4].split())[:_QUOTED]
    return f"{what}; it starts {start!r}"


def _entry(target: Target, fetched: Fetched) -> FileEntry:
    return FileEntry(
        target.url,
        target.format,
        target.role,
        fetched.status,
        sha256=fetched.sha256,
        bytes=fetched.bytes,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        fetched_at=now_utc(),
        final_url=fetched.url if fetched.url != target.url else None,
    )


# Name prefix of the staging folders of fetches before atomic_folder (never locked).
_LEGACY_PARTIAL = ".{name}.partial-"
# The hidden folders a fetch (or atomic_folder) leaves beside its snapshot when killed.
_LEFTOVER = re.compile(r"\.(?P<name>.+)\.(?:new|old|partial)-[0-9a-z_]+")


def _remove_legacy_partials(out: Path) -> None:
    """Remove the ``.NAME.partial-*`` staging folders killed fetches of earlier versions
    left beside ``out`` (up to 43 MB each; no run removed them)."""
    prefix = _LEGACY_PARTIAL.format(name=out.name)
    try:
        entries = list(out.parent.iterdir())
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith(prefix) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def remove_stale_fetches(folder: Path) -> None:
    """Remove what killed fetches left in a folder of snapshots (``make catalog``'s
    ``snapshots/``), for every snapshot name, not only the one fetched next: the staging
    folders no live process holds, and legacy ``.partial-*`` ones; a snapshot whose swap
    was cut between two renames (systems without ``renameat2``) is put back."""
    try:
        names = {m["name"] for e in folder.iterdir() if (m := _LEFTOVER.fullmatch(e.name))}
    except FileNotFoundError:
        return
    for name in sorted(names):
        remove_stale(folder / name)
        _remove_legacy_partials(folder / name)


def fetch_day(
    snapshots: Path,
    day: str,
    *,
    base_url: str = DEFAULT_BASE_URL,
    json_base_url: str = DEFAULT_JSON_BASE_URL,
    formats: Iterable[str] = ("html",),
    concurrency: int = 4,
    progress: bool = False,
    config: HttpConfig | None = None,
    max_files: int = DEFAULT_MAX_FILES,
) -> tuple[FetchSummary, Path | None]:
    """Fetch the day's snapshot ``snapshots/<day>/`` conditionally against the newest
    complete snapshot in ``snapshots`` (``regenerate`` and ``nightly``); return the summary
    and that previous snapshot, where a build with ``allow_incomplete`` takes failed pages.

    First removes what fetches killed on earlier days left (a fetch cleans up after its
    own name only). Raises :class:`UnreachableError` when the site's host does not resolve.
    """
    remove_stale_fetches(snapshots)
    check_network(base_url)
    previous = latest_snapshot(snapshots, complete_only=True)
    summary = fetch_snapshot(
        snapshots / day,
        base_url=base_url,
        json_base_url=json_base_url,
        formats=formats,
        concurrency=concurrency,
        previous=previous,
        progress=progress,
        config=config,
        max_files=max_files,
    )
    return summary, previous


__all__ = [
    "MANIFEST",
    "FetchSummary",
    "Rejected",
    "check_network",
    "fetch_day",
    "fetch_snapshot",
    "latest_snapshot",
    "remove_stale_fetches",
]
