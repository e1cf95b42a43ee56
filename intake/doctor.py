"""`intake doctor`: check what the daemon needs, one line each, with a fix for each failure."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from intake import config as config_mod
from intake.errors import ConfigError, CredentialsError, IntakeError, TransientError

MIN_FREE_BYTES = 1 << 30  # 1 GiB


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _run(name: str, fn: Callable[[], str], fix: Callable[[Exception], str]) -> Check:
    try:
        return Check(name, True, fn())
    except Exception as e:  # noqa: BLE001 - doctor reports every failure as a line
        return Check(name, False, f"{type(e).__name__}: {e}", fix(e))


def run_checks(config_path: str | None, *, smtp_check: Callable[[config_mod.Config], str] | None = None) -> list[Check]:
    checks: list[Check] = []
    try:
        cfg = config_mod.load(config_path)
        checks.append(Check("config", True, f"{cfg.source} loaded"))
    except ConfigError as e:
        return [Check("config", False, str(e), "fix the named key; see config.example.toml")]

    def tz() -> str:
        ZoneInfo(cfg.campaign.timezone)
        return f"{cfg.campaign.timezone}, deadline {cfg.campaign.deadline_at.isoformat()}"

    checks.append(_run("timezone", tz, lambda e: "install tzdata or fix campaign.timezone"))

    def roster() -> str:
        from intake.roster import read_roster

        if not cfg.units.roster:
            raise ConfigError("units.roster is not set")
        rows = read_roster(cfg.path(cfg.units.roster))
        return f"{len(rows)} units in {cfg.units.roster}"

    checks.append(_run("roster", roster, lambda e: "fix the roster file (columns code,name,kind,emails,aliases)"))

    def database() -> str:
        from store.db import current_revision, head_revision, make_engine

        engine = make_engine(cfg.store_url)
        try:
            cur, head = current_revision(engine), head_revision(engine)
        finally:
            engine.dispose()
        if cur != head:
            raise ConfigError(f"schema at {cur}, code expects {head}")
        return f"{engine.url.render_as_string(hide_password=True)} at revision {cur}"

    checks.append(_run("database", database, lambda e: "run: intake db upgrade (and check store.url)"))

    def disk() -> str:
        path = cfg.files_dir
        while not path.exists():
            path = path.parent
        free = shutil.disk_usage(path).free
        if free < MIN_FREE_BYTES:
            raise OSError(f"only {free / 2**20:.0f} MiB free under {path}")
        return f"{free / 2**30:.1f} GiB free under {path}"

    checks.append(_run("disk", disk, lambda e: "free space or move store.files"))

    def imap() -> str:
        from intake.imap import ImapMailbox

        if not cfg.mailbox.host:
            raise ConfigError("mailbox.host is not set")
        if cfg.mailbox.auth == "oauth2":
            from intake.oauth import OAuth2Tokens, settings_for

            tokens = OAuth2Tokens(settings_for(cfg, "mailbox"))
            box = ImapMailbox(cfg.mailbox, None, tokens=tokens)
        else:
            box = ImapMailbox(cfg.mailbox, config_mod.password(cfg.mailbox, "mailbox"))
        box.connect()
        try:
            caps = box.capabilities()
            wanted = [cfg.mailbox.folder] + ([cfg.mailbox.processed_folder] if cfg.mailbox.processed_folder else [])
            missing = [f for f in wanted if not box.folder_exists(f)]
            if missing:
                raise ConfigError(f"folder {missing[0]!r} does not exist on the server")
            info = box.select(cfg.mailbox.folder)
        finally:
            box.close()
        extras = ", ".join(c for c in ("IDLE", "MOVE", "UIDPLUS", "CONDSTORE") if c in caps)
        return f"{cfg.mailbox.account}: {info.exists} message(s) in {cfg.mailbox.folder}; {extras}"

    def imap_fix(e: Exception) -> str:
        if isinstance(e, CredentialsError) and cfg.mailbox.auth == "oauth2":
            return "run: intake auth login (then intake auth status shows the account and expiry)"
        if isinstance(e, CredentialsError):
            return "check mailbox.username and the password in mailbox.password_env/password_file"
        if isinstance(e, TransientError):
            return "check mailbox.host/port/security and the network"
        if isinstance(e, IntakeError):
            return "fix the mailbox section"
        return "see the error"

    checks.append(_run("imap", imap, imap_fix))
    checks.append(_run("smtp", lambda: (smtp_check or _smtp)(cfg), lambda e: _smtp_fix(e, cfg)))
    return checks


def _smtp(cfg: config_mod.Config) -> str:
    from intake.app import build_mailer
    from notifier.smtp import SmtpMailer

    mailer = build_mailer(cfg)
    if mailer is None:
        return "smtp.host is not set: receipts, reminders and the digest are queued, not sent"
    if not isinstance(mailer, SmtpMailer):
        raise ConfigError("unexpected mailer")
    return mailer.check()


def _smtp_fix(e: Exception, cfg: config_mod.Config) -> str:
    if isinstance(e, CredentialsError) and cfg.smtp.auth == "oauth2":
        return "run: intake auth login" + (" --smtp" if cfg.smtp.provider else "")
    if isinstance(e, CredentialsError):
        return "check smtp.username and the password in smtp.password_env/password_file"
    if isinstance(e, ConfigError):
        return "fix the smtp section"
    return "check smtp.host/port/security and the network"


def render(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        mark = "ok  " if c.ok else "FAIL"
        lines.append(f"{mark} {c.name:<9} {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"     {'':<9} fix: {c.fix}")
    return "\n".join(lines)

