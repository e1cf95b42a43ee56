"""A mutation fuzzer over realistic unit mail (the campaign generator's messages and a forwarded
message): hypothesis picks byte-level mutations — flips, cuts, duplicated chunks, and tokens
that matter to MIME (CR/LF, boundaries, encoded words, RFC 2231 parameters, 8-bit and
surrogate-making bytes, NUL, RTLO) placed mostly where the structure is (header lines, part
delimiters). The budget is fixed and derandomized, so a run is repeatable.

The per-message boundary must hold: `parse_message` returns or raises `MalformedMessage`,
`envelope` and `kept_headers` never raise, the parse stage (in-process) raises nothing but
`MalformedMessage`, and every string they return is clean (NFC, no surrogates, NULs, BiDi or
control characters)."""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.parsestage import Limits, stage
from parsers.mime import MalformedMessage, ParsedMessage, envelope, kept_headers, parse_message
from store.files import FileStore
from tests.support import docgen_media
from tests.support.config import ROSTER
from tests.support.mailgen import campaign_mailbox

TOKENS = (
    b"\r\n",
    b"\n",
    b"\r",
    b"\r\n\r\n",
    b"\x00",
    b"\xff\xfe",
    b"\xed\xa0\x80",
    b"\xc3",
    b"\xe2\x80\xae",
    b"\xe2\x80\xa8",
    b"--",
    b"--\r\n",
    b"=?utf-8?B?",
    b"=?utf-8?Q?=0D=0A?=",
    b"=?utf-7?B?K0FEdy0=?=",
    b"=?x-unknown?Q?a?=",
    b"?=",
    b'boundary="',
    b"boundary=",
    b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: attachment; ",
    b"filename*0*=utf-8''%E1%BB",
    b"filename*=x-bad''%",
    b'filename="../../',
    b"name*1=",
    b"charset=utf-7",
    b"charset=x-nope",
    b"=\r\n",
    b"=ZZ",
    b"\t",
    b" ",
    b";",
    b":",
    b"<",
    b">",
    b'"',
    b"\\",
    b"@",
    b",",
    b"(",
    b")",
)
OPS = ("flip", "insert", "token", "delete", "duplicate", "truncate", "swap")
_STRUCTURE = re.compile(rb"\n(?:--|[A-Za-z-]+:)")
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@functools.cache
def seeds() -> tuple[bytes, ...]:
    return (*campaign_mailbox(ROSTER, 4, seed=17), docgen_media.forwarded_message().raw)


@functools.cache
def anchors(index: int) -> tuple[int, ...]:
    return tuple(m.start() + 1 for m in _STRUCTURE.finditer(seeds()[index]))


def mutate(index: int, ops: list[tuple[str, int, int, bool]]) -> bytes:
    raw = bytearray(seeds()[index])
    marks = anchors(index)
    for op, a, b, near in ops:
        if not raw:
            break
        pos = (marks[a % len(marks)] + b % 40) % len(raw) if near and marks else a % len(raw)
        if op == "flip":
            raw[pos] ^= 1 << (b % 8)
        elif op == "insert":
            raw[pos:pos] = bytes([b % 256]) * (1 + b % 3)
        elif op == "token":
            raw[pos:pos] = TOKENS[b % len(TOKENS)] * (1 + (b >> 8) % 4)
        elif op == "delete":
            del raw[pos : pos + 1 + b % 64]
        elif op == "duplicate":
            raw[pos:pos] = raw[pos : pos + 1 + b % 512]
        elif op == "truncate":
            del raw[max(pos, 1) :]
        elif op == "swap":  # two structural lines trade places
            other = marks[b % len(marks)] % len(raw) if marks else b % len(raw)
            i, j = sorted((pos, other))
            line_i, line_j = raw[i : i + 60], raw[j : j + 60]
            if j >= i + 60:
                raw[j : j + 60], raw[i : i + 60] = line_i, line_j
    return bytes(raw)


mutations = st.lists(
    st.tuples(
        st.sampled_from(OPS), st.integers(0, 2**31 - 1), st.integers(0, 2**16 - 1), st.booleans()
    ),
    min_size=1,
    max_size=6,
)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_clean(value: str, what: str, *, multiline: bool = False) -> None:
    assert unicodedata.is_normalized("NFC", value), what
    bad = [
        ch
        for ch in value
        if 0xD800 <= ord(ch) <= 0xDFFF
        or ch in _BIDI
        or ch in "\x00\u2028\u2029"
        or (unicodedata.category(ch) == "Cc" and not (multiline and ch in "\n\t"))
    ]
    assert not bad, (what, bad[:5], value[:120])


def strings(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, string) for every string inside a dataclass tree."""
    if isinstance(value, str):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from strings(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, tuple | list | frozenset):
        for i, v in enumerate(value):
            yield from strings(v, f"{path}[{i}]")


MULTILINE = re.compile(r"\.(text|problem|reason|note|activity|warnings\[\d+\])$|\.sections\[")


def assert_parsed_clean(parsed: ParsedMessage) -> None:
    for path, value in strings(parsed):
        assert_clean(value, path, multiline=path == ".text")


@pytest.mark.parametrize("index", range(len(seeds())))
def test_seed_messages_parse(index: int) -> None:
    parsed = parse_message(seeds()[index])
    assert parsed.from_addr and parsed.parts
    assert_parsed_clean(parsed)


@FUZZ
@given(index=st.integers(0, len(seeds()) - 1), ops=mutations)
def test_mutated_mail_never_escapes_the_message_boundary(
    index: int, ops: list[tuple[str, int, int, bool]]
) -> None:
    raw = mutate(index, ops)
    env = envelope(raw)
    for path, value in strings(env):
        assert_clean(value, f"envelope{path}")
    for name, value in kept_headers(raw):
        assert_clean(name, "kept header name")
        assert_clean(value, f"kept header {name}")
    try:
        parsed = parse_message(raw)
    except MalformedMessage as e:
        assert str(e)
        return
    assert_parsed_clean(parsed)


@settings(FUZZ, max_examples=40)
@given(index=st.integers(0, len(seeds()) - 1), ops=mutations)
def test_mutated_mail_through_the_parse_stage(
    tmp_path_factory: pytest.TempPathFactory, index: int, ops: list[tuple[str, int, int, bool]]
) -> None:
    root = Path(tmp_path_factory.getbasetemp()) / "fuzz-store"
    files = FileStore(root)
    sha = files.put(mutate(index, ops))
    try:
        staged = stage(sha, str(root), Limits(parse_workers=0))
    except MalformedMessage:
        return
    for path, value in strings(staged):
        assert_clean(value, path, multiline=bool(MULTILINE.search(path)))
    for part in staged.parts:
        assert files.exists(part.sha256)
