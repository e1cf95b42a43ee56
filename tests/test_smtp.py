"""SmtpMailer against real aiosmtpd servers (plain, STARTTLS + AUTH, implicit TLS + AUTH), the
error mapping, and the MIME that build_message produces."""

from __future__ import annotations

import email.parser
import email.policy
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from core.config import Secret, SmtpConfig
from core.errors import ConfigError, CredentialsError, TransientError
from notifier.message import OutgoingMail, build_message, new_message_id
from notifier.smtp import FakeMailer, PermanentSendError, SmtpMailer, TlsError
from tests.support.smtpserver import PASSWORD, USER, SmtpServer, free_port

SENDER = "Phòng GDĐT Thanh Oai <totrunghoc-thanhoai@thanhoai.example>"
NOW = datetime(2021, 10, 5, 1, 30, tzinfo=UTC)


def _mail(**kw: object) -> OutgoingMail:
    """The office's outgoing receipt to Kim Bài (not a unit's email), with `kw` replaced."""
    base: dict[str, object] = {
        "kind": "receipt",
        "to": ("Trường THCS Kim Bài <thcs-kim-bai@thanhoai.example>",),
        "subject": "Xác nhận đã nhận hồ sơ báo cáo – Trường THCS Kim Bài",
        "text": "Kính gửi: Trường THCS Kim Bài\n\nPhòng GDĐT đã nhận được báo cáo của đơn vị.\n",
        "html": "<p>Kính gửi: <strong>Trường THCS Kim Bài</strong></p>",
        "in_reply_to": "<CAO1x7=abc@mail.gmail.com>",
        "references": ("<first@thanhoai.example>",),
    }
    base.update(kw)
    return OutgoingMail(**base)  # type: ignore[arg-type]


def _msg(**kw: object) -> EmailMessage:
    return build_message(_mail(**kw), sender=SENDER, now=NOW, message_id="<r-1@thanhoai.example>")


def _parse(data: bytes) -> EmailMessage:
    msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(msg, EmailMessage)
    return msg


def _mailer(
    server: SmtpServer, *, password: str | None = None, cafile: str | None = None, **kw: object
) -> SmtpMailer:
    base: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "sender": SENDER,
        "timeout": 5.0,
    }
    base.update(kw)
    cfg = SmtpConfig(**base)  # type: ignore[arg-type]
    return SmtpMailer(cfg, Secret(password) if password is not None else None, cafile=cafile)


def test_plain_send_delivers_headers_and_vietnamese_text(smtp_server: SmtpServer) -> None:
    (_mailer(smtp_server)).send(_msg())
    (got,) = smtp_server.received
    assert got.mail_from == "totrunghoc-thanhoai@thanhoai.example"
    assert got.rcpt_tos == ["thcs-kim-bai@thanhoai.example"]
    assert b"\r\n" in got.data and b"\n\n" not in got.data.replace(b"\r\n", b"")
    msg = _parse(got.data)
    assert msg["Subject"] == "Xác nhận đã nhận hồ sơ báo cáo – Trường THCS Kim Bài"
    assert msg["From"].addresses[0].display_name == "Phòng GDĐT Thanh Oai"
    assert msg["Message-ID"] == "<r-1@thanhoai.example>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["In-Reply-To"] == "<CAO1x7=abc@mail.gmail.com>"
    assert msg["References"] == "<first@thanhoai.example> <CAO1x7=abc@mail.gmail.com>"
    assert msg["Date"].datetime == NOW
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    assert "Phòng GDĐT đã nhận được báo cáo của đơn vị." in text.get_content()
    assert "<strong>Trường THCS Kim Bài</strong>" in html.get_content()


def test_starttls_auth_trusting_the_test_certificate(smtp_tls_server: SmtpServer) -> None:
    mailer = _mailer(
        smtp_tls_server,
        security="starttls",
        username=USER,
        password=PASSWORD,
        cafile=smtp_tls_server.cafile,
    )
    mailer.send(_msg())
    assert smtp_tls_server.logins == [USER]
    assert len(smtp_tls_server.received) == 1
    assert "TLS, authenticated, NOOP 250" in mailer.check()


def test_implicit_tls_auth(smtp_ssl_server: SmtpServer) -> None:
    mailer = _mailer(
        smtp_ssl_server,
        security="ssl",
        username=USER,
        password=PASSWORD,
        cafile=smtp_ssl_server.cafile,
    )
    mailer.send(_msg())
    (got,) = smtp_ssl_server.received
    assert _parse(got.data)["Subject"].startswith("Xác nhận")


def test_wrong_password_is_credentials_error(smtp_tls_server: SmtpServer) -> None:
    mailer = _mailer(
        smtp_tls_server,
        security="starttls",
        username=USER,
        password="wrong",
        cafile=smtp_tls_server.cafile,
    )
    with pytest.raises(CredentialsError, match="535") as exc:
        mailer.send(_msg())
    assert not isinstance(exc.value, TlsError)
    assert smtp_tls_server.received == []


def test_untrusted_certificate_is_refused(smtp_tls_server: SmtpServer) -> None:
    # Without the test CA the default context must reject the self-signed certificate.
    mailer = _mailer(smtp_tls_server, security="starttls", username=USER, password=PASSWORD)
    with pytest.raises(TlsError, match="certificate"):
        mailer.send(_msg())
    assert smtp_tls_server.logins == []


def test_starttls_not_offered_is_tls_error(smtp_server: SmtpServer) -> None:
    with pytest.raises(TlsError, match="STARTTLS"):
        (_mailer(smtp_server, security="starttls")).send(_msg())


def test_server_down_is_transient() -> None:
    port = free_port()  # nothing listens there
    settings = SmtpConfig(host="127.0.0.1", port=port, security="none", sender=SENDER, timeout=2)
    with pytest.raises(TransientError, match=f"127.0.0.1:{port}"):
        SmtpMailer(settings).send(_msg())


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A socket that accepts connections (backlog) but never greets."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        yield int(s.getsockname()[1])


def test_silent_server_times_out_as_transient(silent_server: int) -> None:
    settings = SmtpConfig(
        host="127.0.0.1", port=silent_server, security="none", sender=SENDER, timeout=0.3
    )
    with pytest.raises(TransientError, match="timed out"):
        SmtpMailer(settings).send(_msg())


def test_recipient_refusals_by_reply_class(smtp_server: SmtpServer) -> None:
    mailer = _mailer(smtp_server)
    smtp_server.refuse["thcs-kim-bai@thanhoai.example"] = (
        "550 5.1.1 <thcs-kim-bai@thanhoai.example>: User unknown"
    )
    with pytest.raises(PermanentSendError, match="550"):
        mailer.send(_msg())
    smtp_server.refuse["thcs-kim-bai@thanhoai.example"] = "450 4.2.0 Mailbox busy, try later"
    with pytest.raises(TransientError, match="450"):
        mailer.send(_msg())
    # One of two refused: the other got it, nothing to retry.
    mailer.send(
        _msg(to=("thcs-kim-bai@thanhoai.example", "hieutruong.thcskimbai@thanhoai.example"))
    )
    (got,) = smtp_server.received
    assert got.rcpt_tos == ["hieutruong.thcskimbai@thanhoai.example"]


def _with_password(password: str = "p", **kw: object) -> SmtpMailer:
    return SmtpMailer(SmtpConfig(**kw), Secret(password))  # type: ignore[arg-type]


def test_plaintext_login_refused_off_loopback() -> None:
    with pytest.raises(ConfigError, match="plaintext"):
        _with_password(host="mail.hanoiedu.vn", port=25, security="none", username="u")
    # Loopback, or an explicit opt-in, is allowed.
    _with_password(host="127.0.0.1", port=25, security="none", username="u")
    _with_password(host="::1", port=25, security="none", username="u")
    _with_password(
        host="mail.hanoiedu.vn", port=25, security="none", username="u", allow_insecure=True
    )
    with pytest.raises(ConfigError, match="ASCII"):
        _with_password("mật-khẩu", host="h", port=465, username="u")
    with pytest.raises(ConfigError, match="security"):
        SmtpMailer(SmtpConfig(host="h", port=25, security="tls"))
    with pytest.raises(ConfigError, match="no password"):
        SmtpMailer(SmtpConfig(host="h", port=465, username="u"))
    mailer = _with_password("p4ss", host="h", port=465, username="u")
    assert "p4ss" not in repr(mailer.settings) + repr(vars(mailer))


def test_fake_mailer_records_or_fails() -> None:
    fake = FakeMailer()
    fake.send(_msg())
    assert [m["Message-ID"] for m in fake.sent] == ["<r-1@thanhoai.example>"]
    broken = FakeMailer(fail_with=TransientError("down"))
    with pytest.raises(TransientError):
        broken.send(_msg())


def test_mime_structure_with_inline_image_and_attachment() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    msg = _msg(
        html='<p>Tiến độ</p><img src="cid:tien-do@intake">',
        inline_images=(("tien-do@intake", png, "png"),),
        attachments=(("Tổng hợp số liệu.xlsx", b"PK\x03\x04data", "application/vnd.ms-excel"),),
    )
    parsed = _parse(msg.as_bytes())
    assert parsed.get_content_type() == "multipart/mixed"
    alt = next(parsed.iter_parts())
    assert alt.get_content_type() == "multipart/alternative"
    related = list(alt.iter_parts())[1]
    assert related.get_content_type() == "multipart/related"
    img = list(related.iter_parts())[1]
    assert img["Content-ID"] == "<tien-do@intake>" and img.get_content() == png
    (att,) = list(parsed.iter_attachments())
    assert att.get_filename() == "Tổng hợp số liệu.xlsx"
    assert att.get_content() == b"PK\x03\x04data"


def test_headers_cannot_be_injected() -> None:
    msg = _msg(
        subject="Báo cáo\r\nBcc: x@evil.example",
        in_reply_to="<a@b>\r\nBcc: y@evil.example",
        references=("<c@d>\u2028Bcc: z@evil.example",),
    )
    raw = msg.as_bytes()
    parsed = _parse(raw)
    assert parsed["Bcc"] is None
    assert b"\nBcc:" not in raw
    assert parsed["Subject"] == "Báo cáo Bcc: x@evil.example"
    assert parsed["In-Reply-To"] == "<a@b>"
    assert parsed["References"] == "<c@d> <a@b>"
    # A recipient value that smuggles a second address is dropped, not split.
    smuggled = _msg(
        to=(
            "Trường\r\nBcc: w@evil.example <thcs-kim-bai@thanhoai.example>",
            "hieutruong@thanhoai.example",
        )
    )
    assert [a.addr_spec for a in smuggled["To"].addresses] == ["hieutruong@thanhoai.example"]


def test_long_vietnamese_subject_keeps_its_spaces() -> None:
    subject = (
        "Xác nhận đã nhận hồ sơ báo cáo Tuần lễ hưởng ứng học tập suốt đời năm 2021 – "
        "Trường Trung học cơ sở Nguyễn Trực – Thị trấn Kim Bài"
    )
    raw = _msg(subject=subject).as_bytes()
    head = raw.split(b"\r\n\r\n")[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert _parse(raw)["Subject"] == subject


def test_build_message_rejects_naive_time_and_bad_ids() -> None:
    with pytest.raises(ValueError, match="aware"):
        build_message(_mail(), sender=SENDER, now=datetime(2021, 10, 5), message_id="<a@b>")  # noqa: DTZ001
    with pytest.raises(ValueError, match="message_id"):
        build_message(_mail(), sender=SENDER, now=NOW, message_id="no-brackets")
    with pytest.raises(ValueError, match="recipient"):
        build_message(_mail(to=("not an address",)), sender=SENDER, now=NOW, message_id="<a@b>")
    mid = new_message_id(SENDER)
    assert mid.startswith("<") and mid.endswith("@thanhoai.example>")
