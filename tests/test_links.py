"""Evidence links: any http(s) URL and bare well-known hosts, in order, deduplicated."""

from __future__ import annotations

from parsers.links import extract_links


def test_links_in_a_report_paragraph() -> None:
    text = (
        "Minh chứng: https://www.facebook.com/thcsbichhoa/posts/4321?fbclid=IwAR0abc, "
        "video (https://youtu.be/Qw3rTy12). Xem thêm: fb.watch/8aBcD/; nhóm Zalo zalo.me/g/abcd12\n"
        "Ảnh: https://drive.google.com/drive/folders/1AbC?usp=sharing. Bài viết: "
        "“https://thanhoai.hanoi.gov.vn/tin-tuc/tuan-le-hoc-tap-2021.html”, "
        "https://www.tiktok.com/@thcsbichhoa/video/7012345678901234567…\n"
        "Liên hệ: mailto:totrunghoc-thanhoai@hanoiedu.vn hoặc totrunghoc-thanhoai@hanoiedu.vn\n"
        "Nhắc lại: https://WWW.facebook.com/thcsbichhoa/posts/4321/ và https://youtu.be/Qw3rTy12"
    )
    assert extract_links(text) == (
        "https://www.facebook.com/thcsbichhoa/posts/4321",
        "https://youtu.be/Qw3rTy12",
        "https://fb.watch/8aBcD/",
        "https://zalo.me/g/abcd12",
        "https://drive.google.com/drive/folders/1AbC?usp=sharing",
        "https://thanhoai.hanoi.gov.vn/tin-tuc/tuan-le-hoc-tap-2021.html",
        "https://www.tiktok.com/@thcsbichhoa/video/7012345678901234567",
    )


def test_parentheses_inside_a_url_are_kept() -> None:
    assert extract_links("(xem https://vi.wikipedia.org/wiki/Thanh_Oai_(huyện))") == (
        "https://vi.wikipedia.org/wiki/Thanh_Oai_(huyện)",
    )
    assert extract_links("xem https://en.wikipedia.org/wiki/Oai_(district).") == (
        "https://en.wikipedia.org/wiki/Oai_(district)",
    )


def test_www_and_youtube_watch_links() -> None:
    assert extract_links("www.thanhoai.edu.vn, https://www.youtube.com/watch?v=abc&t=30s;") == (
        "https://www.thanhoai.edu.vn",
        "https://www.youtube.com/watch?v=abc&t=30s",
    )


def test_no_links() -> None:
    assert extract_links("") == ()
    assert extract_links("Không có đường link; email a@b.vn; http:// ; xem tệp đính kèm.") == ()
    assert extract_links("xmlns http://schemas.openxmlformats.org/wordprocessingml/2006") == ()
