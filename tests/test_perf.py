"""The speed fixes of issue 7 keep their promises (the figures themselves come from
bench/run.py): large attachments are kept out of the MIME parser yet parsed exactly as before,
the body hash needs no copy of the body, a fetched batch is one transaction whose files are made
durable together, a bad message still costs only itself, FETCHes are bounded in bytes, and an
idle re-poll costs the same whatever the ledger holds."""

from __future__ import annotations

import errno
import hashlib
import random
import threading
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import replace
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from core.clock import FixedClock
from intake.app import App
from intake.demo_mail import as_sent, attach
from intake.fakemailbox import FakeMailbox
from intake.imap import Fetched
from intake.parsestage import Limits, _parse
from intake.poll import Poller, _by_bytes
from parsers.lift import LIFT_MIN_BYTES, lift, restore
from parsers.mime import ParsedMessage, body_sha256, parse_message, split_raw
from store.files import FileStore
from store.models import LedgerEntry
from tests.support.config import ROSTER, make_config
from tests.support.phonephoto import ICT, large_phone_jpeg


def _video(size: int, seed: int = 1) -> bytes:
    """A phone video as units send them: an MP4 box header, then incompressible data."""
    head = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    return head + random.Random(seed).randbytes(size - len(head))


def _unit_mail(
    video_bytes: int,
    *,
    outlook: bool = False,
    seed: int = 1,
    names: dict[bytes, bytes] | None = None,
) -> EmailMessage:
    """A unit's email with a photo and a video; with `outlook`, named with RFC 2047 words
    (serialise with `as_sent(m, names)`)."""
    from datetime import datetime

    m = EmailMessage()
    m["From"] = "Trường THCS Bình Minh <thcs-binh-minh@thanhoai.example>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = "Báo cáo Tuần lễ HTSĐ 2021 kèm video lễ khai mạc"
    m["Date"] = format_datetime(datetime(2021, 10, 6, 9, 30, tzinfo=ICT))
    m["Message-ID"] = f"<video-{seed}@thanhoai.example>"
    m.set_content(
        "Kính gửi Phòng GD&ĐT huyện Thanh Oai,\nĐơn vị gửi báo cáo và video hoạt động.\n"
        "--\nVăn thư THCS Bình Minh\n"
    )
    taken = datetime(2021, 10, 4, 8, 15, tzinfo=ICT)
    photo = large_phone_jpeg(seed, taken)
    video = _video(video_bytes, seed)
    style = "rfc2047" if outlook else "rfc2231"
    names = {} if names is None else names
    attach(m, photo, "Ảnh lễ khai mạc.jpg", "image/jpeg", style, names)
    attach(m, video, "Video lễ khai mạc Tuần lễ.mp4", "video/mp4", style, names)
    return m


def _same(a: ParsedMessage, b: ParsedMessage) -> bool:
    """Equal parses (mail-parser names an unnamed forwarded message at random)."""

    def key(p: ParsedMessage) -> tuple[object, ...]:
        return (
            replace(p, parts=()),
            [
                (
                    x.filename if x.content_type != "message/rfc822" else "",
                    x.content_type,
                    x.data,
                    x.inline,
                    x.content_id,
                )
                for x in p.parts
            ],
        )

    return key(a) == key(b)


@pytest.mark.parametrize("outlook", [False, True], ids=["gmail", "outlook"])
def test_large_attachment_is_lifted_and_parsed_the_same(outlook: bool) -> None:
    names: dict[bytes, bytes] = {}
    raw = as_sent(_unit_mail(6 * 2**20, outlook=outlook, names=names), names)
    lifted = lift(raw)
    assert lifted is not None and len(lifted.spans) == 2  # the video and the photo
    assert len(lifted.skeleton) < 1_000_000

    tracemalloc.start()
    try:
        restored = restore(parse_message(lifted.skeleton), lifted, raw)
        _, lifted_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    tracemalloc.start()
    try:
        whole = parse_message(raw)
        _, whole_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert restored == whole
    video = next(p for p in restored.parts if p.filename.endswith(".mp4"))
    assert video.data == _video(6 * 2**20)
    assert whole_peak > 3 * len(video.data)  # the stdlib parser's line lists and copies
    assert lifted_peak < 1.5 * len(video.data)  # the decoded attachment, little more


def test_a_big_part_inside_a_forwarded_message_is_parsed_whole() -> None:
    """The inner message's attachments are read later from its re-serialised text: a marker
    there would never come back, so the whole message is parsed the ordinary way."""
    inner = _unit_mail(int(1.5 * LIFT_MIN_BYTES), seed=2)
    outer = EmailMessage()
    outer["From"] = "Hiệu phó <hieupho.binhminh@gmail.com>"
    outer["To"] = "totrunghoc-thanhoai@thanhoai.example"
    outer["Subject"] = "Fwd: Báo cáo Tuần lễ HTSĐ 2021 kèm video lễ khai mạc"
    outer["Message-ID"] = "<fwd-video@gmail.com>"
    outer.set_content("---------- Forwarded message ---------\nChuyển Phòng bản báo cáo.\n")
    outer.add_attachment(inner)
    raw = bytes(outer)
    lifted = lift(raw)
    assert lifted is not None  # the inner video looks liftable from the bytes…
    assert restore(parse_message(lifted.skeleton), lifted, raw) is None  # …but does not come back
    assert _same(_parse(raw, Limits()), parse_message(raw))


def test_base64_lookalike_text_and_cut_off_attachments_are_parsed_whole() -> None:
    fake = random.Random(3).randbytes(LIFT_MIN_BYTES + 4096)
    import base64

    lookalike = base64.encodebytes(fake).decode()
    m = EmailMessage()
    m["From"] = "th-kim-an@thanhoai.example"
    m["Subject"] = "Số liệu"
    m["Message-ID"] = "<lookalike@thanhoai.example>"
    # a text body that carries a header-like block and base64-looking lines after a "--" line
    m.set_content("Kính gửi Phòng,\n--\nContent-Transfer-Encoding: base64\n\n" + lookalike)
    m.add_attachment(
        _video(LIFT_MIN_BYTES + 100), maintype="video", subtype="mp4", filename="video.mp4"
    )
    raw = bytes(m)
    assert _same(_parse(raw, Limits()), parse_message(raw))

    # an attachment cut off in transit (its base64 ends mid-quantum): decoded leniently as before
    raw = bytes(_unit_mail(LIFT_MIN_BYTES + 1000, seed=4))
    end = raw.rindex(b"\n--")
    for n in (5, 6, 7):
        cut = raw[: end - n] + b"\n" + raw[end:]
        assert lift(cut) is not None
        assert _same(_parse(cut, Limits()), parse_message(cut))


def test_body_hash_matches_its_definition_and_copies_no_body() -> None:
    def reference(raw: bytes) -> str:  # line endings normalised, trailing blank lines ignored
        return hashlib.sha256(split_raw(raw)[1].replace(b"\r\n", b"\n").rstrip(b"\n")).hexdigest()

    rng = random.Random(5)
    body = bytes(rng.choice(b"ab\r\n") for _ in range(3 * 2**20 + 17))
    cases = [
        b"",
        b"Subject: no body",
        b"Subject: x\r\n\r\n",
        b"Subject: x\n\nLF only\n",
        b"Subject: x\r\n\r\n" + body,
        b"S: x\n\n" + b"x" * (2**20 - 1) + b"\r\n" + body,  # a CRLF astride the chunk boundary
        bytes(_unit_mail(2**20)),
        b"S: x\n\n" + b"x" * (2**18 - 1) + b"\r" + b"\n" * (2**19) + b"y\r\n\r\n",  # runs of \n
        b"S: x\n\n" + b"x" * (2**18 - 3) + b"\r\n\r\n" + b"\r\n" * 2**18,  # blank lines only
        b"S: x\n\nlone CR at the end\n\r",
    ]
    for raw in cases:
        assert body_sha256(raw) == reference(raw)
    raw = bytes(_unit_mail(6 * 2**20))
    tracemalloc.start()
    try:
        assert body_sha256(raw) == reference(raw[:0] + raw)
        tracemalloc.reset_peak()
        body_sha256(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # a few chunks of 256 KiB, not the 8 MB body


# -- the file store's batches -----------------------------------------------------------------


def test_batch_puts_land_together_at_the_end(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    blobs = [bytes(_unit_mail(10_000, seed=i)) for i in range(5)]
    with files.batch():
        digests = [files.put(b) for b in blobs]
        assert files.put(blobs[0]) == digests[0]  # twice in one batch: written once
        assert not any(files.exists(d) for d in digests)  # nothing in place before the end
    assert [files.get(d) for d in digests] == blobs
    assert not list(files.root.rglob("*.tmp"))


def _fsynced_folders(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders fsynced from now on (os.fsync recorded, then called)."""
    import os

    seen: list[Path] = []
    real = os.fsync

    def recording(fd: int) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if path.is_dir():
            seen.append(path)
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    return seen


@pytest.mark.parametrize("batched", [True, False])
def test_a_folder_made_for_a_blob_is_made_durable_in_its_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batched: bool
) -> None:
    files = FileStore(tmp_path / "files")
    root = files.root.resolve()
    first = "Báo cáo tuần lễ học tập suốt đời, Trường THCS Bích Hòa".encode()
    seen = _fsynced_folders(monkeypatch)
    if batched:
        with files.batch():
            digest = files.put(first)
    else:
        digest = files.put(first)
    leaf = files.path(digest).parent.resolve()
    # the new ab/cd/ entry in ab/, the new ab/ entry in the root, the blob's name in ab/cd/
    assert set(seen) == {leaf, leaf.parent, root}
    # a second blob in the same folders: only its own folder's entry needs an fsync
    seen.clear()
    twin = next(
        b
        for b in (f"Phụ lục {i}".encode() for i in range(100_000))
        if hashlib.sha256(b).hexdigest()[:4] == digest[:4]
    )
    with files.batch():
        files.put(twin)
    assert seen == [leaf]


def test_a_failed_batch_leaves_nothing(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    with pytest.raises(RuntimeError), files.batch():
        digest = files.put("Báo cáo tuần lễ".encode())
        raise RuntimeError("the transaction failed")
    assert not files.exists(digest)
    assert not list(files.root.rglob("*.tmp"))


def test_a_batch_belongs_to_its_thread(tmp_path: Path) -> None:
    """The notifier's thread writes an outbox blob while the poller's batch is open: that blob
    is durable at once, not when the poller's batch ends."""
    files = FileStore(tmp_path / "files")
    seen: list[bool] = []

    def notifier() -> None:
        seen.append(files.exists(files.put(b"Subject: digest\r\n\r\nbody")))

    with files.batch():
        files.put(b"raw message of the poller")
        t = threading.Thread(target=notifier)
        t.start()
        t.join()
    assert seen == [True]


# -- the poller -------------------------------------------------------------------------------


def _small(i: int) -> bytes:
    m = EmailMessage()
    m["From"] = "Trường Tiểu học Kim An <th-kim-an@thanhoai.example>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = f"Báo cáo tuần lễ HTSĐ — lần {i}"
    m["Message-ID"] = f"<perf-{i}@thanhoai.example>"
    m.set_content(f"Kính gửi Phòng GD&ĐT. Lần {i}.")
    return bytes(m)


@pytest.fixture
def app(tmp_path: Path, clock: FixedClock) -> Iterator[App]:
    a = App(make_config(tmp_path, limits={"parse_workers": 0}, mailbox={"batch_size": 10}), clock)
    a.import_roster(ROSTER)
    try:
        yield a
    finally:
        a.close()


def _poller(app: App, box: FakeMailbox, files: FileStore | None = None, **kw: Any) -> Poller:
    return Poller(box, app.sessions, files or app.files, app.clock, app.cfg.mailbox, **kw)


def test_a_fetched_batch_is_one_transaction_told_to_the_server_after(app: App) -> None:
    box = FakeMailbox()
    for i in range(40):
        box.append(_small(i))
    commits: list[int] = []
    event.listen(app.sessions, "after_commit", lambda _s: commits.append(box.calls.get("mark", 0)))
    r = _poller(app, box).poll_once()
    assert (r.stored, r.marked, r.error) == (40, 40, "")
    # 4 batches: a commit for each batch's rows and one for its server action, plus the
    # folder state, the new UIDs and the heartbeat (one commit per message before)
    assert len(commits) <= 2 * 4 + 3
    with app.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).where(LedgerEntry.server_done)) == 40


class _TooLargeFor(FileStore):
    """A file store that cannot hold one message (over the file system's largest file; the
    others fit): that message's own failure. A full disk is the store's, not a message's
    (tests/test_store_faults.py)."""

    def __init__(self, root: Path, bad: bytes) -> None:
        super().__init__(root)
        self.bad = bad

    def put(self, data: bytes) -> str:
        if data == self.bad:
            raise OSError(errno.EFBIG, "File too large")
        return super().put(data)


def test_a_bad_message_in_a_batch_costs_only_itself(app: App, clock: FixedClock) -> None:
    from datetime import timedelta

    box = FakeMailbox()
    mails = [_small(i) for i in range(10)]
    for raw in mails:
        box.append(raw)
    r = _poller(app, box, _TooLargeFor(app.files.root, mails[3])).poll_once()
    assert (r.stored, r.failed, r.marked) == (9, 1, 9)
    assert 4 not in box.folders["INBOX"].keywords  # untouched on the server
    with app.sessions() as s:
        entry = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.uid == 4))
        assert entry is not None and entry.state == "pending" and "File too large" in entry.error
    clock.advance(timedelta(minutes=5))
    r = _poller(app, box).poll_once()
    assert (r.stored, r.marked) == (1, 1)


class _CountingBox(FakeMailbox):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[int]] = []

    def fetch(self, uids: Sequence[int]) -> Iterator[Fetched]:
        self.batches.append(list(uids))
        return super().fetch(uids)


def test_fetches_are_bounded_in_bytes(app: App) -> None:
    box = _CountingBox()
    mails = [_small(i) for i in range(9)]
    big = bytes(_unit_mail(200_000))
    for raw in mails[:4] + [big] + mails[4:]:
        box.append(raw)
    limit = 3 * max(map(len, mails)) + 10
    r = _poller(app, box, fetch_bytes=limit).poll_once()
    assert r.stored == 10
    assert [5] in box.batches  # the big one alone
    sizes = {u: len(m) for u, m in box.folders["INBOX"].messages.items()}
    assert all(sum(sizes[u] for u in b) <= limit for b in box.batches if b != [5])
    assert sorted(u for b in box.batches for u in b) == list(range(1, 11))
    assert _by_bytes([(1, 10), (2, 10), (3, 10)], 20) == [[1, 2], [3]]


def test_idle_repoll_costs_the_same_whatever_the_ledger_holds(app: App) -> None:
    def statements_of_idle_poll(box: FakeMailbox) -> int:
        count = [0]

        def tick(*_: object) -> None:
            count[0] += 1

        event.listen(app.engine, "before_cursor_execute", tick)
        try:
            r = app.poll_once(box)
        finally:
            event.remove(app.engine, "before_cursor_execute", tick)
        assert r.fetched == 0
        return count[0]

    small, large = FakeMailbox("small@example"), FakeMailbox("large@example")
    for i in range(10):
        small.append(_small(i))
    for i in range(100):
        large.append(_small(1000 + i))
    app.poll_once(small)
    app.poll_once(large)
    assert statements_of_idle_poll(small) == statements_of_idle_poll(large) <= 12
