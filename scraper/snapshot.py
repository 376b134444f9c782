"""Snapshots on disk: a folder with the unmodified bytes of every fetched page and a
``manifest.json`` that says where each came from.

Layout::

    DIR/manifest.json                   written last
    DIR/index/<name>                    the index pages discovery read (never parsed)
    DIR/html/list_<service>.html        SAR pages
    DIR/md/list_<service>.md            their markdown rendering (--formats md)
    DIR/json/<service>.json             AWS's programmatic JSON (--formats json)

Bytes are stored as the server meant them: exactly what was sent, after undoing any
Content-Encoding (gzip) but never otherwise touched. An unchanged page (304) is a hard link
to the previous snapshot's file where the file system allows, so snapshots must never
be edited in place (each manifest's sha256 would show it if one were).

The manifest (sorted keys) has one entry per file under ``files`` keyed by its path
relative to DIR (``url``, ``status``, ``sha256``, ``bytes``, ``etag``, ``last_modified``,
``fetched_at``, ``error``, ``format``, ``role``, ``copied_from``) and, for the whole
snapshot, ``id``, ``complete``, ``created_at``, ``base_url``, ``json_base_url``,
``formats``, ``tool``, ``previous``, the ``rejected`` links and the ``withdrawn`` pages
(linked from the index, but the site withdrew them: 404, 410, or a redirect away from
the SAR, to a page of another kind or off the site; ``path``, ``url``, ``status``,
``reason``): they left the index, are not under ``files`` and do not make the snapshot
incomplete. A failed file has an ``error`` and no file on disk. The ``id`` is a hash of
the paths and digests, so two fetches that got the same bytes have the same id.

A snapshot *verifies* when every page the manifest lists as fetched is a regular file
inside the folder (no symbolic link anywhere on its way, no FIFO or device) of the size
and sha256 the manifest gives, and every entry's ``role`` is the one its folder gives it
(``index`` under ``index/``, ``page`` elsewhere). A snapshot that does not verify is
refused as an incomplete one is (see :func:`snapshot_pages`). ``role`` is part of the id
only where it differs from that rule, so the ids of snapshots written before it was
covered stay the same, and a role edited without a new id is caught by the id check.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from iam_catalog.atomic import new_temp_file
from iam_catalog.parsers.errors import SourceError

from .localfiles import NotRegularFileError, open_inside

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
_HASH_CHUNK = 1024 * 1024
# No file of a snapshot is larger: fetch refuses bodies over 20 MB (scraper.http). A
# file read through a manifest is read up to its listed size (at most this) plus one byte.
SNAPSHOT_FILE_CAP = 20 * 1024 * 1024
# manifest.json of the whole reference in three formats is some 1 MB.
MANIFEST_CAP = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a snapshot, fetched, copied from a previous snapshot, or failed."""

    url: str
    """URL it was fetched from (as discovered, before redirects)."""
    format: str
    """``html``, ``md`` or ``json``."""
    role: str
    """``page`` (parsed by ``build``) or ``index`` (a list of pages)."""
    status: int | None
    """HTTP status of the last answer: 200, 304 (unchanged, copied from the previous
    snapshot), an error status, or None when no answer came."""
    sha256: str | None = None
    """Hex digest of the bytes on disk (None when failed)."""
    bytes: int | None = None
    """Size on disk (None when failed)."""
    etag: str | None = None
    """ETag the server sent (for the next conditional request)."""
    last_modified: str | None = None
    """Last-Modified the server sent."""
    fetched_at: str | None = None
    """UTC time of the answer, ISO 8601."""
    error: str | None = None
    """Why the file is missing (one line); None when it is there."""
    final_url: str | None = None
    """The URL that answered, when a redirect was followed."""
    copied_from: str | None = None
    """Id of the snapshot the bytes were copied from (a 304 answer)."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class Manifest:
    """The manifest of one snapshot."""

    created_at: str
    """UTC time the fetch started."""
    base_url: str
    """SAR base folder URL."""
    json_base_url: str | None
    """Service-list URL of the programmatic JSON, when json was fetched."""
    formats: list[str]
    """Fetch formats asked for."""
    tool: dict[str, str]
    """``{"name": "iam-catalog", "version": ...}``."""
    files: dict[str, FileEntry] = field(default_factory=dict)
    """Every file, by path relative to the snapshot folder."""
    rejected: list[dict[str, str]] = field(default_factory=list)
    """Links discovery refused to follow: ``{"link", "reason"}``."""
    withdrawn: list[dict[str, Any]] = field(default_factory=list)
    """Pages the index links that the site withdrew (404, 410, a redirect away from the
    SAR): ``{"path", "url", "status", "reason"}``, by path. Not files of the snapshot."""
    previous: dict[str, str] | None = None
    """``{"id", "path"}`` of the snapshot used for conditional requests."""
    finished_at: str | None = None
    """UTC time the fetch ended."""
    manifest_version: int = MANIFEST_VERSION
    """Version of this layout."""

    @property
    def complete(self) -> bool:
        """True when every file was fetched (or copied unchanged)."""
        return all(e.ok for e in self.files.values())

    @property
    def failed(self) -> dict[str, FileEntry]:
        return {p: e for p, e in sorted(self.files.items()) if not e.ok}

    @property
    def id(self) -> str:
        """A stable id: hash over (path, sha256 or failure) of every file, sorted."""
        h = hashlib.sha256()
        for path, e in sorted(self.files.items()):
            # The role only where the layout does not imply it: ids of existing snapshots
            # (all roles as the layout gives them) stay what they were.
            role = "" if e.role == layout_role(path) else f"\0{e.role}"
            h.update(f"{path}\0{e.sha256 if e.ok else 'failed'}{role}\n".encode())
        return h.hexdigest()[:16]

    def pages(self) -> dict[str, FileEntry]:
        """The page entries (not indexes), by path."""
        return {p: e for p, e in sorted(self.files.items()) if e.role == "page"}

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest_version": self.manifest_version,
            "id": self.id,
            "complete": self.complete,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "base_url": self.base_url,
            "json_base_url": self.json_base_url,
            "formats": list(self.formats),
            "tool": dict(self.tool),
            "previous": self.previous,
            "rejected": list(self.rejected),
            "withdrawn": sorted(self.withdrawn, key=lambda w: str(w["path"])),
            "files": {p: asdict(e) for p, e in sorted(self.files.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        files = {p: FileEntry(**e) for p, e in data["files"].items()}
        for p in files:
            safe_path(Path("."), p)  # a hand-edited manifest cannot point outside
        return cls(
            created_at=data["created_at"],
            base_url=data["base_url"],
            json_base_url=data.get("json_base_url"),
            formats=list(data["formats"]),
            tool=dict(data["tool"]),
            files=files,
            rejected=list(data.get("rejected", [])),
            withdrawn=list(data.get("withdrawn", [])),
            previous=data.get("previous"),
            finished_at=data.get("finished_at"),
            manifest_version=data.get("manifest_version", MANIFEST_VERSION),
        )


def dumps_manifest(manifest: Manifest) -> bytes:
    """The bytes of ``manifest.json``: sorted keys, 2-space indent, final newline."""
    return (json.dumps(manifest.to_dict(), indent=2, sort_keys=True) + "\n").encode("utf-8")


def is_snapshot(path: Path) -> bool:
    """True when ``path`` is a folder holding a snapshot manifest (of any file type: a
    manifest that is a link or a FIFO makes a snapshot that :func:`read_manifest` refuses,
    not a plain folder)."""
    return path.is_dir() and os.path.lexists(path / MANIFEST)


# The JSON types of each manifest field (a tuple: any of them). A hand-edited or
# damaged manifest is refused with the path of the first wrong value, before any field
# is used (``files`` as a list, ``sha256: null`` on a page that was fetched).
_STR, _OPT_STR, _OPT_INT = (str,), (str, type(None)), (int, type(None))
_MANIFEST_FIELDS: dict[str, tuple[type, ...]] = {
    "manifest_version": (int,),
    "id": _STR,
    "complete": (bool,),
    "created_at": _STR,
    "finished_at": _OPT_STR,
    "base_url": _STR,
    "json_base_url": _OPT_STR,
    "formats": (list,),
    "tool": (dict,),
    "previous": (dict, type(None)),
    "rejected": (list,),
    "withdrawn": (list,),
    "files": (dict,),
}
_WITHDRAWN_FIELDS: dict[str, tuple[type, ...]] = {
    "path": _STR,
    "url": _STR,
    "status": _OPT_INT,
    "reason": _STR,
}
_MANIFEST_REQUIRED = ("created_at", "base_url", "formats", "tool", "files")
_ENTRY_FIELDS: dict[str, tuple[type, ...]] = {
    "url": _STR,
    "format": _STR,
    "role": _STR,
    "status": _OPT_INT,
    "sha256": _OPT_STR,
    "bytes": _OPT_INT,
    "etag": _OPT_STR,
    "last_modified": _OPT_STR,
    "fetched_at": _OPT_STR,
    "error": _OPT_STR,
    "final_url": _OPT_STR,
    "copied_from": _OPT_STR,
}
_ENTRY_REQUIRED = ("url", "format", "role", "status")
_SHA256_HEX = frozenset("0123456789abcdef")


def _type_names(types: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", list: "a list"}
    names |= {dict: "an object", type(None): "null"}
    return " or ".join(names[t] for t in types)


def _shape_problem(data: Any) -> str | None:
    """Where and why ``data`` is not shaped like a manifest; None when it is."""

    def wrong(value: Any, types: tuple[type, ...]) -> bool:
        # bool is an int to Python, never to the manifest
        return not isinstance(value, types) or (isinstance(value, bool) and bool not in types)

    if not isinstance(data, dict):
        return "$ is not an object"
    for name in _MANIFEST_REQUIRED:
        if name not in data:
            return f"$.{name} is missing"
    for name, types in _MANIFEST_FIELDS.items():
        if name in data and wrong(data[name], types):
            return f"$.{name} is not {_type_names(types)}"
    if not all(isinstance(f, str) for f in data["formats"]):
        return "$.formats is not a list of strings"
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in data["tool"].items()):
        return "$.tool is not an object of strings"
    for n, item in enumerate(data.get("withdrawn", [])):
        at = f"$.withdrawn[{n}]"
        if not isinstance(item, dict):
            return f"{at} is not an object"
        for name, types in _WITHDRAWN_FIELDS.items():
            if name not in item:
                return f"{at}.{name} is missing"
            if wrong(item[name], types):
                return f"{at}.{name} is not {_type_names(types)}"
    for path, entry in data["files"].items():
        at = f"$.files[{json.dumps(path)}]"
        if not isinstance(entry, dict):
            return f"{at} is not an object"
        for name in _ENTRY_REQUIRED:
            if name not in entry:
                return f"{at}.{name} is missing"
        for name, value in entry.items():
            allowed = _ENTRY_FIELDS.get(name)
            if allowed is None:
                return f"{at}.{name} is not a field of a file entry"
            if wrong(value, allowed):
                return f"{at}.{name} is not {_type_names(allowed)}"
        if entry.get("error") is None:
            sha = entry.get("sha256")
            if not (isinstance(sha, str) and len(sha) == 64 and _SHA256_HEX.issuperset(sha)):
                return f"{at}.sha256 is not the 64-digit hex digest a fetched file has"
            if not isinstance(entry.get("bytes"), int) or entry["bytes"] < 0:
                return f"{at}.bytes is not the size a fetched file has"
    return None


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the snapshot in ``folder``."""
    path = folder / MANIFEST
    try:
        data = json.loads(_read_manifest_bytes(folder))
    except NotRegularFileError as e:
        raise SourceError(f"{folder}/{e}") from None
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e.strerror})") from None
    except RecursionError:
        raise SourceError(f"{path}: not a valid snapshot manifest (nested too deeply)") from None
    except ValueError as e:
        raise SourceError(f"{path}: not a valid snapshot manifest ({e})") from None
    problem = _shape_problem(data)
    if problem is not None:
        raise SourceError(f"{path}: not a valid snapshot manifest, {problem}")
    try:
        manifest = Manifest.from_dict(data)
    except (ValueError, KeyError, TypeError) as e:
        raise SourceError(f"{path}: not a valid snapshot manifest ({e})") from None
    if data.get("id") != manifest.id:
        raise SourceError(f"{path}: id {data.get('id')} does not match the files listed")
    return manifest


def _read_manifest_bytes(folder: Path) -> bytes:
    """The bytes of ``folder/manifest.json``: a regular file (not a link), under the cap."""
    with open_inside(folder, MANIFEST) as f:
        data = f.read(MANIFEST_CAP + 1)
    if len(data) > MANIFEST_CAP:
        raise SourceError(f"{folder / MANIFEST}: over {MANIFEST_CAP} bytes, not a manifest")
    return data


def layout_role(relative: str) -> str:
    """The role the snapshot layout gives the file at ``relative``."""
    return "index" if relative.startswith("index/") else "page"


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Write ``manifest.json`` atomically (temp file + rename)."""
    write_atomic(folder / MANIFEST, dumps_manifest(manifest), durable=True)


def write_atomic(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write ``data`` to ``path`` through a temp file beside it and a rename; with
    ``durable``, fsync before the rename. (Page files are not fsynced one by one: that
    costs ~4 ms a page, and a page torn by a power cut is caught by its sha256 when the
    snapshot is read.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = new_temp_file(path.parent, f".{path.name}.", ".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def safe_path(root: Path, relative: str) -> Path:
    """``root / relative``, refusing anything that could land outside ``root``:
    absolute paths, ``..``, empty or hidden parts, backslashes, odd characters."""
    rel = PurePosixPath(relative)
    ok = (
        relative
        and str(rel) == relative  # canonical: no `//`, no `./`, no trailing `/`
        and not rel.is_absolute()
        and "\\" not in relative
        and all(
            part not in ("", ".", "..")
            and not part.startswith(".")
            and all(c.isalnum() or c in "._-" for c in part)
            and part.isascii()
            for part in rel.parts
        )
    )
    if not ok:
        raise SourceError(f"{relative!r}: not a safe path inside a snapshot")
    return root.joinpath(*rel.parts)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class UnverifiedFileError(SourceError):
    """A file of a snapshot is not what its manifest says: missing, not a regular file
    inside the snapshot, of another size or other bytes, or of the wrong role."""


def read_verified(snapshot: Path, manifest: Manifest, relative: str) -> bytes:
    """The bytes of file ``relative`` of a snapshot, checked against the manifest (see the
    module's notes on verifying); :class:`UnverifiedFileError` saying why not otherwise.
    Reads at most the size the manifest lists plus one byte."""
    entry = manifest.files.get(relative)
    if entry is None:
        raise UnverifiedFileError("not listed in the manifest")
    if entry.role != layout_role(relative):
        raise UnverifiedFileError(
            f"role {entry.role!r} in the manifest, {layout_role(relative)!r} by its folder"
        )
    if not entry.ok or entry.sha256 is None:
        raise UnverifiedFileError(f"failed when fetched ({entry.error})")
    listed = entry.bytes if isinstance(entry.bytes, int) else None
    limit = min(listed, SNAPSHOT_FILE_CAP) if listed is not None and listed >= 0 else 0
    try:
        safe_path(snapshot, relative)
        with open_inside(snapshot, relative) as f:
            data = f.read(limit + 1)
    except NotRegularFileError as e:
        raise UnverifiedFileError(f"{e.kind}, not a regular file inside the snapshot") from None
    except FileNotFoundError:
        raise UnverifiedFileError("missing from the snapshot folder") from None
    except OSError as e:
        raise UnverifiedFileError(f"cannot read ({e.strerror})") from None
    if len(data) != listed:
        found = f"more than {limit}" if len(data) > limit else str(len(data))
        raise UnverifiedFileError(f"{found} bytes on disk, {listed} in the manifest")
    if hashlib.sha256(data).hexdigest() != entry.sha256:
        raise UnverifiedFileError("bytes do not match the sha256 in the manifest")
    return data


def verified_bytes(snapshot: Path, manifest: Manifest, relative: str) -> bytes | None:
    """The bytes of file ``relative`` of a snapshot when they verify (:func:`read_verified`);
    None otherwise."""
    try:
        return read_verified(snapshot, manifest, relative)
    except UnverifiedFileError:
        return None


def verified_copy(snapshot: Path, manifest: Manifest, relative: str) -> Path | None:
    """The file ``relative`` of a snapshot when it verifies (:func:`read_verified`); None
    otherwise."""
    if verified_bytes(snapshot, manifest, relative) is None:
        return None
    return safe_path(snapshot, relative)


def unverified_files(folder: Path, manifest: Manifest) -> dict[str, str]:
    """(path -> why) of every file of the snapshot in ``folder`` that does not verify:
    each page the manifest lists as fetched, and the role of every entry. Failed pages
    are not listed (they are the incomplete part), nor are index pages read (no build
    reads them)."""
    problems: dict[str, str] = {}
    for relative, entry in sorted(manifest.files.items()):
        if not entry.ok and entry.role == layout_role(relative):
            continue
        if entry.role == "index" and layout_role(relative) == "index":
            continue
        try:
            read_verified(folder, manifest, relative)
        except UnverifiedFileError as e:
            problems[relative] = str(e)
    return problems


@dataclass(frozen=True, slots=True)
class StalePage:
    """A page of an incomplete snapshot taken from an earlier snapshot instead."""

    path: Path
    """The file read (in the earlier snapshot)."""
    relative: str
    """Its path inside the snapshots."""
    error: str
    """Why the snapshot's own copy was not used: ``fetch failed (...)`` or ``does not
    verify (...)``."""
    previous_id: str
    """Id of the snapshot the file came from."""
    fetched_at: str | None
    """When the earlier copy was fetched."""


@dataclass(frozen=True, slots=True)
class SnapshotPages:
    """The pages a build of a snapshot reads."""

    manifest: Manifest
    """The snapshot's manifest."""
    files: list[tuple[Path, str]]
    """(file on disk, expected sha256) of every page to parse, in path order."""
    stale: list[StalePage]
    """Failed pages taken from the previous snapshot."""
    missing: list[tuple[str, str]]
    """(path, reason) of failed pages no snapshot could supply."""


def snapshot_pages(
    folder: Path, *, allow_incomplete: bool = False, previous: Path | None = None
) -> SnapshotPages:
    """The pages of the snapshot in ``folder`` (never its manifest or indexes).

    An incomplete snapshot raises :class:`SourceError` unless ``allow_incomplete``; then
    each failed page is taken from ``previous`` (when that has a verified copy) as a
    :class:`StalePage`, else listed as missing.
    """
    manifest = read_manifest(folder)
    unverified = unverified_files(folder, manifest)
    failed = {p: e.error or "" for p, e in manifest.failed.items()}
    if unverified and not allow_incomplete:
        first, why = next(iter(unverified.items()))
        raise SourceError(
            f"{folder}: snapshot {manifest.id} does not verify, {len(unverified)} of "
            f"{len(manifest.files)} files are not as its manifest says (first: {first}: "
            f"{why}); use --allow-incomplete --previous DIR to build with older copies"
        )
    if failed and not allow_incomplete:
        first, error = next(iter(failed.items()))
        raise SourceError(
            f"{folder}: snapshot {manifest.id} is incomplete, {len(failed)} of "
            f"{len(manifest.files)} files failed (first: {first}: {error}); "
            "use --allow-incomplete --previous DIR to build with older copies"
        )
    # Pages to take from the previous snapshot, and why: fetch failed, or does not verify.
    replace = {p: f"fetch failed ({failed[p]})" for p in failed if layout_role(p) == "page"}
    replace.update((p, f"does not verify ({why})") for p, why in unverified.items())
    prev_manifest = read_manifest(previous) if previous is not None and replace else None
    files: list[tuple[Path, str]] = []
    stale: list[StalePage] = []
    missing: list[tuple[str, str]] = []
    pages = sorted({p for p in manifest.files if layout_role(p) == "page"})
    for relative in pages:
        entry = manifest.files[relative]
        if relative not in replace:
            assert entry.sha256 is not None
            files.append((safe_path(folder, relative), entry.sha256))
            continue
        copy = (
            verified_copy(previous, prev_manifest, relative)
            if previous is not None and prev_manifest is not None
            else None
        )
        if copy is None:
            reason = (
                "no --previous snapshot given"
                if previous is None
                else (f"not in the previous snapshot {previous} (or its bytes do not match)")
            )
            missing.append((relative, f"{replace[relative]}; {reason}"))
            continue
        assert prev_manifest is not None
        prev_entry = prev_manifest.files[relative]
        assert prev_entry.sha256 is not None
        files.append((copy, prev_entry.sha256))
        stale.append(
            StalePage(copy, relative, replace[relative], prev_manifest.id, prev_entry.fetched_at)
        )
    return SnapshotPages(manifest, files, stale, missing)
