"""The funnel report: how many leads reached each stage, conversion, SLA, by source."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, distinct, func, select
from sqlmodel import Session

from leadrelay.models import Handoff, Lead, LeadEvent, OutboxEmail, Stage

FUNNEL = ("contacts", "leads", Stage.mql.value, Stage.sal.value, Stage.sql.value, Stage.won.value)


def _cohort(since: datetime | None, until: datetime | None):
    conditions = []
    if since:
        conditions.append(Lead.created_at >= since)
    if until:
        conditions.append(Lead.created_at < until)
    return and_(True, *conditions)


def funnel_report(session: Session, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """Counts of leads created in [since, until) that ever reached each funnel stage.

    contacts: every person received; leads: those scored into the funnel; mql..won: reached that
    stage at some point (from history), wherever they are now. email: the outbox's messages
    queued in the same period, by status (queued, sending, sent, failed).
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
    return {
        "stages": stages,
        "conversion": conversion(stages),
        "sla": sla_summary(session, cohort),
        "by_source": {source: {"stages": counts, "conversion": conversion(counts)} for source, counts in sorted(per_source.items())},
        "current": current,
        "email": outbox_counts(session, since, until),
    }


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
        if breached:
            summary["breached"] += count
        elif status == "open":
            summary["open"] += count
        else:
            summary["met"] += count
    return summary


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
    lines += ["", f"SLA: {sla['met']} met, {sla['breached']} breached, {sla['open']} open", ""]
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
