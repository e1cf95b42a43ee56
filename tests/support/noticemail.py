"""Notices on a unit's mail, without the daemon: `report_mail`, a unit's report with one phone
photo as it comes in; `notify_config`, the config of an app whose notifier sends to the SMTP
sink on a port (no mailbox, parsing in-process); `import_mails`, mail fed to the app as .eml
files through App.import_paths, as `intake import` does."""

from __future__ import annotations

from pathlib import Path

from core.config import Config
from intake.app import App
from tests.support.config import make_config
from tests.support.docgen_media import phone_jpeg
from tests.support.unitmail import unit_mail


def report_mail(
    sender: str, name: str, n: int, *, extra: tuple[tuple[str, str], ...] = (), subject: str = ""
) -> bytes:
    """A unit's report: a covering letter and one 320×240 phone photo (Message-ID `svc-n`)."""
    return unit_mail(
        n,
        sender,
        name,
        subject=subject or f"Báo cáo Tuần lễ HTSĐ 2021 - {name}",
        body="Kính gửi Phòng GD&ĐT huyện Thanh Oai,\nĐơn vị gửi ảnh hoạt động.\n",
        attachments=[(f"Ảnh hoạt động {n}.jpg", phone_jpeg(n, size=(320, 240))[0], "image/jpeg")],
        tag="svc",
        headers=extra,
    )


def notify_config(tmp_path: Path, port: int, **extra: dict[str, object]) -> Config:
    sections: dict[str, dict[str, object]] = {
        "smtp": {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "sender": "Phòng GD&ĐT huyện Thanh Oai <totrunghoc-thanhoai@thanhoai.example>",
        },
        "digest": {"recipients": ["totrunghoc-thanhoai@thanhoai.example"], "at": "07:00"},
        "limits": {"parse_workers": 0},
    }
    for name, values in extra.items():
        sections.setdefault(name, {}).update(values)
    return make_config(tmp_path, **sections)


def import_mails(app: App, tmp_path: Path, *mails: bytes) -> None:
    paths = []
    for i, raw in enumerate(mails):
        p = tmp_path / f"in-{len(list(tmp_path.glob('in-*')))}-{i}.eml"
        p.write_bytes(raw)
        paths.append(p)
    app.import_paths(paths)
