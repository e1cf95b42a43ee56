"""Vietnamese unit-name normalisation: joined words, folding, abbreviations, the district name,
fuzzy places with a margin, mention positions and the header parent rule."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.unitnames import Vocabulary, is_syllable, split_joined, unit_place

PLACES = [
    "thanh mai",
    "thanh cao",
    "thanh van",
    "thanh thuy",
    "kim an",
    "kim thu",
    "kim bai",
    "cao duong",
    "xuan duong",
    "hong duong",
    "bich hoa",
    "dan hoa",
    "thanh oai a",
    "thanh oai b",
    "nguyen du",
    "tam hung",
    "my hung",
]
V = Vocabulary(PLACES)


def found(text: str) -> list[tuple[tuple[str, ...], str]]:
    return [(m.kinds, m.place) for m in V.mentions(text)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("THCSThanhMai", "THCS Thanh Mai"),
        ("MN_BichHoa", "MN_Bich Hoa"),
        ("TrườngTHCS", "Trường THCS"),
        ("BaoCaoTHKimAn", "Bao Cao TH Kim An"),
        ("THPTThanhOaiA", "THPT Thanh Oai A"),
        ("thcs.thanhmai", "thcs.thanhmai"),
        ("ĐỗĐộng", "Đỗ Động"),
    ],
)
def test_split_joined(raw: str, expected: str) -> None:
    assert split_joined(raw) == expected


@pytest.mark.parametrize(
    ("raw", "tokens"),
    [
        ("thcs.thanhmai", ("thcs", "thanh", "mai")),
        ("MN_BichHoa_baocao.xlsx", ("mn", "bich", "hoa", "baocao", "xlsx")),
        ("c2thanhcao-to", ("c2", "thanh", "cao", "to")),
        ("T.H.C.S Kim Thư", ("thcs", "kim", "thu")),
        ("Trường Mầm non Bích Hoà", ("truong", "mam", "non", "bich", "hoa")),
        ("THANH THUỶ", ("thanh", "thuy")),
        ("điện thoại", ("dien", "thoai")),  # one syllable each: never split into "th oai"
        ("kimanh1990", ("kim", "anh", "1990")),  # a person's name: "kim anh" is no place
        ("bcthkimthu", ("bc", "th", "kim", "thu")),
        ("TTGDNN-GDTX", ("tt", "gdnn", "gdtx")),
    ],
)
def test_tokens(raw: str, tokens: tuple[str, ...]) -> None:
    assert V.tokens(raw) == tokens


def test_tone_placement_and_nfd_fold_to_one_key() -> None:
    for a, b in (
        ("Bích Hòa", "Bích Hoà"),
        ("Thanh Thủy", "Thanh Thuỷ"),
        ("Hồng Dương", "HỒNG DƯƠNG"),
    ):
        assert V.tokens(a) == V.tokens(b) == V.tokens(unicodedata.normalize("NFD", b))


def test_syllable_shape() -> None:
    assert all(is_syllable(t) for t in ("thoai", "nghieng", "truong", "hoa", "oai", "uyen"))
    assert not any(is_syllable(t) for t in ("thanhmai", "thcs", "kiman", "mn"))


@pytest.mark.parametrize(
    ("name", "place"),
    [
        ("Trường THCS Thanh Mai", "thanh mai"),
        ("UBND thị trấn Kim Bài", "kim bai"),
        ("Trung tâm HTCĐ xã Bích Hòa", "bich hoa"),
        ("TT HTCĐ Kim Bài", "kim bai"),
        ("Trung học cơ sở Cao Dương", "cao duong"),
        ("Trường THPT Thanh Oai A", "thanh oai a"),
        ("Trường THPT Nguyễn Du - Thanh Oai", "nguyen du"),
        ("Trung tâm GDNN-GDTX huyện Thanh Oai", ""),
        ("Trung tâm Giáo dục nghề nghiệp - Giáo dục thường xuyên Thanh Oai", ""),
    ],
)
def test_unit_place(name: str, place: str) -> None:
    assert unit_place(name, V) == place


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Báo cáo tuần lễ HTSĐ - THCS Thanh Mai", [(("thcs",), "thanh mai")]),
        ("Truong Mam non Dan Hoa", [(("mn",), "dan hoa")]),
        ("UBND TT Kim Bài", [(("ubnd",), "kim bai")]),
        ("TT HTCĐ thị trấn Kim Bài", [(("htcd",), "kim bai")]),
        ("Trung tâm học tập cộng đồng xã Kim Thư", [(("htcd",), "kim thu")]),
        ("Trung tâm xã Kim Thư", [(("htcd",), "kim thu")]),
        ("tổ chức tại trung tâm xã Kim Thư", [((), "kim thu")]),
        ("TT Kim Bài", [((), "kim bai")]),  # thị trấn: a place, no kind
        ("MN, TH và THCS xã Kim An", [(("mn", "th", "thcs"), "kim an")]),
        ("Trường THPT Thanh Oai B", [(("thpt",), "thanh oai b")]),
        ("THCS Thanh Oai", [(("thcs",), "")]),  # the district is no place
        ("huyện Thanh Oai, TP Hà Nội", []),
        ("Biểu TH số liệu", []),
        ("Vào Th 2, 4 thg 10, 2021 lúc 08:00", [(("th",), "")]),  # Gmail's "Thứ 2": no place
        ("Trung tâm GDNN-GDTX huyện Thanh Oai", [(("gdnn-gdtx",), "")]),
    ],
)
def test_mentions(text: str, expected: list[tuple[tuple[str, ...], str]]) -> None:
    assert found(text) == expected


def test_fuzzy_only_after_a_kind_and_only_with_a_margin() -> None:
    assert found("THCS Xuân Dươg") == [(("thcs",), "xuan duong")]
    assert V.mentions("THCS Xuân Dươg")[0].fuzzy
    assert found("Xuân Dươg") == []  # no kind word: no fuzzy place
    assert found("THCS Thanh Maii") == [(("thcs",), "")]  # two edits from "thanh oai": refused
    assert found("TH Thanh Oia") == [(("th",), "")]  # the district wins the nearest slot
    assert found("MN Kim Ban") == [(("mn",), "")]  # short places are exact only
    assert found("THCS Thanh Moi") == [(("thcs",), "")]  # one from Mai, two from Oai


def test_positions() -> None:
    title, ref, body = (
        m
        for m in V.mentions(
            "Kết quả tuần lễ HTSĐ của Trường Tiểu học Kim An\n"
            "Thực hiện Kế hoạch số 45/KH-UBND ngày 20/9/2021 của UBND xã Kim An về việc tổ chức\n"
            "Năm nay trường TH Kim An đã phối hợp với nhiều đơn vị tổ chức hoạt động học tập"
        )
        if m.place
    )
    assert title.titled and not title.leading and title.place == "kim an"
    assert not (ref.titled or ref.leading or ref.short)
    assert not (body.titled or body.leading or body.short)
    sig, addressee = V.mentions("Trường THCS Kim Thư\nKính gửi: UBND xã Kim Thư")
    assert sig.leading and sig.short
    assert not addressee.leading and not addressee.short
    assert V.mentions("> THCS Kim An")[0].quoted


def test_parent_rule() -> None:
    assert found(
        "UBND XÃ KIM AN\tCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
        "TRUNG TÂM HTCĐ\tĐộc lập - Tự do - Hạnh phúc"
    ) == [(("htcd",), "kim an")]
    assert found("UBND XÃ KIM AN\nTRƯỜNG MẦM NON KIM AN") == [(("mn",), "kim an")]
    alone = V.mentions("UBND XÃ KIM AN\nHỘI KHUYẾN HỌC")
    assert [(m.kinds, m.leading) for m in alone] == [(("ubnd",), False)]


WORDS = st.sampled_from(
    [
        "Báo cáo",
        "tuần lễ",
        "HTSĐ",
        "năm 2021",
        "Thanh Oai",
        "huyện",
        "THANH OAI",
        "thanhoai",
        "Hà Nội",
        "-",
        "gửi",
        "phòng GD&ĐT",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(WORDS, max_size=8), st.sampled_from(["MN", "TH", "THCS", "UBND xã", "TT HTCĐ"]))
def test_thanh_oai_never_becomes_a_commune(words: list[str], kind: str) -> None:
    text = " ".join(words)
    assert all(place in ("", "thanh oai a", "thanh oai b") for _, place in found(text))
    assert all(place != "thanh mai" for _, place in found(f"{kind} Thanh Oai {text}"))


def test_tokens_are_cached_and_fast() -> None:
    import time

    line = "Báo cáo kết quả tổ chức Tuần lễ hưởng ứng học tập suốt đời của trường THCS Kim An"
    fresh = Vocabulary(PLACES)
    start = time.perf_counter()
    for i in range(300):
        fresh.mentions(f"{line} {i}")
    assert (time.perf_counter() - start) / 300 < 0.002
