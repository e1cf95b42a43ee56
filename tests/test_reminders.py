"""Reminder slots and `due()`: an injected clock walks across the slots and the deadline."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifier.reminders import Notice, Schedule, compose_reminder, due, slots
from notifier.render import make_env
from store.queries import CampaignStatus, Items, UnitStatus

HN = ZoneInfo("Asia/Ho_Chi_Minh")
DEADLINE = datetime(2021, 10, 10, 0, 0, tzinfo=HN)  # "Trước ngày 10/10/2021"
TITLE = "Tuần lễ hưởng ứng học tập suốt đời năm 2021"


def unit(
    code: str,
    state: str,
    *,
    emails: tuple[str, ...] | None = None,
    missing: tuple[str, ...] | None = None,
) -> UnitStatus:
    default_missing = {
        "missing": ("report", "data_table", "photos"),
        "incomplete": ("photos",),
        "complete": (),
    }[state]
    return UnitStatus(
        code=code,
        name=f"Trường {code.upper()}",
        kind=code.split("-")[0],
        emails=(f"{code}@thanhoai.example",) if emails is None else emails,
        state=state,
        late=False,
        submitted_at=None,
        last_message_at=None,
        messages=0,
        items=Items(report=state != "missing", photos=1 if state == "incomplete" else 0),
        total_classes=None,
        total_participants=None,
        missing=default_missing if missing is None else missing,
        deadline=DEADLINE,
    )


def campaign(*units: UnitStatus) -> CampaignStatus:
    return CampaignStatus("tuan-le-htsd-2021", TITLE, DEADLINE, "Asia/Ho_Chi_Minh", tuple(units))


def test_slots_are_local_mornings_before_the_deadline_and_one_after() -> None:
    got = [(s.key, s.kind, s.at.astimezone(HN)) for s in slots(DEADLINE, Schedule())]
    assert got == [
        ("before-5d@2021-10-10", "reminder", datetime(2021, 10, 5, 8, 0, tzinfo=HN)),
        ("before-3d@2021-10-10", "reminder", datetime(2021, 10, 7, 8, 0, tzinfo=HN)),
        ("before-1d@2021-10-10", "reminder", datetime(2021, 10, 9, 8, 0, tzinfo=HN)),
        ("overdue@2021-10-10", "overdue", datetime(2021, 10, 10, 8, 0, tzinfo=HN)),
    ]
    assert all(s.at.tzinfo == UTC for s in slots(DEADLINE, Schedule()))
    # A deadline late in the day: the overdue notice waits for the next morning.
    evening = datetime(2021, 10, 10, 17, 0, tzinfo=HN)
    last = slots(evening, Schedule(at=time(7, 30)))[-1]
    assert last.at.astimezone(HN) == datetime(2021, 10, 11, 7, 30, tzinfo=HN)
    with pytest.raises(ValueError):
        slots(datetime(2021, 10, 10), Schedule())  # noqa: DTZ001


def walk(
    status_at: dict[datetime, CampaignStatus],
    start: datetime,
    end: datetime,
    extensions: dict[str, datetime],
) -> list[tuple[datetime, Notice]]:
    """Run due() every 30 minutes from start to end, as the daemon would, keeping `sent`."""
    sent: set[tuple[str, str]] = set()
    out = []
    now = start
    changes = sorted(status_at)
    while now <= end:
        current = [t for t in changes if t <= now]
        status = status_at[current[-1]]
        for n in due(status, Schedule(), now, sent, extensions):
            assert (n.unit, n.slot) not in sent
            sent.add((n.unit, n.slot))
            out.append((now, n))
        now += timedelta(minutes=30)
    return out


def test_walk_across_the_slots_and_the_deadline() -> None:
    start = datetime(2021, 10, 1, 7, 0, tzinfo=HN)
    extended = datetime(2021, 10, 15, 0, 0, tzinfo=HN)
    before = campaign(
        unit("mn-a", "missing"),
        unit("th-b", "incomplete"),
        unit("thcs-c", "complete"),
        unit("thpt-d", "missing"),
        unit("ubnd-e", "missing"),
    )
    # th-b completes its file on 08/10 at 10:00: after that it must get nothing more.
    after = replace(
        before,
        units=tuple(
            replace(u, state="complete", missing=()) if u.code == "th-b" else u
            for u in before.units
        ),
    )
    sent = walk(
        {start: before, datetime(2021, 10, 8, 10, 0, tzinfo=HN): after},
        start,
        datetime(2021, 10, 20, 12, 0, tzinfo=HN),
        {"ubnd-e": extended},
    )
    by_unit: dict[str, list[tuple[str, datetime]]] = {}
    for now, n in sent:
        by_unit.setdefault(n.unit, []).append((n.slot, now.astimezone(HN)))
    assert by_unit["mn-a"] == [
        ("before-5d@2021-10-10", datetime(2021, 10, 5, 8, 0, tzinfo=HN)),
        ("before-3d@2021-10-10", datetime(2021, 10, 7, 8, 0, tzinfo=HN)),
        ("before-1d@2021-10-10", datetime(2021, 10, 9, 8, 0, tzinfo=HN)),
        ("overdue@2021-10-10", datetime(2021, 10, 10, 8, 0, tzinfo=HN)),
    ]
    assert [s for s, _ in by_unit["th-b"]] == ["before-5d@2021-10-10", "before-3d@2021-10-10"]
    assert "thcs-c" not in by_unit
    # The extension: its own slots, keyed on 15/10, and overdue only after it.
    assert by_unit["ubnd-e"] == [
        ("before-5d@2021-10-15", datetime(2021, 10, 10, 8, 0, tzinfo=HN)),
        ("before-3d@2021-10-15", datetime(2021, 10, 12, 8, 0, tzinfo=HN)),
        ("before-1d@2021-10-15", datetime(2021, 10, 14, 8, 0, tzinfo=HN)),
        ("overdue@2021-10-15", datetime(2021, 10, 15, 8, 0, tzinfo=HN)),
    ]
    kinds = {n.slot: n.kind for _, n in sent}
    assert kinds["overdue@2021-10-10"] == "overdue" and kinds["before-1d@2021-10-10"] == "reminder"
    assert all(n.missing == ("report", "data_table", "photos") for _, n in sent if n.unit == "mn-a")


def test_daemon_down_sends_only_the_latest_slot() -> None:
    status = campaign(unit("mn-a", "missing"), unit("th-b", "incomplete"))
    # Down from 04/10 until 09/10 09:00: three slots passed, one letter each.
    got = due(status, Schedule(), datetime(2021, 10, 9, 9, 0, tzinfo=HN), set(), {})
    assert [(n.unit, n.slot) for n in got] == [
        ("mn-a", "before-1d@2021-10-10"),
        ("th-b", "before-1d@2021-10-10"),
    ]
    # Down across the deadline: the overdue notice only, and never an older reminder after it.
    later = datetime(2021, 10, 12, 9, 0, tzinfo=HN)
    sent = {("mn-a", "before-5d@2021-10-10")}
    got = due(status, Schedule(), later, sent, {})
    assert {(n.unit, n.slot, n.kind) for n in got} == {
        ("mn-a", "overdue@2021-10-10", "overdue"),
        ("th-b", "overdue@2021-10-10", "overdue"),
    }
    sent |= {(n.unit, n.slot) for n in got}
    assert due(status, Schedule(), later + timedelta(days=30), sent, {}) == []


def test_nothing_before_the_first_slot_and_no_address_no_notice() -> None:
    status = campaign(unit("mn-a", "missing"), unit("mn-x", "missing", emails=()))
    assert due(status, Schedule(), datetime(2021, 10, 5, 7, 59, tzinfo=HN), set(), {}) == []
    got = due(status, Schedule(), datetime(2021, 10, 5, 8, 0, tzinfo=HN), set(), {})
    assert [n.unit for n in got] == ["mn-a"]
    assert got[0].to == ("mn-a@thanhoai.example",)


def test_reminder_and_overdue_letters() -> None:
    env = make_env()
    u = unit("th-b", "incomplete", missing=("data_table", "photos"))
    status = campaign(u)
    now = datetime(2021, 10, 7, 8, 0, tzinfo=HN)
    (n,) = due(status, Schedule(), now, set(), {})
    mail = compose_reminder(n, u, status, now, env)
    assert mail.kind == "reminder" and mail.to == ("th-b@thanhoai.example",)
    assert mail.subject == f"Nhắc gửi báo cáo {TITLE} – hạn 10/10/2021 – Trường TH-B"
    assert "Kính gửi: Trường TH-B" in mail.text
    assert "Đến 08:00 ngày 07/10/2021, hồ sơ báo cáo của đơn vị còn thiếu:" in mail.text
    assert "  - Bảng tổng hợp số liệu\n  - Hình ảnh minh chứng (2–3 ảnh)\n" in mail.text
    assert "trước ngày 10/10/2021 (còn 3 ngày)" in mail.text
    assert mail.html is not None and "<li>Bảng tổng hợp số liệu</li>" in mail.html

    late = datetime(2021, 10, 10, 8, 0, tzinfo=HN)
    (n,) = due(campaign(unit("mn-a", "missing")), Schedule(), late, set(), {})
    overdue = compose_reminder(n, unit("mn-a", "missing"), status, late, env)
    assert overdue.kind == "overdue"
    assert overdue.subject.startswith("Quá hạn gửi báo cáo")
    assert "chưa nhận được hồ sơ báo cáo của đơn vị" in overdue.text
    assert "khẩn trương" in overdue.text


GAP = timedelta(hours=24)


def test_started_mid_schedule_the_stale_slot_waits_for_the_next_one_due_soon() -> None:
    """Issue 16 item 3: started at 07:50 on the 3-day morning, the daemon sends no stale 5-day
    reminder; at 08:00 the 3-day one goes, once."""
    status = campaign(unit("mn-a", "missing"), unit("th-b", "incomplete"))
    assert (
        due(status, Schedule(), datetime(2021, 10, 7, 7, 50, tzinfo=HN), set(), {}, min_gap=GAP)
        == []
    )
    got = due(status, Schedule(), datetime(2021, 10, 7, 8, 0, tzinfo=HN), set(), {}, min_gap=GAP)
    assert [(n.unit, n.slot) for n in got] == [
        ("mn-a", "before-3d@2021-10-10"),
        ("th-b", "before-3d@2021-10-10"),
    ]
    # without the gap (reminder_min_gap = 0) the old behaviour: the stale slot goes at once
    stale = due(status, Schedule(), datetime(2021, 10, 7, 7, 50, tzinfo=HN), set(), {})
    assert {n.slot for n in stale} == {"before-5d@2021-10-10"}


def test_a_missed_slot_goes_when_the_next_one_is_further_than_the_gap() -> None:
    status = campaign(unit("mn-a", "missing"))
    # started on 05/10 at 14:00: the 5-day slot (08:00) was missed, the 3-day one is 42 h away
    got = due(status, Schedule(), datetime(2021, 10, 5, 14, 0, tzinfo=HN), set(), {}, min_gap=GAP)
    assert [n.slot for n in got] == ["before-5d@2021-10-10"]
    # a slot a tick late is not "missed": a daily schedule keeps its daily letters
    daily = Schedule(offsets_days=(3, 2, 1))
    got = due(status, daily, datetime(2021, 10, 8, 8, 2, tzinfo=HN), set(), {}, min_gap=GAP)
    assert [n.slot for n in got] == ["before-2d@2021-10-10"]
    # the overdue notice has no next slot: missed or not, it goes
    got = due(status, Schedule(), datetime(2021, 10, 12, 15, 0, tzinfo=HN), set(), {}, min_gap=GAP)
    assert [n.kind for n in got] == ["overdue"]


def test_no_second_reminder_while_the_last_one_is_within_the_gap() -> None:
    status = campaign(unit("mn-a", "missing"), unit("th-b", "missing"))
    # mn-a was reminded yesterday at 10:30 (an officer's manual `intake remind`, say): today's
    # 08:00 slot waits until 24 h have passed since, then goes; th-b gets its letter at 08:00
    last = {"mn-a": datetime(2021, 10, 6, 10, 30, tzinfo=HN)}
    at8 = datetime(2021, 10, 7, 8, 0, tzinfo=HN)
    assert [
        n.unit for n in due(status, Schedule(), at8, set(), {}, last_reminded=last, min_gap=GAP)
    ] == ["th-b"]
    later = datetime(2021, 10, 7, 10, 30, tzinfo=HN)
    got = due(
        status,
        Schedule(),
        later,
        {("th-b", "before-3d@2021-10-10")},
        {},
        last_reminded=last,
        min_gap=GAP,
    )
    assert [(n.unit, n.slot) for n in got] == [("mn-a", "before-3d@2021-10-10")]
