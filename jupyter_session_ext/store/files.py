"""The store's file on the disk: its folder made private, the file and its
side files (`-wal`, `-shm`) readable by their owner only, and one that
someone else could have planted or could change refused.

The store holds what kernels ran (code, cell ids, notebook paths): other
users of the host must not read it, and nobody else may hand the server a
file of theirs to write through. SQLite opens the file by its name and
cannot be handed one opened here, so the file is looked at without following
a link before SQLite opens it and again after (`same_file`): one swapped in
between is refused too. It is never opened here once it exists: closing a
descriptor of a file drops every POSIX lock the process holds on it, SQLite's
included (another connection of this process may have the same file open).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700
# SQLite's side files in WAL mode; it makes them with the database's mode.
SIDE_FILES = ("-wal", "-shm")


class Refused(Exception):
    """A file the store will not use (why, as a phrase for the log)."""


def make_folder(folder: Path) -> None:
    """Make `folder` and any missing parent, each readable by its owner only;
    folders that exist keep their mode."""
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    for parent in reversed(missing):
        try:
            os.mkdir(parent, FOLDER_MODE)
        except FileExistsError:
            continue  # another server made it meanwhile
        # (mkdir's mode passes through the umask, which may be looser.)
        os.chmod(parent, FOLDER_MODE)


def _check(path: Path) -> os.stat_result | None:
    """Refuse what is a link, not a file, another user's or writable by
    others; make ours private. None: there is no such file."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(found.st_mode):
        raise Refused(f"{path.name} is a symbolic link")
    if not stat.S_ISREG(found.st_mode):
        raise Refused(f"{path.name} is not a regular file")
    if found.st_uid != os.geteuid():
        raise Refused(f"{path.name} is owned by another user (uid {found.st_uid})")
    mode = stat.S_IMODE(found.st_mode)
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise Refused(f"{path.name} is writable by other users (mode {mode:o})")
    if mode != FILE_MODE:
        # Made by an earlier version: readable by every user of the host.
        try:
            os.chmod(path, FILE_MODE)
        except OSError:
            pass  # (a read-only file system: SQLite says what it can do)
    return found


def prepare(path: Path) -> os.stat_result:
    """Check the store's file and its side files, making the file (private)
    when there is none; what it is, for `same_file`. Raises `Refused`."""
    for suffix in SIDE_FILES:  # (first: nothing is made when refused)
        _check(path.with_name(path.name + suffix))
    try:
        # O_EXCL and O_NOFOLLOW: a new file of ours, never one through a link.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        os.close(os.open(path, flags, FILE_MODE))
    except FileExistsError:
        pass  # (a link, too: refused below)
    found = _check(path)
    if found is None:
        raise Refused(f"{path.name} went away as it was made")
    return found


def same_file(path: Path, checked: os.stat_result) -> None:
    """Refuse when what is under `path` now, SQLite having opened it, is not
    the file `prepare` checked."""
    try:
        now = os.lstat(path)
    except FileNotFoundError:
        raise Refused(f"{path.name} went away as it was opened") from None
    if stat.S_ISLNK(now.st_mode) or (now.st_dev, now.st_ino) != (checked.st_dev, checked.st_ino):
        raise Refused(f"{path.name} was replaced as it was opened")
    for suffix in SIDE_FILES:
        _check(path.with_name(path.name + suffix))
