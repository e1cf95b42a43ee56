"""Campaign statuses to build the digest and the workbook from, without a store: the district's
roster (`roster_units`), a campaign in mid-flight over any units with random tables and
nominations (`make_campaign`), one unit's status with everything else at its default
(`unit_status`), and the 111 units past the deadline with the long unbroken strings real mail
brings (`busy_campaign`)."""

from __future__ import annotations

import csv
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from parsers.facts import Nomination, TableRow
from store.queries import (
    AccountHealth,
    CampaignStatus,
    Items,
    LooseMessage,
    UnitData,
    UnitStatus,
)
from tests.support.config import ROSTER

DEADLINE = datetime(2021, 10, 10, 0, 0, tzinfo=UTC) - timedelta(hours=7)  # 10/10 00:00 +07
TITLE = "Tuần lễ hưởng ứng học tập suốt đời năm 2021"
ACTIVITIES = (
    (
        "Tuyên truyền về Tuần lễ trên cổng thông tin điện tử, Zalo, Facebook của đơn vị",
        "Nhà trường",
    ),
    ("Treo băng rôn, khẩu hiệu “Chuyển đổi số và cơ hội học tập suốt đời”", "Đoàn TN, Đội TNTP"),
    ("Lớp tập huấn kỹ năng sử dụng Zoom, Google Meet, K12Online cho phụ huynh", "Tổ CNTT"),
    ("Cuộc thi trực tuyến “Công dân số” cho học sinh", "Liên đội"),
    ("Hội thảo chuyên đề đọc và học tập suốt đời theo tấm gương Bác Hồ", "Thư viện"),
    ("Chuyên đề sinh hoạt CLB kỹ năng sống (trực tuyến)", "TT HTCĐ, Hội Khuyến học"),
)


def roster_units() -> list[tuple[str, str, str, tuple[str, ...]]]:
    with ROSTER.open(encoding="utf-8") as f:
        return [
            (r["code"], r["name"], r["kind"], tuple(e for e in r["emails"].split(";") if e))
            for r in csv.DictReader(f)
        ]


def make_rows(rng: random.Random, n: int) -> tuple[TableRow, ...]:
    rows = []
    for i in range(n):
        activity, organizer = ACTIVITIES[rng.randrange(len(ACTIVITIES))]
        classes = None if rng.random() < 0.1 else rng.randint(1, 12)  # blank cell in the form
        people = None if rng.random() < 0.05 else rng.choice((35, 120, 450, 1200, 2350))
        rows.append(
            TableRow(
                str(i + 1),
                activity,
                organizer,
                classes,
                people,
                "Trực tuyến" if rng.random() < 0.3 else "",
            )
        )
    return tuple(rows)


def make_campaign(
    units: list[tuple[str, str, str, tuple[str, ...]]], *, seed: int = 7, rows_per_unit: int = 0
) -> tuple[CampaignStatus, list[UnitData]]:
    """A campaign in mid-flight: ~60 % complete, ~20 % incomplete, the rest missing."""
    rng = random.Random(seed)
    statuses, data = [], []
    for i, (code, name, kind, emails) in enumerate(units):
        roll = rng.random()
        state = "complete" if roll < 0.6 else "incomplete" if roll < 0.8 else "missing"
        sent = DEADLINE - timedelta(days=rng.randint(0, 8), minutes=rng.randint(0, 600))
        if state != "missing" and rng.random() < 0.1:
            sent = DEADLINE + timedelta(hours=rng.randint(1, 40))
        rows = make_rows(rng, rows_per_unit or rng.randint(2, 6)) if state != "missing" else ()
        if state == "incomplete" and rng.random() < 0.5:
            rows = ()
        noms: tuple[Nomination, ...] = ()
        if state == "complete":
            noms = (
                Nomination("1", name, True, "", name, "Tổ chức tốt các hoạt động của Tuần lễ"),
                Nomination(
                    "2",
                    f"Nguyễn Thị Hồng {i}",
                    False,
                    "Giáo viên",
                    name,
                    "Có nhiều sáng kiến ứng dụng công nghệ số",
                ),
            )
        missing = {
            "complete": (),
            "incomplete": ("data_table", "photos") if not rows else ("photos",),
            "missing": ("report", "data_table", "photos"),
        }[state]
        classes = sum(r.classes_or_contests or 0 for r in rows) if rows else None
        people = sum(r.participants or 0 for r in rows) if rows else None
        statuses.append(
            UnitStatus(
                code=code,
                name=name,
                kind=kind,
                emails=emails,
                state=state,
                late=(state != "missing" and sent > DEADLINE) or (state != "complete"),
                submitted_at=None if state == "missing" else sent,
                last_message_at=None if state == "missing" else sent + timedelta(minutes=5),
                messages=0 if state == "missing" else rng.randint(1, 3),
                items=Items(
                    state != "missing", bool(rows), 3 if state == "complete" else 1, bool(noms)
                ),
                total_classes=classes,
                total_participants=people,
                missing=missing,
                deadline=DEADLINE,
            )
        )
        data.append(UnitData(code=code, name=name, kind=kind, rows=rows, nominations=noms))
    status = CampaignStatus(
        campaign_id="tuan-le-htsd-2021",
        title=TITLE,
        deadline=DEADLINE,
        timezone="Asia/Ho_Chi_Minh",
        units=tuple(statuses),
        unassigned=(
            LooseMessage(
                11,
                "<x@gmail.com>",
                "hieupho.thcs@gmail.com",
                "<script>alert(1)</script> Báo cáo tuần lễ",
                DEADLINE,
                "sender address not in the roster",
                ("thcs-kim-bai",),
            ),
        ),
        quarantined=(
            LooseMessage(
                12,
                "<q@x>",
                "vanthu@thanhoai.example",
                "BC HTSD.rar",
                DEADLINE,
                "archive type not supported",
            ),
        ),
        health=(AccountHealth("totrunghoc@imap.example:993", DEADLINE, None, ""),),
    )
    return status, data


def unit_status(code: str, name: str, state: str, **kw: object) -> UnitStatus:
    base: dict[str, object] = dict(
        code=code,
        name=name,
        kind="thcs",
        emails=(f"{code}@thanhoai.example",),
        state=state,
        late=False,
        submitted_at=None,
        last_message_at=None,
        messages=0,
        items=Items(),
        total_classes=None,
        total_participants=None,
        missing=(),
        deadline=DEADLINE,
    )
    base.update(kw)
    return UnitStatus(**base)  # type: ignore[arg-type]


def busy_campaign() -> CampaignStatus:
    """The 111 units of the district past the deadline, with the long unbroken strings real
    mail brings (an address, a subject that is one file name)."""
    status, _ = make_campaign(roster_units())
    long_subject = (
        "BaoCao_TuanLe_HocTapSuotDoi_2021_TruongTHCSThanhMai_ban_chinh_thuc_final_v3.docx"
    )
    unassigned = status.unassigned + tuple(
        LooseMessage(
            100 + i,
            f"<m{i}@x>",
            "phongvanthu.truongthcsthanhmai.huyenthanhoai2021@gmail.com",
            long_subject,
            DEADLINE,
            "sender address not in the roster",
            ("thcs-thanh-mai", "th-thanh-mai"),
        )
        for i in range(3)
    )
    units = tuple(replace(u, overdue=u.state != "complete") for u in status.units)
    return replace(status, units=units, unassigned=unassigned)
