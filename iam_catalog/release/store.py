"""The releases folder: immutable release folders, the ``latest`` pointer and the files
derived from the releases (``index.json``, ``CHANGELOG.md``, ``feed.xml``), plus
``status.json`` and the quarantine.

Layout::

    RELEASES/<id>/                 one published release, never changed once there
        catalog.json  csv/*.csv    the catalog
        diff.json diff.md diff.html   against the release before it
        gates.json                 every gate with its figure, threshold and verdict
        changelog.md               this release's section of CHANGELOG.md
        crosscheck.json .md        with AWS's JSON in the snapshot: the sources' disagreements
        manifest.json              written last: the index entry and the sha256 of every file
    RELEASES/latest -> <id>        a symbolic link, replaced atomically (rename of a new link)
    RELEASES/index.json            one entry per release, oldest first
    RELEASES/CHANGELOG.md          one section per release, newest first
    RELEASES/feed.xml              Atom, one entry per release
    RELEASES/status.json           the last attempt and the age of the last good release
    RELEASES/history.sqlite        every published release's items (``iam-catalog history``)
    RELEASES/quarantine/<id>/      a release a gate stopped, same files, never served

How it stays whole when killed at any point: a release is assembled in a hidden folder
(``.staging-<id>``) and renamed into place, so a release folder either is complete or is
not there; that rename is the publication. Everything else (the index, the changelog, the
feed, ``latest``) is derived from the release folders and rewritten by :func:`refresh`,
each file atomically, after every publication and at the start of every night: a night
killed between the rename and the last of them is completed by the next one.

Readers: resolve ``latest`` once (``os.path.realpath``, or read the link) and read every
file from the folder it names; a release folder never changes, so what is read there is
one release even while the next one is published.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from iam_catalog.output.writers import atomic_open
from iam_catalog.parsers.errors import SourceError

INDEX = "index.json"
CHANGELOG = "CHANGELOG.md"
FEED = "feed.xml"
STATUS = "status.json"
LATEST = "latest"
QUARANTINE = "quarantine"
MANIFEST = "manifest.json"
GATES = "gates.json"
SECTION = "changelog.md"
STAGING_PREFIX = ".staging-"
INDEX_VERSION = 1

_JSON = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def dumps(data: Any) -> bytes:
    """JSON as every file of the releases folder is written: sorted keys, 2-space indent."""
    return orjson.dumps(data, option=_JSON) + b"\n"


def write_file(path: Path, data: bytes) -> None:
    """Write ``path`` atomically and durably (temp file, fsync, rename), with the mode
    ``open`` gives under the umask (:func:`iam_catalog.output.writers.atomic_open`)."""
    with atomic_open(path, "wb") as f:
        f.write(data)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder`` but its manifest, by relative POSIX path."""
    return {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")
    }


@dataclass(frozen=True, slots=True)
class Release:
    """A published (or quarantined) release folder and its manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.manifest["id"])

    @property
    def sequence(self) -> int:
        return int(self.manifest["sequence"])


def read_release(folder: Path) -> Release:
    """The release in ``folder`` (its manifest is written last, so a folder with a
    readable manifest is complete)."""
    try:
        data = orjson.loads((folder / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError) as e:
        raise SourceError(f"{folder / MANIFEST}: not a release manifest ({e})") from None
    if not isinstance(data, dict) or "id" not in data or "sequence" not in data:
        raise SourceError(f"{folder / MANIFEST}: not a release manifest (no id or sequence)")
    return Release(folder, data)


class Releases:
    """The releases folder ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- reading
    def published(self) -> list[Release]:
        """Every published release, oldest first."""
        out: list[Release] = []
        if not self.root.is_dir():
            return out
        for child in self.root.iterdir():
            if (
                child.name.startswith(".")
                or child.name in (LATEST, QUARANTINE)
                or child.is_symlink()
                or not (child / MANIFEST).is_file()
            ):
                continue
            out.append(read_release(child))
        return sorted(out, key=lambda r: (r.sequence, r.id))

    def latest(self) -> Release | None:
        """The newest published release (what ``latest`` points at once refreshed)."""
        published = self.published()
        return published[-1] if published else None

    def quarantined(self, release_id: str) -> Release:
        folder = self.root / QUARANTINE / release_id
        if not (folder / MANIFEST).is_file():
            raise SourceError(f"{folder}: no quarantined release {release_id}")
        return read_release(folder)

    def status(self) -> dict[str, Any] | None:
        try:
            data = orjson.loads((self.root / STATUS).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, orjson.JSONDecodeError) as e:
            raise SourceError(f"{self.root / STATUS}: unreadable ({e})") from None
        return data if isinstance(data, dict) else None

    def new_id(self, date: str) -> str:
        """``date``, or ``date.N`` when a release or quarantined release already has it."""
        taken = {r.id for r in self.published()}
        q = self.root / QUARANTINE
        if q.is_dir():
            taken |= {c.name for c in q.iterdir()}
        if date not in taken:
            return date
        n = 2
        while f"{date}.{n}" in taken:
            n += 1
        return f"{date}.{n}"

    # -- writing
    def staging(self, release_id: str) -> Path:
        """A fresh hidden folder to assemble release ``release_id`` in."""
        self.root.mkdir(parents=True, exist_ok=True)
        folder = self.root / f"{STAGING_PREFIX}{release_id}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        return folder

    def clean_staging(self) -> None:
        """Remove what a killed night left half assembled."""
        if not self.root.is_dir():
            return
        for child in self.root.iterdir():
            # The folder, and what the catalog writer left beside it (.<folder>.new-*).
            if child.name.startswith((STAGING_PREFIX, "." + STAGING_PREFIX)) and child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            elif child.name.startswith(".") and child.name.endswith(".tmp") and child.is_file():
                child.unlink(missing_ok=True)

    def seal(self, folder: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Write ``manifest.json`` (with the sha256 of every other file) into a folder
        assembled by the night, last; the manifest as written."""
        full = {**manifest, "files": file_digests(folder)}
        write_file(folder / MANIFEST, dumps(full))
        return full

    def move_in(self, folder: Path, release_id: str, *, quarantine: bool = False) -> Path:
        """Rename a sealed folder to ``RELEASES/<id>`` (the publication) or into the
        quarantine."""
        dest_parent = self.root / QUARANTINE if quarantine else self.root
        dest_parent.mkdir(parents=True, exist_ok=True)
        dest = dest_parent / release_id
        if dest.exists():
            raise SourceError(f"{dest}: already exists; a release is never replaced")
        os.rename(folder, dest)
        _fsync_dir(dest_parent)
        return dest

    def refresh(self) -> None:
        """Rewrite ``index.json``, ``CHANGELOG.md`` and ``feed.xml`` from the published
        releases (each atomically), then point ``latest`` at the newest one."""
        from iam_catalog.release.changelog import changelog
        from iam_catalog.release.feed import atom

        published = self.published()
        entries = [index_entry(r) for r in published]
        index = {"schema_version": INDEX_VERSION, "releases": entries}
        _write_if_changed(self.root / INDEX, dumps(index))
        sections = [(r.path / SECTION).read_text(encoding="utf-8") for r in published]
        _write_if_changed(self.root / CHANGELOG, changelog(sections[::-1]).encode("utf-8"))
        _write_if_changed(self.root / FEED, atom(entries, sections))
        if published:
            self.point_latest(published[-1].path.name)

    def point_latest(self, name: str) -> None:
        """Make ``latest`` a link to ``name`` by renaming a new link over it (atomic)."""
        link = self.root / LATEST
        try:
            if os.readlink(link) == name:
                return
        except OSError:
            pass
        tmp = self.root / f".{LATEST}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        os.symlink(name, tmp)
        os.replace(tmp, link)
        _fsync_dir(self.root)

    def write_status(self, status: Mapping[str, Any]) -> None:
        write_file(self.root / STATUS, dumps(status))


INDEX_KEYS = (
    "id",
    "sequence",
    "date",
    "published_at",
    "snapshot",
    "previous",
    "counts",
    "catalog_sha256",
    "changes",
    "accepted",
)


def index_entry(release: Release) -> dict[str, Any]:
    """A release's entry in ``index.json``: its manifest without the file list."""
    return {k: release.manifest.get(k) for k in INDEX_KEYS}


def _write_if_changed(path: Path, data: bytes) -> None:
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    write_file(path, data)
