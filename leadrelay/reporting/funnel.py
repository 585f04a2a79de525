"""The funnel report: how many leads reached each stage, conversion, SLA, by source, and the
managers' breakdowns (by rep, by nurture track, rejection reasons, week by week).

Every number is a handful of grouped queries over the cohort (leads created in [since, until)),
never a query per lead, so `leadrelay funnel --json` and `GET /report` stay fast at any size and
always show the same numbers."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, distinct, func, select
from sqlmodel import Session

from leadrelay.clock import now
from leadrelay.models import Handoff, HandoffStatus, Lead, LeadEvent, NurtureEnrollment, OutboxEmail, SalesOutcome, Stage
from leadrelay.reporting.breakdowns import (conversion_overall, median_days_in_stage, sla_by_rep_and_tier,
                                            week_over_week)

FUNNEL = ("contacts", "leads", Stage.mql.value, Stage.sal.value, Stage.sql.value, Stage.won.value)


def _cohort(since: datetime | None, until: datetime | None):
    conditions = []
    if since:
        conditions.append(Lead.created_at >= since)
    if until:
        conditions.append(Lead.created_at < until)
    return and_(True, *conditions)


def funnel_report(session: Session, since: datetime | None = None, until: datetime | None = None,
                  as_of: datetime | None = None) -> dict[str, Any]:
    """Counts of leads created in [since, until) that ever reached each funnel stage.

    contacts: every person received; leads: those scored into the funnel; mql..won: reached that
    stage at some point (from history), wherever they are now. `as_of` (default now) only picks
    the weeks `week_over_week` compares. email: the outbox's messages queued in the same period,
    by status (queued, sending, sent, failed).
    """
    cohort = _cohort(since, until)
    per_source: dict[str, dict[str, int]] = {}

    def bump(source: str | None, stage: str, count: int) -> None:
        per_source.setdefault(source or "unknown", dict.fromkeys(FUNNEL, 0))[stage] += count

    for source, contacts, leads in session.execute(
        select(Lead.source, func.count(), func.count(Lead.scored_at)).where(cohort).group_by(Lead.source)
    ):
        bump(source, "contacts", contacts)
        bump(source, "leads", leads)
    for source, stage, count in session.execute(
        select(Lead.source, LeadEvent.to_stage, func.count(distinct(LeadEvent.lead_id)))
        .join(Lead, Lead.id == LeadEvent.lead_id)
        .where(cohort, LeadEvent.to_stage.in_(FUNNEL[2:]))
        .group_by(Lead.source, LeadEvent.to_stage)
    ):
        bump(source, stage, count)

    stages = {stage: sum(s[stage] for s in per_source.values()) for stage in FUNNEL}
    current = dict(session.execute(select(Lead.stage, func.count()).where(cohort).group_by(Lead.stage)).all())
    weeks = weekly(session, cohort)
    return {
        "stages": stages,
        "conversion": conversion(stages),
        "sla": sla_summary(session, cohort),
        "by_source": {source: {"stages": counts, "conversion": conversion(counts)} for source, counts in sorted(per_source.items())},
        "current": current,
        "won_amount": won_amount(session, cohort),
        "by_rep": by_rep(session, cohort),
        "by_track": by_track(session, cohort),
        "rejections": rejection_reasons(session, cohort),
        "weekly": weeks,
        "conversion_overall": conversion_overall(stages),
        "median_days_in_stage": median_days_in_stage(session, cohort),
        "sla_by_rep_and_tier": sla_by_rep_and_tier(session, cohort),
        "week_over_week": week_over_week(weeks, FUNNEL[:1] + FUNNEL[2:], as_of or now()),
        "email": outbox_counts(session, since, until),
    }


def won_amount(session: Session, cohort) -> float:
    """The sum of the amounts recorded with `won` outcomes (leadrelay.outcomes), in currency units."""
    cents = session.scalar(select(func.coalesce(func.sum(SalesOutcome.amount_cents), 0))
                           .join(Lead, Lead.id == SalesOutcome.lead_id)
                           .where(cohort, SalesOutcome.outcome == Stage.won.value))
    return int(cents or 0) / 100


def outbox_counts(session, since: datetime | None = None, until: datetime | None = None) -> dict[str, int]:
    """Messages per status (`queued` is `pending`), of those queued in [since, until)."""
    table = OutboxEmail.__table__
    conditions = []
    if since is not None:
        conditions.append(table.c.created_at >= since)
    if until is not None:
        conditions.append(table.c.created_at < until)
    rows = session.execute(select(table.c.status, func.count()).where(and_(True, *conditions))
                           .group_by(table.c.status)).all()
    found = dict(rows)
    return {"queued": found.get("pending", 0), "sending": found.get("sending", 0),
            "sent": found.get("sent", 0), "failed": found.get("failed", 0)}


def conversion(stages: dict[str, int]) -> dict[str, float | None]:
    """Fraction of each stage that reached the next; None where nobody reached the first."""
    return {
        f"{a}->{b}": (round(stages[b] / stages[a], 4) if stages[a] else None)
        for a, b in zip(FUNNEL, FUNNEL[1:])
    }


def sla_summary(session: Session, cohort) -> dict[str, int]:
    """Handoffs answered in time (met), late or never (breached), and still within their deadline (open)."""
    rows = session.execute(
        select(Handoff.status, Handoff.sla_breached, func.count())
        .join(Lead, Lead.id == Handoff.lead_id)
        .where(cohort)
        .group_by(Handoff.status, Handoff.sla_breached)
    )
    summary = {"met": 0, "breached": 0, "open": 0}
    for status, breached, count in rows:
        if status == HandoffStatus.withdrawn:
            continue  # the lead was erased before anyone answered: no SLA to judge
        if breached:
            summary["breached"] += count
        elif status == "open":
            summary["open"] += count
        else:
            summary["met"] += count
    return summary


def by_rep(session: Session, cohort) -> dict[str, dict[str, int]]:
    """Per rep: handoffs received, accepted, rejected, still open, passed on (reassigned or
    recycled after a breach), and SLA met / breached, as `sla_summary` counts them."""
    reps: dict[str, dict[str, int]] = {}
    for rep, status, breached, count in session.execute(
        select(Handoff.rep_email, Handoff.status, Handoff.sla_breached, func.count())
        .join(Lead, Lead.id == Handoff.lead_id).where(cohort)
        .group_by(Handoff.rep_email, Handoff.status, Handoff.sla_breached)
    ):
        row = reps.setdefault(rep, dict.fromkeys(
            ("handoffs", "accepted", "rejected", "open", "passed_on", "sla_met", "sla_breached"), 0))
        row["handoffs"] += count
        key = status if status in ("accepted", "rejected", "open") else "passed_on"
        row[key] += count
        if status == HandoffStatus.withdrawn:
            continue
        if breached:
            row["sla_breached"] += count
        elif status != HandoffStatus.open:
            row["sla_met"] += count
    return dict(sorted(reps.items()))


def by_track(session: Session, cohort) -> dict[str, dict[str, int]]:
    """Per nurture track: enrollments that entered it, still active, finished, and exited early."""
    tracks: dict[str, dict[str, int]] = {}
    for track, status, count in session.execute(
        select(NurtureEnrollment.track, NurtureEnrollment.status, func.count())
        .join(Lead, Lead.id == NurtureEnrollment.lead_id).where(cohort)
        .group_by(NurtureEnrollment.track, NurtureEnrollment.status)
    ):
        row = tracks.setdefault(track or "(none)", {"entered": 0, "active": 0, "finished": 0, "exited": 0})
        row["entered"] += count
        if status in row:
            row[status] += count
    return dict(sorted(tracks.items()))


def rejection_reasons(session: Session, cohort) -> dict[str, int]:
    """How many handoffs reps rejected, per reason code (`rejected:<code>` on the handoff), most first."""
    rows = session.execute(
        select(Handoff.reason, func.count()).join(Lead, Lead.id == Handoff.lead_id)
        .where(cohort, Handoff.status == HandoffStatus.rejected).group_by(Handoff.reason)
    )
    counts: dict[str, int] = {}
    for reason, count in rows:
        code = (reason or "").removeprefix("rejected:") or "unknown"
        counts[code] = counts.get(code, 0) + count
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def weekly(session: Session, cohort) -> list[dict[str, Any]]:
    """Week by week (weeks start on Monday, UTC), oldest first, with no gaps: contacts created that
    week, and leads that reached each stage from MQL on that week (a lead counts once per stage a day)."""
    weeks: dict[date, dict[str, int]] = {}

    def bump(day: Any, stage: str, count: int) -> None:
        start = _week_start(day)
        weeks.setdefault(start, dict.fromkeys(FUNNEL[:1] + FUNNEL[2:], 0))[stage] += count

    for day, count in session.execute(select(func.date(Lead.created_at), func.count()).where(cohort)
                                      .group_by(func.date(Lead.created_at))):
        bump(day, "contacts", count)
    for day, stage, count in session.execute(
        select(func.date(LeadEvent.at), LeadEvent.to_stage, func.count(distinct(LeadEvent.lead_id)))
        .join(Lead, Lead.id == LeadEvent.lead_id).where(cohort, LeadEvent.to_stage.in_(FUNNEL[2:]))
        .group_by(func.date(LeadEvent.at), LeadEvent.to_stage)
    ):
        bump(day, stage, count)
    if not weeks:
        return []
    first, last = min(weeks), max(weeks)
    filled = [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
    return [{"week": start.isoformat(), **weeks.get(start, dict.fromkeys(FUNNEL[:1] + FUNNEL[2:], 0))}
            for start in filled]


def _week_start(day: Any) -> date:
    """The Monday of the week of `day` (SQLite's date() gives text, PostgreSQL's a date)."""
    value = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
    return value - timedelta(days=value.weekday())


def funnel_markdown(report: dict[str, Any], as_of: datetime) -> str:
    """The funnel as a markdown table, for the Prefect UI."""
    lines = [f"# Lead funnel at {as_of:%Y-%m-%d %H:%M} UTC", "", "| stage | reached | conversion |", "| --- | ---: | ---: |"]
    previous = None
    for stage, count in report["stages"].items():
        rate = report["conversion"].get(f"{previous}->{stage}") if previous else None
        lines.append(f"| {stage} | {count} | {'' if rate is None else f'{rate:.0%}'} |")
        previous = stage
    sla = report["sla"]
    email = report.get("email") or {}
    lines += ["", f"SLA: {sla['met']} met, {sla['breached']} breached, {sla['open']} open",
              f"Won amount: {report.get('won_amount', 0):,.2f}", ""]
    if email:
        lines += [f"Email: {email['queued']} queued, {email['sending']} sending, {email['sent']} sent, "
                  f"{email['failed']} failed" + (" (`leadrelay outbox retry` sends them again)" if email["failed"] else ""),
                  ""]
    lines += ["| source | " + " | ".join(report["stages"]) + " |", "| --- |" + " ---: |" * len(report["stages"])]
    for source, data in report["by_source"].items():
        # Source names come from input files: keep them from breaking the table.
        safe = source.replace("|", "/").replace("\n", " ")
        lines.append(f"| {safe} | " + " | ".join(str(n) for n in data["stages"].values()) + " |")
    return "\n".join(lines)
