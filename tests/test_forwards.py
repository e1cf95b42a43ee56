"""Forwards between roster units, end to end through the importer and the filer: a commune
office forwarding, as an attachment and with no files of its own, a school's email sent from
the school's roster address files it to the school and records who forwarded it (status JSON);
an unknown inner sender or files of the forwarder's own keep today's caution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from intake.app import App
from store.models import Message
from store.queries import status_json
from tests.support.config import ROSTER
from tests.support.mailgen import forward_as_attachment

COMMUNE = "ubnd-tam-hung@thanhoai.example"


def _import_one(app: App, tmp_path: Path, raw: bytes) -> tuple[Message, str, dict[str, Any]]:
    """The message filed, the code of its unit ("" when none) and the status JSON's units."""
    path = tmp_path / "fwd.eml"
    path.write_bytes(raw)
    assert app.import_paths([path]).stored == 1
    with app.sessions() as s:
        msg = s.scalars(select(Message)).one()
        code = msg.unit.code if msg.unit is not None else ""
    return msg, code, {u["code"]: u for u in status_json(app.status())["units"]}


def test_a_commune_forwarding_a_schools_email_files_it_to_the_school(
    app: App, tmp_path: Path
) -> None:
    msg, code, units = _import_one(
        app, tmp_path, forward_as_attachment(ROSTER, "xa-tam-hung", "th-tam-hung", seed=3)
    )
    assert (msg.state, code) == ("filed", "th-tam-hung"), msg.reason
    assert msg.forwarded_by == COMMUNE
    assert msg.reason.startswith(
        "forwarded message from th-tam-hung@thanhoai.example is on the "
        "roster (forwarded by ubnd-tam-hung@thanhoai.example, xa-tam-hung"
    )
    school, commune = units["th-tam-hung"], units["xa-tam-hung"]
    assert school["forwarded"] == [{"id": msg.id, "by": COMMUNE, "by_unit": "xa-tam-hung"}]
    assert school["state"] != "missing" and school["messages"] == 1
    assert school["items"]["report"] or school["items"]["data_table"]  # the school's documents
    assert commune["state"] == "missing" and commune["forwarded"] == []


def test_a_forward_that_adds_a_file_of_its_own_is_left_to_the_officer(
    app: App, tmp_path: Path
) -> None:
    msg, code, units = _import_one(
        app,
        tmp_path,
        forward_as_attachment(ROSTER, "xa-tam-hung", "th-tam-hung", seed=3, own_photo=True),
    )
    assert code != "th-tam-hung", msg.reason
    assert msg.forwarded_by == ""
    assert units["th-tam-hung"]["state"] == "missing" and units["th-tam-hung"]["forwarded"] == []


def test_a_forward_of_an_unknown_sender_is_not_the_schools(app: App, tmp_path: Path) -> None:
    msg, code, units = _import_one(
        app,
        tmp_path,
        forward_as_attachment(
            ROSTER, "xa-tam-hung", "th-tam-hung", seed=4, inner_sender="c1tamhung@gmail.com"
        ),
    )
    assert code != "th-tam-hung", msg.reason
    assert msg.forwarded_by == ""
    assert units["th-tam-hung"]["state"] == "missing"
    assert all(u["forwarded"] == [] for u in units.values())
