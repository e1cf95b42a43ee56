"""pytest plugin: real SMTP servers (aiosmtpd) inside the test process.

Fixtures:
- `smtp_server`: plain SMTP on 127.0.0.1, no TLS, no AUTH (a local relay).
- `smtp_tls_server`: STARTTLS required, AUTH (PLAIN/LOGIN) required and offered only after TLS;
  user `intake`, password `s3cret-Pa55:word`.
- `smtp_ssl_server`: implicit TLS with AUTH offered (aiosmtpd offers AUTH there only with
  `auth_require_tls=False`, because it cannot see the TLS of the socket it was handed; AUTH is
  then not required either, since aiosmtpd warns on every connection otherwise).
- `smtp_xoauth2_server`: implicit TLS offering only AUTH XOAUTH2 (as Gmail and Microsoft 365
  do for OAuth2 clients); `.token_check(user, token)` decides (default: refuse all), set it
  to the test OAuth2 server's check. A refused token gets the JSON error challenge first, as
  Gmail sends it, then 535.
- `smtp_cert`: a throwaway self-signed certificate for `localhost`/127.0.0.1 (cryptography),
  made once per session; clients trust it explicitly through its PEM path.

Each server records what it accepted in `.received` (envelope + raw bytes) and refuses RCPT
for addresses listed in `.refuse` with the reply given there (e.g. "550 5.1.1 No such user").
`Controller(port=0)` does not work, so a free port is picked first.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER = "intake"
PASSWORD = "s3cret-Pa55:word"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class SmtpServer:
    host: str
    port: int
    cafile: str | None = None
    username: str = ""
    password: str = ""
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    logins: list[str] = field(default_factory=list)
    token_check: Callable[[str, str], bool] = field(default=lambda user, token: False, repr=False)


class _Handler:
    def __init__(self, box: SmtpServer) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.box.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        self.box.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), data))
        return "250 Message accepted for delivery"


class _XOAuth2Handler(_Handler):
    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        if len(args) > 1:
            blob = args[1]
        else:
            answer = await server.challenge_auth("")
            blob = base64.b64encode(answer).decode() if isinstance(answer, bytes) else ""
        try:
            fields = dict(
                part.split("=", 1)
                for part in base64.b64decode(blob, validate=True).decode().split("\x01")
                if "=" in part
            )
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return AuthResult(
                success=False, handled=False, message="501 5.5.2 Cannot decode response"
            )
        user, bearer = fields.get("user", ""), fields.get("auth", "")
        self.box.logins.append(user)
        token = bearer[len("Bearer ") :] if bearer.startswith("Bearer ") else ""
        if token and self.box.token_check(user, token):
            return AuthResult(success=True, auth_data=user)
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "Bearer"}))
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )


def _authenticator(box: SmtpServer) -> Any:
    def check(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        box.logins.append(login)
        ok = login == box.username and password == box.password
        return AuthResult(success=ok, handled=False)  # handled=True would send no reply

    return check


@pytest.fixture(scope="session")
def smtp_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(cert.pem, key.pem) of a fresh self-signed certificate for localhost and 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("smtp-cert")
    cert_path, key_path = d / "cert.pem", d / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def _server_context(smtp_cert: tuple[str, str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*smtp_cert)
    return ctx


def _run(
    box: SmtpServer, handler: type[_Handler] = _Handler, **kwargs: Any
) -> Iterator[SmtpServer]:
    controller = Controller(handler(box), hostname=box.host, port=box.port, **kwargs)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    yield from _run(SmtpServer("127.0.0.1", free_port()))


@pytest.fixture
def smtp_tls_server(smtp_cert: tuple[str, str]) -> Iterator[SmtpServer]:
    box = SmtpServer(
        "127.0.0.1", free_port(), cafile=smtp_cert[0], username=USER, password=PASSWORD
    )
    yield from _run(
        box,
        tls_context=_server_context(smtp_cert),
        require_starttls=True,
        authenticator=_authenticator(box),
        auth_required=True,
        auth_require_tls=True,
    )


@pytest.fixture
def smtp_ssl_server(smtp_cert: tuple[str, str]) -> Iterator[SmtpServer]:
    box = SmtpServer(
        "127.0.0.1", free_port(), cafile=smtp_cert[0], username=USER, password=PASSWORD
    )
    yield from _run(
        box,
        ssl_context=_server_context(smtp_cert),
        authenticator=_authenticator(box),
        auth_required=False,  # True + auth_require_tls=False warns on every connection
        auth_require_tls=False,
    )


@pytest.fixture
def smtp_xoauth2_server(smtp_cert: tuple[str, str]) -> Iterator[SmtpServer]:
    box = SmtpServer("127.0.0.1", free_port(), cafile=smtp_cert[0])
    yield from _run(
        box,
        _XOAuth2Handler,
        ssl_context=_server_context(smtp_cert),
        auth_exclude_mechanism=["PLAIN", "LOGIN"],
        auth_required=False,
        auth_require_tls=False,
    )
