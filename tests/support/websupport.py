"""The web console under test: a real store (SQLite or PostgreSQL, tests/support/config.py) seeded
through the real import pipeline, `intake web`'s waitress server on a free loopback port, and a
small cookie-keeping HTTP client (http.client: no redirects followed, nothing hidden)."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from core import config as config_mod
from core.clock import FixedClock
from core.config import Config
from intake.app import App
from store.models import Message
from tests.support.config import ROSTER, make_config
from tests.support.docgen_media import phone_jpeg
from web.accounts import add_user
from web.console import Console, build_console
from web.server import Running

PASSWORD = "mat-khau-thu-nghiem"
HOSTILE_SUBJECT = "<script>alert('tieu-de')</script> Báo cáo Tuần lễ học tập suốt đời"
HOSTILE_NAME = "<script>alert('ten')</script> Lan"
HOSTILE_FILE = "<script>alert('tep')<script>.jpg"  # a '/' would be cut as a path by the store
HOSTILE_BODY_FILE = "<img src=x onerror=alert(1)>.html"


def _mail(frm: str, subject: str, n: int, files: list[tuple[bytes, str, str, str]]) -> bytes:
    m = EmailMessage()
    m["From"] = frm
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = subject
    m["Message-ID"] = f"<web-{n}@thanhoai.example>"
    m["Date"] = f"Wed, 06 Oct 2021 1{n}:00:00 +0700"
    m.set_content("Em gửi báo cáo Tuần lễ hưởng ứng học tập suốt đời năm 2021 ạ.\n")
    for data, maintype, subtype, filename in files:
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(m)


QUARANTINED_SUBJECT = "Báo cáo Tuần lễ HTSĐ 2021 - Trường Tiểu học Kim An (nhiều tệp)"


def many_parts(n: int) -> bytes:
    """A report with `n` small attachments: quarantined under a low `max_mime_parts`."""
    m = EmailMessage()
    m["From"] = "Trường Tiểu học Kim An <th-kim-an@thanhoai.example>"
    m["To"] = "totrunghoc-thanhoai@thanhoai.example"
    m["Subject"] = QUARANTINED_SUBJECT
    m["Message-ID"] = f"<web-parts-{n}@thanhoai.example>"
    m["Date"] = "Tue, 05 Oct 2021 08:00:00 +0700"
    m.set_content("Kính gửi Phòng GD&ĐT huyện Thanh Oai")
    for i in range(n):
        m.add_attachment(
            f"ghi chú {i}".encode(), maintype="text", subtype="plain", filename=f"Ghi chú {i}.txt"
        )
    return bytes(m)


def seed_quarantined(cfg: Config, clock: FixedClock, tmp_path: Path) -> None:
    """A message quarantined for real: filed by a daemon whose limit on MIME parts was too low
    (the console's own config has the default limit, so 'thử lại' files it)."""
    strict = make_config(
        tmp_path / "strict",
        cfg.store_url,
        store={"files": str(cfg.files_dir)},
        limits={"parse_workers": 0, "max_mime_parts": 4},
    )
    path = tmp_path / "web-parts.eml"
    path.write_bytes(many_parts(6))
    with App(strict, clock) as app:
        app.import_paths([path])


def seed(app: App, tmp_path: Path) -> None:
    """A unit's filed photo, and two emails from a personal address waiting for the officer:
    one with a sender-written <script> in its subject, display name and file names."""
    photo = phone_jpeg(3, size=(320, 240))[0]
    mails = [
        _mail(
            "Trường Tiểu học Kim Bài <th-kim-bai@thanhoai.example>",
            "Báo cáo Tuần lễ học tập suốt đời - TH Kim Bài",
            1,
            [(photo, "image", "jpeg", "Ảnh hoạt động 1.jpg")],
        ),
        _mail(
            f'"{HOSTILE_NAME}" <nguyenthilan1980@gmail.com>',
            HOSTILE_SUBJECT,
            2,
            [
                (phone_jpeg(4, size=(320, 240))[0], "image", "jpeg", HOSTILE_FILE),
                (b"<html><script>alert(2)</script></html>", "text", "html", HOSTILE_BODY_FILE),
            ],
        ),
        _mail(
            "Minh <minh.tran1979@yahoo.com>",
            "gửi báo cáo Tuần lễ học tập suốt đời",
            3,
            [(phone_jpeg(5, size=(320, 240))[0], "image", "jpeg", "IMG_20211006_3.jpg")],
        ),
    ]
    paths = []
    for i, raw in enumerate(mails):
        p = tmp_path / f"web-{i}.eml"
        p.write_bytes(raw)
        paths.append(p)
    app.import_paths(paths)


@dataclass
class Site:
    url: str
    console: Console
    app: App  # the same store, for checking what the console did
    tmp_path: Path

    def message(self, subject_part: str) -> Message:
        from sqlalchemy import select

        with self.app.sessions() as s:
            msg = s.scalar(select(Message).where(Message.subject.contains(subject_part)))
        assert msg is not None
        return msg


@contextmanager
def running_site(
    tmp_path: Path,
    db_url: str | None,
    clock: FixedClock,
    *,
    campaigns_toml: str = "",
    sections: dict[str, dict[str, object]] | None = None,
    **web: object,
) -> Iterator[Site]:
    """The console on a seeded store; `campaigns_toml` ([[campaigns]] tables) for several
    campaigns, `sections` for more config (e.g. [smtp])."""
    cfg = make_config(
        tmp_path, db_url, web={"port": 8080, **web}, limits={"parse_workers": 0}, **(sections or {})
    )
    if campaigns_toml:
        source = Path(cfg.source)
        source.write_text(source.read_text(encoding="utf-8") + campaigns_toml, encoding="utf-8")
        cfg = config_mod.load(source)
    app = App(cfg, clock)
    app.import_roster(ROSTER)
    seed(app, tmp_path)
    seed_quarantined(cfg, clock, tmp_path)
    with app.sessions.begin() as s:
        add_user(s, "co.hoa", "officer", PASSWORD, by="test", now=clock.now())
        add_user(s, "thay.nam", "officer", PASSWORD, by="test", now=clock.now())
        add_user(s, "xem", "viewer", PASSWORD, by="test", now=clock.now())
    console, close = build_console(cfg, clock)
    server = Running(console)
    try:
        yield Site(server.url, console, app, tmp_path)
    finally:
        server.stop()
        close()
        app.close()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def csrf(self) -> str:
        m = re.search(r'name="csrf" value="([^"]+)"', self.text)
        assert m, self.text[:500]
        return m.group(1)


@dataclass
class Client:
    """One browser's worth of cookies against `base`; follows no redirect by itself."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)
    address: str = ""  # sent as X-Forwarded-For (believed only from a trusted proxy)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Reply:
        u = urlsplit(self.base)
        conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if self.address:
            headers["X-Forwarded-For"] = self.address
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        reply = Reply(r.status, r.headers, r.read())
        conn.close()
        for line in r.headers.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in line or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return reply

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Reply:
        return self.request("POST", path, form)

    def login(self, name: str, password: str = PASSWORD) -> Reply:
        token = self.get("/login").csrf()
        return self.post("/login", {"csrf": token, "name": name, "password": password})


def audit_actions(site: Site) -> list[tuple[str, str, dict[str, object]]]:
    from sqlalchemy import select

    from store.models import AuditEntry

    with site.app.sessions() as s:
        return [
            (a.actor, a.action, json.loads(a.detail or "{}"))
            for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
