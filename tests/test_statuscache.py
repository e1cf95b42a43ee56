"""One unit read alone (store.queries.unit_status, unit_data(code=)) against its entry in the
whole campaign (campaign_status, unit_data), on a store filled through the real import
pipeline: campaign mail of many units, a forwarded report, a per-unit deadline extension; and
web.statuscache serving one unit the same whether its copy of the campaign is fresh or not."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from core.campaignconfig import CampaignConfig
from core.clock import FixedClock
from intake.app import App
from intake.campaignstatus import status_for, unit_status_for
from parsers.vietnamese import fold
from store.models import Unit
from store.queries import UnitStatus, unit_data
from tests.support.config import ROSTER
from tests.support.mailgen import campaign_mailbox, forward_as_attachment
from tests.support.noticemail import import_mails
from web.statuscache import StatusCache


@pytest.fixture
def filled(app: App, tmp_path: Path, clock: FixedClock) -> App:
    mail = campaign_mailbox(ROSTER, n=40, seed=7)
    mail.append(forward_as_attachment(ROSTER, "xa-tam-hung", "th-tam-hung", seed=3))
    import_mails(app, tmp_path, *mail)
    with app.sessions.begin() as s:
        s.execute(
            update(Unit)
            .where(Unit.code == "th-kim-bai")
            .values(extended_until=app.cfg.campaign.deadline_at + timedelta(days=3))
        )
    return app


def _alone(
    app: App, code: str, now: datetime, campaign: CampaignConfig | None = None
) -> UnitStatus | None:
    c = campaign or app.cfg.campaign
    with app.sessions() as s:
        return unit_status_for(s, c, now, code)


def test_each_unit_read_alone_equals_its_entry_in_the_whole_campaign(
    filled: App, clock: FixedClock
) -> None:
    c = filled.cfg.campaign
    for now in (clock.now(), c.deadline_at + timedelta(days=1)):  # before and after the deadline
        with filled.sessions() as s:
            whole = status_for(s, c, now)
            rows = {d.code: d for d in unit_data(s, c.id)}
            for u in whole.units:
                assert _alone(filled, u.code, now) == u, u.code
                alone = unit_data(s, c.id, code=u.code)
                assert alone == ([rows[u.code]] if u.code in rows else []), u.code
    # the comparison covered every kind of entry, not only empty ones
    units = {u.code: u for u in whole.units}
    assert len({u.state for u in whole.units}) >= 2
    assert sum(1 for u in whole.units if u.files) >= 10
    assert units["th-tam-hung"].forwarded and units["th-tam-hung"].forwarded[0].by_unit
    assert units["th-kim-bai"].deadline > c.deadline_at
    assert sum(1 for d in rows.values() if d.rows) >= 5


def test_a_unit_unknown_or_not_asked_by_the_campaign_is_none(filled: App) -> None:
    now = filled.clock.now()
    assert _alone(filled, "khong-co", now) is None
    only_th = dataclasses.replace(filled.cfg.campaign, units=["th"])
    assert _alone(filled, "th-kim-bai", now, only_th) is not None
    assert _alone(filled, "mn-kim-bai", now, only_th) is None
    with filled.sessions() as s:
        assert unit_data(s, only_th.id, code="khong-co") == []


def test_the_cache_serves_a_unit_the_same_from_a_fresh_copy_or_alone(
    filled: App, clock: FixedClock
) -> None:
    c, now = filled.cfg.campaign, clock.now()
    cold = StatusCache(filled.sessions)
    warm = StatusCache(filled.sessions)
    whole = warm.status(c, now)
    rows = warm.unit_data(c, now)
    folded = warm.status_with_names(c, now).folded
    assert folded == {u.code: fold(u.name) for u in whole.units}
    assert folded["th-kim-bai"] == "truong tieu hoc kim bai"
    for u in whole.units:
        assert cold.unit(c, now, u.code) == (u, rows.get(u.code)), u.code
        assert warm.unit(c, now, u.code) == (u, rows.get(u.code)), u.code
    assert cold.unit(c, now, "khong-co") == (None, None)
    assert not cold._copies  # the unit pages computed no copy of the whole campaign
