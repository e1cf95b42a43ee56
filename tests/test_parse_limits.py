"""CPU and memory amplification by one message: its images share a budget of decoded pixels
([limits] max_message_pixels), past which they get a note instead of being decoded; and a
message whose parse is killed for time or memory when it runs alone in a fresh worker is
quarantined at once with the reason, not retried."""

from __future__ import annotations

import functools
import io
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image, ImageDraw

from core.clock import FixedClock
from intake.app import App
from intake.fakemailbox import FakeMailbox
from store.models import Attachment, Message
from tests.support.config import ROSTER, make_config
from tests.support.docgen_media import phone_jpeg
from tests.support.unitmail import Part, unit_mail


@functools.cache
def _png(w: int, h: int, mode: str = "RGB") -> bytes:
    """A flat drawing with lines: compresses well, decodes at full size (as a screenshot)."""
    im = Image.new("RGB", (w, h), (200, 180, 160))
    draw = ImageDraw.Draw(im)
    for x in range(0, w, 40):
        draw.line([(x, 0), (w - x, h)], fill=(x % 255, 80, 120), width=3)
    buf = io.BytesIO()
    im.convert(mode).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _mail(n: int, images: Sequence[Part]) -> bytes:
    """Kim An's mail `n` of photos (the subject ends in `(n)`, which the tests look up)."""
    return unit_mail(
        n,
        "th-kim-an@thanhoai.example",
        "Trường Tiểu học Kim An",
        subject=f"Ảnh hoạt động Tuần lễ HTSĐ ({n})",
        body="Kính gửi Phòng GD&ĐT huyện Thanh Oai, đơn vị gửi ảnh hoạt động.",
        attachments=images,
        tag="limits",
    )


def _poll(tmp_path: Path, clock: FixedClock, mails: list[bytes], **limits: object) -> App:
    app = App(make_config(tmp_path, limits=limits), clock)
    app.import_roster(ROSTER)
    box = FakeMailbox()
    for raw in mails:
        box.append(raw)
    app.poll_once(box)
    return app


def _messages(app: App) -> dict[str, tuple[str, int, str]]:
    with app.sessions() as s:
        return {m.subject: (m.state, m.attempts, m.reason) for m in s.scalars(sa.select(Message))}


def test_images_past_the_message_pixel_budget_get_a_note_instead_of_being_decoded(
    tmp_path: Path, clock: FixedClock
) -> None:
    png = _png(3000, 3000)  # 9 Mpx each
    jpeg = phone_jpeg(7, size=(4000, 3000))[0]  # 12 Mpx, decoded at 1/8 scale: 0.19 Mpx
    mails = [
        _mail(1, [(f"Ảnh {i}.png", png, "image/png") for i in range(6)]),
        _mail(2, [(f"Ảnh {i}.jpg", jpeg, "image/jpeg") for i in range(20)]),
    ]
    app = _poll(tmp_path, clock, mails, parse_workers=1, max_message_pixels=20_000_000)
    try:
        with app.sessions() as s:
            rows = {(a.message.subject, a.filename): a for a in s.scalars(sa.select(Attachment))}
        pngs = [rows[("Ảnh hoạt động Tuần lễ HTSĐ (1)", f"Ảnh {i}.png")] for i in range(6)]
        decoded = [a for a in pngs if not a.problem]
        noted = [a for a in pngs if a.problem]
        assert len(decoded) == 2 and all('"width": 3000' in a.facts for a in decoded)
        assert len(noted) == 4
        assert all("over the message's image budget of 20 Mpx" in a.problem for a in noted)
        assert all(a.photos == 0 for a in noted)
        jpegs = [a for (subject, _), a in rows.items() if subject.endswith("(2)")]
        assert len(jpegs) == 20 and not [a for a in jpegs if a.problem]  # 3.8 Mpx decoded
        states = {subject: state for subject, (state, _, _) in _messages(app).items()}
        assert set(states.values()) == {"filed"}  # a note costs the image, not the message
    finally:
        app.close()


@pytest.mark.slow
def test_a_message_killed_for_time_when_alone_is_quarantined_at_once(
    tmp_path: Path, clock: FixedClock
) -> None:
    slow = _png(8000, 8000, "RGBA")  # ~2 s of decoding each, here
    normal = phone_jpeg(3, size=(640, 480))[0]
    mails = [
        _mail(1, [("Ảnh 1.jpg", normal, "image/jpeg")]),
        _mail(2, [(f"Sơ đồ {i}.png", slow, "image/png") for i in range(3)]),
        _mail(3, [("Ảnh 3.jpg", normal, "image/jpeg")]),
        _mail(4, [("Ảnh 4.jpg", normal, "image/jpeg")]),
    ]
    t0 = time.monotonic()
    # 3 s: the drawings take ~7 s together, and an ordinary photo's first parse in a fresh
    # worker stays well inside it on a loaded machine (at 1 s it did not: CI under load)
    app = _poll(tmp_path, clock, mails, parse_workers=2, parse_timeout=3.0)
    took = time.monotonic() - t0
    try:
        got = _messages(app)
    finally:
        app.close()
    state, attempts, reason = got["Ảnh hoạt động Tuần lễ HTSĐ (2)"]
    assert (state, attempts) == ("quarantined", 1), (state, attempts, reason)
    assert reason.startswith("parse timeout after 3 s") and "alone" in reason
    assert {got[f"Ảnh hoạt động Tuần lễ HTSĐ ({i})"][0] for i in (1, 3, 4)} == {"filed"}
    assert took < 30


@pytest.mark.slow
def test_a_message_killed_for_memory_when_alone_is_quarantined_at_once(
    tmp_path: Path, clock: FixedClock
) -> None:
    heavy = _png(8000, 8000, "RGBA")  # 256 MB of pixels once decoded
    normal = phone_jpeg(3, size=(640, 480))[0]
    mails = [
        _mail(1, [("Sơ đồ.png", heavy, "image/png")]),
        _mail(2, [("Ảnh.jpg", normal, "image/jpeg")]),
    ]
    # a worker at rest holds ~150 MB of address space (libraries; OpenCV only for likely pages):
    # 512 MB leaves the ordinary photo room, not the drawing's 256 MB of pixels and their copies.
    # At 1 GiB the drawing now fits: Pillow shrinks it before the page check looks at it
    app = _poll(tmp_path, clock, mails, parse_workers=2, parse_memory_mb=512)
    try:
        got = _messages(app)
    finally:
        app.close()
    state, attempts, reason = got["Ảnh hoạt động Tuần lễ HTSĐ (1)"]
    assert (state, attempts) == ("quarantined", 1), (state, attempts, reason)
    assert reason.startswith(("memory limit", "parse worker died")) and "alone" in reason
    assert got["Ảnh hoạt động Tuần lễ HTSĐ (2)"][0] == "filed"


def test_ordinary_mail_is_never_killed_for_memory_in_a_worker(tmp_path: Path) -> None:
    """A worker at rest must leave its address-space cap to the message: glibc's per-thread
    malloc arenas (64 MiB each) and 8 MiB stacks of the file store's fsync threads took 1.5 GB
    of the 1.5 GB default, so ordinary mail died "memory limit" or "can't start new thread" —
    and a message killed alone is now set aside for good."""
    from intake.parsestage import Limits, ParseStage
    from store.files import FileStore
    from tests.support.mailgen import campaign_mailbox

    files = FileStore(tmp_path / "files")
    shas = [files.put(raw) for raw in campaign_mailbox(ROSTER, n=40, seed=5)]
    stage = ParseStage(str(files.root), Limits(parse_workers=1, parse_memory_mb=1024))
    try:
        results = stage.run_many(shas)
    finally:
        stage.close()
    failed = [str(r) for r in results if not hasattr(r, "parts")]
    assert failed == []
