"""Evidence photos: image bytes → `parsers.facts.Photo` (Pillow, HEIC through pillow-heif).

This module owns reading an image safely and saying what it shows the officer: the size as
displayed (EXIF orientation applied), when it was taken (EXIF DateTimeOriginal with
OffsetTimeOriginal when the phone wrote one; otherwise the phone's local time, read as
Asia/Ho_Chi_Minh; stored in UTC), the camera, a ~160 px JPEG thumbnail for the digest, and
whether it is an evidence photo at all (signature scans, logos and tiny inline images are not).
`photos_in_docx` lists the images a .docx carries in `word/media`.

Hostile input: only the format the bytes were sniffed as is decoded (`Image.open(formats=…)`,
so a renamed EPS or a TIFF never reaches its decoder); images over `MAX_PIXELS` are refused
(Pillow's decompression-bomb warning is an error here, and `Image.MAX_IMAGE_PIXELS` is lowered
to `MAX_PIXELS` for the whole process); a truncated or damaged image raises `Unreadable`. The
images of one unit of work (a message: `with pixel_budget(n):`) share a budget of decoded pixels;
an image past it raises `Unreadable` with a note instead of being decoded, so an email of a
hundred large PNGs costs seconds, not minutes. Outside such a block there is no budget.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pillow_heif
from PIL import ExifTags, Image, UnidentifiedImageError

from parsers.archive import ENTRY_ERRORS, Budget, BudgetExceeded, read_member
from parsers.facts import Photo, Unreadable
from parsers.text import clean_text

log = logging.getLogger(__name__)

pillow_heif.register_heif_opener()

# 64 MiB pixels ≈ 67 Mpx: lower than Pillow's default 89 Mpx, still above the 64 MP full-size
# output of phones (9248×6936); a 108 MP photo is refused with a clear reason.
MAX_PIXELS = 64 * 2**20
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Decoded pixels one message's images may cost together (a JPEG counts at the reduced size it
# is decoded at for its thumbnail, 1/64 of a phone photo; PNG, HEIC, WebP and GIF count whole).
# ~25 full-size 12 Mpx HEIC photos, or 4 images at the 64 Mpx cap: about 10 s of decoding at
# the worst rate measured (36 ms/Mpx, an RGBA PNG). One email of 100 such PNGs took 227 s.
MAX_MESSAGE_PIXELS = 300_000_000
THUMBNAIL_SIDE = 160
MIN_EVIDENCE_SIDE = 200  # px on the shorter side
MIN_EVIDENCE_BYTES = 4 * 1024
MAX_ASPECT = 4.0  # wider than 4:1 is a banner or a signature strip
GRAPHIC_COLOURS = 32  # this few colours (sampled, see _colours) is a drawing, not a photo
LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
# word/media limits
MAX_DOCX_IMAGES = 200
MAX_DOCX_IMAGE_BYTES = 30 * 2**20
MAX_DOCX_MEDIA_BYTES = 120 * 2**20

_FORMATS = {
    "jpeg": ["JPEG"],  # its opener also returns MPO files (JPEG + depth/preview frames)
    "png": ["PNG"],
    "webp": ["WEBP"],
    "heic": ["HEIF"],
    "gif": ["GIF"],
}
_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
# What Pillow and its plugins raise on damaged input.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    struct.error,
    EOFError,
    IndexError,
    TypeError,
    KeyError,
    ZeroDivisionError,
    AttributeError,
    RuntimeError,
    OverflowError,
)
_TRANSPOSE = {  # EXIF orientation → the transposition that makes the image upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_DATE = re.compile(r"^\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")


class PixelBudget:
    """The decoded pixels left to one message's images. Once an image does not fit, the budget
    is spent: that image and every later one get a note instead of being decoded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.spent = False

    def take(self, pixels: int) -> None:
        if self.spent or self.used + pixels > self.limit:
            self.spent = True
            raise Unreadable(
                f"not decoded: over the message's image budget of "
                f"{self.limit // 1_000_000} Mpx (limits.max_message_pixels)"
            )
        self.used += pixels


_BUDGET: ContextVar[PixelBudget | None] = ContextVar("pixel_budget", default=None)


@contextmanager
def pixel_budget(limit: int) -> Iterator[PixelBudget]:
    """Every image read inside the block (attachments, zip members, images in a .docx) draws
    on one budget of `limit` decoded pixels: the caller's unit of work, one message."""
    budget = PixelBudget(limit)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def image_format(data: bytes) -> str | None:
    """The fine image format of `data` from its magic bytes ("jpeg", "png", …), or None."""
    for magic, fmt in _IMAGE_MAGIC:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in (
        b"heic",
        b"heix",
        b"mif1",
        b"msf1",
        b"heim",
        b"hevc",
    ):
        return "heic"
    return None


def read_photo(data: bytes, fmt: str, sha256: str) -> Photo:
    """Read one image (fmt: jpeg, png, heic, webp, gif). Raises `Unreadable` with a reason."""
    fmt = fmt.lower()
    if fmt not in _FORMATS:
        raise Unreadable(f"image format not supported ({fmt})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's chatter about odd EXIF/TIFF tags
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=_FORMATS[fmt]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise Unreadable(_too_large(width, height))
                _charge(image, fmt)  # before EXIF: Pillow decodes a whole PNG to find its EXIF
                taken_at, camera, orientation = _exif(image)
                thumb_image, colours = _decoded_thumbnail(image, fmt, orientation)
    except Unreadable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        pixels = re.search(r"\((\d+) pixels\)", str(e))
        size = f"{int(pixels.group(1)) // 1_000_000} Mpx, " if pixels else ""
        raise Unreadable(f"image too large ({size}over {MAX_PIXELS // 1_000_000} Mpx)") from e
    except UnidentifiedImageError as e:
        raise Unreadable(f"not a valid {fmt} image") from e
    except _DECODE_ERRORS as e:
        log.info("image decoding failed: %s: %s", type(e).__name__, e)
        raise Unreadable("image is damaged or truncated") from e
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    thumbnail = _encode_thumbnail(thumb_image)
    reason = _not_evidence(width, height, len(data), thumb_image, colours, bool(camera))
    return Photo(
        sha256=sha256,
        format=fmt,
        width=width,
        height=height,
        taken_at=taken_at,
        camera=camera,
        thumbnail=thumbnail,
        evidence=not reason,
        reason=reason,
    )


def _charge(image: Image.Image, fmt: str) -> None:
    """Take the pixels `image` will be decoded at from the message's budget (a JPEG at the
    reduced scale its thumbnail needs, set here); raises `Unreadable` when it is spent."""
    if fmt == "jpeg":
        image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # DCT scaling: 1/2 … 1/8
    budget = _BUDGET.get()
    if budget is not None:
        budget.take(image.size[0] * image.size[1])


def _too_large(width: int, height: int) -> str:
    return f"image too large ({width}×{height} px, over {MAX_PIXELS // 1_000_000} Mpx)"


def _decoded_thumbnail(image: Image.Image, fmt: str, orientation: int) -> tuple[Image.Image, int]:
    """Decode `image` (at reduced scale for JPEG); return a small, upright RGB(A) copy and
    its number of colours. Decoding everything is also what finds a truncated file."""
    if fmt == "jpeg":
        image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # DCT scaling: 1/2 … 1/8
    image.load()
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        small = image.copy()
    elif image.mode in ("P", "PA") or "transparency" in image.info:
        small = image.convert("RGBA")
    else:
        small = image.convert("RGB")
    colours = _colours(small)
    small.thumbnail(
        (THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BILINEAR
    )  # from ≤ 2× the size
    method = _TRANSPOSE.get(orientation)
    return (small.transpose(method) if method is not None else small), colours


def _colours(image: Image.Image) -> int:
    """Distinct colours of a 64×64 point sample, 8 levels per channel (so JPEG noise around a
    flat graphic does not count); GRAPHIC_COLOURS + 1 means "more than that"."""
    sample = image.convert("RGB").resize((64, 64), Image.Resampling.NEAREST)
    sample = sample.point(lambda v: v & 0xE0)
    found = sample.getcolors(maxcolors=GRAPHIC_COLOURS)
    return len(found) if found is not None else GRAPHIC_COLOURS + 1


def _encode_thumbnail(small: Image.Image) -> bytes:
    """The thumbnail as JPEG bytes (transparency on white)."""
    if small.mode in ("RGBA", "LA"):
        background = Image.new("RGB", small.size, (255, 255, 255))
        background.paste(small.convert("RGBA"), mask=small.convert("RGBA").getchannel("A"))
        rgb = background
    else:
        rgb = small.convert("RGB")
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=70, optimize=True)
    return buf.getvalue()


def _not_evidence(
    width: int, height: int, size: int, small: Image.Image, colours: int, from_camera: bool
) -> str:
    """Why an image is not an evidence photo, or "" when it is one. A camera's EXIF (make or
    model) vouches for a photo: then only size counts (a panorama is wide, a photo of a
    whiteboard has few colours)."""
    if min(width, height) < MIN_EVIDENCE_SIDE:
        return f"tiny image ({width}×{height} px)"
    if size < MIN_EVIDENCE_BYTES:
        return f"very small file ({size} bytes)"
    if from_camera:
        return ""
    if max(width, height) > MAX_ASPECT * min(width, height):
        return f"banner or signature strip ({width}×{height} px)"
    if small.mode in ("RGBA", "LA") and _min_alpha(small) < 128:
        return "transparent graphic (logo or signature)"
    if colours <= GRAPHIC_COLOURS:
        return f"graphic with {colours} colours (logo, stamp or signature)"
    return ""


def _min_alpha(image: Image.Image) -> int:
    low = image.getchannel("A").getextrema()[0]
    return int(low) if isinstance(low, int | float) else 255


# --- EXIF ----------------------------------------------------------------------------------


def _exif(image: Image.Image) -> tuple[datetime | None, str, int]:
    """(taken_at in UTC, camera, orientation) from EXIF; missing or broken EXIF gives blanks."""
    try:
        exif = image.getexif()
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        original = sub.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
        offset = sub.get(ExifTags.Base.OffsetTimeOriginal) or sub.get(ExifTags.Base.OffsetTime)
        make = _tag_text(exif.get(ExifTags.Base.Make))
        model = _tag_text(exif.get(ExifTags.Base.Model))
        orientation = exif.get(ExifTags.Base.Orientation)
    except Exception as e:  # noqa: BLE001 - Pillow's EXIF reader fails in many ways on junk
        log.debug("EXIF unreadable: %s: %s", type(e).__name__, e)
        return None, "", 1
    return (
        exif_datetime(_tag_text(original), _tag_text(offset)),
        camera_name(make, model),
        orientation if isinstance(orientation, int) else 1,
    )


def _tag_text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return ""
    return clean_text(value.replace("\x00", " "), keep_newlines=False, limit=120).strip()


def exif_datetime(value: str, offset: str = "") -> datetime | None:
    """ "2021:10:05 08:15:30" (+ "+07:00") → an aware UTC datetime; without an offset the time
    is the phone's local time, read as Asia/Ho_Chi_Minh. Blank or impossible values → None."""
    m = _EXIF_DATE.match(value or "")
    if m is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        naive = datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - zone below
    except ValueError:
        return None
    if naive.year < 1990:
        return None
    o = _EXIF_OFFSET.match(offset or "")
    if o is not None:
        sign = -1 if o.group(1) == "-" else 1
        minutes = sign * (int(o.group(2)) * 60 + int(o.group(3)))
        if abs(minutes) <= 14 * 60:
            return naive.replace(tzinfo=timezone(timedelta(minutes=minutes))).astimezone(UTC)
    return naive.replace(tzinfo=LOCAL_ZONE).astimezone(UTC)


def camera_name(make: str, model: str) -> str:
    """ "Apple" + "iPhone 12" → "Apple iPhone 12"; "OPPO" + "OPPO A5s" → "OPPO A5s"."""
    make, model = " ".join(make.split()), " ".join(model.split())
    if make and model.lower().startswith(make.lower()):
        return model[:80]
    return " ".join(x for x in (make, model) if x)[:80]


# --- images inside a .docx -----------------------------------------------------------------


def photos_in_docx(data: bytes) -> list[tuple[str, bytes]]:
    """The raster images in a .docx's `word/media` as (name, bytes), in name order; vector
    images (EMF/WMF) are left out. Sizes are bounded per image and in total; a damaged
    package yields what could be read."""
    out: list[tuple[str, bytes]] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [
                i for i in zf.infolist() if i.filename.startswith("word/media/") and not i.is_dir()
            ]
            budget = Budget(MAX_DOCX_MEDIA_BYTES)
            for info in sorted(infos, key=lambda i: _natural(i.filename))[:MAX_DOCX_IMAGES]:
                try:
                    blob = read_member(zf, info, MAX_DOCX_IMAGE_BYTES, budget)
                except BudgetExceeded:
                    log.info("docx image %s over the size limit", info.filename)
                    continue
                except ENTRY_ERRORS as e:
                    log.info("docx image %s unreadable: %s", info.filename, e)
                    continue
                if image_format(blob) is not None:
                    out.append((info.filename.rsplit("/", 1)[-1], blob))
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        ValueError,
        struct.error,
        NotImplementedError,
    ) as e:
        log.info("docx media unreadable: %s", e)
    return out


def _natural(name: str) -> tuple[tuple[int, str], ...]:
    """ "image10.png" after "image9.png"."""
    return tuple((int(t), "") if t.isdigit() else (-1, t) for t in re.split(r"(\d+)", name))
