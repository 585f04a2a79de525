"""The funnel's closing breakdowns: conversion from contacts, median time in each stage, SLA by
rep and tier, and week over week. Grouped or windowed queries over the cohort, never one per lead;
the arithmetic is in plain functions (`is_middle_rank`, `median_of_middles`, `week_over_week`)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from sqlalchemy import Integer, cast, func, select
from sqlmodel import Session

from leadrelay.models import Handoff, HandoffStatus, Lead, LeadEvent, Stage, Tier

# Stages a lead can enter through a `stage_changed` event (`new` is where every lead starts).
TIMED_STAGES = tuple(stage.value for stage in Stage if stage is not Stage.new)
TIERS = (Tier.hot.value, Tier.warm.value, Tier.cold.value)


def conversion_overall(stages: dict[str, int]) -> dict[str, float | None]:
    """Fraction of all contacts that reached each later stage (`"contacts->won"` …); None without contacts."""
    contacts = stages.get("contacts", 0)
    return {f"contacts->{stage}": (round(count / contacts, 4) if contacts else None)
            for stage, count in stages.items() if stage != "contacts"}


def is_middle_rank(rank, count):
    """Whether the `rank`-th (1-based) of `count` sorted values is one the median averages (one
    rank when `count` is odd, two when even). Works on ints and on SQL expressions alike."""
    return (rank * 2 >= count) & (rank * 2 <= count + 2)


def median_of_middles(middles: Sequence[float]) -> float | None:
    """The median from its one or two middle values, in days rounded to 0.01; None without any."""
    return round(sum(middles) / len(middles), 2) if middles else None


def median_days_in_stage(session: Session, cohort) -> dict[str, float | None]:
    """Per stage, the median number of days leads spent in it before their next stage change
    (each stay counts once; stays not yet ended are left out); None where no stay has ended.

    One windowed query: each `stage_changed` event is paired with the lead's next one, the stays are
    ranked by length per stage, and only the middle one or two per stage leave the database."""
    moves = (select(LeadEvent.to_stage.label("stage"), LeadEvent.at.label("entered"),
                    func.lead(LeadEvent.at).over(partition_by=LeadEvent.lead_id,
                                                 order_by=(LeadEvent.at, LeadEvent.id)).label("left"))
             .join(Lead, Lead.id == LeadEvent.lead_id)
             .where(cohort, LeadEvent.kind == "stage_changed", LeadEvent.to_stage.in_(TIMED_STAGES))
             .subquery())
    days = _days_between(session, moves.c.entered, moves.c.left)
    stays = select(moves.c.stage, days.label("days")).where(moves.c.left.is_not(None)).subquery()
    ranked = select(stays.c.stage, stays.c.days,
                    func.row_number().over(partition_by=stays.c.stage, order_by=stays.c.days).label("rank"),
                    func.count().over(partition_by=stays.c.stage).label("n")).subquery()
    middles: dict[str, list[float]] = {}
    for stage, value in session.execute(select(ranked.c.stage, ranked.c.days)
                                        .where(is_middle_rank(ranked.c.rank, ranked.c.n))):
        middles.setdefault(stage, []).append(float(value))
    return {stage: median_of_middles(middles.get(stage, [])) for stage in TIMED_STAGES}


def _days_between(session: Session, start, end):
    """`end - start` in days as a number, in the database's own date arithmetic."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


def sla_bucket(status: str, breached: bool) -> str | None:
    """`met`, `breached` or `open` as the funnel's `sla` counts a handoff; None for one withdrawn
    (its lead was erased before anyone answered: no SLA to judge)."""
    if status == HandoffStatus.withdrawn:
        return None
    if breached:
        return "breached"
    return "open" if status == HandoffStatus.open else "met"


def sla_by_rep_and_tier(session: Session, cohort) -> dict[str, dict[str, dict[str, int]]]:
    """rep -> tier (hot, warm, cold, every one present) -> {met, breached, open}: handoffs judged
    by the tier the lead had when it was handed over (its `handoff_created` event), else its
    tier now. Reps sorted by email."""
    created = (select(LeadEvent.lead_id, cast(LeadEvent.detail["handoff"].as_string(), Integer).label("handoff_id"),
                      LeadEvent.detail["tier"].as_string().label("tier"))
               .where(LeadEvent.kind == "handoff_created").subquery())
    tier = func.coalesce(created.c.tier, Lead.tier)
    rows = session.execute(
        select(Handoff.rep_email, tier, Handoff.status, Handoff.sla_breached, func.count())
        .join(Lead, Lead.id == Handoff.lead_id)
        .outerjoin(created, (created.c.lead_id == Handoff.lead_id) & (created.c.handoff_id == Handoff.id))
        .where(cohort)
        .group_by(Handoff.rep_email, tier, Handoff.status, Handoff.sla_breached))
    reps: dict[str, dict[str, dict[str, int]]] = {}
    for rep, lead_tier, status, breached, count in rows:
        bucket = sla_bucket(status, breached)
        tiers = reps.setdefault(rep, {name: {"met": 0, "breached": 0, "open": 0} for name in TIERS})
        if bucket is not None:
            tiers.setdefault(lead_tier or "unknown", {"met": 0, "breached": 0, "open": 0})[bucket] += count
    return dict(sorted(reps.items()))


def week_over_week(weeks: Sequence[dict[str, Any]], series: Sequence[str], as_of: datetime) -> dict[str, Any]:
    """The last complete week before `as_of` against the week before it (weeks from Monday, UTC;
    the week `as_of` falls in is under way, so it is left out), from `weekly`'s rows: {week,
    previous_week, stages: {stage: {count, previous, change, change_pct}}}; a week `weekly` does
    not have counts zero; change_pct is None when the week before had none."""
    monday = as_of.astimezone(timezone.utc).date() - timedelta(days=as_of.astimezone(timezone.utc).weekday())
    latest_start, previous_start = monday - timedelta(weeks=1), monday - timedelta(weeks=2)
    by_start = {row["week"]: row for row in weeks}
    latest, previous = by_start.get(latest_start.isoformat(), {}), by_start.get(previous_start.isoformat(), {})
    stages = {}
    for name in series:
        now, before = latest.get(name, 0), previous.get(name, 0)
        stages[name] = {"count": now, "previous": before, "change": now - before,
                        "change_pct": round((now - before) / before, 4) if before else None}
    return {"week": latest_start.isoformat(), "previous_week": previous_start.isoformat(), "stages": stages}
