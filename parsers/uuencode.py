"""Files uuencoded inside a text body (`begin 644 name` … `end`), as old mailers and some
scanners still send them: `extract()` returns the text without those blocks and the files.

Each line is decoded on its own with `binascii.a2b_uu`; a line it refuses is retried cut to
the length its first character declares (what the old `uu` module did for trailing garbage),
and a line still refused is skipped, so one damaged line costs its 45 bytes, not the file. A
block without its `end` line (a message cut off in transit) runs as long as its lines decode
as they are, so prose after a stray `begin` line stays text. At most `MAX_FILES` files and
`MAX_BYTES` decoded bytes are taken; blocks beyond stay in the text.
Pure: text in, (text, files) out.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

MAX_FILES = 100
MAX_BYTES = 64 * 2**20  # all files of one message together
_BEGIN = re.compile(r"^begin[ \t]+[0-7]{3,4}[ \t]+(\S[^\r\n]*?)[ \t]*\r?$", re.M)
_END = re.compile(r"^end[ \t]*\r?$", re.M)


@dataclass(frozen=True)
class UuFile:
    name: str  # as written after the mode, uncleaned
    data: bytes
    bad_lines: int  # lines that could not be decoded and were skipped


def _line(line: str, lenient: bool = True) -> bytes | None:
    """One uuencoded line, or None when it cannot be read."""
    try:
        raw = line.rstrip("\r\n").encode("ascii")
    except UnicodeEncodeError:
        return None
    if not raw.strip():
        return b""
    try:
        return binascii.a2b_uu(raw)
    except binascii.Error:
        if not lenient:
            return None
        n = (((raw[0] - 32) & 63) * 4 + 5) // 3
        try:
            return binascii.a2b_uu(raw[:n])
        except binascii.Error:
            return None


def extract(
    text: str, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES
) -> tuple[str, list[UuFile]]:
    """`text` without its uuencoded blocks, and the files decoded from them (a block that
    decodes to nothing stays in the text)."""
    if "begin " not in text and "begin\t" not in text:
        return text, []
    files: list[UuFile] = []
    kept: list[str] = []
    pos = search = 0
    budget = max_bytes
    while len(files) < max_files:
        begin = _BEGIN.search(text, search)
        if begin is None:
            break
        search = begin.end()
        end = _END.search(text, begin.end())
        stop = end.start() if end else len(text)
        after = end.end() if end else begin.end()
        chunks: list[bytes] = []
        bad = 0
        size = 0
        for line in text[begin.end() : stop].splitlines(keepends=True):
            data = _line(line, lenient=end is not None)
            if data is None and end is None:
                break  # no `end`: the block stops at the first line that is not uuencode
            if data is None:
                bad += 1
                continue
            if end is None:
                after += len(line)
            chunks.append(data)
            size += len(data)
            if size > budget:
                break
        if size > budget:
            break  # over the bound: this block and the rest stay in the text
        if not size:
            continue  # nothing decoded (a stray `begin` line in prose): it stays text
        budget -= size
        kept.append(text[pos : begin.start()])
        pos = search = after
        files.append(UuFile(begin.group(1), b"".join(chunks), bad))
    kept.append(text[pos:])
    return "".join(kept), files
