"""Counts as units type them: "1.200", "1,200", "1 200", "45 lớp", "khoảng 300", "-" → int.

This module owns `parse_count`, the one place where a spreadsheet or document cell becomes a
head-count or a number of classes/contests. The rules (all counts are whole and non-negative):

* `None`, `""`, `-`, `–`, `—`, `x`, `X`, `/`, `…` and `...` mean "nothing entered": `None`, no
  warning.
* `int` → itself. A `float` with no fractional part (`300.0`, as xlrd and Excel store every
  number) → `int`.
* A `float` with a fractional part of at most three decimals between 1 and 1000 (`1.2`, `1.25`,
  `12.5`) is read as a Vietnamese thousands-separated number that an English-locale Excel turned
  into a decimal: `1.2` → 1200, with a warning. Any other fractional or negative number → `None`
  with a warning (a count cannot be 2.5 people).
* Text: leading/trailing blanks, NBSP and thin spaces are ignored; an approximation word
  (`khoảng`, `gần`, `hơn`, `trên`, `ước`, `~`, `≈`, `>`) is dropped with a warning; unit words
  after the number (`45 lớp`, `300 người`, `12 cuộc thi`) are dropped silently. The first number
  in the text is the count; when more numbers follow, a warning says so.
* Inside a number, `.` `,` `'`, space and NBSP group thousands when every group after the first
  has exactly three digits (`1.200`, `1,200`, `1 200`, `1.200.000`). A trailing decimal part of
  zeros is accepted (`300.0`, `1.200,00`, `1,200.00`). Anything else (`1,5`, `2.50`) is not a
  whole number: `None` with a warning.
* Text with no digit at all (`Tất cả`) → `None` with a warning.

Warnings are short, English and free of Vietnamese text, so callers can prefix them with a row
and column and show them anywhere.
"""

from __future__ import annotations

import logging
import math
import re

from parsers.vietnamese import fold

log = logging.getLogger(__name__)

_EMPTY = {"", "-", "--", "\u2013", "\u2014", "x", "/", "\u2026", "...", ".", "0/"}
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " "})
_APPROX = re.compile(
    r"^(?:~|\u2248|>|<|\+/-|khoang|gan|hon|tren|uoc tinh|uoc|xap xi|chung|tong so|tong)\s*",
)
# A number: digit groups joined by one separator each (".", ",", "'", space), optional decimals.
_NUMBER = re.compile(r"\d+(?:[.,' ]\d+)*")
_FLOAT_TOLERANCE = 1e-6


def parse_count(value: str | int | float | None) -> tuple[int | None, str]:
    """Return (count, warning) for one cell; see the module docstring for the rules."""
    if value is None:
        return None, ""
    if isinstance(value, bool):  # bool is an int subclass; a ticked box is not a count
        return None, "a true/false value is not a count"
    if isinstance(value, int):
        if value < 0:
            return None, f"negative number {value} is not a count"
        return value, ""
    if isinstance(value, float):
        return _from_float(value)
    return _from_text(str(value))


def _from_float(value: float) -> tuple[int | None, str]:
    if math.isnan(value) or math.isinf(value):
        return None, "not a number"
    if value < 0:
        return None, f"negative number {value:g} is not a count"
    if abs(value - round(value)) < _FLOAT_TOLERANCE:
        return int(round(value)), ""
    thousands = value * 1000
    if 1 <= value < 1000 and abs(thousands - round(thousands)) < _FLOAT_TOLERANCE * 1000:
        count = int(round(thousands))
        return count, (
            f"{value:g} read as {count} (decimal point taken as a thousands separator,"
            " as an English-locale spreadsheet stores 1.200)"
        )
    return None, f"{value:g} is not a whole number"


def _from_text(raw: str) -> tuple[int | None, str]:
    text = " ".join(raw.translate(_SPACES).split())
    if text.lower() in _EMPTY:
        return None, ""
    folded = fold(text)
    warning = ""
    approx = _APPROX.match(folded)
    if approx and approx.group(0).strip() not in ("tong so", "tong"):
        warning = "approximate value"
    if approx:
        folded = folded[approx.end() :]
    match = _NUMBER.search(folded)
    if match is None:
        return None, "no number in the cell"
    if folded[: match.start()].rstrip().endswith("-") and not folded[: match.start()].strip("- "):
        return None, "negative number is not a count"
    count, problem = _whole(match.group(0))
    if count is None:
        return None, problem
    rest = folded[match.end() :]
    if re.search(r"\d", rest):
        more = f"several numbers in the cell; read the first, {count}"
        warning = f"{warning}; {more}" if warning else more
    elif warning:
        warning = f"{warning} read as {count}"
    return count, warning


def _whole(token: str) -> tuple[int | None, str]:
    """A digit token with separators → int, or None and why."""
    groups = re.split(r"([.,' ])", token)
    digits = groups[0::2]
    seps = groups[1::2]
    if not seps:
        return int(digits[0]), ""
    # A decimal part made of zeros only: "300.0", "1.200,00", "1,200.00".
    last_sep, last = seps[-1], digits[-1]
    if set(last) == {"0"} and (len(last) != 3 or (len(seps) > 1 and last_sep != seps[0])):
        return _whole(token[: len(token) - len(last) - 1])
    if all(len(d) == 3 for d in digits[1:]) and len(digits[0]) <= 3 and len(set(seps)) == 1:
        return int("".join(digits)), ""
    # Mixed separators "1.200,5" / "1,200.5", or "1,5": a fraction.
    return None, "not a whole number"
