"""parsers.pagehint: the cheap Pillow look that decides whether OpenCV's page check is worth it.
It must never turn a page away, and should let an ordinary activity photo through untouched."""

from __future__ import annotations

from io import BytesIO

from PIL import Image, ImageDraw

from parsers.pagehint import look
from tests.support.docgen_media import phone_jpeg


def _page(width: int = 1240, height: int = 1754) -> Image.Image:
    """A printed A4 page at 150 dpi: white paper, lines of dark text, a margin."""
    page = Image.new("RGB", (width, height), (246, 244, 238))
    draw = ImageDraw.Draw(page)
    for row in range(150, height - 150, 42):
        x = 140
        while x < width - 180:
            word = 40 + (x * 7 + row) % 90
            draw.rectangle((x, row, x + word, row + 18), fill=(30, 30, 35))
            x += word + 22
    return page


def test_a_page_of_text_may_be_a_page() -> None:
    hint = look(_page())
    assert hint.maybe_page, hint
    assert hint.paper > 0.5 and hint.ink > 0.02


def test_a_page_on_a_dark_desk_is_still_looked_at() -> None:
    desk = Image.new("RGB", (1600, 1200), (70, 45, 30))
    desk.paste(_page(800, 1130).rotate(3, expand=True, fillcolor=(70, 45, 30)), (380, 20))
    assert look(desk).maybe_page


def test_ink_counts_only_next_to_paper() -> None:
    """Dark marks on a dark background are no ink: a night photo has edges but no paper."""
    night = Image.new("RGB", (1200, 900), (25, 25, 30))
    draw = ImageDraw.Draw(night)
    for x in range(0, 1200, 30):
        draw.line((x, 0, x, 900), fill=(5, 5, 5), width=3)
    hint = look(night)
    assert not hint.maybe_page and hint.ink == 0.0


def test_a_phone_photo_of_an_activity_is_not_a_page() -> None:
    raw, _ = phone_jpeg(7, size=(1600, 1200))
    assert not look(Image.open(BytesIO(raw))).maybe_page
