"""Photos on generated phone-like images: EXIF date/camera, sizes, thumbnails, what is not
evidence, hostile images, and the images inside a .docx."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from PIL import Image

from parsers import photo as photo_mod
from parsers.facts import Unreadable
from parsers.photo import (
    MAX_PIXELS,
    THUMBNAIL_SIDE,
    camera_name,
    exif_datetime,
    image_format,
    photos_in_docx,
    read_photo,
)
from tests.support import docgen_media as gen

EVIDENCE: list[Callable[[], tuple[bytes, gen.ExpectedPhoto]]] = [
    gen.phone_jpeg,
    lambda: gen.phone_jpeg(2, offset=None),  # no OffsetTimeOriginal: Hà Nội local time
    lambda: gen.phone_jpeg(3, offset="-05:00", make="Apple", model="iPhone 12"),
    lambda: gen.phone_jpeg(4, orientation=6),  # held upright: displayed 768×1024
    lambda: gen.phone_jpeg(5, taken=None, gps=False),  # EXIF without a date
    lambda: gen.phone_jpeg(6, size=(4032, 3024)),  # a full-size 12 MP phone photo
    lambda: gen.phone_jpeg(7, size=(2400, 540)),  # a panorama: wide, but from a camera
    gen.whiteboard_jpeg,  # few colours, but from a camera
    gen.iphone_heic,
    gen.zalo_webp,
]
NOT_EVIDENCE = [
    gen.logo_png,
    gen.signature_png,
    gen.stamp_png,
    gen.flat_jpeg,
    lambda: gen.whiteboard_jpeg(with_exif=False),
]


def _read(data: bytes, fmt: str) -> photo_mod.Photo:
    return read_photo(data, fmt, hashlib.sha256(data).hexdigest())


@pytest.mark.parametrize("make", EVIDENCE, ids=lambda f: getattr(f, "__name__", "variant"))
def test_phone_photos_give_size_time_camera_and_thumbnail(
    make: Callable[[], tuple[bytes, gen.ExpectedPhoto]],
) -> None:
    data, expected = make()
    assert image_format(data) == expected.fmt
    photo = _read(data, expected.fmt)
    assert (photo.format, photo.width, photo.height) == (
        expected.fmt,
        expected.width,
        expected.height,
    )
    assert photo.taken_at == expected.taken_at
    assert photo.taken_at is None or photo.taken_at.utcoffset() is not None
    assert photo.camera == expected.camera
    assert photo.evidence and photo.reason == ""
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(photo.thumbnail), formats=["JPEG"]) as thumb:
        assert max(thumb.size) == THUMBNAIL_SIDE
        ratio = thumb.size[0] / thumb.size[1]
        assert abs(ratio - expected.width / expected.height) < 0.02  # upright, like the photo


def test_local_time_without_offset_is_read_as_ho_chi_minh() -> None:
    data, _ = gen.phone_jpeg(2, taken="2021:10:05 08:15:30", offset=None)
    assert _read(data, "jpeg").taken_at == datetime(2021, 10, 5, 1, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize("make", NOT_EVIDENCE, ids=lambda f: f.__name__)
def test_logos_signatures_stamps_and_placeholders_are_not_evidence(
    make: Callable[[], tuple[bytes, gen.ExpectedPhoto]],
) -> None:
    data, expected = make()
    photo = _read(data, expected.fmt)
    assert (photo.width, photo.height) == (expected.width, expected.height)
    assert not photo.evidence
    assert expected.reason in photo.reason
    assert photo.thumbnail.startswith(b"\xff\xd8")


def test_truncated_photo_is_unreadable() -> None:
    with pytest.raises(Unreadable, match="damaged or truncated"):
        _read(gen.truncated_jpeg(), "jpeg")


@pytest.mark.parametrize("size", [(30000, 30000), (9000, 8000)], ids=["error", "warning"])
def test_decompression_bombs_are_refused(size: tuple[int, int]) -> None:
    # 900 Mpx is past Pillow's error threshold; 72 Mpx only past its warning threshold,
    # which the reader must treat as an error too
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS < 89_478_485  # lowered from Pillow's default
    with pytest.raises(Unreadable, match="image too large"):
        _read(gen.png_bomb(*size), "png")


def test_only_the_sniffed_format_is_decoded() -> None:
    png, _ = gen.logo_png()
    with pytest.raises(Unreadable, match="not a valid jpeg image"):
        _read(png, "jpeg")
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n"
    with pytest.raises(Unreadable, match="not a valid jpeg"):
        _read(eps, "jpeg")
    with pytest.raises(Unreadable, match="not supported"):
        _read(eps, "eps")


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("2021:10:05 08:15:30", "+07:00", datetime(2021, 10, 5, 1, 15, 30, tzinfo=UTC)),
        ("2021:10:05 08:15:30", "", datetime(2021, 10, 5, 1, 15, 30, tzinfo=UTC)),
        ("2021:10:05 08:15:30\x00", "+0900", datetime(2021, 10, 4, 23, 15, 30, tzinfo=UTC)),
        ("2021-10-05T08:15:30", "+99:00", datetime(2021, 10, 5, 1, 15, 30, tzinfo=UTC)),
        ("0000:00:00 00:00:00", "", None),
        ("2021:13:45 25:61:00", "", None),
        ("    :  :     :  :  ", "", None),
        ("", "+07:00", None),
    ],
)
def test_exif_datetime(value: str, offset: str, expected: datetime | None) -> None:
    assert exif_datetime(value, offset) == expected


@pytest.mark.parametrize(
    ("make", "model", "expected"),
    [
        ("Apple", "iPhone 12", "Apple iPhone 12"),
        ("OPPO", "OPPO A5s", "OPPO A5s"),
        ("samsung", "SM-A525F", "samsung SM-A525F"),
        ("", "Redmi Note 8", "Redmi Note 8"),
        ("  Xiaomi ", "", "Xiaomi"),
    ],
)
def test_camera_name(make: str, model: str, expected: str) -> None:
    assert camera_name(make, model) == expected


def test_photos_in_docx_lists_media_in_order() -> None:
    data, expected, _ = gen.docx_report_with_photos()
    found = photos_in_docx(data)
    blobs = [blob for _, blob in found]
    assert len(found) == len(expected.photos)
    assert all(b in blobs for b in expected.photo_bytes)  # the bytes as pasted, unchanged
    assert [image_format(b) for b in blobs] == [e.fmt for e in expected.photos]


def test_photos_in_docx_is_bounded_and_survives_damage() -> None:
    data, _, _ = gen.docx_report_with_photos()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        # a 40 MB "image" of zeros (compresses to ~40 KB): over the per-image limit
        dst.writestr(
            "word/media/image99.png",
            b"\x89PNG\r\n\x1a\n" + bytes(40 * 2**20),
            compress_type=zipfile.ZIP_DEFLATED,
        )
        dst.writestr("word/media/image98.emf", b"\x01\x00\x00\x00" + bytes(100))
    names = [name for name, _ in photos_in_docx(out.getvalue())]
    assert "image99.png" not in names and "image98.emf" not in names
    assert len(names) == 3
    assert photos_in_docx(data[: len(data) // 3]) == []
    assert photos_in_docx(b"not a zip") == []
