"""Several daemons on one store (PostgreSQL as the scale-out store, SQLite too): filing the same
pending messages from two processes' worth of engines files each exactly once, and the
instance lock admits one daemon per mailbox while daemons of other mailboxes run beside it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.clock import FixedClock
from core.errors import AlreadyRunning
from intake.app import App
from intake.daemon import InstanceLock
from intake.importer import import_paths
from store.models import Attachment, Message
from tests.support.config import ROSTER, make_config
from tests.support.unitmail import sender_of, unit_mail


def test_two_filers_on_one_store_file_each_message_once(
    tmp_path: Path, db_url: str, clock: FixedClock
) -> None:
    cfg = make_config(tmp_path, db_url, limits={"parse_workers": 0})
    first, second = App(cfg, clock), App(cfg, clock)
    try:
        first.import_roster(ROSTER)
        folder = tmp_path / "eml"
        folder.mkdir()
        for i in range(40):
            mail = unit_mail(
                i,
                sender_of(i),
                subject=f"Báo cáo Tuần lễ học tập suốt đời năm 2021 (lần {i})",
                body=f"Kính gửi Phòng GD&ĐT huyện Thanh Oai.\nĐơn vị gửi báo cáo lần {i}.",
                attachments=[
                    (f"Báo cáo {i}.txt", f"Báo cáo lần {i}".encode(), "text/plain"),
                    (
                        f"Tổng hợp số liệu {i}.dat",
                        f"Số liệu {i}".encode(),
                        "application/octet-stream",
                    ),
                ],
                tag="shared",
            )
            (folder / f"{i}.eml").write_bytes(mail)
        stored = import_paths([folder], first.sessions, first.files, clock)
        assert stored.stored == 40
        done: list[int] = []
        errors: list[BaseException] = []

        def work(app: App) -> None:
            try:
                done.append(app.filer.process_pending())
            except BaseException as e:  # noqa: BLE001 - reported by the assertion below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(a,)) for a in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        # a filer that lost a race on SQLite's write lock leaves the message due: file the rest
        first.filer.process_pending()
        with first.sessions() as s:
            states = dict(
                s.execute(sa.select(Message.state, sa.func.count()).group_by(Message.state)).all()
            )
            per_message = s.execute(
                sa.select(Attachment.message_fk, sa.func.count()).group_by(Attachment.message_fk)
            ).all()
        assert not [e for e in errors if not isinstance(e, sa.exc.OperationalError)], errors
        assert states == {"filed": 40}
        assert len(per_message) == 40
        assert {n for _, n in per_message} == {2}, "an attachment was filed twice"
    finally:
        first.close()
        second.close()


def _lock_app(tmp_path: Path, db_url: str, clock: FixedClock, user: str) -> App:
    return App(
        make_config(tmp_path, db_url, mailbox={"host": "127.0.0.1", "username": user}), clock
    )


def test_instance_lock_one_per_mailbox_many_per_store(
    tmp_path: Path, db_url: str, clock: FixedClock
) -> None:
    a1 = _lock_app(tmp_path, db_url, clock, "thanh-oai")
    a2 = _lock_app(tmp_path, db_url, clock, "thanh-oai")
    b = _lock_app(tmp_path, db_url, clock, "chuong-my")
    locks = [InstanceLock(a1), InstanceLock(a2), InstanceLock(b)]
    try:
        locks[0].acquire()
        with pytest.raises(AlreadyRunning, match="already runs for thanh-oai"):
            locks[1].acquire()
        locks[2].acquire()  # another district's mailbox on the same store
        locks[0].release()
        locks[1].acquire()  # the standby takes over once the leader is gone
    finally:
        for lock in locks:
            lock.release()
        for app in (a1, a2, b):
            app.close()
