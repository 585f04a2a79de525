"""A rep's answer to a handoff: accept the lead (it becomes SAL) or reject it with a reason
(it goes back to nurturing, with a new nurture enrollment).

Everything here works inside the caller's unit of work and never commits; the signed link page
(`leadrelay.web.handoff_routes`) and `leadrelay feedback accept|reject` both call `answer_handoff`.
Error messages are one polite sentence, safe to show to the rep as they are.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlmodel import Session

from leadrelay.handoff.reasons import REJECT_REASONS, reason_code, unknown_reason_message
from leadrelay.history import append_history, history_row
from leadrelay.lifecycle import Transition, apply_transitions
from leadrelay.models import Handoff, HandoffStatus, Lead, Stage

Decision = Literal["accept", "reject"]

NOTE_MAX_CHARS = 500

_CLOSED_MESSAGES = {
    HandoffStatus.accepted: "You already accepted this lead.",
    HandoffStatus.rejected: "You already rejected this lead.",
    HandoffStatus.reassigned: "This lead has since been passed to another rep; your answer was not needed.",
    HandoffStatus.recycled: "This lead's deadline passed and it went back to nurturing; your answer was not recorded.",
}
# Bidi overrides and marks: invisible, and able to make a note read differently than it is.
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class FeedbackError(Exception):
    """A rep's answer could not be recorded; the message is one sentence for the rep."""


class HandoffNotFound(FeedbackError):
    """The handoff does not exist (any more)."""


class HandoffClosed(FeedbackError):
    """The handoff is no longer open, or is not this rep's to answer."""


class InvalidAnswer(FeedbackError, ValueError):
    """The answer itself is incomplete: an unknown decision, a missing reason, `other` without a note."""


@dataclass(frozen=True)
class AnswerOutcome:
    """What an answer did: the lead, the stage it is now in, and a thank-you for the rep."""

    lead_email: str
    stage: str
    message: str


def answer_handoff(
    session: Session,
    handoff_id: int,
    rep_email: str,
    decision: Decision,
    reason: str | None,
    note: str | None,
    as_of: datetime,
    actor: str,
) -> AnswerOutcome:
    """Record `rep_email`'s answer to handoff `handoff_id` at `as_of`, in the caller's transaction.

    Accept: the handoff is accepted, the lead becomes `sal` and is owned by the rep.
    Reject: `reason` must be a code (or label) of REJECT_REASONS, and `other` needs a note; the
    handoff is rejected, the lead goes back to `nurturing` without an owner, and a nurture
    enrollment starts at step 0, due at `as_of`. Either way the handoff records when it was
    answered and whether that was after its deadline, and the lead's history gets the events.

    Raises HandoffNotFound, HandoffClosed (not open, or another rep's), or InvalidAnswer; then
    nothing has been written. The stage changes through `leadrelay.lifecycle` (an open handoff's
    lead is an MQL; its LifecycleError, should it not be, leaves the caller to roll back).
    """
    if as_of.tzinfo is None or as_of.tzinfo.utcoffset(as_of) is None:
        raise ValueError("as_of must be timezone-aware.")
    handoff = _locked_handoff(session, handoff_id)
    if handoff is None:
        raise HandoffNotFound("This handoff no longer exists; ask your manager about the lead.")
    require_answerable(handoff, rep_email)
    decision = _parse_decision(decision)
    code = _parse_reason(reason) if decision == "reject" else None
    clean_note = clean_text(note)
    if code == "other" and not clean_note:
        raise InvalidAnswer("Please say in a few words why the lead is not a fit (reason: Other).")

    _close(session, handoff, rep_email, HandoffStatus.accepted if decision == "accept" else HandoffStatus.rejected, as_of)
    lead = session.get(Lead, handoff.lead_id, with_for_update=True, populate_existing=True)
    if decision == "accept":
        return _accept(session, handoff, lead, clean_note, as_of, actor)
    return _reject(session, handoff, lead, code, clean_note, as_of, actor)


def find_open_handoff(session: Session, lead_email: str, rep_email: str) -> Handoff | None:
    """The newest open handoff of the lead with `lead_email` to `rep_email` (case-insensitive), if any."""
    return session.scalars(
        select(Handoff)
        .join(Lead, Lead.id == Handoff.lead_id)
        .where(
            Lead.email == lead_email.strip().lower(),
            func.lower(Handoff.rep_email) == rep_email.strip().lower(),
            Handoff.status == HandoffStatus.open,
        )
        .order_by(Handoff.created_at.desc(), Handoff.id.desc())
    ).first()


def reason_label(code: str) -> str:
    """The label of a reject reason code, or the code itself if it is not (or no longer) known."""
    return REJECT_REASONS.get(code, code)


def clean_text(text: str | None, max_chars: int = NOTE_MAX_CHARS) -> str | None:
    """`text` without control characters, trimmed and cut to `max_chars`; None when nothing is left."""
    if text is None:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Newlines and tabs stay: a note may have lines; every other control character goes.
    kept = "".join(c for c in text if c in "\n\t" or (unicodedata.category(c) != "Cc" and c not in _BIDI_CONTROLS))
    cleaned = kept.strip()[:max_chars].rstrip()
    return cleaned or None


def _locked_handoff(session: Session, handoff_id: int) -> Handoff | None:
    # FOR UPDATE on PostgreSQL: two answers to one handoff are serialised, the second sees it closed.
    # (SQLite has no row locks; its single writer serialises the transactions instead.)
    return session.get(Handoff, handoff_id, with_for_update=True, populate_existing=True)


def require_answerable(handoff: Handoff, rep_email: str) -> None:
    """Raise HandoffClosed unless `handoff` is open and was handed to `rep_email` (case-insensitive)."""
    if handoff.rep_email.strip().lower() != rep_email.strip().lower():
        raise HandoffClosed("This lead is assigned to another rep; your answer was not recorded.")
    if handoff.status != HandoffStatus.open:
        raise HandoffClosed(_CLOSED_MESSAGES.get(handoff.status, "This handoff is closed; your answer was not recorded."))


def _close(session: Session, handoff: Handoff, rep_email: str, status: HandoffStatus, as_of: datetime) -> None:
    """Move the open handoff to `status`, or raise HandoffClosed if another answer closed it first."""
    # Compare-and-set on status: of two racing answers (double click, two tabs, CLI and link),
    # exactly one matches 'open', on SQLite as on PostgreSQL.
    closed = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status == HandoffStatus.open)
        # Once breached, always breached: a late answer never clears what the SLA flow recorded.
        .values(status=status, answered_at=as_of, sla_breached=handoff.sla_breached or as_of > handoff.due_at)
        .execution_options(synchronize_session=False)
    )
    session.refresh(handoff)
    if closed.rowcount != 1:
        require_answerable(handoff, rep_email)  # raises with the polite message for its new status
        raise HandoffClosed("This handoff is closed; your answer was not recorded.")


def _parse_decision(decision: str) -> Decision:
    normalized = (decision or "").strip().lower()
    if normalized not in ("accept", "reject"):
        raise InvalidAnswer("Please choose Accept or Reject.")
    return normalized  # type: ignore[return-value]


def _parse_reason(reason: str | None) -> str:
    """The reject reason code for a code or a label, in any case."""
    if not (reason or "").strip():
        raise InvalidAnswer("Please pick a reason for rejecting the lead.")
    code = reason_code(reason)
    if code is None:
        raise InvalidAnswer(unknown_reason_message(reason))
    return code


def _accept(session: Session, handoff: Handoff, lead: Lead, note: str | None, as_of: datetime, actor: str) -> AnswerOutcome:
    lead.owner_rep, lead.updated_at = handoff.rep_email, as_of
    accepted = {"handoff_id": handoff.id, "rep": handoff.rep_email, "sla_breached": handoff.sla_breached}
    if note:
        accepted["note"] = note
    _record(session, lead, actor, as_of, "handoff_accepted", accepted,
            Transition.of(lead, Stage.sal, "accepted by rep"))
    return AnswerOutcome(lead_email=lead.email, stage=Stage.sal.value,
                         message="Thank you: the lead is yours now and is marked sales-accepted.")


def _reject(
    session: Session, handoff: Handoff, lead: Lead, code: str, note: str | None, as_of: datetime, actor: str
) -> AnswerOutcome:
    # The reason code on the handoff too: reports count rejections by reason without reading JSON.
    handoff.reason = f"rejected:{code}"
    # The lead as the rep saw it: its cooldown ends early on an engagement rise from here.
    handoff.score_at_answer, handoff.engagement_at_answer = lead.score_total, lead.engagement_score
    handoff.answer_note = note
    lead.owner_rep, lead.updated_at = None, as_of
    rejected = {"handoff_id": handoff.id, "rep": handoff.rep_email, "reason": code,
                "reason_label": reason_label(code), "note": note, "sla_breached": handoff.sla_breached}
    # Into nurturing: the lifecycle ends any active enrollment and starts one with this reason.
    _record(session, lead, actor, as_of, "handoff_rejected", rejected,
            Transition.of(lead, Stage.nurturing, f"rejected:{code}"))
    return AnswerOutcome(lead_email=lead.email, stage=Stage.nurturing.value,
                         message=f"Thank you: the lead goes back to nurturing (reason: {reason_label(code)}).")


def _record(session: Session, lead: Lead, actor: str, as_of: datetime, kind: str, detail: dict,
            move: Transition) -> None:
    """The answer's own history event, then the stage change (and its enrollments)."""
    # No flow run id: a rep's answer comes from a link or the CLI, never from inside a flow run.
    append_history(session, [history_row(lead.id, kind, actor, as_of, detail=detail)])
    apply_transitions(session, [move], as_of, actor)
    session.flush()


def answer_from_command_line(session: Session, lead_email: str, rep_email: str, decision: str,
                             reason: str | None, as_of: datetime, note: str | None = None) -> AnswerOutcome:
    """`leadrelay feedback`: answer the rep's open handoff of the lead. A reject reason must be
    one of REJECT_REASONS (code or label): anything else raises InvalidAnswer listing them, before
    the handoff is looked up, so a typo never passes as another reason."""
    if decision == "reject" and reason is not None and reason_code(reason) is None:
        raise InvalidAnswer(unknown_reason_message(reason))
    handoff = find_open_handoff(session, lead_email, rep_email)
    if handoff is None:
        raise HandoffNotFound("That rep has no open handoff of that lead.")
    return answer_handoff(session, handoff.id, rep_email, decision, reason, note, as_of,
                          actor=f"rep:{rep_email.strip().lower()} (command line)")
