"""A real store holding a large campaign, written in bulk, for timing the digest and the
workbook the way the notifier builds them (campaign_status + unit_data queries included).

Units are the example roster repeated under new codes; each unit's mail is what a filed message
leaves in the store: attachments with the facts JSON the filer writes
(`intake.parsestage.facts_json`
over real `DocumentFacts`), and the unit's recomputed submission. About 60 % of units are
complete, 20 % incomplete, 20 % have sent nothing; a few messages are unassigned or quarantined.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import ROSTER
from intake import demo_mail
from intake.parsestage import facts_json
from parsers.facts import DataTable, DocumentFacts, Nomination, Photo, Report, TableRow
from store.files import FileStore
from store.models import (
    Attachment,
    Message,
    MessageState,
    Submission,
    SubmissionState,
    Unit,
    UnitAddress,
)
from store.submissions import Requirements

REPORT_TEXT = (
    "BÁO CÁO\nKết quả tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021\n"
    "I. KẾT QUẢ TRIỂN KHAI\n1. Công tác chỉ đạo: xây dựng Kế hoạch triển khai Tuần lễ tới toàn "
    "thể cán bộ, giáo viên, nhân viên và học sinh.\n2. Các hoạt động đã tổ chức: tuyên truyền, "
    "tập huấn, cuộc thi trực tuyến.\n3. Kinh phí: Ngân sách nhà nước: 8.000.000 đồng.\n"
    "II. ĐÁNH GIÁ CHUNG\n1. Ưu điểm: hình thành thói quen đọc sách.\n" * 3
)


def _sha(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _rows(rng: random.Random) -> tuple[TableRow, ...]:
    picks = rng.sample(demo_mail.ACTIVITIES, rng.randint(2, 6))
    return tuple(
        TableRow(
            str(i),
            a,
            o,
            None if rng.random() < 0.1 else rng.randint(1, 12),
            rng.choice((35, 120, 450, 1200, 2350)),
            "Trực tuyến" if rng.random() < 0.3 else "",
        )
        for i, (a, o) in enumerate(picks, 1)
    )


def fill(
    sessions: sessionmaker[Session],
    files: FileStore,
    *,
    units: int,
    campaign_id: str,
    deadline: datetime,
    req: Requirements,
    seed: int = 7,
) -> dict[str, int]:
    """Write `units` units and their campaign mail into an empty store; return counts."""
    rng = random.Random(seed)
    base = demo_mail.read_units(ROSTER)
    now = deadline - timedelta(days=1)
    unit_rows: list[dict[str, Any]] = []
    addr_rows: list[dict[str, Any]] = []
    msg_rows: list[dict[str, Any]] = []
    att_rows: list[dict[str, Any]] = []
    sub_rows: list[dict[str, Any]] = []
    for k in range(units):
        b = base[k % len(base)]
        rep = k // len(base)
        uid = k + 1
        code = b.code if rep == 0 else f"{b.code}-{rep}"
        name = b.name if rep == 0 else f"{b.name} ({rep})"
        email = b.email if rep == 0 else b.email.replace("@", f".{rep}@")
        unit_rows.append(
            dict(
                id=uid,
                code=code,
                name=name,
                kind=b.kind,
                aliases="",
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        addr_rows.append(dict(unit_id=uid, address=email, source="roster", learned_by=""))
        roll = rng.random()
        state = "complete" if roll < 0.6 else "incomplete" if roll < 0.8 else "missing"
        if state == SubmissionState.MISSING:
            continue
        n_msgs = 1 if rng.random() < 0.8 else 2
        received: list[datetime] = []
        have = {"report": False, "data_table": False, "photos": 0, "nominations": False}
        totals: tuple[int | None, int | None] = (None, None)
        for m in range(n_msgs):
            mid = len(msg_rows) + 1
            at = deadline - timedelta(days=rng.randint(0, 8), minutes=rng.randint(0, 900))
            if rng.random() < 0.08:
                at = deadline + timedelta(hours=rng.randint(1, 40))
            received.append(at)
            msg_rows.append(
                dict(
                    id=mid,
                    sha256=_sha("m", uid, m),
                    body_sha256=_sha("b", uid, m),
                    message_id=f"<{uid}.{m}@bench>",
                    size=180_000,
                    source="imap",
                    from_addr=email,
                    from_name=name,
                    subject=f"Báo cáo Tuần lễ HTSĐ 2021 - {name}",
                    sent_at=at,
                    received_at=at,
                    state=MessageState.FILED,
                    reason="",
                    attempts=0,
                    campaign_id=campaign_id,
                    unit_id=uid,
                    assigned_by="auto",
                    candidates="[]",
                    auth="",
                    created_at=at,
                    processed_at=at,
                )
            )
            facts: list[DocumentFacts] = []
            if m == 0:
                facts.append(
                    DocumentFacts(
                        f"Báo cáo Tuần lễ HTSĐ 2021 - {name}.docx",
                        "document",
                        "docx",
                        frozenset({"report"}),
                        report=Report(REPORT_TEXT, title="BÁO CÁO"),
                    )
                )
                have["report"] = True
            if state == SubmissionState.COMPLETE or (m == 0 and rng.random() < 0.5):
                rows = _rows(rng)
                table = DataTable(
                    rows,
                    sum(r.classes_or_contests or 0 for r in rows),
                    sum(r.participants or 0 for r in rows),
                    source="sheet 'Số liệu'",
                )
                facts.append(
                    DocumentFacts(
                        f"Tổng hợp số liệu {name}.xlsx",
                        "spreadsheet",
                        "xlsx",
                        frozenset({"data_table"}),
                        data_table=table,
                    )
                )
                have["data_table"] = True
                totals = (table.total_classes, table.total_participants)
            if state == SubmissionState.COMPLETE and rng.random() < 0.3:
                noms = (
                    Nomination("1", name, True, "", name, "Tổ chức tốt Tuần lễ"),
                    Nomination(
                        "2",
                        f"Nguyễn Thị Hoa {k}",
                        False,
                        "Giáo viên",
                        name,
                        "Có nhiều đóng góp trong Tuần lễ",
                    ),
                )
                facts.append(
                    DocumentFacts(
                        "Danh sách đề nghị khen thưởng.xlsx",
                        "spreadsheet",
                        "xlsx",
                        frozenset({"nominations"}),
                        nominations=noms,
                    )
                )
                have["nominations"] = True
            n_photos = 3 if state == SubmissionState.COMPLETE and m == n_msgs - 1 else 0
            for p in range(n_photos):
                sha = _sha("p", uid, m, p)
                photo = Photo(sha, "jpeg", 1024, 768, at - timedelta(days=2), "samsung SM-A125F")
                facts.append(
                    DocumentFacts(
                        f"IMG_20211004_0{p}.jpg",
                        "image",
                        "jpeg",
                        frozenset({"photo"}),
                        photos=(photo,),
                    )
                )
                have["photos"] += 1
            for f in facts:
                att_rows.append(
                    dict(
                        message_fk=mid,
                        sha256=_sha("a", mid, f.filename),
                        filename=f.filename,
                        content_type="",
                        kind=f.kind,
                        fmt=f.fmt,
                        size=40_000,
                        items=",".join(sorted(f.items)),
                        photos=len(f.photos),
                        problem="",
                        facts=facts_json(f, files),
                    )
                )
        missing = req.missing(
            bool(have["report"]),
            bool(have["data_table"]),
            int(have["photos"]),
            bool(have["nominations"]),
        )
        sub_rows.append(
            dict(
                campaign_id=campaign_id,
                unit_id=uid,
                state="incomplete" if missing else "complete",
                report=have["report"],
                data_table=have["data_table"],
                photos=have["photos"],
                nominations=have["nominations"],
                total_classes=totals[0],
                total_participants=totals[1],
                messages=n_msgs,
                submitted_at=min(received),
                last_message_at=max(received),
                completed_at=None if missing else max(received),
                updated_at=now,
            )
        )
    loose = max(units // 50, 1)
    for j in range(loose):  # unassigned and quarantined mail for the digest's lists
        mid = len(msg_rows) + 1
        at = deadline - timedelta(hours=j + 1)
        msg_rows.append(
            dict(
                id=mid,
                sha256=_sha("loose", j),
                body_sha256=_sha("lb", j),
                message_id=f"<l{j}@x>",
                size=9_000,
                source="imap",
                from_addr=f"giaovien{j}@gmail.com",
                from_name="",
                subject="Gửi báo cáo",
                sent_at=at,
                received_at=at,
                state="unassigned" if j % 4 else "quarantined",
                reason="sender address not in the roster"
                if j % 4
                else "archive type not supported",
                attempts=0,
                campaign_id=campaign_id,
                unit_id=None,
                assigned_by="",
                candidates="[]",
                auth="",
                created_at=at,
                processed_at=at,
            )
        )
    with sessions.begin() as s:
        for model, values in (
            (Unit, unit_rows),
            (UnitAddress, addr_rows),
            (Message, msg_rows),
            (Attachment, att_rows),
            (Submission, sub_rows),
        ):
            for i in range(0, len(values), 2000):
                s.execute(insert(model), values[i : i + 2000])
    return {"units": len(unit_rows), "messages": len(msg_rows), "attachments": len(att_rows)}
