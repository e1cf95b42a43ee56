"""Looking at a page image before OCR (OpenCV): is it a document page, does it carry a red
seal, and the page made upright and flat for Tesseract.

- `inspect(image)`: a document page is mostly paper (bright, unsaturated), carries many small
  dark marks (glyphs) and few colours beside a red seal; an activity photo is colourful or has
  few glyph-like marks. EXIF and file names are only weak hints (`hinted` lowers the bar).
- `find_seal(rgb)`: a red round seal (con dấu): a red region whose outline is a circle
  (filling ≥ 70 % of its enclosing circle, square bounding box) that is a ring with text, not
  a solid red disc; its diameter between 3 % and 40 % of the page's shorter side.
- `straighten(image)`: a photographed page is cut out of the frame along its four corners
  (perspective warp), uneven light is divided out (background estimated at low resolution),
  and the remaining skew (±7°) is found by the projection profile and rotated away.

Pure functions over pixels: no file, no OCR here.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from parsers.pagehint import INSPECT_SIDE

MIN_PAPER = 0.35  # share of the frame that is paper
MIN_GLYPHS = 150  # glyph-like marks on the sheet at 1000 px (a page of text: 500+)
MIN_GLYPHS_SEALED = 60
MAX_COLOURFUL = 0.08  # share of saturated, non-red pixels
MAX_SKEW = 7.0  # degrees


@dataclass(frozen=True)
class Look:
    document: bool
    seal: bool
    paper: float  # share of the frame
    glyphs: int
    colourful: float


def rgb_array(image: Image.Image, side: int | None = None) -> np.ndarray:
    """`image` as an RGB uint8 array, its longer side reduced to `side` when given."""
    if side is not None and max(image.size) > side:
        scale = side / max(image.size)
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
            Image.Resampling.BILINEAR,
        )
    return np.asarray(image.convert("RGB"))


def inspect(image: Image.Image, *, hinted: bool = False) -> Look:
    """Whether `image` shows a document page (see the module docstring)."""
    rgb = rgb_array(image, INSPECT_SIDE)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    bright = float(np.percentile(val, 95)) or 1.0
    paper_mask = (sat < 60) & (val > 0.6 * bright) & (val > 90)
    sheet = _sheet(paper_mask)
    paper = float(sheet.mean())
    red = ((hue <= 10) | (hue >= 165)) & (sat >= 70)
    colourful = float(((sat > 80) & (val > 60) & ~red)[sheet].mean()) if paper else 1.0
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    ink = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 18
    )
    ink[~sheet] = 0
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h = rgb.shape[0]
    widths, heights = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    glyph = (heights >= 2) & (heights <= h * 0.03) & (widths <= h * 0.08) & (widths >= 1)
    glyphs = int(glyph.sum()) if count > 1 else 0
    seal = find_seal(rgb)
    need = MIN_GLYPHS_SEALED if (seal or hinted or _ruled(ink)) else MIN_GLYPHS
    document = paper >= MIN_PAPER and glyphs >= need and colourful <= MAX_COLOURFUL
    return Look(document, seal, round(paper, 3), glyphs, round(colourful, 3))


def _ruled(ink: np.ndarray) -> bool:
    """Four or more long horizontal rules: a ruled table (it has fewer glyphs than prose)."""
    length = max(20, ink.shape[1] // 25)
    rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    count, _ = cv2.connectedComponents(rules)
    return count - 1 >= 4


def _sheet(paper: np.ndarray) -> np.ndarray:
    """The largest connected stretch of paper, its holes (the ink) filled: the sheet."""
    closed = cv2.morphologyEx(paper.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    mask = np.zeros(paper.shape, np.uint8)
    if contours:
        cv2.drawContours(mask, [max(contours, key=cv2.contourArea)], -1, 1, thickness=-1)
    return mask.astype(bool)


def find_seal(rgb: np.ndarray) -> bool:
    """A red round seal on an RGB page (see the module docstring)."""
    if max(rgb.shape[:2]) > INSPECT_SIDE * 1.5:
        rgb = rgb_array(Image.fromarray(rgb), INSPECT_SIDE)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    red = (((hue <= 10) | (hue >= 165)) & (sat >= 70) & (val >= 60)).astype(np.uint8)
    if red.mean() < 0.0005:
        return False
    closed = cv2.morphologyEx(red, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    short = min(rgb.shape[:2])
    for contour in contours:
        (cx, cy), radius = cv2.minEnclosingCircle(contour)
        if not 0.015 * short <= radius <= 0.2 * short:
            continue
        _, _, w, h = cv2.boundingRect(contour)
        if not 0.75 <= w / max(h, 1) <= 1.33:
            continue
        disc = np.pi * radius * radius
        if cv2.contourArea(contour) < 0.7 * disc:
            continue
        inside = np.zeros_like(red)
        cv2.circle(inside, (round(cx), round(cy)), round(radius), 1, -1)
        density = float(red[inside.astype(bool)].mean())
        if 0.1 <= density <= 0.8:  # a ring with lettering, not a red ball or a dot
            return True
    return False


def straighten(image: Image.Image) -> Image.Image:
    """A grayscale, upright, evenly lit page ready for OCR (see the module docstring)."""
    gray = np.asarray(image.convert("L"))
    gray = _crop_page(gray)
    gray = _flatten(gray)
    angle = _skew(gray)
    if abs(angle) >= 0.2:
        gray = _rotate(gray, angle)
    return Image.fromarray(gray)


def _crop_page(gray: np.ndarray) -> np.ndarray:
    """The page cut out along its corners when it lies on a darker background; else as is."""
    scale = 800 / max(gray.shape)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    blur = cv2.GaussianBlur(small, (7, 7), 0)
    _, mask = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((25, 25), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return gray
    page = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(page)
    if not 0.25 * small.size <= area <= 0.97 * small.size:
        return gray  # no background around it (a scan), or no page at all
    quad = cv2.approxPolyDP(cv2.convexHull(page), 0.02 * cv2.arcLength(page, True), True)
    if len(quad) != 4:
        return gray
    corners = _order(quad.reshape(4, 2).astype(np.float32) / scale)
    (tl, tr, br, bl) = corners
    width = int(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = int(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    if width < 200 or height < 200:
        return gray
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32
    )
    matrix = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(
        gray, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _order(points: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    total = points.sum(axis=1)
    diff = np.diff(points, axis=1).ravel()
    return np.array(
        [
            points[np.argmin(total)],
            points[np.argmin(diff)],
            points[np.argmax(total)],
            points[np.argmax(diff)],
        ],
        dtype=np.float32,
    )


def _flatten(gray: np.ndarray) -> np.ndarray:
    """Divide out the paper's brightness (estimated at 1/8 scale with the ink dilated away)."""
    small = cv2.resize(gray, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA)
    background = cv2.dilate(small, np.ones((7, 7), np.uint8))
    background = cv2.GaussianBlur(background, (0, 0), 5)
    background = cv2.resize(
        background, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR
    )
    flat = cv2.divide(gray, np.maximum(background, 1), scale=255)
    return np.asarray(flat, dtype=np.uint8)


def _skew(gray: np.ndarray) -> float:
    """The angle (degrees) that makes text lines horizontal: the rotation whose row profile of
    ink varies most, searched at ~1/3 scale, 0.25° steps."""
    scale = min(1.0, 900 / max(gray.shape))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    best, best_score = 0.0, -1.0
    for angle in np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.25):
        rows = _rotate(ink, float(angle), fill=0).sum(axis=1, dtype=np.float64)
        score = float(np.var(rows))
        if score > best_score:
            best, best_score = float(angle), score
    return best


def _rotate(gray: np.ndarray, angle: float, fill: int = 255) -> np.ndarray:
    h, w = gray.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(
        gray,
        matrix,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill,
    )
