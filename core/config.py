"""The configuration: one typed, frozen object loaded from TOML (tomllib) at start-up.

Unknown keys and wrong types are errors naming the key and the file. Secrets never live in the
TOML: `password_env` names an environment variable, `password_file` a file; the loaded value is
a `Secret` whose repr is `***`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from datetime import time
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from core.campaignconfig import (
    CampaignConfig,
    ColumnConfig,
    TableConfig,
    read_campaign,
    read_campaigns,
)
from core.errors import ConfigError

__all__ = ["CampaignConfig", "ColumnConfig", "TableConfig"]  # from core.campaignconfig

SECURITY = ("ssl", "starttls", "none")  # [mailbox] and [smtp] security


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (a password may then go without TLS)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


AUTH = ("password", "oauth2")
PROVIDERS = ("google", "microsoft", "custom")


@dataclass(frozen=True)
class OAuth2Keys:
    """The keys of `auth = "oauth2"` (in [mailbox] and [smtp]); intake/oauth.py uses them. The
    tokens live in `token_file` (0600), never here."""

    auth: str = "password"
    provider: str = ""
    client_id: str = ""
    client_secret_env: str = ""
    client_secret_file: str = ""
    tenant: str = "organizations"
    scopes: list[str] = field(default_factory=list)
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    device_authorization_endpoint: str = ""
    token_file: str = ""


@dataclass(frozen=True)
class ServerConfig(OAuth2Keys):
    """The keys every mail server section has ([mailbox] for IMAP, [smtp]): where it is, how
    the connection is protected, and whose credentials (named, never held) log in to it."""

    host: str = ""
    port: int = 0
    security: str = "ssl"  # "ssl" (implicit TLS) | "starttls" | "none"
    username: str = ""
    password_env: str = ""
    password_file: str = ""
    timeout: float = 30.0
    allow_insecure: bool = False  # allow a password without TLS to a non-loopback host

    def plaintext_refused(self) -> bool:
        """Whether logging in here would send a password in clear to another machine."""
        return self.security == "none" and not (self.allow_insecure or is_loopback(self.host))


@dataclass(frozen=True)
class MailboxConfig(ServerConfig):
    port: int = 993
    timeout: float = 60.0
    folder: str = "INBOX"
    processed_folder: str = ""
    processed_keyword: str = "$IntakeFiled"
    poll_interval: int = 300
    batch_size: int = 50
    max_attempts: int = 5
    authserv_id: str = ""

    @property
    def account(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"


@dataclass(frozen=True)
class SmtpConfig(ServerConfig):
    port: int = 465
    sender: str = ""  # "Phòng GDĐT Thanh Oai <totrunghoc@example>" or a bare address

    @property
    def envelope_from(self) -> str:
        return parseaddr(self.sender)[1]


@dataclass(frozen=True)
class StoreConfig:
    url: str = ""
    files: str = ""


@dataclass(frozen=True)
class UnitsConfig:
    roster: str = ""
    office_addresses: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DigestConfig:
    recipients: list[str] = field(default_factory=list)
    at: str = "07:00"

    @property
    def at_time(self) -> time:
        return time.fromisoformat(self.at)


@dataclass(frozen=True)
class NotifyConfig:
    receipts: bool = True
    receipt_max_age_hours: int = 72
    reminder_days: list[int] = field(default_factory=lambda: [5, 3, 1])
    reminder_at: str = "08:00"
    overdue: bool = True
    templates: str = ""
    # a reminder slot whose time has passed is skipped when the next slot comes within this
    # many hours, or a reminder of the campaign reached the unit within them (issue 16 item 3)
    reminder_min_gap: int = 24

    @property
    def reminder_time(self) -> time:
        return time.fromisoformat(self.reminder_at)


@dataclass(frozen=True)
class LimitsConfig:
    max_message_bytes: int = 50 * 2**20
    max_parts: int = 200
    max_attachments: int = 100
    parse_workers: int = 2
    parse_timeout: float = 120.0
    parse_memory_mb: int = 1536
    parse_cpu_seconds: int = 90
    max_mime_parts: int = 1000
    max_mime_depth: int = 50
    max_ocr_pages: int = 20  # pages one message may have read by OCR (parsers.ocr)
    max_message_pixels: int = 300_000_000  # decoded image pixels per message (parsers.photo)


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = ""  # the console's address as users reach it (https://… behind a proxy)
    secret_file: str = ""  # the session-signing key; "" = web-secret beside [store] files
    trusted_proxy: str = ""  # the reverse proxy's address, whose X-Forwarded-* are believed

    @property
    def secure(self) -> bool:
        return self.base_url.startswith("https://")


@dataclass(frozen=True)
class Config:
    mailbox: MailboxConfig = field(default_factory=MailboxConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    units: UnitsConfig = field(default_factory=UnitsConfig)
    campaign: CampaignConfig = field(default_factory=CampaignConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    web: WebConfig = field(default_factory=WebConfig)
    source: str = "(defaults)"
    base_dir: str = "."
    # every campaign of the mailbox ([[campaigns]]); a single [campaign] is the one of them
    campaigns: tuple[CampaignConfig, ...] = ()

    def __post_init__(self) -> None:
        if not self.campaigns:
            object.__setattr__(self, "campaigns", (self.campaign,))
        elif self.campaign is not self.campaigns[0]:
            object.__setattr__(self, "campaign", self.campaigns[0])

    def path(self, value: str) -> Path:
        """A path from the config, relative to the config file's directory."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    @property
    def store_url(self) -> str:
        url = self.store.url
        if not url:
            return f"sqlite:///{self.path('var/intake.sqlite3')}"
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.path(url[len(prefix) :]))  # relative to the config file
        return url

    @property
    def files_dir(self) -> Path:
        return self.path(self.store.files or "var/files")


SECTIONS: dict[str, type] = {
    "mailbox": MailboxConfig,
    "smtp": SmtpConfig,
    "store": StoreConfig,
    "units": UnitsConfig,
    "campaign": CampaignConfig,
    "digest": DigestConfig,
    "notify": NotifyConfig,
    "limits": LimitsConfig,
    "web": WebConfig,
}


# The allowed values of every numeric key (inclusive), checked at start-up: a value outside is
# refused with this range. A test checks that every int/float key is listed here.
RANGES: dict[str, tuple[int, int, str]] = {
    "mailbox.port": (1, 65535, ""),
    "mailbox.poll_interval": (1, 86400, " seconds"),
    "mailbox.timeout": (1, 3600, " seconds"),
    "mailbox.batch_size": (1, 1000, " messages"),
    "mailbox.max_attempts": (1, 100, " attempts"),
    "smtp.port": (1, 65535, ""),
    "smtp.timeout": (1, 3600, " seconds"),
    "campaign.min_photos": (0, 100, " photos"),
    "notify.receipt_max_age_hours": (1, 8760, " hours"),
    "notify.reminder_days": (0, 365, " days"),  # each item
    "notify.reminder_min_gap": (0, 720, " hours"),
    "limits.max_message_bytes": (1024, 2**30, " bytes"),
    "limits.max_parts": (1, 100_000, " parts"),
    "limits.max_attachments": (1, 10_000, " attachments"),
    "limits.parse_workers": (0, 64, " workers"),
    "limits.parse_timeout": (1, 3600, " seconds"),
    "limits.parse_memory_mb": (256, 65536, " MiB"),  # a worker's address space is ~110 MiB at rest
    "limits.parse_cpu_seconds": (1, 3600, " seconds"),
    "limits.max_mime_parts": (1, 1_000_000, " parts"),
    "limits.max_mime_depth": (2, 1000, " levels"),
    "limits.max_ocr_pages": (0, 500, " pages"),
    "web.port": (1, 65535, ""),
    "limits.max_message_pixels": (1_000_000, 100_000_000_000, " pixels"),
}


def _check_ranges(cfg: Config) -> None:
    for key, (low, high, unit) in RANGES.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        for v in value if isinstance(value, list) else [value]:
            if not low <= v <= high:
                raise ConfigError(
                    f"{cfg.source}: {key} = {v!r} is out of range: "
                    f"allowed {low:,} to {high:,}{unit}"
                )


def _check_type(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is list:
        (inner,) = typing.get_args(hint)
        return isinstance(value, list) and all(_check_type(v, inner) for v in value)
    if origin in (types.UnionType, typing.Union):
        return any(_check_type(value, h) for h in typing.get_args(hint))
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _section(name: str, cls: type, raw: Any, source: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key, value in raw.items():
        if key in ("password", "secret", "client_secret", "access_token", "refresh_token"):
            raise ConfigError(f"{source}: {name}.{key}: secrets do not belong in the TOML")
        if key not in known:
            hint = ", ".join(sorted(known))
            raise ConfigError(f"{source}: unknown key {name}.{key} (known keys: {hint})")
        if not _check_type(value, hints[key]):
            want = getattr(hints[key], "__name__", str(hints[key]))
            raise ConfigError(
                f"{source}: {name}.{key} must be {want}, not {type(value).__name__} ({value!r})"
            )
    return cls(**raw)


def _validate(cfg: Config) -> None:
    src = cfg.source
    for name in ("mailbox", "smtp"):
        sec = getattr(cfg, name)
        if sec.security not in SECURITY:
            raise ConfigError(f"{src}: {name}.security must be one of {', '.join(SECURITY)}")
        if sec.password_env and sec.password_file:
            raise ConfigError(f"{src}: {name}: give password_env or password_file, not both")
        _validate_oauth2(src, name, sec)
    if cfg.smtp.auth == "oauth2" and not cfg.smtp.provider and cfg.mailbox.auth != "oauth2":
        raise ConfigError(f'{src}: smtp.provider is required unless [mailbox] uses auth = "oauth2"')
    for key, value in (
        ("digest.at", cfg.digest.at),
        ("notify.reminder_at", cfg.notify.reminder_at),
    ):
        try:
            time.fromisoformat(value)
        except ValueError as e:
            raise ConfigError(f"{src}: {key} must be HH:MM") from e
    _check_ranges(cfg)
    if cfg.web.base_url and not cfg.web.base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"{src}: web.base_url must start with https:// (or http://), "
            f"e.g. https://intake.thanhoai.example"
        )
    if cfg.notify.templates and not cfg.path(cfg.notify.templates).is_dir():
        raise ConfigError(
            f"{src}: notify.templates: folder {cfg.path(cfg.notify.templates)} does not exist; "
            'create it (copy the files of notifier/templates to reword them) or set templates = ""'
        )


def _validate_oauth2(src: str, name: str, sec: ServerConfig) -> None:
    if sec.auth not in AUTH:
        raise ConfigError(f"{src}: {name}.auth must be one of {', '.join(AUTH)}")
    if sec.client_secret_env and sec.client_secret_file:
        raise ConfigError(f"{src}: {name}: give client_secret_env or client_secret_file, not both")
    if sec.auth != "oauth2":
        return
    if sec.password_env or sec.password_file:
        raise ConfigError(f'{src}: {name}: auth = "oauth2" takes no password_env/password_file')
    if name == "smtp" and not sec.provider:
        return  # [smtp] shares the mailbox's OAuth2 client and token (intake/oauth.py)
    if sec.provider not in PROVIDERS:
        raise ConfigError(f"{src}: {name}.provider must be one of {', '.join(PROVIDERS)}")
    if not sec.client_id:
        raise ConfigError(f'{src}: {name}.client_id is required with auth = "oauth2"')
    if sec.provider == "custom" and not (
        sec.token_endpoint and (sec.device_authorization_endpoint or sec.authorization_endpoint)
    ):
        raise ConfigError(
            f'{src}: {name}: provider = "custom" needs token_endpoint and '
            "device_authorization_endpoint or authorization_endpoint"
        )


def parse(text: str, source: str = "(string)", base_dir: str = ".") -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from e
    sections: dict[str, Any] = {}
    if "campaign" in raw and "campaigns" in raw:
        raise ConfigError(f"{source}: give [campaign] (one) or [[campaigns]] (several), not both")
    for name, value in raw.items():
        if name == "campaigns":
            sections[name] = read_campaigns(value, source, _section)
            continue
        if name == "campaign":
            sections[name] = read_campaign(name, value, source, _section, several=False)
            continue
        if name not in SECTIONS:
            raise ConfigError(
                f"{source}: unknown section [{name}] (known: {', '.join(SECTIONS)}, campaigns)"
            )
        sections[name] = _section(name, SECTIONS[name], value, source)
    cfg = Config(**sections, source=source, base_dir=base_dir)
    _validate(cfg)
    return cfg


def load(path: str | Path | None) -> Config:
    """Load the config at `path`, or defaults when `path` is None."""
    if path is None:
        return Config(base_dir=str(Path.cwd()))
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read config {p}: {e.strerror}") from e
    return parse(text, source=str(p), base_dir=str(p.resolve().parent))


def password(section: ServerConfig, name: str) -> Secret | None:
    """Read a section's secret from its environment variable or file."""
    if section.password_env:
        value = os.environ.get(section.password_env)
        if value is None:
            raise ConfigError(
                f"{name}.password_env: environment variable {section.password_env} is not set"
            )
        return Secret(value)
    if section.password_file:
        try:
            return Secret(Path(section.password_file).read_text(encoding="utf-8").strip("\r\n"))
        except OSError as e:
            raise ConfigError(
                f"{name}.password_file: cannot read {section.password_file}: {e.strerror}"
            ) from e
    return None
