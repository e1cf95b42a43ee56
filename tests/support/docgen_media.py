"""Generators of photos, containers and forwarded mail, built in memory the way units make them.

Photos: phone-like JPEGs with EXIF (Make/Model, DateTimeOriginal with or without
OffsetTimeOriginal, optional GPS, orientation, 4:3 sizes, scene-like content that is not
trivially compressible), an iPhone HEIC (pillow-heif), a WebP as Zalo/Messenger re-encode them
(no EXIF), a school logo PNG (transparent, few colours), a signature strip, a truncated JPEG
and a PNG whose header declares a 900 Mpx bomb.

Documents: the docgen_tables docx report with photos pasted in and a logo in the page header
(one docx = report + data table + photos), a "photo album" docx, a docx whose data table is an
embedded Excel object.

Containers: zips written through `raw_zip`, a byte-exact zip writer (local headers, central
directory, EOCD), so names can be stored as cp437, cp1258 (Vietnamese Windows) or UTF-8 with or
without the UTF-8 flag, and the hostile shapes can be made: a ratio bomb, an overlapping-entries
bomb (every central entry pointing at one compressed kernel), a symlink, `../` and absolute
names, a ZipCrypto-encrypted entry (really encrypted: zipfile reads it with the password), a
size lie. A forwarded message (message/rfc822 inside the officer's mail), and a winmail.dat
written object by object in the TNEF layout tnefparse reads (attAttachTitle in cp1258 plus
PR_ATTACH_LONG_FILENAME in UTF-16, checksums included).
"""

from __future__ import annotations

import io
import random
import stat
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

from PIL import ExifTags, Image, ImageDraw, ImageFilter

from tests.support import docgen_tables

# --- photos --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedPhoto:
    fmt: str
    width: int  # as displayed (orientation applied)
    height: int
    taken_at: datetime | None
    camera: str
    evidence: bool = True
    reason: str = ""  # a substring of Photo.reason when not evidence


def _scene(size: tuple[int, int], seed: int) -> Image.Image:
    """A photo-like RGB picture: a sky-to-ground gradient, shapes (a banner, people), noise."""
    rng = random.Random(seed)
    w, h = size
    top = tuple(rng.randint(90, 200) for _ in range(3))
    bottom = tuple(rng.randint(20, 120) for _ in range(3))
    gradient = Image.linear_gradient("L").resize((w, h))
    image = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), gradient)
    draw = ImageDraw.Draw(image)
    draw.rectangle((w // 8, h // 10, w * 7 // 8, h // 4), fill=(200, 20, 30))  # the banner
    for _ in range(12):
        x, y = rng.randint(0, w), rng.randint(h // 3, h)
        r = rng.randint(h // 30, h // 10)
        draw.ellipse(
            (x - r, y - 2 * r, x + r, y + 2 * r), fill=tuple(rng.randint(0, 255) for _ in range(3))
        )
    noise = Image.effect_noise(size, 24).convert("RGB")
    return Image.blend(image.filter(ImageFilter.GaussianBlur(1)), noise, 0.12)


def _exif(
    make: str, model: str, taken: str | None, offset: str | None, gps: bool, orientation: int = 1
) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = make
    exif[ExifTags.Base.Model] = model
    exif[ExifTags.Base.Software] = "A525FXXU4AUH1"
    exif[ExifTags.Base.Orientation] = orientation
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    if taken:
        exif[ExifTags.Base.DateTime] = taken
        sub[ExifTags.Base.DateTimeOriginal] = taken
        sub[ExifTags.Base.DateTimeDigitized] = taken
    if offset:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:  # Bích Hòa, Thanh Oai: 20°50'N 105°46'E
        g = exif.get_ifd(ExifTags.IFD.GPSInfo)
        g[ExifTags.GPS.GPSLatitudeRef] = "N"
        g[ExifTags.GPS.GPSLatitude] = (20.0, 50.0, 12.5)
        g[ExifTags.GPS.GPSLongitudeRef] = "E"
        g[ExifTags.GPS.GPSLongitude] = (105.0, 46.0, 30.1)
    return exif


def phone_jpeg(
    seed: int = 0,
    *,
    size: tuple[int, int] = (1024, 768),
    make: str = "samsung",
    model: str = "SM-A525F",
    taken: str | None = "2021:10:05 08:15:30",
    offset: str | None = "+07:00",
    gps: bool = True,
    orientation: int = 1,
) -> tuple[bytes, ExpectedPhoto]:
    """A phone photo (4:3); `seed` varies the content so each photo hashes differently."""
    buf = io.BytesIO()
    _scene(size, seed).save(
        buf, "JPEG", quality=88, exif=_exif(make, model, taken, offset, gps, orientation)
    )
    width, height = size if orientation < 5 else (size[1], size[0])
    return buf.getvalue(), ExpectedPhoto(
        "jpeg",
        width,
        height,
        _when(taken, offset),
        f"{make} {model}" if make and model else make or model,
    )


def _when(taken: str | None, offset: str | None) -> datetime | None:
    """What the reader must make of the EXIF time: the offset when given, else Hà Nội time
    (UTC+7 all year since 1975), in UTC."""
    if taken is None:
        return None
    return datetime.strptime(f"{taken} {offset or '+07:00'}", "%Y:%m:%d %H:%M:%S %z").astimezone(
        UTC
    )


def whiteboard_jpeg(with_exif: bool = True) -> tuple[bytes, ExpectedPhoto]:
    """A phone photo of the hall's whiteboard (a few colours only); without EXIF the same
    picture is indistinguishable from a drawing and is not taken as evidence."""
    image = Image.new("RGB", (1024, 768), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    for row in range(6):
        draw.line(
            [(80, 120 + row * 90), (900 - row * 60, 120 + row * 90)], fill=(30, 40, 140), width=9
        )
    taken = "2021:10:04 14:00:00"
    buf = io.BytesIO()
    exif = _exif("vivo", "vivo 1906", taken, None, gps=False) if with_exif else Image.Exif()
    image.save(buf, "JPEG", quality=90, exif=exif)
    if with_exif:
        return buf.getvalue(), ExpectedPhoto("jpeg", 1024, 768, _when(taken, None), "vivo 1906")
    return buf.getvalue(), ExpectedPhoto("jpeg", 1024, 768, None, "", False, "colours")


def iphone_heic(seed: int = 7) -> tuple[bytes, ExpectedPhoto]:
    """An iPhone HEIC (4:3 at a reduced size to keep the test fast), local time with offset."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    taken, offset = "2021:10:06 15:42:05", "+07:00"
    buf = io.BytesIO()
    _scene((800, 600), seed).save(
        buf, "HEIF", quality=60, exif=_exif("Apple", "iPhone 12", taken, offset, gps=False)
    )
    return buf.getvalue(), ExpectedPhoto("heic", 800, 600, _when(taken, offset), "Apple iPhone 12")


def zalo_webp(seed: int = 11) -> tuple[bytes, ExpectedPhoto]:
    """A photo as Zalo/Messenger re-encode it: WebP, EXIF stripped (no date, no camera)."""
    buf = io.BytesIO()
    _scene((960, 720), seed).save(buf, "WEBP", quality=75)
    return buf.getvalue(), ExpectedPhoto("webp", 960, 720, None, "")


def logo_png() -> tuple[bytes, ExpectedPhoto]:
    """The school's logo as pasted into a letterhead: 120 px, transparent, three colours."""
    image = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, 116, 116), fill=(0, 70, 160, 255))
    draw.polygon([(60, 20), (95, 95), (25, 95)], fill=(250, 200, 0, 255))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue(), ExpectedPhoto("png", 120, 120, None, "", False, "tiny image")


def signature_png() -> tuple[bytes, ExpectedPhoto]:
    """A signature strip as cut from a scan: wide, white with dark ink strokes."""
    image = Image.new("RGB", (1200, 250), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    rng = random.Random(3)
    points = [(40 + i * 28, 125 + rng.randint(-70, 70)) for i in range(40)]
    draw.line(points, fill=(20, 20, 80), width=5)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue(), ExpectedPhoto("png", 1200, 250, None, "", False, "signature strip")


def stamp_png() -> tuple[bytes, ExpectedPhoto]:
    """The red round seal (con dấu) cut out of a scan: big enough, but a flat graphic."""
    image = Image.new("RGB", (400, 400), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, 390, 390), outline=(200, 0, 0), width=12)
    draw.ellipse((70, 70, 330, 330), outline=(200, 0, 0), width=6)
    draw.regular_polygon((200, 200, 60), 5, fill=(200, 0, 0))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue(), ExpectedPhoto("png", 400, 400, None, "", False, "colours")


def flat_jpeg() -> tuple[bytes, ExpectedPhoto]:
    """A blank grey 320×240 inline image (a placeholder Word leaves): a very small file."""
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (128, 128, 128)).save(buf, "JPEG", quality=20)
    return buf.getvalue(), ExpectedPhoto("jpeg", 320, 240, None, "", False, "very small file")


def truncated_jpeg() -> bytes:
    """A phone photo cut off in transit (half the bytes)."""
    data, _ = phone_jpeg(21, size=(640, 480))
    return data[: len(data) // 2]


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A 1-bit PNG whose header declares `width`×`height` (900 Mpx) over a few bytes of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    idat = zlib.compress(row * 16, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# --- documents with pictures ---------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedDocx:
    filename: str
    items: frozenset[str]
    photos: tuple[ExpectedPhoto, ...]  # in word/media order
    photo_bytes: tuple[bytes, ...] = field(default=())  # the evidence photos as pasted


def docx_report_with_photos() -> tuple[bytes, ExpectedDocx, docgen_tables.Expected]:
    """The docgen_tables report (outline, "TỔNG HỢP SỐ LIỆU" table), then "Một số hình ảnh
    hoạt động" with two phone photos, and the school logo in the page header."""
    import docx
    from docx.shared import Cm

    data, table_expected = docgen_tables.make_docx_report()
    document = docx.Document(io.BytesIO(data))
    logo, logo_expected = logo_png()
    header = document.sections[0].header.paragraphs[0]
    header.add_run().add_picture(io.BytesIO(logo), width=Cm(1.5))
    document.add_paragraph("Một số hình ảnh hoạt động trong Tuần lễ:")
    photos = [phone_jpeg(31), phone_jpeg(32, taken="2021:10:07 09:30:00", offset=None)]
    for blob, _ in photos:
        document.add_picture(io.BytesIO(blob), width=Cm(12))
        document.add_paragraph("Ảnh: Lễ khai mạc Tuần lễ học tập suốt đời")
    buf = io.BytesIO()
    document.save(buf)
    expected = ExpectedDocx(
        filename="Bao cao Tuan le HTSD THCS Bich Hoa.docx",
        items=frozenset({"report", "data_table", "photo"}),
        photos=(logo_expected, photos[0][1], photos[1][1]),  # word/media order
        photo_bytes=(photos[0][0], photos[1][0]),
    )
    return buf.getvalue(), expected, table_expected


def photo_album_docx() -> tuple[bytes, ExpectedDocx]:
    """What many units send as "Hình ảnh": a docx holding only captioned photos."""
    import docx
    from docx.shared import Cm

    document = docx.Document()
    document.add_paragraph("HÌNH ẢNH HOẠT ĐỘNG TUẦN LỄ HỌC TẬP SUỐT ĐỜI")
    shots = [
        phone_jpeg(41),
        phone_jpeg(42, orientation=6),
        phone_jpeg(43, make="OPPO", model="CPH1909", offset=None, gps=False),
    ]
    for blob, _ in shots:
        document.add_picture(io.BytesIO(blob), width=Cm(10))
        document.add_paragraph("Học sinh tham gia Ngày hội đọc sách")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue(), ExpectedDocx(
        "Hinh anh hoat dong.docx", frozenset({"photo"}), tuple(e for _, e in shots)
    )


def docx_with_embedded_workbook() -> tuple[bytes, docgen_tables.Expected]:
    """A short report whose data table is an Excel object pasted into it (the workbook sits
    in word/embeddings/, Word shows a picture of it); the docx has no table of its own."""
    import docx

    document = docx.Document()
    document.add_paragraph("TRƯỜNG MẦM NON BÍCH HÒA")
    document.add_paragraph("BÁO CÁO")
    document.add_paragraph("Kết quả tổ chức Tuần lễ hưởng ứng học tập suốt đời năm 2021")
    document.add_paragraph("Số liệu các hoạt động theo bảng tổng hợp đính kèm dưới đây.")
    buf = io.BytesIO()
    document.save(buf)
    workbook, expected = docgen_tables.make_xlsx_workbook()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("word/embeddings/Microsoft_Excel_Worksheet.xlsx", workbook)
    return out.getvalue(), expected


# --- zips, byte by byte --------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One zip entry as stored: raw name bytes, flags, payload as written (already compressed
    or encrypted), the CRC and size of the plain content."""

    name: bytes
    payload: bytes
    crc: int
    size: int
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0
    external_attr: int = 0o100644 << 16
    create_system: int = 3  # Unix; 0 for MS-DOS/Windows
    extra: bytes = b""


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def entry(
    name: str | bytes,
    data: bytes,
    *,
    encoding: str = "utf-8",
    utf8_flag: bool | None = None,
    **kw: int,
) -> Entry:
    """A deflated entry whose name is stored in `encoding` (flagged as UTF-8 when it is)."""
    raw = name if isinstance(name, bytes) else encode_name(name, encoding)
    flag = (encoding == "utf-8" and not raw.isascii()) if utf8_flag is None else utf8_flag
    return Entry(
        raw,
        deflate(data),
        zlib.crc32(data),
        len(data),
        flags=kw.pop("flags", 0) | (0x800 if flag else 0),
        **kw,
    )


def encode_name(name: str, encoding: str) -> bytes:
    """`name` as an archiver on that code page writes it. cp1258 has few precomposed letters:
    Windows writes the base letter (â, ơ, ư…) then the tone as a combining byte."""
    if encoding != "cp1258":
        return unicodedata.normalize("NFC", name).encode(encoding)
    out = bytearray()
    for ch in unicodedata.normalize("NFC", name):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
            out += base.encode("cp1258") + "".join(c for c in parts if c in _TONE_MARKS).encode(
                "cp1258"
            )
    return bytes(out)


_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def raw_zip(entries: list[Entry], *, central: list[tuple[Entry, int]] | None = None) -> bytes:
    """A zip of `entries`; `central` overrides the central directory as (entry, local header
    offset) pairs — how the overlap bomb points many entries at one kernel."""
    out = bytearray()
    offsets = []
    for e in entries:
        offsets.append(len(out))
        out += struct.pack(
            "<4sHHHHHIIIHH",
            b"PK\x03\x04",
            20,
            e.flags,
            e.method,
            0,
            0x5345,
            e.crc,
            len(e.payload),
            e.size,
            len(e.name),
            len(e.extra),
        )
        out += e.name + e.extra + e.payload
    cd_start = len(out)
    for e, offset in central if central is not None else list(zip(entries, offsets, strict=True)):
        out += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            (e.create_system << 8) | 20,
            20,
            e.flags,
            e.method,
            0,
            0x5345,
            e.crc,
            len(e.payload),
            e.size,
            len(e.name),
            len(e.extra),
            0,
            0,
            0,
            e.external_attr,
            offset,
        )
        out += e.name + e.extra
    count = len(central) if central is not None else len(entries)
    out += struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(out) - cd_start, cd_start, 0
    )
    return bytes(out)


NAMES_VI = ("Báo cáo tuần lễ học tập suốt đời.docx", "Tổng hợp số liệu.xlsx", "Ảnh hoạt động 1.jpg")


def zip_names(encoding: str, *, utf8_flag: bool | None = None) -> tuple[bytes, tuple[str, ...]]:
    """A zip of three small files named `NAMES_VI` stored in `encoding` (cp437 cannot write
    Vietnamese: there the names are the unaccented forms a cp437 archiver keeps, plus one
    with the French accents cp437 has)."""
    names = NAMES_VI
    if encoding == "cp437":
        names = ("Bao cao tuan le.docx", "Résumé giáo viên.txt", "Anh 1.jpg")
    entries = [
        entry(n, f"nội dung {i}".encode() * 10, encoding=encoding, utf8_flag=utf8_flag)
        for i, n in enumerate(names)
    ]
    entries.insert(0, entry(b"__MACOSX/._Bao cao.docx", b"\x00\x05\x16\x07" + bytes(40)))
    return raw_zip(entries), names


def unicode_path_zip(name: str = "Báo cáo tuần lễ.docx") -> bytes:
    """An entry as Info-ZIP/7-Zip write it for a legacy reader: the main name in cp437 with
    "?" for what cp437 lacks, the real name in the Unicode Path extra field (0x7075)."""
    legacy = name.encode("cp437", errors="replace")
    utf8 = name.encode("utf-8")
    field = struct.pack("<BI", 1, zlib.crc32(legacy)) + utf8
    plain = entry(legacy, b"noi dung", utf8_flag=False)
    return raw_zip(
        [
            Entry(
                plain.name,
                plain.payload,
                plain.crc,
                plain.size,
                extra=struct.pack("<HH", 0x7075, len(field)) + field,
            )
        ]
    )


def many_entries_zip(count: int) -> bytes:
    return raw_zip([entry(f"anh_{i:04d}.txt", b"x") for i in range(count)])


def ratio_bomb(megabytes: int = 20) -> bytes:
    """One entry of `megabytes` MB of zeros deflated to ~20 KB (ratio ~1000:1), next to a
    normal photo that must still come out."""
    zeros = bytes(megabytes * 2**20)
    photo, _ = phone_jpeg(51, size=(320, 240))
    return raw_zip([entry("so lieu.xlsx", zeros), entry("anh.jpg", photo)])


def overlap_bomb(copies: int = 200) -> bytes:
    """Fifield's overlapping-entries bomb, full-overlap form: one 10 MB kernel, `copies`
    central entries all pointing at it (2 GB if each were extracted)."""
    kernel = entry("a.txt", bytes(10 * 2**20))
    return raw_zip([kernel], central=[(kernel, 0)] * copies)


def hostile_names_zip() -> tuple[bytes, list[str]]:
    """A symlink, a `../` name, an absolute name, and one good photo; returns the names that
    must be refused."""
    photo, _ = phone_jpeg(52, size=(320, 240))
    link = entry("anh-that.jpg", b"/etc/passwd", external_attr=(stat.S_IFLNK | 0o777) << 16)
    entries = [
        link,
        entry("../../home/x/.bashrc", b"echo pwned"),
        entry("/etc/cron.d/x", b"* * * * * root sh"),
        entry("Ảnh 2.jpg", photo),
    ]
    return raw_zip(entries), ["anh-that.jpg", "bashrc", "x"]  # display names


def _zipcrypto(plain: bytes, password: bytes, crc: int, seed: int = 5) -> bytes:
    """Traditional PKWARE encryption (what Windows and WinRAR write for a zip password)."""
    keys = [0x12345678, 0x23456789, 0x34567890]

    def crc_byte(value: int, byte: int) -> int:
        return ~zlib.crc32(bytes([byte]), ~value & 0xFFFFFFFF) & 0xFFFFFFFF

    def update(byte: int) -> None:
        keys[0] = crc_byte(keys[0], byte)
        keys[1] = (keys[1] + (keys[0] & 0xFF)) & 0xFFFFFFFF
        keys[1] = (keys[1] * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = crc_byte(keys[2], keys[1] >> 24)

    for b in password:
        update(b)
    rng = random.Random(seed)
    header = bytes(rng.randrange(256) for _ in range(11)) + bytes([crc >> 24])
    out = bytearray()
    for b in header + plain:
        temp = (keys[2] | 2) & 0xFFFF
        out.append(b ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
        update(b)
    return bytes(out)


def encrypted_zip(all_encrypted: bool = False) -> tuple[bytes, bytes]:
    """A zip with "Số liệu.xlsx" encrypted with password "123456" (ZipCrypto, deflated), and
    unless `all_encrypted` a plain readme; returns (zip, the plain content of the xlsx)."""
    plain = "bảng số liệu".encode() * 50
    crc = zlib.crc32(plain)
    secret = Entry(
        encode_name("Số liệu.xlsx", "utf-8"),
        _zipcrypto(deflate(plain), b"123456", crc),
        crc,
        len(plain),
        flags=0x1 | 0x800,
    )
    entries = [secret] if all_encrypted else [secret, entry("doc-truoc.txt", b"Mat khau: hoi VP")]
    return raw_zip(entries), plain


def size_lie_zip() -> bytes:
    """An entry that declares 4 GB uncompressed but holds 5 KB (the budget counts real bytes)."""
    data = "Tổng hợp số liệu\n".encode() * 300
    real = entry("so lieu.txt", data)
    return raw_zip([Entry(real.name, real.payload, real.crc, 0xFFFFFFF0, flags=real.flags)])


def nested_zip() -> bytes:
    inner = raw_zip([entry("Ảnh 3.jpg", phone_jpeg(53, size=(320, 240))[0])])
    return raw_zip([entry("anh.zip", inner)])


# --- forwarded mail ------------------------------------------------------------------------


@dataclass(frozen=True)
class Forwarded:
    raw: bytes  # the officer's (or commune office's) message
    inner: bytes  # the school's original message, as attached
    inner_from: str
    inner_files: tuple[tuple[str, bytes], ...]


def forwarded_message() -> Forwarded:
    """The commune office forwards a school's email as an attachment (Outlook/Thunderbird
    "Forward as attachment"): the school's report docx and a photo are inside it."""
    report, _ = docgen_tables.make_docx_report()
    photo, _ = phone_jpeg(61)
    inner = EmailMessage()
    inner["From"] = "Trường THCS Bích Hòa <thcsbichhoa@gmail.com>"
    inner["To"] = "vanhoa.bichhoa@thanhoai.example"
    inner["Subject"] = "Báo cáo kết quả Tuần lễ học tập suốt đời 2021"
    inner["Date"] = "Fri, 08 Oct 2021 16:20:00 +0700"
    inner["Message-ID"] = "<inner-1@gmail.com>"
    inner.set_content("Kính gửi UBND xã, trường gửi báo cáo và hình ảnh.")
    files = (("Báo cáo Tuần lễ THCS Bích Hòa.docx", report), ("Ảnh khai mạc.jpg", photo))
    inner.add_attachment(
        report,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename=files[0][0],
    )
    inner.add_attachment(photo, maintype="image", subtype="jpeg", filename=files[1][0])
    outer = EmailMessage()
    outer["From"] = "Văn hóa xã Bích Hòa <vanhoa.bichhoa@thanhoai.example>"
    outer["To"] = "totrunghoc-thanhoai@thanhoai.example"
    outer["Subject"] = "Fwd: Báo cáo kết quả Tuần lễ học tập suốt đời 2021"
    outer["Date"] = "Sat, 09 Oct 2021 08:05:00 +0700"
    outer["Message-ID"] = "<outer-1@thanhoai.example>"
    outer.set_content("Chuyển tiếp báo cáo của Trường THCS Bích Hòa.")
    outer.add_attachment(inner)
    return Forwarded(
        outer.as_bytes(policy=policy.SMTP),
        inner.as_bytes(policy=policy.SMTP),
        "thcsbichhoa@gmail.com",
        files,
    )


# --- winmail.dat ---------------------------------------------------------------------------


def _tnef_object(level: int, attr_id: int, data: bytes) -> bytes:
    return (
        struct.pack("<BII", level, attr_id, len(data))
        + data
        + struct.pack("<H", sum(data) & 0xFFFF)
    )


def _mapi_unicode(prop: int, text: str) -> bytes:
    value = (text + "\x00").encode("utf-16-le")
    return (
        struct.pack("<IHHII", 1, 0x001F, prop, 1, len(value)) + value + b"\x00" * (-len(value) % 4)
    )


def winmail_dat(
    files: tuple[tuple[str, bytes], ...] | None = None,
    codepage: int = 1258,
    long_names: bool = True,
) -> tuple[bytes, tuple[tuple[str, bytes], ...]]:
    """A winmail.dat as Outlook writes it for a rich-text message: version, OEM codepage,
    message class, then per attachment the rendering data, attAttachTitle (the name in the
    codepage), attAttachData and (with `long_names`) the MAPI properties with
    PR_ATTACH_LONG_FILENAME."""
    if files is None:
        report, _ = docgen_tables.make_docx_report()
        files = (("Báo cáo tuần lễ.docx", report), ("Ảnh 1.jpg", phone_jpeg(71)[0]))
    out = bytearray(struct.pack("<IH", 0x223E9F78, 0x1234))
    out += _tnef_object(1, 0x00089006, struct.pack("<I", 0x00010000))
    out += _tnef_object(1, 0x00069007, struct.pack("<II", codepage, 0))
    out += _tnef_object(1, 0x00078008, b"IPM.Microsoft Mail.Note\x00")
    for name, data in files:
        out += _tnef_object(2, 0x00069002, struct.pack("<HIIIHI", 1, 0xFFFFFFFF, 0, 0, 0, 0))
        out += _tnef_object(2, 0x00018010, encode_name(name, f"cp{codepage}") + b"\x00")
        out += _tnef_object(2, 0x0006800F, data)
        if long_names:
            out += _tnef_object(2, 0x00069005, _mapi_unicode(0x3707, name))
    return bytes(out), files
