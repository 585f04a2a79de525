"""Leaving a nurture track: when a lead changes stage (see leadrelay.lifecycle; an MQL's through
`exit_nurture_for_mqls`) or its address is suppressed, its active enrollments end, each with its
reason and a `nurture_exited` event in the lead's history.

Works in the caller's unit of work and never commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.bulk import is_one_of
from leadrelay.db import claim
from leadrelay.history import append_history, history_row
from leadrelay.models import EnrollmentStatus, Lead, NurtureEnrollment, Stage

BECAME_MQL = "became-mql"


def exit_enrollments(session: Session, lead_ids: list[int], exit_reason: str, as_of: datetime, actor: str,
                     flow_run_id: str | None = None) -> int:
    """Exit every active enrollment of the leads (status `exited`, `exited_at`, `exit_reason`),
    one `nurture_exited` event each; returns how many were exited."""
    if not lead_ids:
        return 0
    query = select(NurtureEnrollment).where(is_one_of(session, NurtureEnrollment.lead_id, lead_ids),
                                            NurtureEnrollment.status == EnrollmentStatus.active)
    return _exit(session, list(session.scalars(query.order_by(NurtureEnrollment.id))), exit_reason, as_of, actor,
                 flow_run_id)


def exit_nurture_for_mqls(session: Session, as_of: datetime, limit: int, actor: str,
                          flow_run_id: str | None = None) -> list[int]:
    """Claim up to `limit` active enrollments of leads that are now MQLs and exit them with reason
    `became-mql`; returns the lead of each claimed enrollment (empty when none are left).

    Rows are locked for this transaction, skipping rows another worker holds (PostgreSQL), so the
    nurture flow never sends the next step to a lead that is on its way to a rep.
    """
    query = (select(NurtureEnrollment)
             .join(Lead, Lead.id == NurtureEnrollment.lead_id)
             .where(NurtureEnrollment.status == EnrollmentStatus.active, Lead.stage == Stage.mql)
             .order_by(NurtureEnrollment.id).limit(limit))
    enrollments = list(session.scalars(claim(session, query, of=NurtureEnrollment)))
    _exit(session, enrollments, BECAME_MQL, as_of, actor, flow_run_id)
    return [enrollment.lead_id for enrollment in enrollments]


def _exit(session: Session, enrollments: list[NurtureEnrollment], exit_reason: str, as_of: datetime, actor: str,
          flow_run_id: str | None) -> int:
    for enrollment in enrollments:
        enrollment.status, enrollment.exited_at = EnrollmentStatus.exited.value, as_of
        enrollment.exit_reason, enrollment.next_due_at = exit_reason[:200], None  # nothing is due any more
    append_history(session, [
        history_row(e.lead_id, "nurture_exited", actor, as_of,
                    {"enrollment": e.id, "track": e.track, "step": e.step_index, "reason": exit_reason},
                    flow_run_id=flow_run_id)
        for e in enrollments
    ])
    session.flush()
    return len(enrollments)
