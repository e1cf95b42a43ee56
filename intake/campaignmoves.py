"""The officer moves a message to a campaign, or to "other" (`intake move MESSAGE
CAMPAIGN|other`): the choice is recorded as theirs (kept on a reparse), audited, and the
submissions of the message's unit are recomputed in every campaign (the one it left and the one
it joined). A message whose unit is known becomes filed (or other mail); one without a unit
keeps waiting for `intake assign`, which then files it to this campaign."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.campaignconfig import OTHER
from core.config import Config
from core.errors import IntakeError
from intake.filing import recompute_units
from intake.officer import _message, audit
from store.campaigns import campaigns_of
from store.models import Attachment, Message, MessageState


def move(s: Session, cfg: Config, message: str, target: str, *, by: str, now: datetime) -> Message:
    ids = [c.id for c in cfg.campaigns]
    if target != OTHER and target not in ids:
        raise IntakeError(f"no campaign {target!r} (campaigns: {', '.join(ids)}; or: other)")
    msg = _message(s, message)
    if msg.state in (MessageState.RECEIVED, MessageState.QUARANTINED, MessageState.IGNORED):
        raise IntakeError(
            f"message {message} is {msg.state}: only filed, unassigned or other mail can be moved"
        )
    before = sorted(campaigns_of(s, msg)) or [msg.campaign_id or "(none)"]
    msg.campaign_id, msg.campaign_by = target, by
    msg.campaign_reason = f"moved to {target} by {by}"
    msg.campaign_candidates = ""
    s.execute(update(Attachment).where(Attachment.message_fk == msg.id).values(campaign_id=""))
    if target == OTHER:
        msg.state = MessageState.OTHER
    elif msg.unit_id is not None:
        msg.state = MessageState.FILED
        msg.reason = f"campaign {target} chosen by {by}"
    else:
        msg.state = MessageState.UNASSIGNED
    audit(s, by, "move", now, message=msg.id, campaign=target, previous=before)
    s.flush()
    if msg.unit_id is not None:
        recompute_units(s, cfg.campaigns, [msg.unit_id], now)
    return msg
