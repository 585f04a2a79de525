"""Leads scored as the pipeline would have scored them at some earlier time, for rescore tests."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlmodel import Session

from leadrelay.models import Lead
from leadrelay.scoring.score import ScoringRules, score_lead
from tests.factories import add_engagement, add_lead


def scored_lead(session: Session, email: str, stage: str, rules: ScoringRules, at: datetime,
                events: Iterable[tuple[str, int]] = (), **facts: Any) -> Lead:
    """A lead at `stage`, not waiting to be scored, with engagement events `(kind, days before at)`,
    and the score `rules` gave it at `at` stored as the pipeline stores it."""
    events = list(events)
    lead = add_lead(session, email, at=at, stage=stage, needs_scoring=False, **facts)
    for kind, days_before in events:
        add_engagement(session, lead, kind, at - timedelta(days=days_before))
    score = score_lead({**facts, "email": email, "stage": stage},
                       [(kind, at - timedelta(days=days)) for kind, days in events], rules, at)
    lead.fit_score, lead.engagement_score, lead.score_total = score.fit, score.engagement, score.total
    lead.tier, lead.score_breakdown, lead.scored_at = score.tier, list(score.breakdown), at
    session.flush()
    return lead
