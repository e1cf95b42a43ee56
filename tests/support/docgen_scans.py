"""Generators of scanned and photographed documents, made the way offices make them.

The report of `docgen_reports.make_docx_report` (THCS Bích Hòa) printed to PDF by LibreOffice
(`soffice --headless --convert-to pdf`), rasterised by poppler (`pdftoppm`), then aged like a
scan: a red round seal (con dấu) stamped over the signature block, grain, a slight rotation,
JPEG compression, saved as an image-only PDF. Photographed pages: the page laid on a dark
desk, photographed at an angle (perspective), lit from one side (uneven light), with a phone's
EXIF (Make/Model/DateTimeOriginal). A "Tổng hợp số liệu" table drawn on a page, once with a
totals row that matches its rows and once with its digits smudged past reading.

Needs `soffice` (libreoffice-writer-nogui) and `pdftoppm` (poppler-utils); the seal and tables
use DejaVu Sans (fonts-dejavu-core). Slow parts (LibreOffice, ~4 s) are cached per process.
"""

from __future__ import annotations

import functools
import io
import math
import os
import random
import subprocess
import tempfile

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageDraw, ImageFilter, ImageFont

from tests.support import docgen_reports

DEJAVU = docgen_reports.DEJAVU
DEJAVU_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
UNIT = docgen_reports.UNIT  # "TRƯỜNG THCS BÍCH HÒA"
TABLE_ROWS = (
    ("1", "Lễ khai mạc Tuần lễ", "Nhà trường", "1", "1.200"),
    ("2", "Hội thi Đọc sách cùng em", "Liên đội", "3", "650"),
    ("3", "Chuyên đề kỹ năng sống", "Tổ Ngữ văn", "4", "120"),
    ("4", "Tập huấn chuyển đổi số", "TT HTCĐ xã", "2", "95"),
)
TABLE_TOTALS = (10, 2065)


@functools.cache
def report_pdf() -> bytes:
    """The docx report printed to PDF by LibreOffice (3 pages, text layer)."""
    binary = docgen_reports.soffice()
    if binary is None:
        raise RuntimeError("soffice not found (apt-get install libreoffice-writer-nogui)")
    data, _ = docgen_reports.make_docx_report()
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "report.docx")
        with open(source, "wb") as f:
            f.write(data)
        subprocess.run(
            [
                binary,
                "--headless",
                "--norestore",
                f"-env:UserInstallation=file://{tmp}/profile",
                "--convert-to",
                "pdf",
                "--outdir",
                tmp,
                source,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        with open(os.path.join(tmp, "report.pdf"), "rb") as f:
            return f.read()


def rasterise(pdf: bytes, dpi: int) -> list[Image.Image]:
    """The pages as RGB images, by poppler's pdftoppm."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "in.pdf")
        with open(path, "wb") as f:
            f.write(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", path, os.path.join(tmp, "p")],
            check=True,
            capture_output=True,
            timeout=120,
        )
        names = sorted(n for n in os.listdir(tmp) if n.startswith("p") and n.endswith(".png"))
        return [Image.open(os.path.join(tmp, n)).convert("RGB") for n in names]


def stamp_seal(page: Image.Image, centre: tuple[int, int], radius: int) -> Image.Image:
    """A red round seal (two rings, the unit's name around, a star) printed over the page
    with the ink's transparency (multiply)."""
    size = 2 * radius + 4
    seal = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(seal)
    c = size // 2
    ring = max(3, radius // 22)
    draw.ellipse(
        (c - radius, c - radius, c + radius, c + radius), outline=(205, 25, 35), width=ring
    )
    inner = int(radius * 0.62)
    draw.ellipse(
        (c - inner, c - inner, c + inner, c + inner), outline=(205, 25, 35), width=max(2, ring // 2)
    )
    draw.regular_polygon((c, c, int(radius * 0.28)), 5, fill=(205, 25, 35))
    font = ImageFont.truetype(DEJAVU_BOLD, max(8, radius // 7))
    text = "TRƯỜNG THCS BÍCH HÒA * THANH OAI * "
    for i, ch in enumerate(text):  # lettering around the ring
        angle = 2 * math.pi * i / len(text) - math.pi / 2
        r = (radius + inner) / 2
        glyph = Image.new("L", (radius // 4, radius // 4), 0)
        ImageDraw.Draw(glyph).text((2, 0), ch, fill=255, font=font)
        glyph = glyph.rotate(-math.degrees(angle) - 90, expand=True)
        x, y = (
            int(c + r * math.cos(angle) - glyph.width / 2),
            int(c + r * math.sin(angle) - glyph.height / 2),
        )
        seal.paste((205, 25, 35), (x, y), glyph)
    seal = seal.rotate(random.Random(radius).uniform(-20, 20), fillcolor=(255, 255, 255))
    out = page.copy()
    box = (centre[0] - c, centre[1] - c)
    region = out.crop((box[0], box[1], box[0] + size, box[1] + size))
    from PIL import ImageChops

    out.paste(ImageChops.multiply(region, seal), box)
    return out


def age_scan(page: Image.Image, *, angle: float, seed: int, grain: float = 10.0) -> Image.Image:
    """What a flatbed scanner and its JPEG make of a printed page: a slight rotation, grain,
    a little blur."""
    rng = np.random.default_rng(seed)
    rotated = page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(250, 250, 248))
    arr = np.asarray(rotated, dtype=np.float32)
    arr = arr + rng.normal(0, grain, arr.shape[:2])[..., None]
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return out.filter(ImageFilter.GaussianBlur(0.6))


def image_pdf(pages: list[Image.Image], dpi: int) -> bytes:
    """An image-only PDF (no text layer), pages as JPEG, as a scanner writes it."""
    buf = io.BytesIO()
    jpegs = []
    for page in pages:
        b = io.BytesIO()
        page.save(b, "JPEG", quality=70)
        jpegs.append(Image.open(io.BytesIO(b.getvalue())))
    jpegs[0].save(buf, "PDF", save_all=True, append_images=jpegs[1:], resolution=float(dpi))
    return buf.getvalue()


@functools.cache
def scanned_report_pdf(dpi: int = 200) -> bytes:
    """The report printed, signed and stamped, scanned at `dpi`: an image-only PDF."""
    pages = rasterise(report_pdf(), dpi)
    w, h = pages[1].size
    pages[1] = stamp_seal(pages[1], (int(w * 0.3), int(h * 0.86)), int(w * 0.09))
    aged = [
        age_scan(p, angle=a, seed=i)
        for i, (p, a) in enumerate(zip(pages, (1.2, -0.8, 0.5), strict=False))
    ]
    return image_pdf(aged, dpi)


def phone_exif(taken: str = "2021:10:08 16:20:11") -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "samsung"
    exif[ExifTags.Base.Model] = "SM-A525F"
    exif[ExifTags.Base.Orientation] = 1
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = taken
    sub[ExifTags.Base.OffsetTimeOriginal] = "+07:00"
    return exif


def photograph(
    page: Image.Image, *, seed: int, frame: tuple[int, int] = (1800, 2400), exif: bool = True
) -> bytes:
    """A phone photo of a printed page: the page on a dark desk, at an angle (perspective),
    lit from one side, with sensor noise; JPEG with the phone's EXIF."""
    rng = random.Random(seed)
    fw, fh = frame
    desk = np.zeros((fh, fw, 3), np.float32)
    desk[...] = (92, 70, 52)  # a wooden desk
    desk += np.random.default_rng(seed).normal(0, 8, (fh, fw, 1))
    src = np.float32([[0, 0], [page.width, 0], [page.width, page.height], [0, page.height]])
    mx, my = fw * 0.08, fh * 0.06
    dst = np.float32(
        [
            [mx + rng.uniform(0, 60), my + rng.uniform(0, 50)],
            [fw - mx - rng.uniform(0, 90), my + rng.uniform(20, 80)],
            [fw - mx + rng.uniform(-30, 30), fh - my - rng.uniform(0, 40)],
            [mx - rng.uniform(0, 40), fh - my - rng.uniform(20, 60)],
        ]
    )
    matrix = cv2.getPerspectiveTransform(src, dst)
    arr = np.asarray(page.convert("RGB"), np.float32)
    warped = cv2.warpPerspective(arr, matrix, (fw, fh), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.ones(arr.shape[:2], np.float32), matrix, (fw, fh))
    photo = desk * (1 - mask[..., None]) + warped * mask[..., None]
    x = np.linspace(0, 1, fw, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, fh, dtype=np.float32)[:, None]
    light = 0.62 + 0.38 * (0.6 * (1 - x) + 0.4 * y)  # a window on the left
    photo = photo * light[..., None] * np.float32((1.0, 0.97, 0.9))  # warm indoor light
    photo += np.random.default_rng(seed + 1).normal(0, 4, photo.shape[:2])[..., None]
    image = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85, exif=phone_exif() if exif else Image.Exif())
    return buf.getvalue()


@functools.cache
def photographed_report_pages() -> tuple[bytes, bytes]:
    """Pages 1 and 2 of the stamped report as phone photos (JPEG, EXIF), page 2 with the seal."""
    pages = rasterise(report_pdf(), 200)
    w, h = pages[1].size
    pages[1] = stamp_seal(pages[1], (int(w * 0.3), int(h * 0.86)), int(w * 0.09))
    return photograph(pages[0], seed=1), photograph(pages[1], seed=2)


def table_page(*, smudged: bool = False, wrong_total: bool = False, dpi: int = 200) -> Image.Image:
    """An A4 page holding only the "Tổng hợp số liệu" table, ruled, with its totals row;
    `smudged`: the count digits are smeared past reading (water on the print); `wrong_total`:
    the totals row says 2.000 people where the rows add up to 2.065."""
    scale = dpi / 100
    w, h = int(827 * scale), int(1169 * scale)
    page = Image.new("RGB", (w, h), (252, 252, 250))
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(DEJAVU, int(13 * scale))
    bold = ImageFont.truetype(DEJAVU_BOLD, int(13 * scale))
    draw.text((int(70 * scale), int(60 * scale)), UNIT, fill=(15, 15, 15), font=bold)
    draw.text(
        (int(150 * scale), int(130 * scale)),
        "TỔNG HỢP SỐ LIỆU TUẦN LỄ HỌC TẬP SUỐT ĐỜI NĂM 2021",
        fill=(15, 15, 15),
        font=bold,
    )
    cols = [int(x * scale) for x in (70, 120, 360, 530, 640, 760)]
    top, row_h = int(190 * scale), int(34 * scale)
    header = ("STT", "Các hoạt động", "Đơn vị tổ chức", "Số lớp", "Người")
    rows = [
        header,
        *TABLE_ROWS,
        (
            "",
            "Tổng cộng",
            "",
            str(TABLE_TOTALS[0]),
            "2.000" if wrong_total else f"{TABLE_TOTALS[1]:,}".replace(",", "."),
        ),
    ]
    for r, row in enumerate(rows):
        y = top + r * row_h
        for c, value in enumerate(row):
            f = bold if r == 0 or value == "Tổng cộng" else font
            draw.text(
                (cols[c] + int(6 * scale), y + int(8 * scale)), value, fill=(15, 15, 15), font=f
            )
    for r in range(len(rows) + 1):
        draw.line((cols[0], top + r * row_h, cols[-1], top + r * row_h), fill=(30, 30, 30), width=2)
    for x in cols:
        draw.line((x, top, x, top + len(rows) * row_h), fill=(30, 30, 30), width=2)
    if smudged:
        for r in range(1, len(rows)):
            y = top + r * row_h
            box = (cols[3] + 2, y + 3, cols[5] - 2, y + row_h - 3)
            region = page.crop(box).filter(ImageFilter.GaussianBlur(int(7 * scale)))
            page.paste(region, box[:2])
    draw.text(
        (int(520 * scale), top + len(rows) * row_h + int(40 * scale)),
        "HIỆU TRƯỞNG",
        fill=(15, 15, 15),
        font=bold,
    )
    return page


@functools.cache
def photographed_table(smudged: bool = False, wrong_total: bool = False) -> bytes:
    return photograph(
        table_page(smudged=smudged, wrong_total=wrong_total), seed=5 if smudged else 4
    )


def docx_with_pasted_pages() -> bytes:
    """What a unit makes when it has only the signed paper: a Word file holding the phone photos
    of the report's two pages, one per page, under a one-line caption."""
    import docx
    from docx.shared import Cm

    document = docx.Document()
    document.add_paragraph("Báo cáo gửi phòng GD&ĐT")
    for shot in photographed_report_pages():
        document.add_picture(io.BytesIO(shot), width=Cm(16))
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def docx_report_with_a_pasted_page() -> tuple[bytes, int]:
    """The report .docx with two activity photos and, pasted among them, a photo of the signed
    page 2 (the seal); returns the file and how many evidence photos it holds."""
    import docx
    from docx.shared import Cm

    from tests.support import docgen_media

    data, _expected, _table = docgen_media.docx_report_with_photos()
    document = docx.Document(io.BytesIO(data))
    document.add_paragraph("Bản chụp trang ký, đóng dấu:")
    document.add_picture(io.BytesIO(photographed_report_pages()[1]), width=Cm(16))
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue(), 2
