"""The application object: builds the store, file store, filer and poller from one Config.
The CLI and the daemon are thin layers over it; tests build it with a fixed clock."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core import config as config_mod
from core.clock import Clock, SystemClock
from core.config import Config
from core.errors import StoreFault
from intake.filing import Filer
from intake.imap import ImapMailbox, Mailbox
from intake.importer import ImportResult, import_paths
from intake.parsestage import Limits, ParseStage
from intake.poll import Poller, PollResult
from intake.progress import NullProgress, Progress
from intake.roster import import_roster, read_roster
from store import faults
from store.db import open_store
from store.files import FileStore
from store.models import Message, Unit
from store.queries import CampaignStatus

if TYPE_CHECKING:
    from notifier.service import Notifier
    from notifier.smtp import Mailer

log = logging.getLogger(__name__)


class App:
    def __init__(self, cfg: Config, clock: Clock | None = None, *, migrate: bool = True) -> None:
        self.cfg = cfg
        self.clock = clock or SystemClock()
        try:
            self.engine, self.sessions = open_store(
                cfg.store_url, migrate=migrate, files_root=cfg.files_dir
            )
        except (SQLAlchemyError, OSError) as e:
            if not faults.fault(e):
                raise
            raise StoreFault(
                f"the store ({faults.where(cfg.store_url)}) cannot be opened: "
                f"{faults.describe(e)}; make it writable (owner, permissions, "
                "mount, disk) and start again"
            ) from e
        self.files = FileStore(cfg.files_dir)
        self.stage = ParseStage(
            str(self.files.root),
            Limits(**dataclasses.asdict(cfg.limits)),
            secret_env=(cfg.mailbox.password_env, cfg.smtp.password_env),
        )
        self.filer = Filer(
            self.sessions,
            self.files,
            self.clock,
            cfg.campaign,
            office=cfg.units.office_addresses,
            max_attempts=cfg.mailbox.max_attempts,
            authserv_id=cfg.mailbox.authserv_id,
            stage=self.stage,
            campaigns=cfg.campaigns,
        )
        self.progress: Progress = NullProgress()

    def show_progress(self, progress: Progress) -> None:
        """Report long work (backfill, import, reparse, export) to `progress`."""
        self.progress = progress
        self.filer.progress = progress

    def close(self) -> None:
        self.stage.close()
        self.engine.dispose()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- intake ------------------------------------------------------------------------------
    def mailbox(self) -> Mailbox:
        if self.cfg.mailbox.auth == "oauth2":
            from intake.oauth import settings_for
            from intake.oauthtokens import OAuth2Tokens

            tokens = OAuth2Tokens(settings_for(self.cfg, "mailbox"), self.clock)
            return ImapMailbox(self.cfg.mailbox, None, tokens=tokens)
        password = config_mod.password(self.cfg.mailbox, "mailbox")
        return ImapMailbox(self.cfg.mailbox, password)

    def poller(self, mailbox: Mailbox | None = None) -> Poller:
        return Poller(
            mailbox or self.mailbox(),
            self.sessions,
            self.files,
            self.clock,
            self.cfg.mailbox,
            process=self.filer.process_pending,
            max_message_bytes=self.cfg.limits.max_message_bytes,
            progress=self.progress,
        )

    def poll_once(self, mailbox: Mailbox | None = None) -> PollResult:
        return self.poller(mailbox).poll_once()

    def import_paths(self, paths: list[Path]) -> ImportResult:
        result = import_paths(paths, self.sessions, self.files, self.clock, self.progress)
        self.filer.process_pending()
        return result

    def import_roster(self, path: str | Path) -> tuple[int, int]:
        rows = read_roster(path)
        with self.sessions.begin() as s:
            return import_roster(s, rows, self.clock.now())

    def ensure_roster(self) -> int:
        """Import the configured roster when the store has no units yet (a fresh install);
        later changes go through `intake units import`. Returns the units added."""
        if not self.cfg.units.roster:
            return 0
        with self.sessions() as s:
            if s.scalar(select(Unit.id).limit(1)) is not None:
                return 0
        added, _ = self.import_roster(self.cfg.path(self.cfg.units.roster))
        log.info("imported %d unit(s) from %s", added, self.cfg.units.roster)
        return added

    def reparse(self, message_ids: list[int] | None = None) -> int:
        with self.sessions() as s:
            q = select(Message.id).order_by(Message.id)
            if message_ids is not None:
                q = q.where(Message.id.in_(message_ids))
            ids = list(s.scalars(q))
        return self.filer.reparse(ids)

    # -- notices -----------------------------------------------------------------------------
    def mailer(self) -> Mailer | None:
        """The SMTP mailer, or None when [smtp] has no host (notices are queued, not sent)."""
        return build_mailer(self.cfg)

    def notifier(self, mailer: Mailer | None = None) -> Notifier:
        from notifier.service import Notifier

        return Notifier(self.cfg, self.sessions, self.files, self.clock, mailer or self.mailer())

    # -- reading -----------------------------------------------------------------------------
    def status(self, campaign_id: str | None = None) -> CampaignStatus:
        """One campaign's status (the first campaign when `campaign_id` is None)."""
        from intake.campaignstatus import status_of

        with self.sessions() as s:
            return status_of(s, self.cfg, campaign_id, self.clock.now())


def build_mailer(cfg: Config) -> Mailer | None:
    """The SMTP mailer for `cfg`, or None when [smtp] has no host."""
    from notifier.smtp import SmtpMailer

    sm = cfg.smtp
    if not sm.host:
        return None
    if sm.auth != "oauth2":
        return SmtpMailer(sm, config_mod.password(sm, "smtp"))
    from intake.oauth import settings_for
    from intake.oauthtokens import OAuth2Tokens

    oauth = settings_for(cfg, "smtp")
    if not sm.username:  # the XOAUTH2 user is the account of `intake auth login`
        sm = dataclasses.replace(sm, username=oauth.username)
    return SmtpMailer(sm, tokens=OAuth2Tokens(oauth))
