"""Status per campaign: each campaign's `CampaignStatus` (its units only, its items and
totals), the "other mail" beside them, and the `intake status --json` shapes:

- one campaign (a single one configured, or `--campaign ID`): today's shape plus `"other"`;
- several without `--campaign`: `{"campaigns": [that shape, …], "other": [...]}`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.campaignconfig import CampaignConfig
from core.config import Config
from core.errors import IntakeError
from store.campaigns import OtherMessage, other_mail
from store.queries import CampaignStatus, campaign_status, status_json


class UnknownCampaign(IntakeError):
    """No campaign with that id in the config."""


def campaign_config(cfg: Config, campaign_id: str | None) -> CampaignConfig:
    if campaign_id is None:
        return cfg.campaign
    for c in cfg.campaigns:
        if c.id == campaign_id:
            return c
    known = ", ".join(c.id for c in cfg.campaigns)
    raise UnknownCampaign(f"no campaign {campaign_id!r} in the config (campaigns: {known})")


def status_for(s: Session, c: CampaignConfig, now: datetime) -> CampaignStatus:
    return campaign_status(
        s,
        campaign_id=c.id,
        title=c.title,
        deadline=c.deadline_at,
        timezone=c.timezone,
        required=tuple(c.required),
        min_photos=c.min_photos,
        now=now,
        units_scope=tuple(c.units),
    )


def status_of(s: Session, cfg: Config, campaign_id: str | None, now: datetime) -> CampaignStatus:
    return status_for(s, campaign_config(cfg, campaign_id), now)


def other_json(others: tuple[OtherMessage, ...]) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "message_id": m.message_id,
            "from": m.from_addr,
            "unit": m.unit,
            "subject": m.subject,
            "received_at": m.received_at.isoformat() if m.received_at else None,
            "reason": m.reason,
        }
        for m in others
    ]


def status_document(
    s: Session, cfg: Config, campaign_id: str | None, now: datetime
) -> dict[str, Any]:
    """What `intake status --json [--campaign ID]` prints."""
    others = other_json(other_mail(s))
    if campaign_id is not None or len(cfg.campaigns) == 1:
        c = campaign_config(cfg, campaign_id)
        return {**_keyed(status_json(status_for(s, c, now)), c), "other": others}
    return {
        "campaigns": [_keyed(status_json(status_for(s, c, now)), c) for c in cfg.campaigns],
        "other": others,
    }


def _keyed(doc: dict[str, Any], c: CampaignConfig) -> dict[str, Any]:
    """`units[].totals` keyed by the campaign's total columns (the seed's: classes and
    participants, read by the built-in reader; another table's totals are not summed yet)."""
    keys = c.table.totals
    if set(keys) == {"classes", "participants"}:
        return doc
    for unit in doc["units"]:
        unit["totals"] = {k: unit["totals"].get(k) for k in keys}
    return doc
