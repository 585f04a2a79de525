"""Sending nurture steps: claim due enrollments, apply the guard rails, queue the email, advance.

Works in the caller's unit of work and never commits: the enrollment's new step, its history and
the queued email (outbox row, idempotency key `nurture:{enrollment_id}:{step_index}`) are one
transaction, so a retried or concurrent run sends each step once.

For each claimed enrollment, in order:
1. no track yet: choose one by reason, persona and industry (history `nurture_enrolled`);
2. exit (history `nurture_exited`, nothing sent) when the address is suppressed or the lead's
   email status is not `ok` (`suppressed`), the stage is mql/sal/sql/won (`back-with-sales`),
   the lead has no marketing consent (`no-consent`), or no track fits (`no-track`);
3. defer (history `nurture_deferred`, nothing sent) while a rep holds an open handoff
   (`open-handoff`, checked again a day later), outside the send window in the lead's local time
   (`outside-send-window`) or over the frequency cap (`frequency-cap`): next_due_at moves to the
   first allowed moment;
4. otherwise render and queue the step (history `nurture_sent`), then set the next step's due
   time (its wait after now), or finish the track (history `nurture_finished`): `then: <track>`
   enrolls the lead there, `then: cold` stops email and marks the finished enrollment `cold`
   (exit_reason), the lead staying in stage `nurturing`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.db import claim
from leadrelay.history import append_history, history_row
from leadrelay.lead_view import lead_facts
from leadrelay.nurture.guard_rails import FREQUENCY_CAP, choose_track, lead_timezone, persona_of, plan_send
from leadrelay.nurture.email import NurtureLinks, nurture_email, unsubscribe_mailto
from leadrelay.email.kinds import NURTURE
from leadrelay.email.outbox import enqueue
from leadrelay.email.rendering import Sender
from leadrelay.nurture.send_window import add_wait
from leadrelay.nurture.sequences import COLD, SequencesConfig, Track
from leadrelay.nurture.suppression import is_suppressed
from leadrelay.nurture.unsubscribe import unsubscribe_url
from leadrelay.models import (EmailStatus, EnrollmentStatus, Handoff, HandoffStatus, Lead, NurtureEnrollment,
                              OutboxEmail, Stage)

SALES_STAGES = frozenset({Stage.mql, Stage.sal, Stage.sql, Stage.won})
# While a rep holds the lead, look again this much later (the handoff is usually answered by then).
OPEN_HANDOFF_RECHECK = timedelta(days=1)


@dataclass(frozen=True)
class NurtureContext:
    """What sending nurture steps needs besides the session."""

    sequences: SequencesConfig
    secret: str
    base_url: str
    sender: Sender
    actor: str
    flow_run_id: str | None = None


@dataclass
class NurtureOutcome:
    claimed: int = 0
    counts: Counter = field(default_factory=Counter)  # sent, deferred, exited, finished, enrolled
    lead_ids: list[int] = field(default_factory=list)  # the leads of the claimed enrollments


def claim_due_enrollments(session: Session, as_of: datetime, limit: int) -> list[NurtureEnrollment]:
    """Up to `limit` active enrollments due at `as_of`, locked for this transaction (skipping rows
    another worker holds, on PostgreSQL)."""
    query = (select(NurtureEnrollment)
             .where(NurtureEnrollment.status == EnrollmentStatus.active, NurtureEnrollment.next_due_at <= as_of)
             .order_by(NurtureEnrollment.next_due_at, NurtureEnrollment.id).limit(limit))
    return list(session.scalars(claim(session, query)))


def recent_nurture_sends(session: Session, lead_ids: list[int], since: datetime) -> dict[int, list[datetime]]:
    """When each lead was queued nurture email after `since` (any track): what the cap counts."""
    rows = session.execute(select(OutboxEmail.lead_id, OutboxEmail.created_at).where(
        OutboxEmail.lead_id.in_(lead_ids), OutboxEmail.kind == NURTURE, OutboxEmail.created_at > since))
    sends: dict[int, list[datetime]] = {}
    for lead_id, at in rows:
        sends.setdefault(lead_id, []).append(at)
    return sends


def nurture_next_batch(session: Session, ctx: NurtureContext, as_of: datetime, limit: int) -> NurtureOutcome:
    """Claim one batch of due enrollments and act on each (see the module docstring)."""
    enrollments = claim_due_enrollments(session, as_of, limit)
    outcome = NurtureOutcome(claimed=len(enrollments))
    if not enrollments:
        return outcome
    lead_ids = outcome.lead_ids = sorted({e.lead_id for e in enrollments})
    leads = {lead.id: lead for lead in session.scalars(select(Lead).where(Lead.id.in_(lead_ids)))}
    suppressed = is_suppressed(session, [lead.email for lead in leads.values()])
    held = set(session.scalars(select(Handoff.lead_id).where(Handoff.lead_id.in_(lead_ids),
                                                             Handoff.status == HandoffStatus.open)))
    cap = ctx.sequences.frequency_cap
    sends = recent_nurture_sends(session, lead_ids, as_of - timedelta(days=cap.per_days))
    step = _Step(session, ctx, as_of, outcome, sends)
    for enrollment in enrollments:
        lead = leads[enrollment.lead_id]
        step.act(enrollment, lead, lead.email.strip().lower() in suppressed, lead.id in held)
    append_history(session, step.history)
    session.flush()
    return outcome


class _Step:
    """Acting on one claimed enrollment at a time; collects history for one bulk insert."""

    def __init__(self, session: Session, ctx: NurtureContext, as_of: datetime, outcome: NurtureOutcome,
                 sends: dict[int, list[datetime]]):
        self.session, self.ctx, self.as_of, self.outcome, self.sends = session, ctx, as_of, outcome, sends
        self.history: list[dict[str, Any]] = []

    def act(self, enrollment: NurtureEnrollment, lead: Lead, suppressed: bool, held: bool) -> None:
        view = lead_facts(lead)
        track = self.ctx.sequences.track(enrollment.track)
        if track is None:
            track = choose_track(enrollment.reason, view, self.ctx.sequences)
            if track is None:
                return self._exit(enrollment, "no-track")
            enrollment.track, enrollment.step_index = track.name, 0
            self._event(enrollment, "nurture_enrolled", {"track": track.name, "reason": enrollment.reason})
            self.outcome.counts["enrolled"] += 1
        if suppressed or lead.email_status != EmailStatus.ok:
            return self._exit(enrollment, "suppressed")
        if lead.stage in SALES_STAGES:
            return self._exit(enrollment, "back-with-sales")
        if lead.consent is not True:
            return self._exit(enrollment, "no-consent")
        if enrollment.step_index >= len(track.steps):
            return self._finish(enrollment, track, view)  # the track was shortened since
        if held:
            return self._defer(enrollment, track, self.as_of + OPEN_HANDOFF_RECHECK, ("open-handoff",))
        tz = lead_timezone(view)
        step = track.steps[enrollment.step_index]
        plan = plan_send(self.as_of, tz, self.ctx.sequences.window_for(track, step), self.sends.get(lead.id, []),
                         self.ctx.sequences.frequency_cap)
        if plan.at > self.as_of:
            return self._defer(enrollment, track, plan.at, plan.deferred_by, tz)
        self._send(enrollment, lead, view, track)
        enrollment.step_index += 1
        if enrollment.step_index >= len(track.steps):
            return self._finish(enrollment, track, view)
        enrollment.next_due_at = add_wait(self.as_of, track.steps[enrollment.step_index].wait, tz)

    def _send(self, enrollment: NurtureEnrollment, lead: Lead, view: dict[str, Any], track: Track) -> None:
        index = enrollment.step_index
        links = NurtureLinks(unsubscribe_url(lead.email, self.ctx.secret, self.ctx.base_url, self.as_of),
                             unsubscribe_mailto(self.ctx.sender))
        message = nurture_email(view, track, index, links, self.ctx.sender, f"nurture:{enrollment.id}:{index}",
                                persona=persona_of(lead.title, self.ctx.sequences))
        if enqueue(self.session, message, NURTURE, lead.id, self.as_of):
            self.sends.setdefault(lead.id, []).append(self.as_of)  # later steps in this batch see it
        self._event(enrollment, "nurture_sent", {"track": track.name, "step": index + 1,
                                                 "template": track.steps[index].template})
        self.outcome.counts["sent"] += 1

    def _defer(self, enrollment: NurtureEnrollment, track: Track, until: datetime, why: tuple[str, ...],
               tz: str | None = None) -> None:
        enrollment.next_due_at = until
        detail = {"track": track.name, "step": enrollment.step_index + 1, "until": until.isoformat(),
                  "reason": FREQUENCY_CAP if FREQUENCY_CAP in why else why[0], "reasons": list(why)}
        if tz:
            detail["timezone"] = tz
        self._event(enrollment, "nurture_deferred", detail)
        self.outcome.counts["deferred"] += 1

    def _exit(self, enrollment: NurtureEnrollment, reason: str) -> None:
        enrollment.status, enrollment.exited_at, enrollment.exit_reason = EnrollmentStatus.exited.value, self.as_of, reason
        enrollment.next_due_at = None
        self._event(enrollment, "nurture_exited", {"track": enrollment.track, "step": enrollment.step_index,
                                                   "reason": reason})
        self.outcome.counts["exited"] += 1

    def _finish(self, enrollment: NurtureEnrollment, track: Track, view: dict[str, Any]) -> None:
        enrollment.status, enrollment.exited_at, enrollment.next_due_at = EnrollmentStatus.finished.value, self.as_of, None
        # The mark of a lead that went cold: its last enrollment finished with exit_reason "cold".
        enrollment.exit_reason = COLD if track.then == COLD else f"then:{track.then}"
        self._event(enrollment, "nurture_finished", {"track": track.name, "steps": len(track.steps), "then": track.then})
        self.outcome.counts["finished"] += 1
        following = self.ctx.sequences.track(track.then)
        if following is None:
            return
        due = add_wait(self.as_of, following.steps[0].wait, lead_timezone(view))
        successor = NurtureEnrollment(lead_id=enrollment.lead_id, reason=enrollment.reason, track=following.name,
                                      step_index=0, status=EnrollmentStatus.active.value, entered_at=self.as_of,
                                      next_due_at=due)
        self.session.add(successor)
        self.session.flush()
        self._event(successor, "nurture_enrolled", {"track": following.name, "reason": enrollment.reason,
                                                    "after": track.name})
        self.outcome.counts["enrolled"] += 1

    def _event(self, enrollment: NurtureEnrollment, kind: str, detail: dict[str, Any]) -> None:
        self.history.append(history_row(enrollment.lead_id, kind, self.ctx.actor, self.as_of,
                                        {"enrollment": enrollment.id, **detail}, flow_run_id=self.ctx.flow_run_id))
