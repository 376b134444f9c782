"""Opening the local files a build or a fetch reads, without trusting them.

A source folder or a snapshot can hold things that are not pages: a FIFO (``open()``
waits for ever for a writer), a device (``/dev/zero`` never ends), a socket, a symbolic
link that points nowhere, or, inside a snapshot, a link to a file elsewhere
(``/etc/passwd``, another service's page). Each is named and refused before a byte is
read: the type is checked with ``stat`` before opening, the file is opened without
blocking, and checked again on the open descriptor (the path may have changed between
the two). Inside a snapshot no symbolic link is followed, in the file name or in any
folder on its way.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from iam_catalog.parsers.errors import SourceError

# Flags of every open here: never block (a FIFO), never become a controlling terminal.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class NotRegularFileError(SourceError):
    """A path exists but is not a regular file (a FIFO, a device, a link where none may be)."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(f"{path}: {kind}, not a regular file; not read")
        self.path = path
        self.kind = kind
        """What it is instead, as :func:`kind_of` names it."""


def kind_of(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words (``a FIFO (named pipe)``)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return f"a file of unknown type (mode {mode:o})"


def describe_nonregular(path: Path) -> str | None:
    """Why ``path`` (symbolic links followed) is not a regular file that could be read,
    or None when it is one. A path that does not exist at all raises FileNotFoundError."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            return f"a symbolic link to {os.readlink(path)}, which does not exist"
        raise
    except OSError as e:  # a link that loops, a folder on the way that cannot be entered
        if os.path.islink(path):
            return f"a symbolic link to {os.readlink(path)} that cannot be followed ({e.strerror})"
        raise
    return None if stat.S_ISREG(mode) else kind_of(mode)


def open_regular(path: Path | str, *, dir_fd: int | None = None, follow: bool = True) -> BinaryIO:
    """``path`` opened for reading when it is a regular file (``follow=False``: and not a
    symbolic link); :class:`NotRegularFileError` otherwise, without opening it (or without
    reading it, when it changed after the first check). ``OSError`` for the rest (missing,
    no permission)."""
    before = os.stat(path, dir_fd=dir_fd, follow_symlinks=follow).st_mode
    if not stat.S_ISREG(before):
        raise NotRegularFileError(str(path), _kind_with_target(path, before, dir_fd))
    try:
        fd = os.open(path, _OPEN_FLAGS | (0 if follow else _NOFOLLOW), dir_fd=dir_fd)
    except OSError as e:
        if e.errno == errno.ELOOP:  # swapped for a link after the check
            raise NotRegularFileError(str(path), "a symbolic link") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(str(path), kind_of(mode))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def open_inside(root: Path, relative: str) -> BinaryIO:
    """The regular file ``relative`` (parts separated by ``/``) below the folder ``root``,
    opened without following a symbolic link anywhere below ``root``: a link in the
    file's name or in a folder on its way is :class:`NotRegularFileError`, so what is
    read is always a file inside ``root``."""
    *folders, name = relative.split("/")
    where = os.open(root, os.O_RDONLY | _DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for i, part in enumerate(folders):
            shown = "/".join(folders[: i + 1])
            mode = os.stat(part, dir_fd=where, follow_symlinks=False).st_mode
            if not stat.S_ISDIR(mode):
                kind = _kind_with_target(part, mode, where)
                raise NotRegularFileError(relative, f"its folder {shown} is {kind}")
            inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=where)
            os.close(where)
            where = inner
        return open_regular(name, dir_fd=where, follow=False)
    finally:
        os.close(where)


def _kind_with_target(path: Path | str, mode: int, dir_fd: int | None) -> str:
    kind = kind_of(mode)
    if stat.S_ISLNK(mode):
        try:
            return f"{kind} to {os.readlink(path, dir_fd=dir_fd)}"
        except OSError:
            return kind
    return kind
