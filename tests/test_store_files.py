"""The store's file on a real server: made readable by its owner only, and
one someone else could have planted refused, in one line of the log, while
the server serves and keeps what it learns in memory."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from store_servers import STORE, every_route_answers, said, servers, session, wait_for


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def started(data_dir: Path):
    yield from servers(data_dir)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_store_a_server_makes_is_private(started, tmp_path):
    folder = tmp_path / "made" / "here"
    server = started(extra_args=[f"--SessionStore.path={folder / STORE}"])
    kernel_id = server.start_kernel()
    wait_for(lambda: (s := session(server, kernel_id)) and s["status"] == "ready", "a kernel")
    parts = [folder / f"{STORE}{suffix}" for suffix in ("", "-wal", "-shm")]
    wait_for(lambda: all(p.exists() for p in parts), "the store and its side files")
    assert [mode(p) for p in parts] == [0o600] * 3
    assert [mode(folder.parent), mode(folder)] == [0o700] * 2


def a_store(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE mine (x)")
    path.chmod(0o600)


def owned_by_another_user(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    a_store(path)
    os.chown(path, 65534, 65534)


def writable_by_the_group(path: Path) -> None:
    a_store(path)
    path.chmod(0o660)


def writable_by_everyone(path: Path) -> None:
    a_store(path)
    path.chmod(0o606)


def a_link_to_another_file(path: Path) -> None:
    a_store(path.with_name("elsewhere.db"))
    path.symlink_to(path.with_name("elsewhere.db"))


PLANTED: dict[str, Callable[[Path], None]] = {
    "owned by another user": owned_by_another_user,
    "writable by other users": writable_by_the_group,
    "writable by other users (everyone)": writable_by_everyone,
    "a symbolic link": a_link_to_another_file,
}


def fingerprint(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Each file as it is: its mode, owner and content (links as they are)."""
    return {
        p.name: (
            os.lstat(p).st_mode,
            os.lstat(p).st_uid,
            os.readlink(p).encode() if p.is_symlink() else hashlib.sha256(p.read_bytes()).digest(),
        )
        for p in folder.iterdir()
    }


@pytest.mark.parametrize("planted", PLANTED)
def test_a_store_someone_else_could_have_planted_is_refused(started, tmp_path, planted):
    folder = tmp_path / "store"
    folder.mkdir()
    PLANTED[planted](folder / STORE)
    before = fingerprint(folder)
    server = started(extra_args=[f"--SessionStore.path={folder / STORE}"])
    # It serves, and keeps what it learns in memory (a history, a kernel that ended).
    every_route_answers(server)
    words = f"is refused: {STORE} is {planted.split(' (')[0]}"
    wait_for(lambda: said(server, words), "the log", timeout=10)
    assert said(server, "Active sessions:") == 1, server.log.read_text()[-3000:]
    assert fingerprint(folder) == before
    server.stop()
    assert fingerprint(folder) == before
