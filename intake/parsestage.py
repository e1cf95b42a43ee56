"""The bounded parse stage: a stored raw message → its parts filed in the file store and the
facts of each, computed in worker processes with a memory cap (RLIMIT_AS), a CPU cap per
message (RLIMIT_CPU, re-armed per task) and a wall-clock timeout. A message whose worker dies or
overruns (time, CPU or
memory) is run again alone in a fresh worker, and when it is killed alone too it costs that one
message a permanent `MessageError` with the reason (the same bytes would be killed again: set
aside at once, not retried); the pool is rebuilt and work goes on. The images of one message
share a budget of decoded pixels (`max_message_pixels`, parsers.photo.pixel_budget): past it,
the remaining images get a note instead of being decoded.

A store fault in a worker (the file store's disk full or read-only: store.faults) is the
daemon's failure, not the message's: `StoreFault` is raised to the caller. `stream(stop=...)`
checks the stop flag while it waits, so a stop request is answered within a fraction of a
second: the workers are killed and the messages they held stay due.

The workers never see a secret: they are forked from multiprocessing's fork server, which is
started with the passwords, tokens and secrets taken out of the environment it is exec'd with
(`clean_forkserver`), so neither their `os.environ` nor /proc/PID/environ holds one.

`parse_workers = 0` runs the same code in-process (the demo, fast logic tests).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import re
import resource
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.config import LimitsConfig
from core.errors import MessageError, StoreFault
from intake.identify import Decision
from intake.matching import MatcherSpec, evidence, matcher_for
from parsers.documents import read_document
from parsers.facts import DocumentFacts
from parsers.lift import lift, restore
from parsers.mime import (
    MalformedMessage,
    ParsedMessage,
    Part,
    parse_message,
)
from parsers.ocr import ocr_budget
from parsers.photo import pixel_budget
from store import faults
from store.facts import facts_json
from store.files import FileStore

log = logging.getLogger(__name__)


# The parse stage's limits are the [limits] section itself (core.config.LimitsConfig), passed
# as it is; `Limits` is its name here for the callers that build one in code.
Limits = LimitsConfig


@dataclass(frozen=True)
class StagedPart:
    filename: str
    content_type: str
    sha256: str
    size: int
    facts: DocumentFacts
    parent: int | None = None  # index of the container part this came out of
    sender: str = ""  # inner From of a forwarded message's part
    facts_json: str = ""  # what the store keeps of `facts` (thumbnails put in the file store)


@dataclass(frozen=True)
class Staged:
    parsed: ParsedMessage  # parts' data stripped (the bytes are in the file store)
    parts: tuple[StagedPart, ...]
    problems: tuple[str, ...] = field(default=())
    decision: Decision | None = None  # the unit, decided beside the parsing (intake.matching)


def _expand(facts: DocumentFacts, data: bytes) -> tuple[list[tuple[str, bytes, str, str]], str]:
    """Members of a container as (name, data, content_type, sender), and a problem string."""
    if facts.kind not in ("archive", "email") and facts.fmt != "tnef":
        return [], ""
    from parsers import archive  # the container reader (zip, rfc822, tnef)
    from parsers.facts import Unreadable

    try:
        out = archive.expand(data, facts.fmt)
    except Unreadable as e:
        return [], str(e)
    members = [(m.name, m.data, m.content_type, m.sender) for m in out.members]
    return members, "; ".join(out.problems)


def stage(
    sha256: str, files_root: str, limits: LimitsConfig, spec: MatcherSpec | None = None
) -> Staged:
    """Parse one stored message and file its parts. Runs in a worker (or in-process). The
    parts' files are made durable together before it returns (FileStore.batch)."""
    files = FileStore(files_root)
    with files.batch(), pixel_budget(limits.max_message_pixels):
        with ocr_budget(limits.max_ocr_pages):  # OCR pages one message may cost
            staged = _stage(files, sha256, limits)
    if spec is None:
        return staged
    return replace(
        staged, decision=matcher_for(spec).identify(evidence(staged.parsed, staged.parts))
    )


def _stage(files: FileStore, sha256: str, limits: LimitsConfig) -> Staged:
    raw = files.get(sha256)
    parsed = _parse(raw, limits)
    del raw
    problems: list[str] = []
    parts = list(parsed.parts)
    cut_attachments = ""
    if len(parts) > limits.max_attachments:
        cut_attachments = (
            f"{len(parts)} attachments; only the first {limits.max_attachments} were read"
        )
        problems.append(cut_attachments)
        parts = parts[: limits.max_attachments]
    staged: list[StagedPart] = []
    queue: list[tuple[str, bytes, str, int | None, str]] = [
        (p.filename, p.data, p.content_type, None, "") for p in parts
    ]
    while queue:
        name, data, ctype, parent, sender = queue.pop(0)
        if len(staged) >= limits.max_parts:
            problems.append(f"more than {limits.max_parts} parts; the rest was not read")
            # say so on the container whose files were left out (or the last attachment)
            left: dict[int, int] = {}
            for q in [(name, data, ctype, parent, sender), *queue]:
                target = q[3] if q[3] is not None else len(staged) - 1
                left[target] = left.get(target, 0) + 1
            for target, count in left.items():
                _note(
                    staged,
                    target,
                    f"{count} file(s) not read: more than {limits.max_parts} files in one message",
                )
            break
        facts = read_document(data, name, ctype)
        members, problem = _expand(facts, data)
        if problem:
            facts = replace(facts, problem="; ".join(filter(None, [facts.problem, problem])))
        staged.append(StagedPart(name, ctype, files.put(data), len(data), facts, parent, sender))
        index = len(staged) - 1
        if facts.kind == "email" and members:
            # mail-parser also lists a forwarded message's attachments flat beside it: keep the
            # copies that come out of the message (they carry the inner sender), drop the rest
            inner = {m_data for _, m_data, _, _ in members}
            queue = [q for q in queue if not (q[3] == parent and q[1] in inner)]
        queue.extend(
            (m_name, m_data, m_ctype, index, m_sender)
            for m_name, m_data, m_ctype, m_sender in members
        )
    if cut_attachments and staged:
        top = max(i for i, p in enumerate(staged) if p.parent is None)
        _note(staged, top, cut_attachments)
    staged = [replace(p, facts_json=facts_json(p.facts, files)) for p in staged]
    light = replace(
        parsed,
        parts=tuple(
            Part(p.filename, p.content_type, b"", p.inline, p.content_id) for p in parsed.parts
        ),
    )
    return Staged(light, tuple(staged), tuple(problems))


def _parse(raw: bytes, limits: LimitsConfig) -> ParsedMessage:
    """parse_message, with large base64 attachments kept out of the MIME parser (parsers.lift:
    a 25 MB attachment costs ~25 MB here instead of ~260 MB); the whole message is parsed the
    ordinary way when lifting does not apply or its result cannot be trusted."""
    lifted = lift(raw)
    if lifted is not None:
        try:
            skeleton = parse_message(
                lifted.skeleton, max_parts=limits.max_mime_parts, max_depth=limits.max_mime_depth
            )
        except MalformedMessage:
            skeleton = None  # the full parse below gives the reason
        restored = restore(skeleton, lifted, raw) if skeleton is not None else None
        if restored is not None:
            return restored
        log.info("large parts could not be lifted; parsing the whole message")
    return parse_message(raw, max_parts=limits.max_mime_parts, max_depth=limits.max_mime_depth)


def _note(staged: list[StagedPart], index: int, problem: str) -> None:
    """Add `problem` to the facts of staged part `index` (where the filing shows problems)."""
    part = staged[index]
    text = "; ".join(filter(None, [part.facts.problem, problem]))
    staged[index] = replace(part, facts=replace(part.facts, problem=text))


# environment variables the parse workers must not inherit (besides the configured password_env)
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|API_?KEY|PRIVATE_?KEY", re.I)
_FORKSERVER_LOCK = threading.Lock()
# set for the fork server (and so every parse worker) unless the operator set them: what a
# worker holds at rest counts in its RLIMIT_AS and is taken from the message it parses
_WORKER_ENV = {
    # glibc reserves 64 MiB of address space per thread's malloc arena: with the 16 fsync
    # threads of store.files a worker at rest took 1.5 GB of its RLIMIT_AS (155 MiB RSS)
    # and ordinary mail failed "memory limit" or "can't start new thread"
    "MALLOC_ARENA_MAX": "2",
    # numpy's OpenBLAS and the one bundled in cv2 (parsers.pageimage) each start a thread per
    # core with its own buffer when loaded: 180 MB of address space on 2 cores, for no use (a
    # worker parses one message at a time, and nothing there multiplies matrices)
    "OPENBLAS_NUM_THREADS": "1",
}


def _forkserver_alive() -> bool:
    pid = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    if pid is None:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def clean_forkserver(secret_env: Sequence[str] = ()) -> None:
    """Start the fork server the parse workers are forked from (once per process; again if it
    died) with every secret-looking variable, and the ones named in `secret_env`, taken out of
    the environment for the moment it is exec'd. The environment is put back at once: the main
    process still reads its passwords from it."""
    with _FORKSERVER_LOCK:
        if _forkserver_alive():
            return
        names = [k for k in os.environ if k in secret_env or SECRET_NAME.search(k)]
        saved = {k: os.environ.pop(k) for k in names}
        unset = [k for k in _WORKER_ENV if k not in os.environ]
        for k in unset:
            os.environ[k] = _WORKER_ENV[k]
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            for k in unset:
                os.environ.pop(k, None)
            os.environ.update(saved)


def _worker_init(memory_mb: int) -> None:
    threading.stack_size(2 * 2**20)  # the fsync threads need little; 8 MiB each counts in RLIMIT_AS
    limit = memory_mb * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(
        resource.RLIMIT_AS,
        (
            limit,
            hard if hard != resource.RLIM_INFINITY and hard < limit else resource.RLIM_INFINITY,
        ),
    )


def _guarded(
    sha256: str, files_root: str, limits: LimitsConfig, spec: MatcherSpec | None
) -> Staged:
    """The worker's task: re-arm the CPU limit for this message, then stage it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (used + limits.parse_cpu_seconds, hard))
    try:
        return stage(sha256, files_root, limits, spec)
    except MemoryError:  # judged by the main process: alone or in company (ParseStage._judge)
        raise MemoryError(f"parsing needed more than {limits.parse_memory_mb} MB") from None


_STOPPED = object()  # the stream was asked to stop while it waited


class ParseStage:
    def __init__(
        self, files_root: str, limits: LimitsConfig | None = None, secret_env: Sequence[str] = ()
    ) -> None:
        self.files_root = files_root
        self.limits = limits or LimitsConfig()
        self.secret_env = tuple(n for n in secret_env if n)
        self._pool: cf.ProcessPoolExecutor | None = None
        if self.limits.parse_workers > 0:
            clean_forkserver(self.secret_env)  # now, before the daemon starts its threads

    def _executor(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            clean_forkserver(self.secret_env)
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.limits.parse_workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_worker_init,
                initargs=(self.limits.parse_memory_mb,),
            )
        return self._pool

    def _kill_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def run(self, sha256: str) -> Staged:
        """Stage one message; raises `MessageError` with the reason when it cannot be parsed."""
        result = self.run_many([sha256])[0]
        if isinstance(result, MessageError):
            raise result
        return result

    def run_many(self, shas: Sequence[str]) -> list[Staged | MessageError]:
        """Stage several messages using every worker; results in input order."""
        return list(self.stream(shas))

    def stream(
        self,
        shas: Sequence[str],
        ahead: int = 0,
        spec: MatcherSpec | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> Generator[Staged | MessageError]:
        """Stage messages on the workers and yield the results in input order, keeping up to
        `ahead` (default: 4 per worker) in flight, so the workers go on parsing while the caller
        files the result in hand. With `spec`, each message's unit is decided there too. After
        a timeout, a memory error or a dead worker, the messages that were in flight with the
        culprit run again alone, so only the culprit is charged — and, killed alone, it is set
        aside for good. When `stop()` turns true, the stream ends early (fewer results than
        `shas`) and the workers are killed."""
        if self.limits.parse_workers <= 0:
            for sha in shas:
                if stop is not None and stop():
                    return
                yield self._inline(sha, spec)
            return
        ahead = ahead or self.limits.parse_workers * 4
        pending = deque(range(len(shas)))
        inflight: deque[tuple[int, cf.Future[Staged]]] = deque()
        alone: set[int] = set()
        try:
            while pending or inflight:
                while pending and len(inflight) < ahead:
                    i = pending[0]
                    if inflight and (i in alone or inflight[-1][0] in alone):
                        break  # a suspect runs with nothing else in flight
                    pending.popleft()
                    inflight.append(
                        (
                            i,
                            self._executor().submit(
                                _guarded, shas[i], self.files_root, self.limits, spec
                            ),
                        )
                    )
                i, fut = inflight[0]
                result, broken = self._judge(fut, solo=i in alone, stop=stop)
                if result is _STOPPED:
                    self._kill_pool()  # what the workers hold stays due; nothing is lost
                    return
                inflight.popleft()
                if broken:
                    self._kill_pool()
                    redo = ([i] if result is None else []) + [j for j, _ in inflight]
                    inflight.clear()
                    alone.update(redo)
                    pending.extendleft(reversed(redo))
                if isinstance(result, Staged | MessageError):
                    yield result
        finally:
            for _, fut in inflight:  # the caller stopped early: drop what has not started
                fut.cancel()
            if stop is not None and stop() and any(not fut.done() for _, fut in inflight):
                self._kill_pool()  # a stop does not wait for the messages being parsed

    def _wait(self, fut: cf.Future[Staged], stop: Callable[[], bool] | None) -> bool:
        """Wait for `fut` up to the parse timeout, looking at `stop` every 0.2 s; False when
        asked to stop first."""
        deadline = time.monotonic() + self.limits.parse_timeout
        while not fut.done():
            if stop is not None and stop():
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                break
            cf.wait([fut], timeout=min(left, 0.2))
        return True

    def _judge(
        self, fut: cf.Future[Staged], solo: bool, stop: Callable[[], bool] | None = None
    ) -> tuple[object, bool]:
        """The result of one task (Staged or MessageError), and whether the pool must be
        rebuilt. None: not judged (killed in company, or in flight when another task broke the
        pool: it runs again alone). _STOPPED: asked to stop while waiting."""
        if not self._wait(fut, stop):
            return _STOPPED, False
        alone = " (alone in a fresh worker: set aside, not retried)"
        try:
            return fut.result(timeout=0), False
        except cf.TimeoutError:
            if solo:
                return MessageError(
                    f"parse timeout after {self.limits.parse_timeout:.0f} s{alone}", permanent=True
                ), True
            return None, True
        except BrokenProcessPool:
            if solo:
                return MessageError(
                    f"parse worker died (memory or CPU limit exceeded, or a crash){alone}",
                    permanent=True,
                ), True
            return None, True
        except MemoryError as e:
            if solo:
                return MessageError(f"memory limit: {e}{alone}", permanent=True), True
            return None, True
        except MessageError as e:
            return e, False
        except MalformedMessage as e:
            return MessageError(str(e), permanent=True), False
        except OSError as e:
            if faults.fault(e):
                raise StoreFault(f"the store cannot be written: {faults.describe(e)}") from e
            return MessageError(f"{type(e).__name__}: {e}"[:500]), False
        except Exception as e:  # noqa: BLE001 - a parser bug costs one message
            return MessageError(f"{type(e).__name__}: {e}"[:500]), False

    def _inline(self, sha: str, spec: MatcherSpec | None = None) -> Staged | MessageError:
        try:
            return stage(sha, self.files_root, self.limits, spec)
        except MalformedMessage as e:
            return MessageError(str(e), permanent=True)
        except MemoryError:
            return MessageError("memory limit")
        except OSError as e:
            if faults.fault(e):
                raise StoreFault(f"the store cannot be written: {faults.describe(e)}") from e
            log.exception("parsing %s failed", sha[:12])
            return MessageError(f"{type(e).__name__}: {e}"[:500])
        except Exception as e:  # a parser bug costs one message, not the daemon
            log.exception("parsing %s failed", sha[:12])
            return MessageError(f"{type(e).__name__}: {e}"[:500])
