"""Containers → their members (`parsers.facts.Expanded`): .zip, forwarded mail
(message/rfc822) and Outlook's winmail.dat (TNEF, via tnefparse).

`expand(data, fmt)` returns the readable members and a reason for each one left out; it raises
`Unreadable` when the container as a whole cannot or must not be read ("archive type not
supported" for rar/7z, "file is password-protected", a zip bomb). Members are never written
anywhere: names are display-only (`clean_filename`), so path tricks are refused, not resolved.

Zip, against hostile archives (Python 3.11's zipfile checks none of this):
- entries may not overlap (the overlapping-entries bomb: many central-directory entries
  sharing one compressed kernel), nor run into the central directory;
- each entry is stream-read against a running byte budget (per member, per archive) and a
  compression-ratio cap, never trusting the declared sizes; only stored and deflated entries
  are read (bzip2/LZMA decompress without an output bound in zipfile);
- symlinks, absolute names, `..` components, over-long names and encrypted entries are refused
  one by one, with a reason;
- names are decoded by the UTF-8 flag, the Info-ZIP Unicode path field, strict UTF-8, or the
  better reading of cp1258 (Vietnamese Windows) and cp437 (the zip default), then NFC.
A zip inside a zip is returned as a member: the caller's queue expands it in turn, and its
part limit bounds the nesting depth.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator

from parsers.facts import Expanded, Member, Unreadable
from parsers.text import clean_filename
from parsers.vietnamese import ACCENTED, is_syllable

log = logging.getLogger(__name__)

MiB = 2**20
MAX_ENTRIES = 1000  # entries read from one zip; the rest are reported
MAX_MEMBER_BYTES = 50 * MiB
MAX_TOTAL_BYTES = 100 * MiB
MAX_RATIO = 200  # uncompressed / compressed, judged once a member passes RATIO_FLOOR
RATIO_FLOOR = 1 * MiB
MAX_NAME_BYTES = 1024
CHUNK = 64 * 1024
MAX_TNEF_OBJECTS = 5000
UNSUPPORTED = "archive type not supported"
PROTECTED = "file is password-protected"
_JUNK = ("__MACOSX/",)
_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
_READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_METHOD_NAMES = {
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "LZMA",
    9: "Deflate64",
    98: "PPMd",
    99: "AES",
}


# What reading a damaged entry raises (besides BudgetExceeded).
ENTRY_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    OSError,
    EOFError,
    ValueError,
    struct.error,
    RuntimeError,
)


class BudgetExceeded(Exception):
    """A member (or the archive) decompresses to more than allowed; `str()` is the reason."""


class Budget:
    """Bytes left to decompress from one container."""

    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, n: int) -> None:
        if n > self.left:
            raise BudgetExceeded(f"archive is larger than {MAX_TOTAL_BYTES // MiB} MB uncompressed")
        self.left -= n


def read_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    limit: int,
    budget: Budget | None = None,
    max_ratio: int | None = None,
) -> bytes:
    """Stream-read one entry, stopping as soon as it passes `limit` bytes, the budget or the
    compression ratio. Raises `BudgetExceeded`, or zipfile's errors for damaged entries."""
    if info.compress_type not in _READABLE_METHODS:
        name = _METHOD_NAMES.get(info.compress_type, str(info.compress_type))
        raise NotImplementedError(f"compression method not supported ({name})")
    out = bytearray()
    with zf.open(info) as fh:
        while chunk := fh.read(CHUNK):
            out += chunk
            if len(out) > limit:
                raise BudgetExceeded(f"file is larger than {max(limit // MiB, 1)} MB uncompressed")
            if budget is not None:
                budget.take(len(chunk))
            if (
                max_ratio is not None
                and len(out) > RATIO_FLOOR
                and len(out) > max_ratio * max(info.compress_size, 1)
            ):
                raise BudgetExceeded(f"compression ratio over {max_ratio}:1 (a zip bomb)")
    return bytes(out)


def expand(data: bytes, fmt: str) -> Expanded:
    """The members of a container (fmt: zip, rfc822, tnef). Raises `Unreadable`."""
    fmt = fmt.lower()
    if fmt == "zip":
        return _zip(data)
    if fmt in ("rfc822", "eml"):
        return _message(data)
    if fmt == "tnef":
        return _tnef(data)
    if fmt in ("rar", "7z", "tar", "gz", "cab", "arj"):
        raise Unreadable(UNSUPPORTED)
    raise Unreadable(f"not a container ({fmt})")


def _content_type(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or ""


# --- zip -----------------------------------------------------------------------------------


def _zip(data: bytes) -> Expanded:
    if data.count(b"PK\x01\x02") > 20 * MAX_ENTRIES:
        raise Unreadable(f"zip has too many entries (more than {20 * MAX_ENTRIES})")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except NotImplementedError as e:  # "zip file version 6.3": a newer archiver's features
        raise Unreadable(UNSUPPORTED) from e
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        struct.error,
        UnicodeError,
        IndexError,
    ) as e:
        raise Unreadable("zip file is damaged") from e
    with zf:
        infos = zf.infolist()
        _check_layout(data, infos, zf.start_dir)
        problems: list[str] = []
        files = [i for i in infos if not i.is_dir() and not _is_junk(i.orig_filename)]
        if len(files) > MAX_ENTRIES:
            problems.append(f"zip has {len(files)} files; only the first {MAX_ENTRIES} were read")
            files = files[:MAX_ENTRIES]
        if files and all(i.flag_bits & 0x1 for i in files):
            raise Unreadable(PROTECTED)
        budget = Budget(MAX_TOTAL_BYTES)
        members: list[Member] = []
        for info in files:
            name, refusal = _entry_name(info)
            if refusal:
                problems.append(f"{name}: {refusal}")
                continue
            if budget.left <= 0:
                problems.append(
                    f"{name}: not read (archive is larger than "
                    f"{MAX_TOTAL_BYTES // MiB} MB uncompressed)"
                )
                continue
            try:
                blob = read_member(zf, info, MAX_MEMBER_BYTES, budget, MAX_RATIO)
            except BudgetExceeded as e:
                problems.append(f"{name}: {e}")
                continue
            except NotImplementedError as e:
                problems.append(f"{name}: {e}")
                continue
            except ENTRY_ERRORS as e:
                log.info("zip entry unreadable: %s: %s", type(e).__name__, e)
                reason = PROTECTED if "password" in str(e).lower() else "damaged entry"
                problems.append(f"{name}: {reason}")
                continue
            if not blob:
                problems.append(f"{name}: empty file")
                continue
            members.append(Member(name, blob, _content_type(name)))
    return Expanded(tuple(members), tuple(problems))


def _check_layout(data: bytes, infos: list[zipfile.ZipInfo], start_dir: int) -> None:
    """Refuse entries whose data overlap each other or the central directory."""
    spans: list[tuple[int, int]] = []
    for info in infos:
        start = info.header_offset
        head = data[start : start + 30]
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            continue  # a bad local header fails when the entry is opened
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        spans.append((start, start + 30 + name_len + extra_len + info.compress_size))
    spans.sort()
    for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False):
        if next_start < end:
            raise Unreadable("zip entries overlap (a zip bomb)")
    if spans and spans[-1][1] > start_dir:
        raise Unreadable("zip entries overlap the central directory (a zip bomb)")


def _is_junk(raw_name: str) -> bool:
    """macOS resource forks and Windows/Finder metadata files that archivers add."""
    name = raw_name.replace("\\", "/")
    base = name.rsplit("/", 1)[-1]
    return name.startswith(_JUNK) or base.lower() in _JUNK_NAMES or base.startswith("._")


def _entry_name(info: zipfile.ZipInfo) -> tuple[str, str]:
    """(display name, refusal reason or "") for an entry."""
    raw = _raw_name(info)
    text = decode_name(raw, bool(info.flag_bits & 0x800), _unicode_path(info, raw))
    name = clean_filename(text, default="tep-trong-zip")
    path = text.replace("\\", "/")
    if len(raw) > MAX_NAME_BYTES:
        return name[:80], "file name too long"
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return name, "absolute path in archive"
    if ".." in path.split("/"):
        return name, "path leads outside the archive (..)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return name, "symbolic link"
    if info.flag_bits & 0x1:
        return name, PROTECTED
    return name, ""


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    """The name's bytes as stored (zipfile decoded them as UTF-8 or cp437)."""
    if info.flag_bits & 0x800:
        return info.orig_filename.encode("utf-8", errors="surrogateescape")
    return info.orig_filename.encode("cp437", errors="replace")


def _unicode_path(info: zipfile.ZipInfo, raw: bytes) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075), when its CRC matches the stored name."""
    extra = info.extra
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[pos : pos + 4])
        body = extra[pos + 4 : pos + 4 + size]
        if tag == 0x7075 and len(body) > 5 and body[0] == 1:
            if struct.unpack("<I", body[1:5])[0] == zlib.crc32(raw):
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
        pos += 4 + size
    return None


_VIETNAMESE = set(ACCENTED)


def _score(text: str) -> int:
    """How Vietnamese a decoded name reads: well-formed syllables and Vietnamese letters
    count for it, symbols (cp437's box drawing, Greek, maths) against it."""
    score = 0
    for word in text.replace("_", " ").replace("-", " ").split():
        if not word.isascii():
            core = "".join(c for c in word if c.isalpha())
            score += 3 if core and is_syllable(core) else 0
    for ch in text:
        if ch.isascii():
            continue
        if ch in _VIETNAMESE:
            score += 1
        elif not unicodedata.category(ch).startswith(("L", "M")):
            score -= 3
    return score


def decode_name(raw: bytes, utf8_flag: bool, unicode_path: str | None = None) -> str:
    """A zip entry name as NFC text (see the module docstring for the order of trust)."""
    if unicode_path:
        return unicodedata.normalize("NFC", unicode_path)
    if utf8_flag or raw.isascii():
        return unicodedata.normalize("NFC", raw.decode("utf-8", errors="replace"))
    try:
        return unicodedata.normalize("NFC", raw.decode("utf-8"))  # UTF-8 without the flag
    except UnicodeDecodeError:
        pass
    readings: list[tuple[int, int, str]] = []
    for preference, encoding in enumerate(("cp437", "cp1258")):
        try:
            text = unicodedata.normalize("NFC", raw.decode(encoding))
        except UnicodeDecodeError:
            continue
        readings.append((_score(text), preference, text))
    if not readings:
        return raw.decode("cp437", errors="replace")
    return max(readings)[2]


# --- forwarded mail ------------------------------------------------------------------------


def _message(data: bytes) -> Expanded:
    """The attachments of a forwarded message, each with the inner sender."""
    from parsers.mime import MalformedMessage, parse_message

    try:
        inner = parse_message(data)
    except MalformedMessage as e:
        raise Unreadable("forwarded message cannot be parsed") from e
    members = tuple(
        Member(p.filename, p.data, p.content_type, inner.from_addr) for p in inner.parts if p.data
    )
    problems = tuple(f"{p.filename}: empty attachment" for p in inner.parts if not p.data)
    return Expanded(members, problems)


# --- winmail.dat ---------------------------------------------------------------------------

_TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"
_TNEF_KEEP = {0x9006, 0x9007, 0x9002, 0x8010, 0x800F, 0x9005}  # version, codepage, attachments
_TNEF_MAPI = 0x9005
_LONG_FILENAME = 0x3707
_MAPI_FIXED = {
    0x0002: 2,
    0x000B: 2,
    0x0003: 4,
    0x0004: 4,
    0x000A: 4,
    0x0005: 8,
    0x0007: 8,
    0x0006: 8,
    0x0014: 8,
    0x0040: 8,
    0x0048: 16,
    0x0001: 0,
}
_MAPI_VARIABLE = {0x001E, 0x001F, 0x000D, 0x0102, 0x0000}


def _tnef_objects(data: bytes) -> Iterator[tuple[int, int, bytes, bool]]:
    """(level, attribute id, whole object, complete) for each TNEF object, walked the way
    tnefparse walks them, bounded in count; an object cut off by the end of the file is
    yielded with complete=False."""
    offset, count = 6, 0
    while offset + 12 < len(data):
        count += 1
        if count > MAX_TNEF_OBJECTS:
            raise Unreadable("winmail.dat has too many parts")
        level = data[offset]
        (attr,) = struct.unpack_from("<H", data, offset + 1)
        (length,) = struct.unpack_from("<I", data, offset + 5)
        size = min(len(data) - offset, length + 11)
        yield level, attr, data[offset : offset + size], size == length + 11
        offset += size


def _mapi_ok(block: bytes) -> bool:
    """True when a MAPI property block is well-formed within its bytes, so tnefparse's loops
    (whose counts come from the file) stay bounded by the block's size."""
    try:
        (count,), pos = struct.unpack_from("<I", block), 4
        if count > len(block) // 4:
            return False
        for _ in range(count):
            ptype, pname = struct.unpack_from("<HH", block, pos)
            pos += 4
            if pname >= 0x8000:
                pos += 16
                (kind,) = struct.unpack_from("<I", block, pos)
                pos += 4
                if kind == 0:
                    pos += 4
                else:
                    (n,) = struct.unpack_from("<I", block, pos)
                    pos += 4 + n + (-n % 4)
            values = 1
            multi = bool(ptype & 0x1000)
            ptype &= ~0x1000
            if multi:
                (values,) = struct.unpack_from("<I", block, pos)
                pos += 4
            if values > len(block) - pos + 1:
                return False
            if ptype in _MAPI_FIXED:
                pos += _MAPI_FIXED[ptype] * values + (
                    2 if ptype in (0x0002, 0x000B) and values % 2 else 0
                )
            elif ptype in _MAPI_VARIABLE:
                if not multi:
                    (values,) = struct.unpack_from("<I", block, pos)
                    pos += 4
                    if values > len(block) - pos + 1:
                        return False
                for _ in range(values):
                    (n,) = struct.unpack_from("<I", block, pos)
                    pos += 4 + n + (-n % 4)
            else:
                return False
            if pos > len(block):
                return False
    except struct.error:
        return False
    return True


def _tnef(data: bytes) -> Expanded:
    """Attachments of a winmail.dat. Only the attachment objects are handed to tnefparse
    (message properties and recipients are dropped), each MAPI block checked first."""
    import tnefparse

    if not data.startswith(_TNEF_SIGNATURE) or len(data) < 6:
        raise Unreadable("winmail.dat is damaged")
    kept = [data[:6]]
    problems: list[str] = []
    for level, attr, whole, complete in _tnef_objects(data):
        if not complete:
            problems.append("winmail.dat is cut off; its last part is missing")
            break
        if attr not in _TNEF_KEEP:
            continue
        if attr == _TNEF_MAPI and level == 2 and not _mapi_ok(whole[9:-2]):
            problems.append("an attachment's properties in winmail.dat are damaged")
            continue
        kept.append(whole)
    try:
        tnef = tnefparse.TNEF(b"".join(kept), do_checksum=False)
        attachments = list(tnef.attachments)
        codepage = tnef.codepage or "cp1252"
    except (
        ValueError,
        struct.error,
        IndexError,
        KeyError,
        TypeError,
        AttributeError,
        UnicodeError,
        LookupError,
        OverflowError,
        RecursionError,
        NameError,
    ) as e:
        log.info("winmail.dat unreadable: %s: %s", type(e).__name__, e)
        raise Unreadable("winmail.dat is damaged") from e
    members: list[Member] = []
    budget = Budget(MAX_TOTAL_BYTES)
    for index, att in enumerate(attachments, 1):
        name = clean_filename(_tnef_name(att, codepage), default=f"tep-dinh-kem-{index}")
        blob = att.data if isinstance(att.data, bytes) else b""
        if getattr(att, "embed", None) is not None:
            problems.append(f"{name}: embedded Outlook item not read")
            continue
        if not blob:
            problems.append(f"{name}: empty attachment")
            continue
        try:
            budget.take(len(blob))
        except BudgetExceeded as e:
            problems.append(f"{name}: {e}")
            continue
        members.append(Member(name, blob, _content_type(name)))
    return Expanded(tuple(members), tuple(problems))


def _tnef_name(att: object, codepage: str) -> str:
    """The long (Unicode) file name when Outlook wrote one, else the title in the codepage."""
    for prop in getattr(att, "mapi_attrs", []):
        if getattr(prop, "name", None) == _LONG_FILENAME:
            try:
                value = prop.data
            except (UnicodeError, ValueError, struct.error):
                continue
            if isinstance(value, str) and value.strip("\x00 "):
                return unicodedata.normalize("NFC", value.strip("\x00"))
    raw = getattr(att, "_name", b"")  # tnefparse decodes it as UTF-8 only: decode it here
    if isinstance(raw, str):
        return unicodedata.normalize("NFC", raw.strip("\x00"))
    raw = raw.rstrip(b"\x00")
    try:
        return unicodedata.normalize("NFC", raw.decode("utf-8"))
    except UnicodeDecodeError:
        try:
            return unicodedata.normalize("NFC", raw.decode(codepage, errors="replace"))
        except LookupError:
            return raw.decode("cp1252", errors="replace")
