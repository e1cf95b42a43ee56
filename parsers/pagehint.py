"""The cheap first look at an image (Pillow only): could it be a document page at all?

Every parse worker sees activity photos of 600 px and more; the real page check
(`parsers.pageimage.inspect`) needs OpenCV and numpy, whose import alone puts ~300 MB of
address space and ~50 MiB of RSS on a worker under a 512 MB cap. This look decides only
whether that check is worth making, so it must never turn a page away: it asks for what every
photographed or scanned page has, at 512 px (`LOOK_SIDE`),

- paper: a good share of the frame bright and unsaturated (`MIN_PAPER`, below the page
  check's own bar, since glyphs and a desk around the sheet are not paper), and
- ink on the paper: dark marks beside paper pixels (`MIN_INK` of the frame; a page of text
  has 3–5 %, a sparse table page ~3 %; an activity photo with little white in it ~0 %).

A whiteboard or a poster passes; the page check then decides. Pure: an image in, a verdict out.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops, ImageFilter

INSPECT_SIDE = 1000  # px on the longer side an image is decoded at for the page check
LOOK_SIDE = 512  # px on the longer side for this look (a JPEG is decoded near it: scan.py)
LOOK_MIN = 480  # px: an image between this and LOOK_SIDE is looked at as it is, unresized
MAX_PAPER_SAT = 60  # HSV saturation (0–255) below which a bright pixel is paper
MIN_PAPER = 0.25  # share of the frame (the page check asks 0.35 of the sheet)
MIN_INK = 0.004  # share of the frame: dark marks next to paper
MIN_INK_HINTED = 0.002  # the file name or a seal-like hint says "document"


@dataclass(frozen=True)
class Hint:
    maybe_page: bool
    paper: float
    ink: float  # 0.0 when not measured: the paper share alone already said no


def _least_min(value: int) -> int:
    """The smallest min(R, G, B) that, with max(R, G, B) = `value`, gives an HSV saturation
    below `MAX_PAPER_SAT` as Pillow computes it (int((max − min) / max · 255))."""
    return next(
        low
        for low in range(value + 1)
        if low == value or int((value - low) / value * 255) < MAX_PAPER_SAT
    )


_LEAST_MIN = [_least_min(value) for value in range(256)]


def extremes(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """max(R, G, B) and min(R, G, B) of an RGB image, as two L bands."""
    red, green, blue = image.split()
    return (
        ImageChops.lighter(ImageChops.lighter(red, green), blue),
        ImageChops.darker(ImageChops.darker(red, green), blue),
    )


def paper_mask(most: Image.Image, least: Image.Image, bright: int) -> Image.Image:
    """255 where a pixel is paper: HSV value above `bright`, saturation below `MAX_PAPER_SAT`.

    HSV's value is max(R, G, B) and Pillow's saturation int((max − min) / max · 255), so this
    is the HSV test without Pillow's per-pixel float conversion: min(R, G, B) at least
    `_LEAST_MIN[max]` (255, never reached, where max ≤ bright: min ≤ max < 255 there), i.e.
    where that floor minus min clips to 0."""
    floor = most.point([_LEAST_MIN[v] if v > bright else 255 for v in range(256)])
    return ImageChops.subtract(floor, least).point(lambda x: 255 if x == 0 else 0)


def _share(mask: Image.Image) -> float:
    hist = mask.histogram()
    return hist[255] / max(sum(hist), 1)


def _percentile(band: Image.Image, q: float) -> int:
    hist = band.histogram()
    total, acc = sum(hist), 0
    for value, count in enumerate(hist):
        acc += count
        if acc >= q * total:
            return value
    return 255


def look(image: Image.Image, *, hinted: bool = False) -> Hint:
    """Whether `image` may show a document page (see the module docstring)."""
    scale = min(1.0, LOOK_SIDE / max(image.size))
    if scale < 1.0:
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
            Image.Resampling.BILINEAR,
        )
    image = image.convert("RGB")
    most, least = extremes(image)
    paper = paper_mask(most, least, max(90, int(0.6 * _percentile(most, 0.95))))
    paper_share = _share(paper)
    if paper_share < MIN_PAPER:  # no page whatever the ink: most activity photos end here
        return Hint(False, round(paper_share, 3), 0.0)
    gray = image.convert("L")
    dark = ImageChops.subtract(gray.filter(ImageFilter.BoxBlur(6)), gray).point(
        lambda x: 255 if x > 35 else 0
    )
    # paper grown by 4 px each way: a box blur of the 0/255 mask is non-zero exactly where a
    # 9×9 MaxFilter would be 255 (the smallest share, 255/81, still rounds to 3), at ~1/25
    # of the rank filter's cost (230 ms a message of phone photos, see docs/performance.md)
    near_paper = paper.filter(ImageFilter.BoxBlur(4)).point(lambda x: 255 if x > 0 else 0)
    ink = ImageChops.multiply(dark, near_paper)
    ink_share = _share(ink)
    need = MIN_INK_HINTED if hinted else MIN_INK
    return Hint(
        paper_share >= MIN_PAPER and ink_share >= need, round(paper_share, 3), round(ink_share, 4)
    )
