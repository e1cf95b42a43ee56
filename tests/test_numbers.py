"""parse_count: how units type counts, and what the daemon reads from them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.numbers import parse_count


@pytest.mark.parametrize(
    ("value", "count"),
    [
        ("1.200", 1200),
        ("1,200", 1200),
        ("1 200", 1200),
        ("1\u00a0200", 1200),
        ("1\u202f200", 1200),
        ("1.200.000", 1200000),
        (" 45 ", 45),
        ("45 lớp", 45),
        ("300 người", 300),
        ("12 cuộc thi", 12),
        ("300.0", 300),
        ("1.200,00", 1200),
        ("1,200.00", 1200),
        ("1.000", 1000),
        (1200, 1200),
        (1200.0, 1200),
        (0, 0),
        ("0", 0),
        ("Tổng số: 40", 40),
    ],
)
def test_whole_counts_read_silently(value: str | int | float, count: int) -> None:
    assert parse_count(value) == (count, "")


@pytest.mark.parametrize("value", [None, "", "  ", "-", "\u2013", "x", "X", "\u2026", "..."])
def test_nothing_entered_is_none_without_warning(value: str | None) -> None:
    assert parse_count(value) == (None, "")


@pytest.mark.parametrize(
    ("value", "count"),
    [
        ("khoảng 300", 300),
        ("khoang 300", 300),
        ("~300", 300),
        ("gần 1.000 lượt", 1000),
        ("hơn 50", 50),
    ],
)
def test_approximate_counts_are_read_with_a_warning(value: str, count: int) -> None:
    got, warning = parse_count(value)
    assert got == count
    assert warning == f"approximate value read as {count}"


@pytest.mark.parametrize(
    ("value", "count"), [(1.2, 1200), (2.15, 2150), (12.5, 12500), (2.345, 2345)]
)
def test_english_locale_decimal_is_a_thousands_separator(value: float, count: int) -> None:
    got, warning = parse_count(value)
    assert got == count
    assert f"read as {count}" in warning and "thousands separator" in warning


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1,5", "not a whole number"),
        ("2.50", "not a whole number"),
        (0.5, "not a whole number"),
        (1.2345, "not a whole number"),
        (-3, "negative"),
        ("-5", "negative"),
        ("Tất cả", "no number"),
        (True, "true/false"),
        (float("nan"), "not a number"),
    ],
)
def test_impossible_counts_are_none_with_a_reason(value: object, reason: str) -> None:
    got, warning = parse_count(value)  # type: ignore[arg-type]
    assert got is None
    assert reason in warning


def test_several_numbers_take_the_first_and_say_so() -> None:
    assert parse_count("12 lớp/350 người") == (
        12,
        "several numbers in the cell; read the first, 12",
    )


def test_warnings_are_free_of_vietnamese_text() -> None:
    for value in ("khoảng 300", "Tất cả", "12 lớp/350 người", "1,5", 1.2):
        _, warning = parse_count(value)
        assert warning and warning.isascii()


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from([".", ",", " ", "\u00a0"]))
def test_grouped_thousands_round_trip(n: int, sep: str) -> None:
    text = f"{n:,}".replace(",", sep)
    assert parse_count(text) == (n, "")
    assert parse_count(f"{text} người") == (n, "")


@given(st.integers(min_value=1000, max_value=999_999).filter(lambda n: n % 1000))
def test_every_english_locale_float_maps_back(n: int) -> None:
    got, warning = parse_count(n / 1000)
    assert got == n and warning
