"""The single-instance lock is keyed by the server as resolved, not as spelled: "127.0.0.1" and
"localhost" (or "LOCALHOST.") are one mailbox and cannot run two daemons; another user on the
same server can. A name that cannot be resolved still locks against itself. Lock files are
created 0600 whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from core.clock import FixedClock
from core.errors import AlreadyRunning
from intake.app import App
from intake.daemon import InstanceLock
from tests.support.config import make_config


def _app(tmp_path: Path, db_url: str, clock: FixedClock, host: str, user: str) -> App:
    """One of several apps on one store, each for its own mailbox `user`@`host` (no roster)."""
    return App(
        make_config(
            tmp_path, db_url, mailbox={"host": host, "username": user}, limits={"parse_workers": 0}
        ),
        clock,
    )


@pytest.mark.parametrize("other", ["localhost", "LOCALHOST.", "::ffff:127.0.0.1"])
def test_two_spellings_of_one_server_cannot_both_run(
    tmp_path: Path, db_url: str, clock: FixedClock, other: str
) -> None:
    first = _app(tmp_path, db_url, clock, "127.0.0.1", "thanh-oai")
    second = _app(tmp_path, db_url, clock, other, "Thanh-Oai")
    third = _app(tmp_path, db_url, clock, other, "chuong-my")
    locks = [InstanceLock(a) for a in (first, second, third)]
    try:
        locks[0].acquire()
        with pytest.raises(AlreadyRunning, match="(?i)already runs for thanh-oai@"):
            locks[1].acquire()
        locks[2].acquire()  # another user's mailbox on the same server
        locks[0].release()
        locks[1].acquire()  # once the first is gone, the other spelling may run
    finally:
        for lock in locks:
            lock.release()
        for app in (first, second, third):
            app.close()


def test_a_host_that_cannot_be_resolved_still_locks_against_itself(
    tmp_path: Path, db_url: str, clock: FixedClock
) -> None:
    host = "imap.no-such-host.invalid"
    apps = [_app(tmp_path, db_url, clock, host, "thanh-oai") for _ in range(2)]
    locks = [InstanceLock(a) for a in apps]
    try:
        locks[0].acquire()
        with pytest.raises(AlreadyRunning):
            locks[1].acquire()
    finally:
        for lock in locks:
            lock.release()
        for app in apps:
            app.close()


def test_lock_keys_name_every_resolved_address_once() -> None:
    from core.config import MailboxConfig
    from intake.daemon import lock_keys

    keys = lock_keys(MailboxConfig(host="localhost", port=993, username="U", folder="INBOX"))
    assert "name localhost:993/u/INBOX" in keys
    assert "addr 127.0.0.1:993/u/INBOX" in keys
    assert len(keys) == len(set(keys))


def test_lock_files_are_private_whatever_the_umask(tmp_path: Path, clock: FixedClock) -> None:
    app = _app(tmp_path, f"sqlite:///{tmp_path / 'intake.sqlite3'}", clock, "127.0.0.1", "u")
    lock = InstanceLock(app)
    old = os.umask(0o022)
    try:
        lock.acquire()
        files = list(tmp_path.glob("intake.sqlite3.*.lock"))
        assert files
        assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}
    finally:
        os.umask(old)
        lock.release()
        app.close()
