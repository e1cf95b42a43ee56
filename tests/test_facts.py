"""store.facts, the one writer and reader of the stored facts: what the parsers found in real
generated documents goes into the JSON and comes back out through the readers the store's
queries use (photos by hash, the data table's totals, the nominations, thumbnails as blobs, the
authentication verdicts and their DMARC column)."""

from __future__ import annotations

from pathlib import Path

from parsers.authres import AuthResults
from parsers.documents import read_document
from store import facts
from store.files import FileStore
from store.models import Attachment, split_items
from tests.support import docgen_reports
from tests.support.docgen_media import logo_png, phone_jpeg
from tests.support.docgen_scans import docx_report_with_a_pasted_page
from tests.support.docgen_tables import make_docx_report, make_xlsx_workbook


def test_a_data_table_reads_back_with_its_totals_and_nominations(tmp_path: Path) -> None:
    data, expected = make_xlsx_workbook()
    found = read_document(data, expected.filename, "")
    text = facts.facts_json(found, FileStore(tmp_path))
    assert expected.data_table is not None
    assert facts.totals(text) == (
        expected.data_table.total_classes,
        expected.data_table.total_participants,
    )
    assert len(facts.data_table(text)["rows"]) == len(expected.data_table.rows)
    assert len(facts.nominations(text)) == len(found.nominations)
    assert expected.data_table.rows[0].activity in text  # Vietnamese kept as it is, not \u-escaped


def test_a_report_keeps_its_text_cut_and_no_table(tmp_path: Path) -> None:
    data, expected = make_docx_report()
    found = read_document(data, expected.filename, "")
    text = facts.facts_json(found, FileStore(tmp_path))
    assert found.report is not None
    stored = facts.data_table(text)
    assert (stored != {}) == (found.data_table is not None)
    assert len(facts._load(text)["report"]["text"]) == min(
        len(found.report.text), facts.REPORT_TEXT_CHARS
    )


def test_photos_count_by_content_and_their_thumbnails_are_blobs(tmp_path: Path) -> None:
    files = FileStore(tmp_path)
    photo, _ = phone_jpeg(3)
    found = read_document(photo, "IMG_20211005_081530.jpg", "image/jpeg")
    text = facts.facts_json(found, files)
    shas = facts.evidence_photos("f" * 64, 1, text)
    assert len(shas) == 1
    thumbs = facts.named_blobs(text, "thumbnail_sha256")
    assert len(thumbs) == 1 and all(files.exists(t) for t in thumbs)
    logo, _ = logo_png()
    assert (
        facts.evidence_photos(
            "f" * 64, 0, facts.facts_json(read_document(logo, "logo.png", ""), files)
        )
        == set()
    )
    # a photo file whose facts were not stored (an old row) is itself one photo
    assert facts.evidence_photos("f" * 64, 1, "") == {"f" * 64}


def test_empty_stored_facts_read_as_nothing() -> None:
    assert facts.data_table("") == {} and facts.totals(None) == (None, None)
    assert facts.nominations("") == [] and facts.photos(None) == []
    assert facts.named_blobs("", "thumbnail_sha256") == set() and not facts.sealed("")


def test_items_are_written_sorted_and_split_in_one_place() -> None:
    text = facts.items_text({"report", "photo", "data_table"})
    assert text == "data_table,photo,report"
    assert split_items(text) == ("data_table", "photo", "report") and split_items("") == ()
    assert Attachment(items=text).item_keys == ("data_table", "photo", "report")


def test_auth_verdicts_fill_the_json_and_the_dmarc_column() -> None:
    auth, dmarc = facts.auth_columns(AuthResults("mx.thanhoai.example", "pass", "none", "fail"))
    assert dmarc == "fail"
    assert facts.auth_reason(auth) == "DMARC fail, SPF pass, DKIM none"
    assert facts.auth_columns(None) == ("", "")
    assert facts.auth_reason("") == "DMARC ?, SPF ?, DKIM ?"


def test_pasted_page_photos_links_and_thumbnails_read_back(tmp_path: Path) -> None:
    """What the receipt and the console show of a file (its photographed pages, its links, its
    first thumbnail) comes back through store.facts from real documents."""
    files = FileStore(tmp_path)
    data, evidence = docx_report_with_a_pasted_page()
    found = read_document(data, "bao-cao-kem-anh.docx", "")
    text = facts.facts_json(found, files)
    assert facts.document_pages(text) == 1
    assert len(facts.evidence_photos("f" * 64, 0, text)) == evidence
    thumb = facts.thumbnail(text)
    assert thumb is not None and files.exists(thumb)
    report, expected = docgen_reports.make_docx_report()
    text = facts.facts_json(read_document(report, expected.filename, ""), files)
    assert facts.links(text) == list(expected.links)
    assert facts.document_pages(text) == 0 and facts.thumbnail(text) is None


def test_ranked_candidates_are_written_and_read_in_one_place() -> None:
    units = facts.unit_candidates_json([("THCS-KB", 91.26, "tên trường"), ("THCS-BH", 40, "")])
    assert facts.unit_candidates(units) == ("THCS-KB", "THCS-BH")
    assert '"score": 91.3' in units and "tên trường" in units
    campaigns = facts.campaign_candidates_json([("htsd-2021", 0.8, "x" * 500)])
    assert facts.campaign_candidates(campaigns) == ("htsd-2021",)
    assert len(facts.unit_candidates(campaigns)) == 0  # each list is read by its own key


def test_unreadable_stored_facts_show_nothing_instead_of_failing() -> None:
    for bad in ("", None, "{not json", "[1, 2]", '{"photos": "x", "links": {}}'):
        assert facts.thumbnail(bad) is None and facts.document_pages(bad) == 0
        assert facts.links(bad) == [] and facts.unit_candidates(bad) == ()
        assert facts.campaign_candidates(bad) == ()
