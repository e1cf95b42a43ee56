"""The Jinja2 environment for the mail templates, and the Vietnamese labels and formats they use.

Templates live in `notifier/templates/` (`NAME.subject.txt`, `NAME.txt`, `NAME.html`); a
directory given to `make_env(override_dir)` is searched first, so an office can reword a
letter without touching the code. HTML templates autoescape every value (a subject
`<script>` arrives as text), `StrictUndefined` turns a misspelt variable into an error instead
of an empty hole. Dates are shown in the campaign's time zone as dd/mm/yyyy (HH:MM).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from notifier.reasons import vi as reason_vi

log = logging.getLogger(__name__)

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
DEFAULT_OFFICE = "Phòng Giáo dục và Đào tạo huyện Thanh Oai"

# Unit kinds in the order the district lists them, with their Vietnamese labels.
KIND_LABELS: dict[str, str] = {
    "ubnd": "UBND xã/thị trấn",
    "htcd": "TT HTCĐ",
    "mn": "Mầm non",
    "th": "Tiểu học",
    "thcs": "THCS",
    "thpt": "THPT",
    "gdnn-gdtx": "GDNN-GDTX",
}
# Items a unit must send (UnitStatus.missing keys) and items a file provided (UnitStatus.files).
ITEM_LABELS: dict[str, str] = {
    "report": "Báo cáo kết quả tổ chức Tuần lễ (theo Phụ lục)",
    "data_table": "Bảng tổng hợp số liệu",
    "photos": "Hình ảnh minh chứng (2–3 ảnh)",
    "photo": "Hình ảnh minh chứng",
    "nominations": "Danh sách đề nghị khen thưởng",
    "directive": "Văn bản chỉ đạo của đơn vị",
}
STATE_LABELS: dict[str, str] = {
    "missing": "Chưa gửi",
    "incomplete": "Chưa đủ",
    "complete": "Đã đủ",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def kind_order(kind: str) -> int:
    keys = list(KIND_LABELS)
    return keys.index(kind) if kind in KIND_LABELS else len(keys)


def item_label(item: str) -> str:
    return ITEM_LABELS.get(item, item)


def local(dt: datetime, tz: str = DEFAULT_TZ) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("naive datetime reached a template")
    return dt.astimezone(ZoneInfo(tz))


def fmt_date(dt: datetime | None, tz: str = DEFAULT_TZ) -> str:
    return local(dt, tz).strftime("%d/%m/%Y") if dt is not None else ""


def fmt_datetime(dt: datetime | None, tz: str = DEFAULT_TZ) -> str:
    return local(dt, tz).strftime("%H:%M ngày %d/%m/%Y") if dt is not None else ""


def fmt_deadline(dt: datetime, tz: str = DEFAULT_TZ) -> str:
    """`trước ngày 10/10/2021` for a midnight deadline (as the plan words it), otherwise
    `trước 17:00 ngày 10/10/2021`."""
    d = local(dt, tz)
    if (d.hour, d.minute) == (0, 0):
        return f"trước ngày {d:%d/%m/%Y}"
    return f"trước {d:%H:%M} ngày {d:%d/%m/%Y}"


def fmt_until(dt: datetime, tz: str = DEFAULT_TZ) -> str:
    """A deadline as the last moment it allows: `hết ngày 15/10/2021` for a midnight one (the
    end of the day before: what `intake units extend CODE 15/10/2021` sets), otherwise
    `17:00 ngày 15/10/2021`."""
    d = local(dt, tz)
    if (d.hour, d.minute) == (0, 0):
        return f"hết ngày {d - timedelta(days=1):%d/%m/%Y}"
    return f"{d:%H:%M} ngày {d:%d/%m/%Y}"


def fmt_number(n: int | None) -> str:
    """1200 → "1.200" (Vietnamese grouping); None → "–"."""
    return f"{n:,}".replace(",", ".") if n is not None else "–"


def _tz(ctx: Context) -> str:
    """The template's `tz` (a filter given a zone of its own, `|deadline(c.tz)`, uses that)."""
    tz = ctx.get("tz")
    return tz if isinstance(tz, str) and tz else DEFAULT_TZ


@pass_context
def _f_date(ctx: Context, dt: datetime | None, tz: str | None = None) -> str:
    return fmt_date(dt, tz or _tz(ctx))


@pass_context
def _f_datetime(ctx: Context, dt: datetime | None, tz: str | None = None) -> str:
    return fmt_datetime(dt, tz or _tz(ctx))


@pass_context
def _f_until(ctx: Context, dt: datetime, tz: str | None = None) -> str:
    return fmt_until(dt, tz or _tz(ctx))


@pass_context
def _f_deadline(ctx: Context, dt: datetime, tz: str | None = None) -> str:
    return fmt_deadline(dt, tz or _tz(ctx))


def make_env(override_dir: Path | None = None, *, office: str = DEFAULT_OFFICE) -> Environment:
    """The template environment; `office` is the signature and the name letters speak in."""
    loaders: list[Any] = []
    if override_dir is not None:
        if not override_dir.is_dir():
            raise FileNotFoundError(f"template directory {override_dir} does not exist")
        loaders.append(FileSystemLoader(str(override_dir)))
    loaders.append(PackageLoader("notifier", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["office"] = office
    env.filters.update(
        date=_f_date,
        datetime=_f_datetime,
        deadline=_f_deadline,
        until=_f_until,
        number=fmt_number,
        kind=kind_label,
        item=item_label,
        state=lambda s: STATE_LABELS.get(s, s),
        reason=reason_vi,
    )
    return env


def render(env: Environment, name: str, **context: Any) -> tuple[str, str, str]:
    """(subject, text, html) of the template set `name`."""
    subject = env.get_template(f"{name}.subject.txt").render(**context)
    text = env.get_template(f"{name}.txt").render(**context)
    html = env.get_template(f"{name}.html").render(**context)
    return " ".join(subject.split()), text, html
