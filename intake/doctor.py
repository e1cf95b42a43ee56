"""`intake doctor`: check what the daemon needs, one line each, with a fix for each failure.

Each fix names the exact thing to do: the environment variable to set, the file that is not
there, the folders that do exist, the key and the file to edit. A processed folder that does not
exist yet is not a failure: the poller creates it at its first MOVE."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from core import config as config_mod
from core.errors import ConfigError, CredentialsError, IntakeError, TransientError

SECRETS_FILE = "/etc/intake/secrets.env"  # where the README's service steps keep the secrets

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


def run_checks(
    config_path: str | None, *, smtp_check: Callable[[config_mod.Config], str] | None = None
) -> list[Check]:
    checks: list[Check] = []
    try:
        cfg = config_mod.load(config_path)
        checks.append(Check("config", True, f"{cfg.source} loaded"))
    except ConfigError as e:
        return [Check("config", False, str(e), "fix the named key; see config.example.toml")]

    def tz() -> str:
        ZoneInfo(cfg.campaign.timezone)
        return f"{cfg.campaign.timezone}, deadline {cfg.campaign.deadline_at.isoformat()}"

    checks.append(
        _run(
            "timezone",
            tz,
            lambda e: (
                "install tzdata (apt-get install tzdata), or set "
                f"[campaign] timezone in {cfg.source} to a zone name such as Asia/Ho_Chi_Minh"
            ),
        )
    )

    roster_path = cfg.path(cfg.units.roster) if cfg.units.roster else None

    def roster() -> str:
        from intake.roster import read_roster

        if roster_path is None:
            raise ConfigError("units.roster is not set")
        if not roster_path.is_file():
            raise ConfigError(f"roster file {roster_path} does not exist")
        rows = read_roster(roster_path)
        return f"{len(rows)} units in {roster_path}"

    def roster_fix(e: Exception) -> str:
        if roster_path is None:
            return f'set [units] roster = "/path/to/units.csv" in {cfg.source}'
        if not roster_path.is_file():
            return (
                f"put the roster (CSV or XLSX) at {roster_path}, or set [units] roster in "
                f"{cfg.source} to the file's real path"
            )
        if not os.access(roster_path, os.R_OK):
            return f"let the user intake runs as read {roster_path} (chmod/chown)"
        return (
            f"fix {roster_path}: a header row code,name,kind,emails,aliases "
            "(see examples/units-thanh-oai-2021.csv)"
        )

    checks.append(_run("roster", roster, roster_fix))

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

    checks.append(
        _run("database", database, lambda e: "run: intake db upgrade (and check store.url)")
    )

    def disk() -> str:
        path = cfg.files_dir
        while not path.exists():
            path = path.parent
        free = shutil.disk_usage(path).free
        if free < MIN_FREE_BYTES:
            raise OSError(f"only {free / 2**20:.0f} MiB free under {path}")
        return f"{free / 2**30:.1f} GiB free under {path}"

    checks.append(
        _run(
            "disk",
            disk,
            lambda e: (
                f"free space under {cfg.files_dir}, or set [store] "
                f"files in {cfg.source} to a disk with at least 1 GiB free"
            ),
        )
    )

    def imap() -> str:
        from intake.imap import ImapMailbox

        if not cfg.mailbox.host:
            raise ConfigError("mailbox.host is not set")
        if cfg.mailbox.auth == "oauth2":
            from intake.oauth import settings_for
            from intake.oauthtokens import OAuth2Tokens

            tokens = OAuth2Tokens(settings_for(cfg, "mailbox"))
            box = ImapMailbox(cfg.mailbox, None, tokens=tokens)
        else:
            box = ImapMailbox(cfg.mailbox, config_mod.password(cfg.mailbox, "mailbox"))
        box.connect()
        try:
            caps = box.capabilities()
            if not box.folder_exists(cfg.mailbox.folder):
                existing.extend(box.folders())
                raise ConfigError(f"folder {cfg.mailbox.folder!r} does not exist on the server")
            processed = cfg.mailbox.processed_folder
            later = bool(processed) and not box.folder_exists(processed)
            info = box.select(cfg.mailbox.folder)
        finally:
            box.close()
        extras = ", ".join(c for c in ("IDLE", "MOVE", "UIDPLUS", "CONDSTORE") if c in caps)
        note = (
            f"; processed folder {processed!r} does not exist yet: it will be created at the "
            "first poll"
            if later
            else ""
        )
        return (
            f"{cfg.mailbox.account}: {info.exists} message(s) in {cfg.mailbox.folder}; "
            f"{extras}{note}"
        )

    def imap_fix(e: Exception) -> str:
        if isinstance(e, CredentialsError) and cfg.mailbox.auth == "oauth2":
            return (
                "run: intake auth login (then intake auth status shows the account and "
                "expiry); a running daemon resumes by itself within seconds, no restart"
            )
        mb = cfg.mailbox
        if secret := _secret_fix(mb, "mailbox", "IMAP"):
            return secret
        if isinstance(e, CredentialsError):
            return (
                f"check [mailbox] username = {mb.username!r} and the password in "
                f"{_secret_source(mb)}"
            )
        if isinstance(e, TransientError):
            return (
                f"check [mailbox] host = {mb.host!r}, port = {mb.port}, security = "
                f"{mb.security!r} in {cfg.source}, and that this machine reaches "
                f"{mb.host}:{mb.port}"
            )
        if not mb.host:
            return f'set [mailbox] host = "imap.example.com" in {cfg.source}'
        if existing:
            return (
                f"set [mailbox] folder in {cfg.source} to one of the folders on the server: "
                + ", ".join(sorted(existing))
            )
        if isinstance(e, IntakeError):
            return f"fix [mailbox] in {cfg.source} as the error says"
        return f"see the error; check [mailbox] in {cfg.source}"

    existing: list[str] = []  # the server's folders, when the read folder is missing
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


def _secret_source(section: config_mod.MailboxConfig | config_mod.SmtpConfig) -> str:
    if section.password_env:
        return f"the environment variable {section.password_env}"
    if section.password_file:
        return f"the file {section.password_file}"
    return "password_env or password_file (neither is set)"


def _secret_fix(
    section: config_mod.MailboxConfig | config_mod.SmtpConfig, name: str, what: str
) -> str:
    """The fix when the section's secret cannot be read at all ("" when it can)."""
    if getattr(section, "auth", "password") == "oauth2":
        return ""
    env, path = section.password_env, section.password_file
    if env and env not in os.environ:
        return (
            f"set the environment variable {env} to the {what} password: export {env}=… in "
            f"this shell; for the service, a line {env}=… in {SECRETS_FILE}"
        )
    if not env and path and not os.access(path, os.R_OK):
        return (
            f"create {path} holding the {what} password (one line), readable by the user "
            "intake runs as (chmod 0600)"
        )
    if not env and not path and section.username:
        return (
            f'set [{name}] password_env = "INTAKE_{name.upper()}_PASSWORD" and export that variable'
        )
    return ""


def _smtp_fix(e: Exception, cfg: config_mod.Config) -> str:
    sm = cfg.smtp
    if isinstance(e, CredentialsError) and sm.auth == "oauth2":
        return (
            "run: intake auth login"
            + (" --smtp" if sm.provider else "")
            + "; a running daemon sends with the new token, no restart"
        )
    if secret := _secret_fix(sm, "smtp", "SMTP"):
        return secret
    if isinstance(e, CredentialsError):
        return f"check [smtp] username = {sm.username!r} and the password in {_secret_source(sm)}"
    if isinstance(e, ConfigError):
        return f"fix [smtp] in {cfg.source} as the error says"
    return (
        f"check [smtp] host = {sm.host!r}, port = {sm.port}, security = {sm.security!r} in "
        f"{cfg.source}, and that this machine reaches {sm.host}:{sm.port}"
    )


def render(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        mark = "ok  " if c.ok else "FAIL"
        lines.append(f"{mark} {c.name:<9} {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"     {'':<9} fix: {c.fix}")
    return "\n".join(lines)
