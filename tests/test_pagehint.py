"""parsers.pagehint: the cheap Pillow look that decides whether OpenCV's page check is worth it.
It must never turn a page away, and should let an ordinary activity photo through untouched."""

from __future__ import annotations

from io import BytesIO

from PIL import Image, ImageChops, ImageDraw

from parsers.pagehint import MAX_PAPER_SAT, extremes, look, paper_mask
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


def test_paper_is_the_hsv_test_on_every_colour() -> None:
    """The paper mask from max/min of R, G, B marks the same pixels as Pillow's HSV
    saturation and value would, for all 16.7 million colours and several brightness bars."""
    # pixel i = r·65536 + g·256 + b of a 4096 × 4096 image: x = i mod 4096, y = i div 4096
    red = b"".join(bytes([y // 16]) * 4096 for y in range(4096))
    green = b"".join(
        b"".join(bytes([(y % 16) * 16 + k]) * 256 for k in range(16)) for y in range(4096)
    )
    blue = bytes(range(256)) * 16 * 4096
    cube = Image.merge(
        "RGB", [Image.frombytes("L", (4096, 4096), band) for band in (red, green, blue)]
    )
    for r, g, b in ((0, 0, 0), (255, 255, 255), (12, 200, 77), (255, 0, 128)):
        i = r * 65536 + g * 256 + b
        assert cube.getpixel((i % 4096, i // 4096)) == (r, g, b)
    _hue, sat, val = cube.convert("HSV").split()
    most, least = extremes(cube)
    for bright in (90, 120, 153):
        hsv = ImageChops.multiply(
            sat.point(lambda x: 255 if x < MAX_PAPER_SAT else 0),
            val.point(lambda x, b=bright: 255 if x > b else 0),
        )
        assert ImageChops.difference(paper_mask(most, least, bright), hsv).getbbox() is None


def test_ink_far_from_paper_is_no_ink() -> None:
    """Paper enough for a page beside a bright yellow wall with dark marks on it, away from the
    paper: no ink, no page. The same marks drawn on the paper are ink."""
    frame = Image.new("RGB", (1200, 900), (235, 205, 60))  # bright, but no paper: yellow
    frame.paste((246, 244, 238), (0, 0, 540, 900))
    draw = ImageDraw.Draw(frame)
    for x in range(700, 1200, 30):
        draw.line((x, 0, x, 900), fill=(0, 0, 0), width=3)
    hint = look(frame)
    assert hint.paper >= 0.25 and hint.ink == 0.0 and not hint.maybe_page, hint
    for x in range(60, 500, 30):
        draw.line((x, 100, x, 800), fill=(0, 0, 0), width=3)
    hint = look(frame)
    assert hint.ink > 0.004 and hint.maybe_page, hint
