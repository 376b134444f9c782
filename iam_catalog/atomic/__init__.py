"""Files and folders written whole, with the modes an ordinary ``open()`` / ``mkdir()``
gives under the caller's umask: :func:`atomic_open` for one file, :func:`atomic_folder`
for a set of files that a reader must see whole (a build's output, a snapshot, a
release), and the temporary names they are made under (:func:`new_temp_file`,
:func:`new_temp_folder`). Used by every part that writes (``output``, ``scraper``), so
it lives apart from them: ``scraper`` does not import ``output``.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# Every file and folder this tool writes gets the mode an ordinary open() / mkdir() gives
# under the caller's umask (0644 / 0755 under 022): tempfile.mkstemp and mkdtemp create
# 0600 / 0700 whatever the umask, and a rename keeps that mode, so a web server or a CI
# artifact step run by another user could not read the catalog.
FILE_MODE = 0o666
FOLDER_MODE = 0o777
# Random names to try before giving up (each one is 48 random bits).
_TEMP_NAME_TRIES = 100


def _temp_names(folder: Path, prefix: str, suffix: str) -> Iterator[Path]:
    for _ in range(_TEMP_NAME_TRIES):
        yield folder / f"{prefix}{secrets.token_hex(6)}{suffix}"
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder / prefix))


def new_temp_file(folder: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """Create a new empty file under a random name in ``folder``, opened for reading and
    writing (its descriptor and path), with the mode ``open()`` gives under the umask."""
    for path in _temp_names(folder, prefix, suffix):
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE), path
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


def new_temp_folder(folder: Path, prefix: str, suffix: str = "") -> Path:
    """Create a new empty folder under a random name in ``folder``, with the mode ``mkdir()``
    gives under the umask."""
    for path in _temp_names(folder, prefix, suffix):
        try:
            path.mkdir(FOLDER_MODE)
            return path
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


@contextmanager
def atomic_open(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it over ``path`` only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = new_temp_file(path.parent, f".{path.name}.", ".tmp")
    try:
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            os.replace(tmp, path)
        except OSError as e:  # name the file being written, not the temporary one
            raise type(e)(e.errno, e.strerror, str(path)) from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# renameat2(2) flag: swap two paths in one step (Linux 3.15+, glibc 2.28+).
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap the folders ``a`` and ``b`` in one step; False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # not Linux, or a C library without it
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # e.g. a file system without it
        return False
    raise OSError(err, os.strerror(err), str(b))


def _lock(folder: Path) -> int | None:
    """An open descriptor of ``folder`` holding an exclusive lock on it, or None when
    another process holds one (the lock goes with the process, ``kill -9`` included)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _staging_names(path: Path) -> tuple[str, str]:
    """The name prefixes of the hidden folders :func:`atomic_folder` makes beside ``path``:
    the new set being written, and the previous set on its way out."""
    return f".{path.name}.new-", f".{path.name}.old-"


def remove_stale(path: Path) -> None:
    """Remove what killed runs of :func:`atomic_folder` left beside ``path`` (hidden
    ``.NAME.new-*`` / ``.NAME.old-*`` folders no running process holds locked). Where the
    swap takes two renames (see :func:`atomic_folder`) and a run died between them,
    ``path`` is missing and its previous set is put back first."""
    new, old = _staging_names(path)
    try:
        entries = sorted(path.parent.iterdir())
    except FileNotFoundError:
        return
    for entry in entries:
        if not entry.name.startswith((new, old)) or entry.is_symlink() or not entry.is_dir():
            continue
        fd = _lock(entry)
        if fd is None:  # a run in progress
            continue
        try:
            if entry.name.startswith(old) and not os.path.lexists(path):
                entry.rename(path)
            else:
                shutil.rmtree(entry, ignore_errors=True)
        finally:
            os.close(fd)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Write a folder as one unit: yield a new empty hidden folder beside ``path`` to fill;
    when the block ends without an error it becomes ``path`` in one step, and whatever was
    at ``path`` before is removed. A reader of ``path`` sees the previous set of files or
    the new one, never a mix, whenever this process is killed (``kill -9`` included).

    The swap is ``renameat2(RENAME_EXCHANGE)`` where the system has it (Linux): ``path``
    stays a plain folder, and is never missing. Elsewhere it is two renames (``path`` to
    ``.NAME.old-*``, the new folder to ``path``); a kill between them leaves ``path``
    missing until the next run puts the old one back. The folder being written holds an
    ``flock`` while its run is alive; a later run removes the ones no process holds (see
    :func:`remove_stale`). Folders get the mode ``mkdir()`` gives under the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    new, old = _staging_names(path)
    while True:
        staging = new_temp_folder(path.parent, new)
        fd = _lock(staging)
        # Between the mkdir and the lock a concurrent remove_stale() may take it.
        if fd is not None and os.fstat(fd).st_nlink > 0:
            break
        if fd is not None:
            os.close(fd)
    try:
        try:
            yield staging
            _fsync_folder(staging)
            if not os.path.lexists(path):
                staging.rename(path)
            elif not path.is_dir() or path.is_symlink():
                raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))
            elif _exchange(staging, path):
                shutil.rmtree(staging)  # now the previous set
            else:
                previous = new_temp_folder(path.parent, old)
                path.replace(previous)
                staging.rename(path)
                shutil.rmtree(previous)
            _fsync_folder(path.parent)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    finally:
        os.close(fd)
