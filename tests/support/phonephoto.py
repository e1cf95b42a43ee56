"""A full-size phone photo as units send it with their report (1600×1200 JPEG, the phone's EXIF:
make, model, the time it was taken), and Hà Nội's offset (ICT, UTC+7) the tests write those
times in; the end-to-end and the speed tests send the same picture."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from PIL import Image

ICT = timezone(timedelta(hours=7))


def large_phone_jpeg(seed: int, taken: datetime) -> bytes:
    """A 1600×1200 JPEG with EXIF as a phone writes it (make, model, DateTimeOriginal)."""
    img = Image.new("RGB", (1600, 1200), (40 + seed * 30 % 200, 120, 90))
    for x in range(0, 1600, 37):  # some texture so it is not a flat file
        img.paste((x % 255, (x * 7) % 255, seed * 50 % 255), (x, 0, x + 9, 1200))
    exif = Image.Exif()
    exif[0x010F] = "samsung"
    exif[0x0110] = "SM-A125F"
    exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80, exif=exif)
    return out.getvalue()
