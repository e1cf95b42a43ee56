"""`intake demo`: the real intake path against an embedded IMAP server, with nothing to set up.

`EmbeddedImap` serves pymap's in-memory ("dict") backend on a free loopback port from a
background thread running its own asyncio loop; mail is seeded through the backend's own API
(so only `intake/imap.py` speaks IMAP as a client). `run_demo` seeds it with realistic unit
emails made from the example roster: the week of lifelong learning (`intake.demo_mail`), and
the rest of an office mailbox (`intake.demo_mixed`): a second campaign with its own table and
deadline, one email carrying both campaigns' files, mail of no campaign, and two emails that
wait for the officer. It writes a config file with both campaigns into a throwaway directory,
and runs the application exactly as `intake poll --once` does: App → Poller → ImapMailbox over
loopback (security "none", allowed on loopback) → ledger, file store, filing → MOVE to the
processed folder. The notifier then decides what it would send; the demo has no SMTP server, so
receipts and reminders are queued in the outbox and never delivered. The report prints each
campaign's status table, the other mail, and a summary in the officer's Vietnamese.

pymap's gaps that shape this (FIELD-NOTES.md): custom keywords are dropped, so processed mail is
MOVEd to a folder; UIDs start at 101; no CONDSTORE; no implicit TLS (and the demo needs none).

The clock is fixed at the morning before the campaign deadline, so "late" and the reminders read
as they would have then. Nothing outlives the call: the server thread and its loop stop, the
parse pool is closed (the demo parses in-process) and the directory is removed unless `keep`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import dataclasses
import email.utils
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from argparse import Namespace
from collections.abc import Coroutine
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.parser import BytesHeaderParser
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import func, select

from core import config as config_mod
from core.clock import FixedClock
from core.errors import IntakeError
from intake.app import App
from intake.demo_mail import campaign_messages
from intake.demo_mixed import CAMPAIGNS_TOML, WEEK_ID, mixed_mailbox
from intake.poll import PollResult
from notifier.render import fmt_deadline
from store.campaigns import OtherMessage, campaigns_of, other_mail
from store.models import Message, MessageState, SubmissionState
from store.queries import CampaignStatus

log = logging.getLogger(__name__)

T = TypeVar("T")

ICT = timezone(timedelta(hours=7))
ROSTER = Path(__file__).resolve().parent.parent / "examples" / "units-thanh-oai-2021.csv"
DEMO_NOW = datetime(2021, 10, 9, 9, 0, tzinfo=ICT)  # the morning before the 10/10 deadline
DEMO_USER = "vanphong"
PROCESSED_FOLDER = "Đã xử lý"  # modified UTF-7 on the wire; what the officer sees in webmail
START_TIMEOUT = 10.0


class DemoError(IntakeError):
    """The embedded server could not start or answer."""


def _internaldate(raw: bytes, fallback: datetime) -> datetime:
    """When the server 'received' a seeded message: its Date header (what Gmail would show)."""
    value = BytesHeaderParser().parsebytes(raw).get("Date")
    try:
        when = email.utils.parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        return fallback
    return when


class EmbeddedImap:
    """An in-memory IMAP server (pymap's dict backend) on 127.0.0.1 for the life of a `with`.

    One user, a random password, no TLS (loopback only), LOGIN allowed. `seed` puts messages in
    a folder through the backend API; `counts` reads how many messages each folder holds.
    """

    def __init__(self, user: str = DEMO_USER, password: str | None = None) -> None:
        self.user = user
        self.password = password or secrets.token_urlsafe(16)
        self.host = "127.0.0.1"
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._mailboxes: Any = None  # pymap MailboxSet of the one user

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        ready: cf.Future[None] = cf.Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="intake-demo-imap", daemon=True
        )
        self._thread.start()
        try:
            ready.result(timeout=START_TIMEOUT)
        except (cf.TimeoutError, OSError, ImportError) as e:
            self.stop()
            raise DemoError(f"the embedded IMAP server did not start: {e}") from e

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop finished meanwhile
                pass
        thread.join(START_TIMEOUT)
        if thread.is_alive():
            log.warning("the embedded IMAP server thread did not stop in %.0f s", START_TIMEOUT)

    def __enter__(self) -> EmbeddedImap:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self, ready: cf.Future[None]) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as e:  # noqa: BLE001 - handed to the starting thread
            if not ready.done():
                ready.set_exception(e)
            else:
                log.error("the embedded IMAP server failed: %s", e)

    async def _serve(self, ready: cf.Future[None]) -> None:
        from proxyprotocol.reader import ProxyProtocolReader
        from pymap.backend.dict import Config, DictBackend, Login
        from pymap.backend.dict.filter import FilterSet
        from pymap.backend.dict.mailbox import MailboxSet
        from pymap.concurrent import Subsystem
        from pymap.imap import IMAPServer
        from pysasl.hashing import BuiltinHash

        class DemoConfig(Config):
            @property
            def greeting(self) -> bytes:  # the default asks DNS for this host's FQDN
                return b"Server ready intake-demo"

        args = Namespace(passlib_cfg=None, proxy_protocol=None, inherited_sockets=None, debug=False)
        config = DemoConfig(
            args,
            host=self.host,
            port=0,
            demo_data=False,
            demo_user=self.user,
            demo_password=self.password,
            tls_enabled=False,
            reject_dnsbl=False,
            invalid_user_sleep=0.0,
            hash_context=BuiltinHash(rounds=1000),  # a throwaway password: no slow hashing
            cpu_subsystem=Subsystem.for_asyncio(),  # no thread pool left behind
        )
        config.apply_context()
        login = Login(config)
        await DictBackend._add_demo_user(config, login)  # the one user, with its password
        self._mailboxes = MailboxSet()
        config.set_cache[self.user] = (self._mailboxes, FilterSet())
        handler = ProxyProtocolReader(config.proxy_protocol).get_callback(IMAPServer(login, config))
        server = await asyncio.start_server(handler, host=self.host, port=0)
        self.port = int(server.sockets[0].getsockname()[1])
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        ready.set_result(None)
        log.info("embedded IMAP server on %s:%d", self.host, self.port)
        async with server:
            await self._stop.wait()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise DemoError("the embedded IMAP server is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    # -- the mailbox -------------------------------------------------------------------------
    def seed(self, messages: list[bytes], folder: str = "INBOX", *, fallback: datetime) -> int:
        """Put `messages` into `folder` as delivered mail (\\Recent, unseen, INTERNALDATE from
        their Date header). Returns how many the folder holds afterwards."""
        return self._call(self._seed(messages, folder, fallback))

    async def _seed(self, messages: list[bytes], folder: str, fallback: datetime) -> int:
        from pymap.parsing.message import AppendMessage

        mbx = await self._mailbox(folder, create=True)
        for raw in messages:
            when = _internaldate(raw, fallback)
            await mbx.append(AppendMessage(raw, when, frozenset()), recent=True)
        return int((await mbx.snapshot()).exists)

    def counts(self, *folders: str) -> dict[str, int]:
        """How many messages each folder holds (0 for a folder that does not exist)."""
        return self._call(self._counts(folders))

    async def _counts(self, folders: tuple[str, ...]) -> dict[str, int]:
        from pymap.exceptions import MailboxNotFound

        out: dict[str, int] = {}
        for name in folders:
            try:
                out[name] = int((await (await self._mailbox(name)).snapshot()).exists)
            except (MailboxNotFound, KeyError):  # the dict backend raises KeyError
                out[name] = 0
        return out

    async def _mailbox(self, name: str, *, create: bool = False) -> Any:
        from pymap.exceptions import MailboxNotFound

        try:
            return await self._mailboxes.get_mailbox(name)
        except (MailboxNotFound, KeyError):  # the dict backend raises KeyError
            if not create:
                raise
            await self._mailboxes.add_mailbox(name)
            return await self._mailboxes.get_mailbox(name)


# -- the demo ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoResult:
    seeded: int
    poll: PollResult
    statuses: tuple[CampaignStatus, ...]  # one per campaign, in config order
    counted: dict[str, int]  # campaign id → messages counted in it (a split email in each)
    other: tuple[OtherMessage, ...]  # mail of no campaign
    waiting: int  # messages whose campaign waits for the officer
    server_counts: dict[str, int]
    states: dict[str, int]  # stored messages by state (filed, ignored, quarantined, …)
    receipts: int
    reminders: int
    seconds: float
    workdir: Path | None  # kept for inspection, else None
    report: str


def _config_toml(workdir: Path, server: EmbeddedImap, roster: Path) -> str:
    def q(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    return "\n".join(
        [
            "# Written by `intake demo`: the embedded IMAP server it names is gone now; the store",
            "# stays readable, e.g. `intake --config THIS_FILE status`.",
            "[mailbox]",
            f"host = {q(server.host)}",
            f"port = {server.port}",
            'security = "none"  # loopback only',
            f"username = {q(server.user)}",
            f"password_file = {q(str(workdir / 'imap-password'))}",
            'folder = "INBOX"',
            f"processed_folder = {q(PROCESSED_FOLDER)}",
            "timeout = 30.0",
            "",
            "[store]",
            f"url = {q('sqlite:///' + str(workdir / 'intake.sqlite3'))}",
            f"files = {q(str(workdir / 'files'))}",
            "",
            "[units]",
            f"roster = {q(str(roster))}",
            'office_addresses = ["totrunghoc-thanhoai@thanhoai.example"]',
            "",
            "[limits]",
            "parse_workers = 0  # parse in-process: no worker pool to start for 20 messages",
            "",
            "# two campaigns in one mailbox: the week of lifelong learning and the start-of-year",
            "# statistics (its own table, a later deadline, schools only)",
            CAMPAIGNS_TOML.strip(),
            "",
        ]
    )


STATE_VI = {
    "filed": "đã ghi nhận",
    "other": "thư khác",
    "unassigned": "chờ cán bộ xử lý",
    "ignored": "bỏ qua (thư tự động)",
    "quarantined": "cách ly",
    "received": "chưa xử lý",
}


def _vi_count(n: float, decimals: int = 0) -> str:
    return f"{n:.{decimals}f}".replace(".", ",")


def _summary(r: DemoResult) -> str:
    """What happened, for the officer: which campaigns the mailbox held, what was other mail,
    what waits for them, and what the run did."""
    p = r.poll
    tz = r.statuses[0].timezone if r.statuses else "Asia/Ho_Chi_Minh"
    folders = ", ".join(f"{name} {n}" for name, n in r.server_counts.items())
    plans = "; ".join(
        f"«{st.title}» (hạn nộp {fmt_deadline(st.deadline, st.timezone)}): "
        f"{r.counted.get(st.campaign_id, 0)} thư, "
        f"{sum(u.state == SubmissionState.COMPLETE for u in st.units)}/"
        f"{len(st.units)} đơn vị đã đủ"
        for st in r.statuses
    )
    lines = [
        f"Hộp thư minh họa có thư của {len(r.statuses)} kế hoạch — {plans}.",
        f"Thư khác, không thuộc kế hoạch nào: {len(r.other)} thư (giữ lại, không tính vào kế hoạch "
        "nào, không gửi biên nhận hay nhắc nhở).",
        f"Chờ cán bộ chọn kế hoạch: {r.waiting} thư (intake move SỐ-THƯ MÃ-KẾ-HOẠCH).",
        f"Đã đưa {r.seeded} thư vào máy chủ IMAP nhúng; một lần quét qua IMAP tải {p.fetched} thư, "
        f"lưu {p.stored} (trùng {p.duplicates}, lỗi {p.failed}), chuyển {p.marked} thư sang "
        f"“{PROCESSED_FOLDER}”, xử lý {p.processed}.",
        f"Máy chủ sau lần quét: {folders}; kho lưu: "
        + ", ".join(f"{n} {STATE_VI.get(state, state)}" for state, n in r.states.items())
        + ".",
        f"Hộp thư đi: {r.receipts} biên nhận và {r.reminders} thư nhắc đã xếp hàng, chưa gửi "
        "(bản minh họa không có máy chủ SMTP).",
        f"Đồng hồ minh họa: {DEMO_NOW:%d/%m/%Y %H:%M} ({tz}); "
        f"chạy hết {_vi_count(r.seconds, 1)} giây.",
    ]
    if p.error:
        lines.append(f"Lỗi khi quét hộp thư: {p.error}")
    if r.workdir is not None:
        lines.append(
            f"Đã giữ lại: {r.workdir} — xem: intake --config {r.workdir / 'config.toml'} status"
        )
    return "\n".join(lines)


def run_demo(
    messages: int = 20, *, keep: Path | None = None, seed: int = 1, roster: Path = ROSTER
) -> DemoResult:
    """Seed an embedded IMAP server with `messages` of the week's unit emails and the rest of
    an office mailbox (`intake.demo_mixed`, all but its week mail), poll it once with the real
    application, and return what happened with the status tables and a summary as `report`.

    With `keep`, the store, files and config are written there and left for inspection;
    otherwise everything lives in a temporary directory removed before returning."""
    from intake.statustable import render, render_other

    started = time.perf_counter()
    if not roster.is_file():
        raise DemoError(
            f"the example roster {roster} is missing (run the demo from a source checkout)"
        )
    mail = campaign_messages(roster, messages, seed)
    mail += [m.raw for m in mixed_mailbox(roster) if m.expect != WEEK_ID]
    clock = FixedClock(DEMO_NOW)
    with ExitStack() as stack:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            workdir = keep.resolve()
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="intake-demo-")))
        server = stack.enter_context(EmbeddedImap())
        seeded = server.seed(mail, "INBOX", fallback=clock.now() - timedelta(days=1))
        fd = os.open(workdir / "imap-password", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(server.password)
        path = workdir / "config.toml"
        path.write_text(_config_toml(workdir, server, roster), encoding="utf-8")
        cfg = config_mod.load(path)
        with App(cfg, clock) as app:
            app.ensure_roster()
            poll = app.poll_once()
            notifier = app.notifier()  # [smtp] has no host: nothing is delivered
            now = clock.now()
            receipts = notifier.queue_receipts(now)
            reminders = notifier.queue_reminders(now)
            statuses = tuple(app.status(c.id) for c in cfg.campaigns)
            with app.sessions() as sess:
                states = {
                    str(state): int(n)
                    for state, n in sess.execute(
                        select(Message.state, func.count())
                        .group_by(Message.state)
                        .order_by(Message.state)
                    )
                }
                counted: dict[str, int] = {}
                for msg in sess.scalars(select(Message).where(Message.state == MessageState.FILED)):
                    for cid in campaigns_of(sess, msg):
                        counted[cid] = counted.get(cid, 0) + 1
                others = other_mail(sess)
                waiting = int(
                    sess.scalar(
                        select(func.count())
                        .select_from(Message)
                        .where(
                            Message.state == MessageState.UNASSIGNED,
                            Message.campaign_id == "",
                            Message.unit_id.is_not(None),
                        )
                    )
                    or 0
                )
        counts = server.counts("INBOX", PROCESSED_FOLDER)
    result = DemoResult(
        seeded=seeded,
        poll=poll,
        statuses=statuses,
        counted=counted,
        other=others,
        waiting=waiting,
        server_counts=counts,
        states=states,
        receipts=receipts,
        reminders=reminders,
        seconds=time.perf_counter() - started,
        workdir=workdir if keep is not None else None,
        report="",
    )
    tables = [render(st) for st in statuses] + ([render_other(others)] if others else [])
    report = "\n\n".join(tables) + "\n\n" + _summary(result)
    return dataclasses.replace(result, report=report)


__all__ = ["DEMO_NOW", "PROCESSED_FOLDER", "DemoError", "DemoResult", "EmbeddedImap", "run_demo"]
