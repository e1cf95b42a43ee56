"""Stored reasons (English) read in Vietnamese in the officer's digest."""

from __future__ import annotations

import pytest

from notifier.reasons import vi


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("parse timeout after 120 s", "đọc thư quá thời gian cho phép (120 giây)"),
        (
            "parse timeout after 120 s (alone in a fresh worker: set aside, not retried)",
            "đọc thư quá thời gian cho phép (120 giây)",
        ),
        (
            "the store (/var/lib/intake/intake.sqlite3) cannot be written: "
            "files: No space left on device",
            "kho dữ liệu trên máy chủ đang không ghi được (đầy ổ đĩa, "
            "chỉ đọc hoặc lỗi ổ đĩa); thư chưa "
            "bị mất, máy sẽ tự thử lại khi kho ghi được",
        ),
        (
            "not decoded: over the message's image budget of 300 Mpx (limits.max_message_pixels)",
            "ảnh không được đọc: thư có quá nhiều ảnh lớn (vượt giới hạn điểm ảnh cho một thư)",
        ),
        (
            "memory limit: parsing needed more than 1536 MB",
            "thư cần quá nhiều bộ nhớ để đọc (có thể là tệp độc hại)",
        ),
        (
            "message too large: 73,400,320 bytes > limit 52,428,800 (limits.max_message_bytes)",
            "thư quá lớn (70,0 MB, giới hạn 50,0 MB); thư vẫn còn trên máy chủ",
        ),
        (
            "the server returned no body for this UID (expunged meanwhile?)",
            "máy chủ thư không còn trả về thư này (có thể đã bị xóa hoặc di chuyển)",
        ),
        ("bounce from mailer-daemon@googlemail.com", "thư báo lỗi gửi thư (thư trả về)"),
        ("auto-submitted: auto-replied", "thư trả lời tự động"),
        ("sent from the office's own address", "thư gửi từ địa chỉ của chính Phòng"),
        (
            "on the roster, but the text names th-thanh-mai: subject names TH Thanh Mai",
            "địa chỉ gửi thuộc một đơn vị nhưng nội dung thư ghi tên th-thanh-mai",
        ),
        (
            "no unit named clearly (sender hoanguyen@gmail.com)",
            "không nhận ra đơn vị gửi từ địa chỉ, tên người gửi, tiêu đề và văn bản "
            "(người gửi hoanguyen@gmail.com)",
        ),
        ("DMARC fail, SPF softfail, DKIM none", "DMARC: fail, SPF: softfail, DKIM: none"),
        (
            "forwarded message from th-tam-hung@thanhoai.example is on the roster (forwarded by "
            "ubnd-tam-hung@thanhoai.example, xa-tam-hung, with no files of its own), "
            "but the text names "
            "thcs-tam-hung: subject “THCS Tam Hưng”",
            "thư do ubnd-tam-hung@thanhoai.example chuyển tiếp, thư gốc gửi từ địa chỉ "
            "th-tam-hung@thanhoai.example của một đơn vị, nhưng nội dung thư ghi tên thcs-tam-hung",
        ),
        (
            "forwarded message from th-tam-hung@thanhoai.example is on the roster (forwarded by "
            "ubnd-tam-hung@thanhoai.example, xa-tam-hung, with no files of its own)",
            "thư do ubnd-tam-hung@thanhoai.example chuyển tiếp, thư gốc gửi từ địa chỉ "
            "th-tam-hung@thanhoai.example của đơn vị",
        ),
        (
            "the sender and the forwarded messages are different units "
            "(xa-tam-hung, th-tam-hung); no unit is named clearly; the forward adds files of its "
            "own: BC UBND.docx",
            "người gửi và thư được chuyển tiếp thuộc các đơn vị khác nhau "
            "(xa-tam-hung, th-tam-hung); thư chuyển tiếp có kèm tệp của chính người gửi",
        ),
        ("file is password-protected", "tệp có mật khẩu"),
        (
            "too many MIME parts: more than 1000",
            "thư có quá nhiều phần (hơn 1000), có thể là thư độc hại",
        ),
        (
            "MIME nesting too deep: more than 50 levels",
            "thư lồng nhau quá sâu (hơn 50 cấp), có thể là thư độc hại",
        ),
        ("scanned, no text layer", "bản quét (ảnh), không có chữ để đọc"),
        ("SomethingNew: unexpected", "lý do kỹ thuật (SomethingNew: unexpected)"),
        ("", ""),
    ],
)
def test_reason_in_vietnamese(reason: str, expected: str) -> None:
    assert vi(reason) == expected
