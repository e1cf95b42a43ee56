"""Scanned and photographed reports (issue 20): read by OCR in Vietnamese, identified by the
scan's header alone, pages never counted as evidence photos, red seals seen, paper tables
kept only with a matching totals row.

Inputs are made the way offices make them (tests/support/docgen_scans.py): the docx report printed
by
LibreOffice, rasterised by pdftoppm, stamped, grainy and slightly rotated (an image-only PDF),
and phone photos of the pages (perspective, uneven light, EXIF). Generation (~10 s) and the OCR
of each file are done once per session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.clock import FixedClock
from intake.app import App
from intake.cli import cli
from notifier.reasons import vi
from parsers.documents import read_document
from parsers.facts import DATA_TABLE, PHOTO, REPORT, DocumentFacts
from parsers.ocr import ocr_budget
from parsers.papertable import NEEDS_TYPING
from parsers.report import header_lines
from parsers.scan import PAGE_PHOTO
from parsers.vietnamese import fold
from store.models import Attachment
from tests.support import docgen_media, docgen_reports, docgen_scans
from tests.support.config import ROSTER, make_config

ICT = timezone(timedelta(hours=7))
PW_ENV = "INTAKE_TEST_IMAP_PW"


@pytest.fixture(scope="session")
def scan_pdf() -> bytes:
    return docgen_scans.scanned_report_pdf()


@pytest.fixture(scope="session")
def page_photos() -> tuple[bytes, bytes]:
    return docgen_scans.photographed_report_pages()


@pytest.fixture(scope="session")
def read_scan(scan_pdf: bytes) -> DocumentFacts:
    return read_document(scan_pdf, "scan0001.pdf", "application/pdf")


@pytest.fixture(scope="session")
def read_pages(page_photos: tuple[bytes, bytes]) -> tuple[DocumentFacts, DocumentFacts]:
    first, second = page_photos
    return (
        read_document(first, "IMG_20211008_162011.jpg", "image/jpeg"),
        read_document(second, "IMG_20211008_162034.jpg", "image/jpeg"),
    )


def test_scanned_report_is_read_like_a_docx_report(read_scan: DocumentFacts) -> None:
    facts = read_scan
    assert facts.report is not None and facts.scan is not None
    report = facts.report
    assert REPORT in facts.items
    assert fold(report.title).startswith("bao cao ket qua to chuc tuan le")
    assert [k for k, _ in report.sections] == ["I.1", "I.2", "I.3", "II.1", "II.2", "II.3", "II.4"]
    assert (report.budget_state, report.budget_support) == (15_000_000, 2_500_000)
    headers = fold(" ".join(header_lines(report)))
    assert "truong thcs bich hoa" in headers and "ubnd xa bich hoa" in headers
    assert "scanned, no text layer" not in facts.problem
    # LibreOffice prints the report on 3 pages with Times New Roman, on 2 with its stand-in
    assert facts.scan.source == "pdf" and facts.scan.pages == facts.scan.pages_total >= 2
    assert facts.scan.confidence >= 80


def test_table_in_a_scan_is_kept_when_its_totals_row_checks_out(read_scan: DocumentFacts) -> None:
    table = read_scan.data_table
    assert DATA_TABLE in read_scan.items and table is not None and read_scan.scan is not None
    assert read_scan.scan.table == "verified"
    assert [(r.classes_or_contests, r.participants) for r in table.rows] == [(1, 1200), (1, 650)]
    assert (table.declared_total_classes, table.declared_total_participants) == (2, 1850)
    assert "OCR" in table.source


def test_red_seal_is_seen_on_the_scan_and_on_a_photographed_page(
    read_scan: DocumentFacts, read_pages: tuple[DocumentFacts, DocumentFacts]
) -> None:
    first, second = read_pages
    assert read_scan.scan is not None and read_scan.scan.seal
    assert second.scan is not None and second.scan.seal  # the page with the signature
    assert first.scan is not None and not first.scan.seal  # page 1 carries no seal


def test_photographed_pages_are_read_and_never_evidence_photos(
    read_pages: tuple[DocumentFacts, DocumentFacts],
) -> None:
    first, second = read_pages
    for facts in (first, second):
        assert PHOTO not in facts.items
        assert [(p.evidence, p.reason) for p in facts.photos] == [(False, PAGE_PHOTO)]
        assert facts.scan is not None and facts.scan.source == "photo"
    assert first.report is not None and REPORT in first.items
    assert "truong thcs bich hoa" in fold(" ".join(header_lines(first.report)))
    assert second.report is not None
    assert {"II.2", "II.3"} <= {k for k, _ in second.report.sections}
    assert second.data_table is not None and second.data_table.declared_total_participants == 1850


def test_a_page_pasted_into_a_docx_report_is_no_evidence_photo() -> None:
    """A report .docx with its activity photos and a pasted photo of its signed page: the
    activity photos count, the page does not (and its seal is recorded)."""
    data, evidence = docgen_scans.docx_report_with_a_pasted_page()
    facts = read_document(data, "Bao cao Tuan le HTSD THCS Bich Hoa.docx")
    assert PHOTO in facts.items and REPORT in facts.items
    assert sum(p.evidence for p in facts.photos) == evidence
    assert [p.reason for p in facts.photos if not p.evidence].count(PAGE_PHOTO) == 1
    assert facts.scan is not None and facts.scan.seal and facts.scan.pages == 0
    assert fold(facts.report.title if facts.report else "").startswith("bao cao ket qua")


def test_a_docx_of_pasted_page_photos_is_read_as_the_report() -> None:
    """A Word file holding only the phone photos of the signed report: read by OCR as the
    report (unit from its header, the Phụ lục sections), no evidence photo."""
    facts = read_document(docgen_scans.docx_with_pasted_pages(), "bao cao.docx")
    assert PHOTO not in facts.items and REPORT in facts.items
    assert [(p.evidence, p.reason) for p in facts.photos] == [(False, PAGE_PHOTO)] * 2
    assert facts.scan is not None and facts.scan.source == "photo" and facts.scan.pages == 2
    assert facts.scan.seal
    assert facts.report is not None
    assert "truong thcs bich hoa" in fold(" ".join(header_lines(facts.report)))
    assert {"II.2", "II.3"} <= {k for k, _ in facts.report.sections}


@pytest.mark.parametrize(
    "make",
    [
        lambda: docgen_media.phone_jpeg(3, size=(1600, 1200))[0],
        lambda: docgen_media.zalo_webp()[0],
        lambda: docgen_media.iphone_heic()[0],
        lambda: docgen_media.whiteboard_jpeg()[0],
    ],
    ids=["phone-jpeg", "zalo-webp", "iphone-heic", "whiteboard"],
)
def test_activity_photos_stay_evidence_photos(make: Any) -> None:
    facts = read_document(make(), "IMG_0001.jpg")
    assert PHOTO in facts.items and facts.scan is None and facts.report is None


def test_photographed_table_with_matching_totals_is_accepted() -> None:
    facts = read_document(docgen_scans.photographed_table(), "z1234567.jpg", "image/jpeg")
    assert DATA_TABLE in facts.items and PHOTO not in facts.items
    table = facts.data_table
    assert table is not None
    assert [(r.classes_or_contests, r.participants) for r in table.rows] == [
        (int(c), int(p.replace(".", ""))) for *_, c, p in docgen_scans.TABLE_ROWS
    ]
    assert (
        table.declared_total_classes,
        table.declared_total_participants,
    ) == docgen_scans.TABLE_TOTALS


@pytest.mark.parametrize("kind", ["smudged", "wrong_total"])
def test_unverifiable_paper_table_is_flagged_never_stored(kind: str) -> None:
    data = docgen_scans.photographed_table(**{kind: True})
    facts = read_document(data, "z7654321.jpg", "image/jpeg")
    assert facts.data_table is None and DATA_TABLE not in facts.items
    assert NEEDS_TYPING in facts.problem
    assert vi(facts.problem) == "bảng số liệu dạng ảnh — cần nhập tay"  # the digest's wording
    assert facts.scan is not None and facts.scan.table == "needs typing"
    assert PHOTO not in facts.items  # still a page, not a photo


def test_ocr_pages_of_a_message_are_bounded(scan_pdf: bytes) -> None:
    with ocr_budget(1):
        facts = read_document(scan_pdf, "scan0001.pdf", "application/pdf")
    assert facts.scan is not None and facts.scan.pages == 1
    left = facts.scan.pages_total - 1  # 2 or 3 pages, as the machine's fonts print the report
    assert left >= 1 and f"{left} page(s) not read by OCR" in facts.problem
    assert "max_ocr_pages" in facts.problem
    assert facts.report is not None and REPORT in facts.items  # page 1 alone is read


@pytest.fixture
def imap_env(monkeypatch: pytest.MonkeyPatch, dovecot: Any) -> None:
    monkeypatch.setenv(PW_ENV, dovecot.password)


@pytest.mark.dovecot
def test_scan_and_page_photos_from_a_personal_address_file_to_the_unit_on_its_header(
    tmp_path: Path,
    dovecot: Any,
    imap_env: None,
    scan_pdf: bytes,
    page_photos: tuple[bytes, bytes],
) -> None:
    """Through the real pipeline (Dovecot, the poller, the parse workers): nothing but the
    scan's header names the unit; the two page photos do not count as evidence photos."""
    when = datetime(2021, 10, 8, 16, 45, tzinfo=ICT)
    mail = EmailMessage()
    mail["From"] = "Nguyen Van Nam <namnv1985@gmail.com>"
    mail["To"] = "totrunghoc-thanhoai@thanhoai.example"
    mail["Subject"] = "gửi báo cáo"
    mail["Message-ID"] = "<scan-1@mail.gmail.com>"
    mail["Date"] = format_datetime(when)
    mail.set_content("Em gửi phòng file scan và ảnh chụp ạ.\n")
    mail.add_attachment(scan_pdf, maintype="application", subtype="pdf", filename="scan0001.pdf")
    for i, photo in enumerate(page_photos):
        mail.add_attachment(
            photo, maintype="image", subtype="jpeg", filename=f"IMG_20211008_16201{i}.jpg"
        )
    dovecot.append([mail.as_bytes()])
    cfg = make_config(
        tmp_path,
        mailbox={
            "host": "127.0.0.1",
            "port": dovecot.port,
            "security": "none",
            "username": dovecot.user,
            "password_env": PW_ENV,
        },
        campaign={"deadline": "2099-10-10T00:00:00+07:00"},
        limits={"parse_workers": 2},
    )
    with App(cfg, FixedClock(datetime(2021, 10, 9, 2, 0, tzinfo=UTC))) as app:
        app.import_roster(ROSTER)
        app.poll_once()
        with app.sessions() as s:
            stored = {a.filename: json.loads(a.facts) for a in s.scalars(select(Attachment))}
    # the seal is kept in the stored facts (attachments.facts → "scan" → "seal"), where the
    # digest can read "có dấu đỏ"; page 1 of the photos carries none
    assert stored["scan0001.pdf"]["scan"]["seal"] is True
    assert stored["IMG_20211008_162010.jpg"]["scan"]["seal"] is False
    assert stored["IMG_20211008_162010.jpg"]["scan"]["source"] == "photo"
    assert stored["IMG_20211008_162010.jpg"]["photos"][0]["evidence"] is False
    assert stored["IMG_20211008_162011.jpg"]["scan"]["seal"] is True
    out = CliRunner().invoke(cli, ["--config", cfg.source, "status", "--json"])
    assert out.exit_code == 0, out.output
    status = json.loads(out.output)
    units = {u["code"]: u for u in status["units"]}
    assert not status["unassigned"] and not status["quarantined"], json.dumps(
        status["unassigned"], ensure_ascii=False
    )
    bh = units["thcs-bich-hoa"]
    assert bh["messages"] == 1
    assert bh["items"] == {"report": True, "data_table": True, "photos": 0, "nominations": False}
    assert bh["totals"] == {"classes": 2, "participants": 1850}
    assert units["th-bich-hoa"]["state"] == "missing"  # the primary school of the same commune


def test_report_generator_really_makes_an_image_only_pdf(scan_pdf: bytes) -> None:
    """The scan has no text layer (else the OCR tests above would test nothing)."""
    from parsers.report import read_report

    assert read_report(scan_pdf, "pdf").scanned
    assert docgen_reports.UNIT == docgen_scans.UNIT


def test_ordinary_photos_never_load_opencv_in_a_worker(tmp_path: Path) -> None:
    """Pillow's cheap look turns ordinary photos away before the page check, so a parse worker
    that reads only activity photos (4032×3024 and 1600×1200 phone shots, a report .docx with
    photos) never imports OpenCV (~400 MB of address space against a 512 MB worker cap); a
    photographed page still does. Each in a fresh process: the test session has cv2 loaded."""
    ordinary = {
        "IMG_20211008_090112.jpg": docgen_media.phone_jpeg(5, size=(4032, 3024))[0],
        "IMG_20211008_090230.jpg": docgen_media.phone_jpeg(6, size=(1600, 1200))[0],
        "Bao cao HTSD.docx": docgen_media.docx_report_with_photos()[0],
    }
    page = {"IMG_20211008_162011.jpg": docgen_scans.photographed_report_pages()[0]}
    child = (
        "import sys; from pathlib import Path; from parsers.documents import read_document\n"
        "facts = [read_document(Path(p).read_bytes(), Path(p).name) for p in sys.argv[1:]]\n"
        "print(sum(PHOTO in f.items for f in facts), 'cv2' in sys.modules)\n"
    )
    child = "from parsers.facts import PHOTO\n" + child
    root = Path(__file__).resolve().parent.parent
    said = []
    for files in (ordinary, page):
        paths = []
        for name, data in files.items():
            (tmp_path / name).write_bytes(data)
            paths.append(str(tmp_path / name))
        run = subprocess.run(
            [sys.executable, "-c", child, *paths],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        said.append(run.stdout.split())
    assert said == [["3", "False"], ["0", "True"]]
