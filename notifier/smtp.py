"""The SMTP boundary: the only module that imports smtplib.

`Mailer` is the narrow Protocol the outbox delivers through; `SmtpMailer` is the real one
(one connection per `send`, timeouts always on, a verifying TLS context), `FakeMailer` records
messages for fast logic tests. Errors, arranged by what the caller should do:

    IntakeError
    ├── ConfigError          (at construction) plaintext AUTH to a non-loopback host, bad values
    ├── CredentialsError     alert a human: AUTH refused (535/534/530 ...) or not offered
    │   └── TlsError         alert a human: certificate not trusted, STARTTLS not offered
    ├── TransientError       retry later: network, timeout, disconnect, any 4xx reply
    └── PermanentSendError   give this one message up: a 5xx refusal of the recipients, the
                             sender or the data (the message will never go through as it is)

Recipients refused while others were accepted are logged (addresses only) and the send counts
as done: the accepted recipients already have the message.

With `tokens` (auth = "oauth2"), the login is AUTH XOAUTH2 with an access token from that
source (intake/oauth.py); a token the server refuses is refreshed once and tried again.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from typing import Protocol

from core.config import SECURITY, Secret, SmtpConfig
from core.errors import ConfigError, CredentialsError, IntakeError, TransientError

log = logging.getLogger(__name__)


class TokenSource(Protocol):
    """Access tokens for XOAUTH2 (intake.oauth.OAuth2Tokens, or a fake)."""

    def access_token(self) -> Secret: ...
    def refresh(self) -> None: ...


class PermanentSendError(IntakeError):
    """The server refused this message for good (5xx); retrying the same message will not help."""


class TlsError(CredentialsError):
    """TLS could not be established safely (untrusted certificate, no STARTTLS); a human must
    look at the server or the configuration."""


def _check(cfg: SmtpConfig, password: Secret | None, tokens: TokenSource | None) -> None:
    """The values a connection cannot work with, refused before any mail is queued."""
    if cfg.security not in SECURITY:
        raise ConfigError(
            f"smtp.security must be one of {', '.join(SECURITY)}, not {cfg.security!r}"
        )
    if not cfg.host:
        raise ConfigError("smtp.host is empty")
    if not 0 < cfg.port < 65536:
        raise ConfigError(f"smtp.port {cfg.port} is out of range")
    if cfg.timeout <= 0:
        raise ConfigError("smtp.timeout must be positive")
    if tokens is not None and not cfg.username:
        raise ConfigError('smtp.username is required with auth = "oauth2" (the XOAUTH2 user)')
    if cfg.username and password is None and tokens is None:
        raise ConfigError("smtp.username is set but no password was given")
    if not (cfg.username.isascii() and (password.reveal() if password else "").isascii()):
        # smtplib encodes AUTH credentials as ASCII and would fail mid-conversation.
        raise ConfigError("smtp.username and the SMTP password must be ASCII")
    if cfg.username and cfg.plaintext_refused():
        raise ConfigError(
            f"refusing to send the SMTP password in plaintext to {cfg.host}; "
            'use security = "ssl" or "starttls" (or allow_insecure = true)'
        )


class Mailer(Protocol):
    def send(self, msg: EmailMessage) -> None:
        """Deliver one message or raise one of the errors in this module's docstring."""
        ...


class FakeMailer:
    """Records what would be sent; `fail_with` makes every send raise that error instead."""

    def __init__(self, fail_with: IntakeError | None = None) -> None:
        self.sent: list[EmailMessage] = []
        self.fail_with = fail_with

    def send(self, msg: EmailMessage) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(msg)


def _xoauth2(smtp: smtplib.SMTP, user: str, tokens: TokenSource) -> None:
    """AUTH XOAUTH2; a refused token is refreshed once and tried again (the server may have
    revoked it before its stated expiry)."""
    if (
        not smtp.has_extn("auth")
        or "XOAUTH2" not in smtp.esmtp_features.get("auth", "").upper().split()
    ):
        raise smtplib.SMTPNotSupportedError("the server offers no AUTH XOAUTH2")
    for attempt in (1, 2):
        token = tokens.access_token()

        def answer(challenge: bytes | None = None, token: Secret = token) -> str:
            # the first call is the initial response; a challenge after it is the server's
            # error report (JSON), answered with an empty line as the mechanism requires
            return (
                f"user={user}\x01auth=Bearer {token.reveal()}\x01\x01" if challenge is None else ""
            )

        try:
            smtp.auth("XOAUTH2", answer, initial_response_ok=True)
            return
        except smtplib.SMTPAuthenticationError as e:
            if attempt == 2 or 400 <= e.smtp_code < 500:
                raise
            log.info("SMTP refused the access token; refreshing it and retrying")
            tokens.refresh()


def _by_code(code: int, text: str) -> IntakeError:
    if 400 <= code < 500:
        return TransientError(text)
    return PermanentSendError(text)


def _reply(e: smtplib.SMTPResponseException) -> str:
    err = e.smtp_error
    msg = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)
    return f"{e.smtp_code} {' '.join(msg.split())}"[:300]


class SmtpMailer:
    """Sends through one SMTP server; a fresh connection per `send` (a digest or a few receipts
    per tick do not justify keeping a session open across idle hours)."""

    def __init__(
        self,
        settings: SmtpConfig,
        password: Secret | None = None,
        *,
        tokens: TokenSource | None = None,
        cafile: str | None = None,
    ) -> None:
        """`settings` is the typed [smtp] section; `password` its secret (core.config.password),
        `tokens` the XOAUTH2 source (auth = "oauth2"), `cafile` an extra CA bundle to trust (a
        private CA, or a test certificate)."""
        _check(settings, password, tokens)
        self.settings = settings
        self._password = password
        self._tokens = tokens
        self._context = ssl.create_default_context(cafile=cafile)

    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _connect(self) -> smtplib.SMTP:
        st = self.settings
        smtp: smtplib.SMTP
        if st.security == "ssl":
            smtp = smtplib.SMTP_SSL(st.host, st.port, timeout=st.timeout, context=self._context)
        else:
            smtp = smtplib.SMTP(st.host, st.port, timeout=st.timeout)
        try:
            smtp.ehlo()
            if st.security == "starttls":
                smtp.starttls(context=self._context)
                smtp.ehlo()
            if self._tokens is not None:
                _xoauth2(smtp, st.username, self._tokens)
            elif st.username:
                smtp.login(st.username, self._password.reveal() if self._password else "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _run(self, action: str, fn: _Action) -> str:
        where = self._where()
        try:
            smtp = self._connect()
            try:
                return fn(smtp)
            finally:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        except smtplib.SMTPAuthenticationError as e:
            if 400 <= e.smtp_code < 500:
                raise TransientError(f"SMTP {where}: login deferred: {_reply(e)}") from e
            hint = "; run `intake auth login`" if self._tokens is not None else ""
            raise CredentialsError(f"SMTP {where}: login refused: {_reply(e)}{hint}") from e
        except smtplib.SMTPNotSupportedError as e:
            if "STARTTLS" in str(e):
                raise TlsError(f"SMTP {where}: {e} (check smtp.security)") from e
            raise CredentialsError(f"SMTP {where}: {e} (check smtp.username/security)") from e
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            text = "; ".join(
                f"{addr}: {code} "
                f"{resp.decode('utf-8', 'replace') if isinstance(resp, bytes) else resp}"
                for addr, (code, resp) in e.recipients.items()
            )[:500]
            if any(400 <= c < 500 for c in codes):
                raise TransientError(f"SMTP {where}: recipients deferred: {text}") from e
            raise PermanentSendError(f"SMTP {where}: recipients refused: {text}") from e
        except smtplib.SMTPSenderRefused as e:
            raise _by_code(e.smtp_code, f"SMTP {where}: sender refused: {_reply(e)}") from e
        except smtplib.SMTPDataError as e:
            raise _by_code(e.smtp_code, f"SMTP {where}: message refused: {_reply(e)}") from e
        except smtplib.SMTPResponseException as e:
            # HELO refused, unexpected replies on connect: treat by the reply class, but a 5xx
            # outside the message's own commands is the server's state, not the message's.
            raise TransientError(f"SMTP {where}: {action}: {_reply(e)}") from e
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPException) as e:
            raise TransientError(f"SMTP {where}: {action}: {e}") from e
        except ssl.SSLCertVerificationError as e:
            raise TlsError(f"SMTP {where}: certificate not trusted: {e.verify_message}") from e
        except TimeoutError as e:
            raise TransientError(
                f"SMTP {where}: timed out after {self.settings.timeout:g} s"
            ) from e
        except OSError as e:  # refused, reset, unreachable, DNS, other SSL errors
            raise TransientError(f"SMTP {where}: {action}: {e}") from e

    def send(self, msg: EmailMessage) -> None:
        def go(smtp: smtplib.SMTP) -> str:
            refused = smtp.send_message(msg, from_addr=self.settings.envelope_from or None)
            if refused:
                log.warning(
                    "SMTP %s accepted the message but refused %d recipient(s): %s",
                    self._where(),
                    len(refused),
                    ", ".join(sorted(refused)),
                )
            return ""

        self._run("send", go)
        # the outbox logs each sent mail with its kind, unit and recipients
        log.debug(
            "sent %s to %d recipient(s)", msg.get("Message-ID", "?"), len(msg.get_all("To", []))
        )

    def check(self) -> str:
        """Connect, negotiate TLS, log in and NOOP: for `intake doctor`."""

        def noop(smtp: smtplib.SMTP) -> str:
            code, _ = smtp.noop()
            tls = "TLS" if self.settings.security != "none" else "no TLS"
            auth = (
                "XOAUTH2"
                if self._tokens is not None
                else "authenticated"
                if self.settings.username
                else "no AUTH"
            )
            return f"{self._where()}: {tls}, {auth}, NOOP {code}"

        return self._run("check", noop)


class _Action(Protocol):
    def __call__(self, smtp: smtplib.SMTP, /) -> str: ...
