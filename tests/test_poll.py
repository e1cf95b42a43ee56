"""The poller's logic against the in-memory FakeMailbox (fast). The same paths run against a
real Dovecot in test_intake_imap.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.clock import FixedClock
from intake.app import App
from intake.fakemailbox import FakeMailbox
from store.models import LedgerEntry, Message
from tests.support.config import ROSTER, make_config
from tests.support.unitmail import nested_mail, unit_mail


def _mail(i: int) -> bytes:
    """Kim An's mail number `i`: the subject and a 105-byte JPEG stub differ by `i`."""
    return unit_mail(
        i,
        "th-kim-an@thanhoai.example",
        "Trường Tiểu học Kim An",
        subject=f"Báo cáo tuần lễ HTSĐ — lần {i}",
        body=f"Kính gửi Phòng GD&ĐT. Lần {i}.",
        attachments=[
            (
                f"Ảnh hoạt động {i}.jpg",
                bytes([0xFF, 0xD8, 0xFF, 0xE0, i % 256]) + bytes(100),
                "image/jpeg",
            )
        ],
        tag="logic",
    )


@pytest.fixture
def logic_app(tmp_path: Path, clock: FixedClock) -> Iterator[App]:
    app = App(make_config(tmp_path, limits={"parse_workers": 0}, mailbox={"batch_size": 4}), clock)
    app.import_roster(ROSTER)
    try:
        yield app
    finally:
        app.close()


def _counts(app: App) -> tuple[int, int]:
    with app.sessions() as s:
        return (
            s.scalar(sa.select(sa.func.count()).select_from(Message)) or 0,
            s.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) or 0,
        )


def test_poll_files_marks_and_repoll_fetches_nothing(logic_app: App) -> None:
    box = FakeMailbox()
    for i in range(10):
        box.append(_mail(i))
    r = logic_app.poll_once(box)
    assert (r.new_uids, r.stored, r.marked, r.processed, r.error) == (10, 10, 10, 10, "")
    assert box.body_fetches == 3  # batches of 4
    assert all("$IntakeFiled" in kw for kw in box.folders["INBOX"].keywords.values())
    fetches, searches = box.body_fetches, box.calls.get("search", 0)
    r = logic_app.poll_once(box)
    assert (r.new_uids, r.stored, r.fetched) == (0, 0, 0)
    assert (
        box.body_fetches == fetches and box.calls.get("search", 0) == searches
    )  # no SEARCH either
    assert _counts(logic_app) == (10, 10)


def test_drop_mid_batch_then_next_poll_finishes(logic_app: App) -> None:
    box = FakeMailbox()
    for i in range(10):
        box.append(_mail(i))
    box.fail_on["fetch"] = 2  # the second batch's FETCH drops the connection
    r = logic_app.poll_once(box)
    assert r.error and r.stored == 4 and r.marked == 4
    r = logic_app.poll_once(box)
    assert r.error == "" and r.stored == 6
    assert _counts(logic_app) == (10, 10)
    assert len(box.folders["INBOX"].keywords) == 10


def test_server_is_told_only_after_commit(logic_app: App) -> None:
    box = FakeMailbox()
    box.append(_mail(1))
    box.fail_on["mark"] = 1  # committed, then the STORE fails
    r = logic_app.poll_once(box)
    assert r.stored == 1 and r.marked == 0 and r.error
    assert box.folders["INBOX"].keywords == {}
    r = logic_app.poll_once(box)  # the next poll redoes the server action only
    assert r.stored == 0 and r.marked == 1 and box.body_fetches == 1
    assert box.folders["INBOX"].keywords == {1: {"$IntakeFiled"}}


def test_uidvalidity_change_creates_no_duplicates(logic_app: App) -> None:
    box = FakeMailbox()
    for i in range(5):
        box.append(_mail(i))
    logic_app.poll_once(box)
    box.recreate()
    r = logic_app.poll_once(box)
    assert r.uidvalidity_changed and r.new_uids == 5 and r.stored == 0 and r.duplicates == 5
    assert _counts(logic_app) == (5, 10)  # 5 messages, 10 server locations over two epochs


def test_move_to_processed_folder(tmp_path: Path, clock: FixedClock) -> None:
    with App(
        make_config(
            tmp_path, limits={"parse_workers": 0}, mailbox={"processed_folder": "Đã xử lý"}
        ),
        clock,
    ) as app:
        box = FakeMailbox()
        for i in range(3):
            box.append(_mail(i))
        r = app.poll_once(box)
    assert r.marked == 3 and box.folders["INBOX"].messages == {}
    assert len(box.folders["Đã xử lý"].messages) == 3


def test_oversized_message_is_quarantined_unfetched(tmp_path: Path, clock: FixedClock) -> None:
    with App(
        make_config(tmp_path, limits={"parse_workers": 0, "max_message_bytes": 2000}), clock
    ) as app:
        box = FakeMailbox()
        box.append(_mail(1))
        box.append(_mail(2) + b"\r\n" + b"x" * 5000)
        r = app.poll_once(box)
        status = app.status()
    assert r.stored == 1 and r.failed == 1
    (q,) = status.quarantined
    assert "message too large" in q.reason and "UID 2" in q.subject
    assert 2 not in box.folders["INBOX"].keywords  # left untouched on the server


def test_failing_message_retries_with_backoff_then_quarantines(
    logic_app: App, clock: FixedClock
) -> None:
    from datetime import timedelta

    box = FakeMailbox()
    box.append(b"From: x\r\n\r\n")  # parses, but let the filing fail: corrupt the raw file
    logic_app.poll_once(box)
    with logic_app.sessions() as s:
        msg = s.scalar(sa.select(Message))
        assert msg is not None
        sha = msg.sha256
    logic_app.files.path(sha).write_bytes(b"")  # the stored raw vanished: unreadable now
    logic_app.files.path(sha).unlink()
    with logic_app.sessions.begin() as s:
        m = s.scalar(sa.select(Message))
        assert m is not None
        m.state, m.attempts = "received", 0
    states = []
    for _ in range(6):
        logic_app.filer.process_pending()
        clock.advance(timedelta(hours=7))  # past any backoff
        with logic_app.sessions() as s:
            m = s.scalar(sa.select(Message))
            assert m is not None
            states.append((m.state, m.attempts))
    assert states[0] == ("received", 1) and states[3] == ("received", 4)
    assert states[4] == ("quarantined", 5) and states[5] == ("quarantined", 5)
    assert "FileNotFoundError" in logic_app.status().quarantined[0].reason


def test_a_message_failing_in_a_chunk_costs_only_itself(
    logic_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages are filed CHUNK per transaction; one that fails rolls the chunk back, and the
    others are filed one per transaction, their unit's submission recomputed."""
    from intake.filing import CHUNK, Filer
    from intake.parsestage import Staged
    from store.models import Submission

    real = Filer._file

    def file(self: Filer, s: object, pk: int, staged: Staged) -> set[int]:
        if "lần 3" in staged.parsed.subject:
            raise ValueError("filing bug on this message")
        return real(self, s, pk, staged)  # type: ignore[arg-type]

    monkeypatch.setattr(Filer, "_file", file)
    box = FakeMailbox()
    for i in range(CHUNK + 4):
        box.append(_mail(i))
    logic_app.poll_once(box)
    with logic_app.sessions() as s:
        states = {m.subject: (m.state, m.attempts, m.reason) for m in s.scalars(sa.select(Message))}
        subs = list(s.scalars(sa.select(Submission)))
    bad = states.pop("Báo cáo tuần lễ HTSĐ — lần 3")
    assert bad[:2] == ("received", 1) and "filing bug on this message" in bad[2]
    assert {st for st, _, _ in states.values()} == {"filed"} and len(states) == CHUNK + 3
    assert len(subs) == 1 and subs[0].messages == CHUNK + 3  # recomputed over every filed one


@pytest.mark.parametrize("workers", [0, 2])
def test_a_malformed_message_is_quarantined_at_once(
    tmp_path: Path, clock: FixedClock, workers: int
) -> None:
    """Bytes that break the structure limits fail the same way every time: quarantined on the
    first attempt with the reason, not retried with backoff like a timeout."""
    nested = nested_mail(
        7,
        "Trường Tiểu học Kim An <th-kim-an@thanhoai.example>",
        "Báo cáo lồng nhiều tầng",
        "<nested@thanhoai.example>",
    )
    cfg = make_config(tmp_path, limits={"parse_workers": workers, "max_mime_depth": 4})
    with App(cfg, clock) as app:
        box = FakeMailbox()
        box.append(nested)
        box.append(_mail(1))
        app.poll_once(box)
        with app.sessions() as s:
            got = {
                x.subject: (x.state, x.attempts, x.reason) for x in s.scalars(sa.select(Message))
            }
    state, attempts, reason = got["Báo cáo lồng nhiều tầng"]
    assert (state, attempts) == ("quarantined", 1) and "MIME nesting too deep" in reason
    assert got["Báo cáo tuần lễ HTSĐ — lần 1"][0] in ("filed", "unassigned")
