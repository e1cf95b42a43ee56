"""The consolidated workbook as it prints (issue 16 item 8): converted to PDF by a real
LibreOffice (`soffice --headless --convert-to pdf`, Calc), once per session. A4 landscape, every
column on the page (each data row's activity and its numbers on one line of one page), the
header rows on every page, numbers grouped the Vietnamese way, no `###` for a date. The PDF is
kept under the test artifacts folder."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from notifier.workbook import build_workbook
from tests.support.browser import artifacts_dir, require
from tests.support.workbookdata import make_campaign, roster_units

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@dataclass(frozen=True)
class Printed:
    pdf: Path
    pages: list[str]  # the text of each page (pdftotext -layout)
    page_size: str
    expected_rows: int  # data rows with at least one number


def _calc_available(soffice: str) -> bool:
    program = Path(soffice).resolve().parent
    return (
        program / "libsclo.so"
    ).exists()  # Calc itself; libsc*lo.so also matches Writer-only parts


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Printed]:
    soffice = require(SOFFICE, "soffice")
    require(shutil.which("pdftotext"), "pdftotext (poppler-utils)")
    if not _calc_available(soffice):
        require(None, "LibreOffice Calc (libreoffice-calc-nogui)")
    work = tmp_path_factory.mktemp("print")
    status, data = make_campaign(roster_units())
    status = replace(
        status, units=tuple(replace(u, overdue=u.state != "complete") for u in status.units)
    )
    book = work / "tong-hop.xlsx"
    book.write_bytes(build_workbook(status, data))
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{work / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            str(book),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = work / "tong-hop.pdf"
    kept = artifacts_dir("print") / pdf.name
    shutil.copyfile(pdf, kept)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    info = subprocess.run(
        ["pdfinfo", str(pdf)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    n_pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])  # type: ignore[index]
    assert n_pages == len(pages)
    rows = sum(
        1
        for d in data
        for r in d.rows
        if r.classes_or_contests is not None or r.participants is not None
    )
    yield Printed(kept, pages, re.search(r"^Page size:\s+(.*)$", info, re.M)[1], rows)  # type: ignore[index]


def test_workbook_prints_on_a4_landscape_in_few_pages(printed: Printed) -> None:
    assert "(A4)" in printed.page_size and printed.page_size.startswith("841")  # landscape
    # 111 units, ~300 data rows: the summary, the status sheet and the nominations fit in
    # about 15 pages (49 Letter pages before, with the numbers apart from their names)
    assert len(printed.pages) <= 20, len(printed.pages)


def test_each_data_row_keeps_its_name_and_numbers_on_one_line(printed: Printed) -> None:
    organizers = (
        "Nhà trường",
        "Đoàn TN, Đội TNTP",
        "Tổ CNTT",
        "Liên đội",
        "Thư viện",
        "TT HTCĐ, Hội Khuyến học",
    )
    number = re.compile(r"\s(\d{1,3}(?:\.\d{3})*)(?:\s|$)")
    rows = 0
    for page in printed.pages:
        for line in page.splitlines():
            found = [o for o in organizers if o in line]
            if found and number.search(line[line.index(found[0]) + len(found[0]) :]):
                rows += 1
    assert rows == printed.expected_rows
    # subtotals: "Cộng <unit>" and its sums on the same line, grouped the Vietnamese way
    subtotals = [
        line
        for page in printed.pages
        for line in page.splitlines()
        if re.match(r"\s*Cộng (UBND|Trường|Trung tâm|TT)", line)
    ]
    assert subtotals and all(number.search(line) for line in subtotals)
    assert any(re.search(r"\d\.\d{3}\b", line) for line in subtotals)
    assert not any(re.search(r"\d,\d{3}\b", line) for line in subtotals)


def test_header_rows_repeat_on_every_summary_page(printed: Printed) -> None:
    summary = [p for p in printed.pages if "Đơn vị tổ chức" in p or "Cộng " in p]
    assert len(summary) >= 2
    assert all("Các hoạt động" in p and "Đơn vị tổ chức" in p for p in summary)
    assert "TỔNG HỢP SỐ LIỆU KẾT QUẢ TỔ CHỨC TUẦN LỄ" in printed.pages[0]


def test_dates_print_as_dates_not_hashes(printed: Printed) -> None:
    status_pages = [p for p in printed.pages if "Mã đơn vị" in p]
    assert status_pages
    text = "\n".join(status_pages)
    assert "###" not in text
    assert "10/10/2021 00:00" in text  # the deadline column
    assert "Quá hạn" in text
