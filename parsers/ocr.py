"""Optical character recognition: a page image → its words, lines and confidence (Tesseract).

This module is the only one that imports `tesserocr` (Tesseract's C API, in-process, so the
work counts against the parse worker's own CPU and memory limits and dies with it). The
Vietnamese model comes from Debian's `tesseract-ocr-vie` (`/usr/share/tesseract-ocr/*/tessdata`,
or `TESSDATA_PREFIX`); without it `recognise` raises `Unreadable("OCR not available …")`, a
note on that one file. Tesseract runs single-threaded (`OMP_THREAD_LIMIT=1`): the parse workers
are the parallelism.

The pages one message may OCR are bounded: inside `with ocr_budget(n):` (the parse stage opens
one per message, `limits.max_ocr_pages`) every page takes one from the budget; `take_page()`
says False once it is spent. Outside a block the budget is `MAX_OCR_PAGES` per call site.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from PIL import Image

from parsers.facts import Unreadable

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # before libtesseract starts OpenMP

log = logging.getLogger(__name__)

MAX_OCR_PAGES = 20  # default pages per message (limits.max_ocr_pages)
LANG = "vie"
NOT_AVAILABLE = "OCR not available (install tesseract-ocr-vie)"


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float  # 0–100
    box: tuple[int, int, int, int]  # left, top, right, bottom in the page image's pixels
    line: int  # index of its text line on the page


@dataclass(frozen=True)
class OcrPage:
    text: str  # Tesseract's reading order, lines separated by "\n"
    confidence: float  # mean word confidence, 0–100
    words: tuple[Word, ...]
    size: tuple[int, int]  # of the image that was read


class OcrBudget:
    """Pages left to one message's OCR."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take_page(self) -> bool:
        if self.used >= self.limit:
            return False
        self.used += 1
        return True


_BUDGET: ContextVar[OcrBudget | None] = ContextVar("ocr_budget", default=None)


@contextmanager
def ocr_budget(limit: int) -> Iterator[OcrBudget]:
    """Every page OCR'd inside the block (scanned PDFs, photographed pages) draws on one budget
    of `limit` pages: the caller's unit of work, one message."""
    budget = OcrBudget(limit)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def current_budget() -> OcrBudget:
    """The message's budget, or a fresh one of MAX_OCR_PAGES outside an `ocr_budget` block."""
    return _BUDGET.get() or OcrBudget(MAX_OCR_PAGES)


def tessdata() -> str | None:
    """The tessdata directory holding the Vietnamese model, or None."""
    candidates = [os.environ.get("TESSDATA_PREFIX", "")]
    candidates += sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata"), reverse=True)
    candidates += ["/usr/share/tessdata", "/usr/local/share/tessdata"]
    for path in candidates:
        if path and os.path.isfile(os.path.join(path, f"{LANG}.traineddata")):
            return path.rstrip("/") + "/"
    return None


_lock = threading.Lock()
_api: Any = None


def _engine() -> Any:
    """One Tesseract instance per process (loading the model costs ~0.3 s)."""
    global _api
    if _api is None:
        path = tessdata()
        if path is None:
            raise Unreadable(NOT_AVAILABLE)
        try:
            import tesserocr
        except ImportError as e:
            raise Unreadable(NOT_AVAILABLE) from e
        try:
            _api = tesserocr.PyTessBaseAPI(path=path, lang=LANG, psm=tesserocr.PSM.AUTO)
        except RuntimeError as e:
            raise Unreadable(NOT_AVAILABLE) from e
    return _api


def available() -> bool:
    try:
        _engine()
    except Unreadable:
        return False
    return True


def recognise(image: Image.Image) -> OcrPage:
    """Read one upright page image (grayscale or RGB, ~300 dpi)."""
    import tesserocr

    with _lock:
        api = _engine()
        api.SetImage(image)
        try:
            api.Recognize()
            text = api.GetUTF8Text() or ""
            words = _words(api, tesserocr)
        finally:
            api.Clear()
    confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
    return OcrPage(text=text, confidence=round(confidence, 1), words=tuple(words), size=image.size)


def _words(api: Any, tesserocr: Any) -> list[Word]:
    level = tesserocr.RIL.WORD
    out: list[Word] = []
    line = -1
    iterator = api.GetIterator()
    if iterator is None:
        return out
    for r in tesserocr.iterate_level(iterator, level):
        if r.Empty(level):
            continue
        if line < 0 or r.IsAtBeginningOf(tesserocr.RIL.TEXTLINE):
            line += 1
        text = r.GetUTF8Text(level)
        box = r.BoundingBox(level)
        if not text or box is None:
            continue
        out.append(Word(text.strip(), float(r.Confidence(level)), tuple(box), line))
    return out
