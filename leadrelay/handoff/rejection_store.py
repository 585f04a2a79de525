"""Reading rejections for a batch: which MQLs are still cooling down (a condition the hand-off
claim adds, so such leads are never claimed), each claimed lead's last rejection, and what it did
since. A handful of queries per batch, never one per lead.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from leadrelay.bulk import is_one_of
from leadrelay.handoff.cooldown import (
    REJECTED_PREFIX,
    Rejection,
    RejectionRules,
    code_of,
    cooldown_ends_at,
    engagement_rise,
    hand_back_reason,
)
from leadrelay.handoff.reasons import REJECT_REASONS
from leadrelay.models import EngagementEvent, Handoff, HandoffStatus, Lead
from leadrelay.models.types import UTCDateTime

# An unknown engagement at the rejection: no rise can be measured, so only time ends the cooldown.
_NO_BASELINE = 10**9


def cooling_down(rules: RejectionRules, as_of: datetime) -> ColumnElement[bool]:
    """SQL: the lead's last rejection is still in its cooldown at `as_of` (its reason's days have
    not passed) and its engagement has not risen by `engagement_rise` since; the same rule as
    `cooldown.hand_back_reason`, for a claim on `Lead`."""
    rejected = aliased(Handoff)
    last = (select(func.max(Handoff.id)).where(Handoff.lead_id == Lead.id, Handoff.status == HandoffStatus.rejected)
            .correlate(Lead).scalar_subquery())
    # The rejection is still cooling down when it is newer than `as_of` minus its reason's days.
    since = {f"{REJECTED_PREFIX}{code}":
             literal(as_of - timedelta(days=rules.rule_for(code).cooldown_days), UTCDateTime())
             for code in REJECT_REASONS}
    cutoff = case(since, value=rejected.reason,
                  else_=literal(as_of - timedelta(days=rules.default_cooldown_days), UTCDateTime()))
    rise = Lead.engagement_score - func.coalesce(rejected.engagement_at_answer, _NO_BASELINE)
    # OFFSET 0: a probe per lead, never an anti-join planned from stale statistics (see claim_new_mqls)
    return (select(rejected.id).where(and_(rejected.lead_id == Lead.id, rejected.id == last,
                                           rejected.answered_at > cutoff, rise < rules.engagement_rise))
            .offset(0).correlate(Lead).exists())


def last_rejections(session: Session, lead_ids: list[int]) -> dict[int, Rejection]:
    """Each lead's most recent rejection, for the whole batch in one query."""
    if not lead_ids:
        return {}
    latest = (select(func.max(Handoff.id).label("id"))
              .where(is_one_of(session, Handoff.lead_id, lead_ids), Handoff.status == HandoffStatus.rejected)
              .group_by(Handoff.lead_id).subquery())
    rows = session.scalars(select(Handoff).join(latest, latest.c.id == Handoff.id))
    return {h.lead_id: Rejection(lead_id=h.lead_id, handoff_id=h.id, rep_email=h.rep_email, reason=code_of(h.reason),
                                 note=h.answer_note, answered_at=h.answered_at or h.created_at,
                                 score_then=h.score_at_answer, engagement_then=h.engagement_at_answer)
            for h in rows}


def engagement_since(session: Session, rejections: dict[int, Rejection], as_of: datetime) -> dict[int, Counter]:
    """What each lead did after its rejection, as a count per engagement kind (one query)."""
    if not rejections:
        return {}
    earliest = min(r.answered_at for r in rejections.values())
    rows = session.execute(select(EngagementEvent.lead_id, EngagementEvent.kind, EngagementEvent.occurred_at).where(
        is_one_of(session, EngagementEvent.lead_id, list(rejections)), EngagementEvent.occurred_at > earliest,
        EngagementEvent.occurred_at <= as_of))
    done: dict[int, Counter] = {}
    for lead_id, kind, occurred_at in rows:
        if occurred_at > rejections[lead_id].answered_at:
            done.setdefault(lead_id, Counter())[kind] += 1
    return done


def earlier_rejection(rejection: Rejection, lead: Lead, did: Counter | None, rules: RejectionRules,
                      rep_name: str, as_of: datetime) -> dict[str, Any]:
    """What the email handing a lead back says about its last rejection, JSON-safe: who, when,
    why, and what changed since (engagement by kind, score and engagement then and now)."""
    return {
        "rep_email": rejection.rep_email, "rep_name": rep_name, "at": rejection.answered_at.isoformat(),
        "reason": rejection.reason, "reason_label": REJECT_REASONS.get(rejection.reason, rejection.reason),
        "note": rejection.note,
        "score_then": rejection.score_then, "score_now": lead.score_total,
        "engagement_then": rejection.engagement_then, "engagement_now": lead.engagement_score,
        "engagement_rise": engagement_rise(rejection, lead.engagement_score),
        "new_engagement": [{"kind": kind, "count": count} for kind, count in sorted((did or Counter()).items())],
        "cooldown_ended_at": cooldown_ends_at(rejection, rules).isoformat(),
        "why_back": hand_back_reason(rejection, lead.engagement_score, as_of, rules) or "it was handed back",
    }
