"""Legacy Vietnamese encodings: tables against independent sources, all 134 accented letters,
font names, statistics when no font name is known, cp1258."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.vietnamese import (
    ACCENTED,
    LETTERS,
    cp1258_decode,
    detect_legacy,
    fold,
    font_encoding,
    is_syllable,
    tcvn3_to_unicode,
    to_unicode,
    unicode_to_tcvn3,
    unicode_to_vni,
    vni_to_unicode,
)


def test_fold_keeps_its_behaviour() -> None:
    assert fold("  Trường THCS  Bích Hoà ") == "truong thcs bich hoa"
    assert fold("ĐẠI HỌC") == fold("đại học") == "dai hoc"


def test_there_are_134_accented_letters() -> None:
    assert len(LETTERS) == 67 and len(set(ACCENTED)) == 134
    assert all(unicodedata.is_normalized("NFC", ch) for ch in ACCENTED)


@pytest.mark.skipif(shutil.which("iconv") is None, reason="glibc iconv not installed")
def test_tcvn3_table_matches_glibc_iconv() -> None:
    data = bytes(range(0xA1, 0x100))
    expected = subprocess.run(
        ["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=data, capture_output=True, check=True
    ).stdout.decode()
    assert tcvn3_to_unicode(data.decode("latin-1")) == unicodedata.normalize("NFC", expected)


@pytest.mark.parametrize("letter", ACCENTED)
def test_tcvn3_round_trip(letter: str) -> None:
    # TCVN3 has codes for lower-case letters (and Ă Â Ê Ô Ơ Ư Đ); capitals come from .VnTimeH.
    assert tcvn3_to_unicode(unicode_to_tcvn3(letter.lower()), upper=letter.isupper()) == letter


@pytest.mark.parametrize("letter", ACCENTED)
def test_vni_round_trip(letter: str) -> None:
    encoded = unicode_to_vni(letter)
    assert 1 <= len(encoded) <= 2 and all(0xC0 <= ord(c) <= 0xFF or c.isascii() for c in encoded)
    assert vni_to_unicode(encoded) == letter


@pytest.mark.parametrize(
    ("vni", "unicode"),
    [
        # Samples as VNI-Windows users type them (byte values from Unikey's VNI-WIN table).
        ("Xin chaøo caùc baïn", "Xin chào các bạn"),
        ("Tröôøng THCS Bích Hoøa", "Trường THCS Bích Hòa"),
        ("Tuaàn leã hoïc taäp suoát ñôøi", "Tuần lễ học tập suốt đời"),
        ("ÑAÙNH GIAÙ CHUNG", "ĐÁNH GIÁ CHUNG"),
        (
            "Kyõ thuaät, khuyeán hoïc, ngöôøi daân, yù kieán, Vieät Nam",
            "Kỹ thuật, khuyến học, người dân, ý kiến, Việt Nam",
        ),
    ],
)
def test_vni_known_text(vni: str, unicode: str) -> None:
    assert vni_to_unicode(vni) == unicode


@pytest.mark.parametrize(
    ("tcvn3", "upper", "unicode"),
    [
        ("Tr\u00adêng THCS BÝch Hßa", False, "Trường THCS Bích Hòa"),  # U+00AD is ư
        (
            "Tæ chøc TuÇn lÔ h\u00adëng øng häc tËp suèt ®êi",
            False,
            "Tổ chức Tuần lễ hưởng ứng học tập suốt đời",
        ),
        ("ubnd huyÖn thanh oai", True, "UBND HUYỆN THANH OAI"),
        (
            "\u201cĐäc s¸ch cïng em\u201d \u2013 2021",
            False,
            "\u201cĐọc sách cùng em\u201d \u2013 2021",
        ),
    ],
)
def test_tcvn3_known_text(tcvn3: str, upper: bool, unicode: str) -> None:
    assert tcvn3_to_unicode(tcvn3, upper=upper) == unicode


@given(st.text(alphabet=st.sampled_from(list(LETTERS) + list("abcdeghiklmnopqrstuvxy .,0123"))))
def test_round_trips_on_any_lower_case_text(text: str) -> None:
    assert tcvn3_to_unicode(unicode_to_tcvn3(text)) == text
    assert vni_to_unicode(unicode_to_vni(text)) == text
    assert vni_to_unicode(unicode_to_vni(text.upper())) == text.upper()


def test_capitals_have_no_tcvn3_code() -> None:
    with pytest.raises(ValueError, match="TCVN3"):
        unicode_to_tcvn3("Ủy ban")


@pytest.mark.parametrize(
    ("font", "encoding"),
    [
        (".VnTime", "tcvn3"),
        (".VnTimeH", "tcvn3-upper"),
        (".VnArial", "tcvn3"),
        (".VnArialH", "tcvn3-upper"),
        (".VnArial NarrowH", "tcvn3-upper"),
        (".VnCentury Schoolbook", "tcvn3"),
        ("VNI-Times", "vni"),
        ("VNI-Helve", "vni"),
        ("vni-times", "vni"),
        ("Times New Roman", None),
        ("Arial", None),
        ("", None),
        (None, None),
    ],
)
def test_font_encoding(font: str | None, encoding: str | None) -> None:
    assert font_encoding(font) == encoding


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tr\u00adêng THCS BÝch Hßa tæ chøc TuÇn lÔ häc tËp suèt ®êi n¨m 2021", "tcvn3"),
        ("Tröôøng THCS Bích Hoøa toå chöùc Tuaàn leã hoïc taäp suoát ñôøi naêm 2021", "vni"),
        ("Trường THCS Bích Hòa tổ chức Tuần lễ học tập suốt đời năm 2021", None),
        ("Trường THCS Bích Hòa", None),
        ("Report of the lifelong learning week 2021, café résumé", None),
        ("", None),
    ],
)
def test_detect_legacy(text: str, expected: str | None) -> None:
    assert detect_legacy(text) == expected


def test_is_syllable() -> None:
    assert all(is_syllable(w) for w in ("người", "khuyến", "quốc", "giữa", "gì", "Đời", "oai"))
    assert not any(is_syllable(w) for w in ("hởngg", "Trửụứng", "ängst", "tæ"))


def test_cp1258() -> None:
    # cp1258 writes tones as combining bytes: ê (0xEA) + dot below (0xF2).
    assert cp1258_decode(b"Vi\xea\xf2t Nam \xd0\xc3") == "Việt Nam ĐĂ"
    assert to_unicode("Vi\xea\xf2t", "cp1258") == "Việt"


def test_to_unicode_dispatch() -> None:
    assert to_unicode("®êi", "tcvn3") == "đời"
    assert to_unicode("®êi", "tcvn3-upper") == "ĐỜI"
    assert to_unicode("ñôøi", "vni") == "đời"
    assert to_unicode(unicodedata.normalize("NFD", "đời"), "unicode") == "đời"
    with pytest.raises(ValueError, match="unknown encoding"):
        to_unicode("x", "viscii")
