"""Writing files under a folder without following symbolic links, and file names that fit.

A folder the daemon writes into (an export, a digest's directory) may hold links someone
planted to make us write elsewhere. `SafeDir` holds an open directory descriptor and does
everything relative to it: sub-folders are opened with `O_NOFOLLOW | O_DIRECTORY`, files are
written to a new temp file (`O_CREAT | O_EXCL | O_NOFOLLOW`) and renamed over the name (a
rename replaces a directory entry, it never writes through one), and a name that already is a
link is refused with `LinkRefused`. Only the folder the caller names is opened the ordinary way
(that path is the caller's choice); nothing below it is followed. What it makes is private
to our user whatever the umask: folders 0700, files 0600 (an export names every unit's files).

`fit_name` bounds a name by bytes, as file systems do (255 bytes of UTF-8: a Vietnamese letter
takes 2–3), keeping the extension and never splitting a letter from its combining marks;
`safe_name` makes sender text a name any system takes (an export folder, an officer's zip opened
on Windows: no slashes, none of `<>:"|?*`, no control characters) and `UniqueNames` keeps names
unique within one folder as Windows and macOS compare them (case-insensitively).
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import stat
import unicodedata
from pathlib import Path

from parsers.text import clean_text

NAME_MAX = 255  # bytes, ext4/xfs/btrfs
_SEQ = itertools.count()
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class LinkRefused(OSError):
    """A path we were to write or walk through is a symbolic link; we do not follow it."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(errno.ELOOP, "is a symbolic link; refusing to follow it", str(path))

    def __str__(self) -> str:
        return f"{self.filename} is a symbolic link; refusing to follow it"


def _cut(text: str, budget: int) -> str:
    """The longest prefix of `text` of at most `budget` UTF-8 bytes that does not separate a
    base letter from the combining marks after it."""
    used = 0
    end = len(text)
    for i, ch in enumerate(text):
        n = len(ch.encode("utf-8", "surrogatepass"))
        if used + n > budget:
            end = i
            break
        used += n
    while 0 < end < len(text) and unicodedata.combining(text[end]):
        end -= 1
    return text[:end]


def fit_name(name: str, *, suffix: str = "", limit: int = NAME_MAX) -> str:
    """`name` with `suffix` (e.g. " (2)") put before its extension, cut to `limit` UTF-8 bytes.
    The extension (at most 16 characters) is kept; the stem is cut on a character boundary."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16 or " " in ext:
        stem, ext = name, ""
    tail = suffix + (f".{ext}" if ext else "")
    budget = limit - len(tail.encode("utf-8", "surrogatepass"))
    cut = _cut(stem, max(budget, 1)).rstrip(" .") or "_"
    return cut + tail


_SLASHES = re.compile(r"[/\\]+")
_WINDOWS_BAD = re.compile(r'[<>:"|?*]')


def safe_name(text: str) -> str:
    """Sender text as one path component: control characters out, slashes as "-", the
    characters Windows refuses as "_", blanks folded, no leading or trailing dot or space."""
    text = clean_text(text, keep_newlines=False)
    text = _WINDOWS_BAD.sub("_", _SLASHES.sub("-", text))
    return " ".join(text.split()).strip(" .")


class UniqueNames:
    """Unique names within one folder, compared case-insensitively, each fitted (`fit_name`)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, name: str) -> str:
        n = 1
        candidate = fit_name(name)
        while candidate.casefold() in self.used:
            n += 1
            candidate = fit_name(name, suffix=f" ({n})")
        self.used.add(candidate.casefold())
        return candidate


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


class SafeDir:
    """An open directory; everything below it is reached without following links."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False) -> SafeDir:
        """Open the folder the caller named (made, with its parents, when `create`)."""
        p = Path(path)
        if create and not p.exists():
            p.mkdir(mode=0o700, parents=True, exist_ok=True)  # an export names units' files
        fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        return cls(fd, p)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> SafeDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def subdir(self, name: str, *, create: bool = True) -> SafeDir:
        """The folder `name` inside this one (made when missing); a link there is refused."""
        if create:
            try:
                os.mkdir(name, 0o700, dir_fd=self.fd)
            except FileExistsError:
                pass
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=self.fd)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(name, self.fd):
                raise LinkRefused(self.path / name) from None
            raise
        return SafeDir(fd, self.path / name)

    def refuse_link(self, name: str) -> None:
        """Raise `LinkRefused` when `name` here is a symbolic link (to check several names
        before writing any of them)."""
        if _is_link(name, self.fd):
            raise LinkRefused(self.path / name)

    def write(self, name: str, data: bytes) -> Path:
        """Write `data` as `name` here (replacing a regular file of that name). A link at
        `name`, or anything that is not a regular file, is refused and left alone."""
        try:
            st = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            pass
        else:
            if stat.S_ISLNK(st.st_mode):
                raise LinkRefused(self.path / name)
            if not stat.S_ISREG(st.st_mode):
                raise IsADirectoryError(
                    errno.EISDIR, "is not a regular file", str(self.path / name)
                )
        tmp = f".intake-{os.getpid()}-{next(_SEQ)}.tmp"
        fd = os.open(tmp, _TMP_FLAGS, 0o600, dir_fd=self.fd)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=self.fd)
            except OSError:
                pass
            raise
        return self.path / name
