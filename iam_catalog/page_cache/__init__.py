"""A content-addressed cache of parsed pages, so a nightly build parses only what changed.

An entry is keyed by the sha256 of a page's bytes, its page id (the parsers record it in
every object they make), the format it was read as, and :data:`CODE_VERSION`: a hash of
the source of the code whose output the entry holds (the parsers, the model, the
writers). Change a parser and every key changes, so no stale entry is ever read. An entry
holds the parsed page and, when it declares a service prefix, the page as a service of its
own with its share of every output file (what
:func:`iam_catalog.output.writers.render_service` makes of it), which a build uses when no
other page shares the prefix.

Layout: ``DIR/<CODE_VERSION[:16]>/<key[:2]>/<key>.pickle``, each file written atomically
(temp file + rename). The folder is safe to delete at any time: a missing or unreadable
entry is only a miss.

Pruning (:meth:`PageCache.prune`, run by ``nightly`` and ``build --cache`` after each
build): what no recent build used goes. A build that reads an entry marks it used (its
modification time), one that writes it makes it; an entry no build used for
:data:`KEEP_DAYS` days is deleted (its page changed since, or left the index), as are the
folders of other code versions (never read again) and the temporary files of writes
killed more than an hour ago. Pruning beside a running build costs that build at most
a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iam_catalog.output.writers import ServiceOutput
    from iam_catalog.parsers.model import ParsedPage, Service


KEEP_DAYS = 14
"""An entry no build used for this many days is pruned."""
_TEMP_GRACE_S = 3600
# A temporary file this old belongs to a killed write (a put takes milliseconds).


@cache
def code_version() -> str:
    """A hash of the source of every module whose output a cache entry holds."""
    import iam_catalog
    import iam_catalog.output.writers
    import iam_catalog.parsers

    parsers = Path(iam_catalog.parsers.__file__).parent
    files = [*sorted(parsers.glob("*.py")), Path(iam_catalog.output.writers.__file__)]
    h = hashlib.sha256(str(iam_catalog.__version__).encode() + b"\0")
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """What the cache holds for one page."""

    page: ParsedPage
    """The parsed page."""
    service: Service | None
    """The page as a service of its own (:func:`~iam_catalog.parsers.catalog.single_page_service`),
    None when it declares no prefix."""
    output: ServiceOutput | None
    """That service's share of every output file."""


class PageCache:
    """Parsed pages under ``folder``, by content."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.version = code_version()
        self.root = folder / self.version[:16]
        self.hits = 0
        """Lookups answered from the cache."""
        self.misses = 0
        """Lookups that were not."""

    @staticmethod
    def key(page_id: str, fmt: str | None, digest: bytes) -> str:
        """The key of a page: its id, the format it is read as (None: detected) and the
        sha256 of its bytes. The code version is the folder it is kept in."""
        h = hashlib.sha256(f"{page_id}\0{fmt or ''}\0".encode() + digest)
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pickle"

    def get(self, key: str) -> Entry | None:
        """The entry of ``key``, or None (a missing or unreadable entry is a miss)."""
        path = self._path(key)
        try:
            page, service, output = pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        with contextlib.suppress(OSError):
            os.utime(path)  # used: kept by prune
        return Entry(page, service, output)

    def put(self, key: str, data: bytes) -> None:
        """Store ``data``, the pickle of the fields of an :class:`Entry` as a tuple,
        under ``key``, atomically; a cache that cannot be written is only slower next time."""
        from iam_catalog.atomic import new_temp_file

        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = new_temp_file(path.parent, f".{key}.", ".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        except OSError:
            pass

    def prune(self, keep_days: float = KEEP_DAYS, *, now: float | None = None) -> int:
        """Delete what no recent build used: the entries of this code version not used
        for ``keep_days``, the folders of other code versions, and temporary files of
        killed writes. How many files and folders went."""
        if not self.folder.is_dir():
            return 0
        now = time.time() if now is None else now
        removed = 0
        for child in self.folder.iterdir():
            if child.is_dir() and child.name != self.root.name:
                shutil.rmtree(child, ignore_errors=True)
                removed += 1
        if not self.root.is_dir():
            return removed
        for shard in self.root.iterdir():
            if not shard.is_dir():
                continue
            for f in shard.iterdir():
                try:
                    age = now - f.stat().st_mtime
                except OSError:
                    continue  # gone meanwhile
                stale = age > _TEMP_GRACE_S if f.name.startswith(".") else age > keep_days * 86400
                if stale:
                    f.unlink(missing_ok=True)
                    removed += 1
        return removed


__all__ = ["Entry", "PageCache", "code_version"]
