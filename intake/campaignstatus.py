"""Status per campaign: each campaign's `CampaignStatus` (its units only, its items and
totals), the "other mail" beside them, and the `intake status --json` shapes:

- one campaign (a single one configured, or `--campaign ID`): today's shape plus `"other"`;
- several without `--campaign`: `{"campaigns": [that shape, …], "other": [...]}`.

`units[].totals` is keyed by the campaign's own total columns (`total = true` in its
`[[campaigns.table.columns]]`): the seed's `classes` and `participants` come from the facts read
at filing; any other column is summed from the unit's latest table of that campaign, read back
by its columns (`notifier.campaigntables`). A unit that sent no table of it has `null` totals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.campaignconfig import CampaignConfig
from core.config import Config
from core.errors import IntakeError
from intake.statustable import SEED_COLUMNS, render, render_lists, render_other
from notifier.campaigntables import unit_tables
from parsers.campaigntable import sums
from store.campaigns import OtherMessage, other_mail
from store.files import FileStore
from store.queries import CampaignStatus, UnitStatus, campaign_status, status_json, unit_status

SEED_TOTALS = ("classes", "participants")  # read at filing into the facts (the seed's reader)


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


def unit_status_for(s: Session, c: CampaignConfig, now: datetime, code: str) -> UnitStatus | None:
    """One unit's entry of `status_for`, read from that unit's rows alone (None when the unit
    is not one of the campaign's)."""
    return unit_status(
        s,
        campaign_id=c.id,
        code=code,
        deadline=c.deadline_at,
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


def unit_totals(
    s: Session, files: FileStore, c: CampaignConfig, cs: CampaignStatus
) -> dict[str, dict[str, int | None]]:
    """unit code → {total column key: its sum} for the campaign's `total = true` columns, in the
    config's order; None for a unit that sent no table of the campaign."""
    keys = c.table.totals
    seed = set(SEED_TOTALS) <= set(keys)
    rest = [k for k in keys if not (seed and k in SEED_TOTALS)]
    tables = {t.code: t for t in unit_tables(s, files, c.id, c.table)} if rest else {}
    out: dict[str, dict[str, int | None]] = {}
    for u in cs.units:
        facts = {"classes": u.total_classes, "participants": u.total_participants}
        table = tables.get(u.code)
        summed: dict[str, int] = sums(table.rows, rest) if table is not None else {}
        out[u.code] = {k: facts[k] if seed and k in facts else summed.get(k) for k in keys}
    return out


def campaign_json(s: Session, files: FileStore, c: CampaignConfig, now: datetime) -> dict[str, Any]:
    """One campaign's `status --json` shape, its totals keyed by its own total columns."""
    cs = status_for(s, c, now)
    doc = status_json(cs)
    totals = unit_totals(s, files, c, cs)
    for unit in doc["units"]:
        unit["totals"] = totals[unit["code"]]
    return doc


def status_document(
    s: Session, cfg: Config, files: FileStore, campaign_id: str | None, now: datetime
) -> dict[str, Any]:
    """What `intake status --json [--campaign ID]` prints."""
    others = other_json(other_mail(s))
    if campaign_id is not None or len(cfg.campaigns) == 1:
        c = campaign_config(cfg, campaign_id)
        return {**campaign_json(s, files, c, now), "other": others}
    return {
        "campaigns": [campaign_json(s, files, c, now) for c in cfg.campaigns],
        "other": others,
    }


def total_columns(c: CampaignConfig) -> tuple[tuple[str, str], ...]:
    """The campaign's total columns as (heading, key) for the readable table."""
    if c.table.totals == ("classes", "participants"):
        return SEED_COLUMNS
    return tuple(
        ((col.headers[0] if col.headers else col.key).upper(), col.key)
        for col in c.table.columns
        if col.total
    )


def status_text(
    s: Session,
    cfg: Config,
    files: FileStore,
    campaign_id: str | None,
    now: datetime,
    *,
    only: str | None = None,
) -> str:
    """What `intake status [--campaign ID] [--state S]` prints: each campaign's table with its
    own total columns, then the mailbox-wide lists once, then the other mail."""
    chosen = [campaign_config(cfg, campaign_id)] if campaign_id else list(cfg.campaigns)
    titles = {c.id: c.title for c in cfg.campaigns}
    blocks, first = [], None
    for c in chosen:
        cs = status_for(s, c, now)
        first = first or cs
        blocks.append(
            render(
                cs,
                only=only,
                columns=total_columns(c),
                totals=unit_totals(s, files, c, cs),
                campaigns=titles,
                lists=False,
            )
        )
    assert first is not None
    lists = render_lists(first, titles)
    if lists:
        blocks.append(lists)
    others = other_mail(s)
    if others:
        blocks.append(render_other(others, first.timezone))
    return "\n\n".join(blocks)
