"""Config: typed, frozen, unknown keys and wrong types fail naming key and file; secrets only
from the environment or a file; config.example.toml documents every key."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from core import config as config_mod
from core.errors import ConfigError
from tests.support.config import ROOT

EXAMPLE = ROOT / "config.example.toml"


def test_example_documents_every_key_and_loads() -> None:
    cfg = config_mod.load(EXAMPLE)
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    for name, cls in config_mod.SECTIONS.items():
        keys = {f.name for f in dataclasses.fields(cls)}
        if name == "campaign":  # the example shows several: [[campaigns]], each with every key
            for entry in raw["campaigns"]:
                assert set(entry) == keys, f"[[campaigns]] {entry['id']}: keys differ"
                for column in entry["table"]["columns"]:
                    assert set(column) == {
                        f.name for f in dataclasses.fields(config_mod.ColumnConfig)
                    }
            continue
        assert set(raw[name]) == keys, f"[{name}] keys in config.example.toml differ"
    text = EXAMPLE.read_text(encoding="utf-8")
    # every key has a comment line somewhere in its section (documented, not just listed)
    for section in re.split(r"^\[", text, flags=re.M)[1:]:
        assert "#" in section
    assert cfg.campaign.deadline_at.utcoffset() is not None
    assert cfg.mailbox.security == "ssl"


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[mailbox]\nhots = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.toml: unknown key mailbox\.hots"):
        config_mod.load(p)


def test_unknown_section(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("[imap]\nhost = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown section \[imap\]"):
        config_mod.load(p)


def test_wrong_type_names_key(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[mailbox]\nport = "993"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mailbox\.port must be int"):
        config_mod.load(p)


def test_password_in_toml_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[smtp]\npassword = "hunter2"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        config_mod.load(p)
    assert "hunter2" not in str(e.value)


@pytest.mark.parametrize(
    "text, match",
    [
        ('[campaign]\ndeadline = "2021-10-10"\n', "needs an offset"),
        ('[campaign]\ntimezone = "Mars/Olympus"\n', "unknown"),
        ('[mailbox]\nsecurity = "tls"\n', "security must be one of"),
        ('[digest]\nat = "7h"\n', "HH:MM"),
        ('[campaign]\nrequired = ["report", "video"]\n', "unknown items"),
        ('[mailbox]\npassword_env = "A"\npassword_file = "b"\n', "not both"),
        ("[mailbox\n", "not valid TOML"),
    ],
)
def test_invalid_values(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        config_mod.load(p)


def test_secret_from_env_and_file_never_in_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_PW", "s3cret-env")
    sec = config_mod.MailboxConfig(password_env="X_PW")
    secret = config_mod.password(sec, "mailbox")
    assert secret is not None and secret.reveal() == "s3cret-env"
    assert "s3cret" not in repr(secret) and "s3cret" not in str(secret)
    f = tmp_path / "pw"
    f.write_text("from-file\n", encoding="utf-8")
    secret = config_mod.password(config_mod.SmtpConfig(password_file=str(f)), "smtp")
    assert secret is not None and secret.reveal() == "from-file"
    monkeypatch.delenv("X_PW")
    with pytest.raises(ConfigError, match="X_PW is not set"):
        config_mod.password(sec, "mailbox")


def test_relative_sqlite_url_is_relative_to_config_file(tmp_path: Path) -> None:
    d = tmp_path / "etc"
    d.mkdir()
    (d / "c.toml").write_text('[store]\nurl = "sqlite:///var/db.sqlite3"\n', encoding="utf-8")
    cfg = config_mod.load(d / "c.toml")
    assert cfg.store_url == f"sqlite:///{d / 'var' / 'db.sqlite3'}"
    assert cfg.files_dir == d / "var" / "files"


def test_config_is_frozen() -> None:
    cfg = config_mod.Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.mailbox = config_mod.MailboxConfig()  # type: ignore[misc]


def test_limits_defaults_are_the_documented_ones_and_the_parse_stage_ones() -> None:
    """Each [limits] default is the value config.example.toml documents and the one the parse
    stage uses when no config is given (e.g. max_message_pixels, the per-message image
    budget of parsers.photo)."""
    from intake.parsestage import Limits
    from parsers.mime import MAX_MIME_DEPTH, MAX_MIME_PARTS
    from parsers.ocr import MAX_OCR_PAGES
    from parsers.photo import MAX_MESSAGE_PIXELS

    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))["limits"]
    defaults = dataclasses.asdict(config_mod.LimitsConfig())
    assert example == defaults
    assert Limits is config_mod.LimitsConfig  # passed as it is, not copied field for field
    assert (
        defaults["max_message_pixels"],
        defaults["max_mime_parts"],
        defaults["max_mime_depth"],
        defaults["max_ocr_pages"],
    ) == (MAX_MESSAGE_PIXELS, MAX_MIME_PARTS, MAX_MIME_DEPTH, MAX_OCR_PAGES)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("localhost.localdomain", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("mail.hanoiedu.vn", False),
        ("10.0.0.5", False),
        ("localhost.hanoiedu.vn", False),
        ("", False),
    ],
)
def test_a_password_may_go_without_tls_only_to_this_machine(host: str, loopback: bool) -> None:
    """One rule for IMAP and SMTP (core.config.ServerConfig): both refuse a plaintext login
    elsewhere, unless allow_insecure says so."""
    from notifier.smtp import SmtpMailer

    assert config_mod.is_loopback(host) is loopback
    for cls in (config_mod.MailboxConfig, config_mod.SmtpConfig):
        assert cls(host=host, security="none").plaintext_refused() is not loopback
        assert not cls(host=host, security="none", allow_insecure=True).plaintext_refused()
        assert not cls(host=host, security="starttls").plaintext_refused()
    if host and not loopback:
        smtp = config_mod.SmtpConfig(host=host, port=25, security="none", username="u")
        with pytest.raises(ConfigError, match="plaintext"):
            SmtpMailer(smtp, config_mod.Secret("p"))


def test_imap_and_smtp_sections_share_one_server_shape() -> None:
    """[mailbox] and [smtp] are one ServerConfig each (the same keys, the same checks), so a
    key added to one server section cannot be forgotten in the other."""
    server = {f.name for f in dataclasses.fields(config_mod.ServerConfig)}
    for cls in (config_mod.MailboxConfig, config_mod.SmtpConfig):
        assert issubclass(cls, config_mod.ServerConfig)
        assert server <= {f.name for f in dataclasses.fields(cls)}
    cfg = config_mod.parse(
        '[smtp]\nhost = "smtp.example"\nsender = "Phòng GDĐT <intake@thanhoai.example>"\n'
    )
    assert (cfg.smtp.port, cfg.mailbox.port, cfg.smtp.timeout, cfg.mailbox.timeout) == (
        465,
        993,
        30.0,
        60.0,
    )
    assert cfg.smtp.envelope_from == "intake@thanhoai.example"
