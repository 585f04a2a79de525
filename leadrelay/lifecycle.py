"""The lead lifecycle: the one place a lead changes stage.

`new` → `nurturing` ⇄ `mql` → `sal` → `sql` → `won` / `lost`, plus `disqualified`; a rejection,
an SLA that runs out, a rep recycling a lead it accepted, or a lost deal goes back to `nurturing`.
`ALLOWED` is the table (every other move is refused).

`apply_transitions` applies a batch of moves in the caller's unit of work (it never commits): each
lead's stage (the batch refused with a `LifecycleError` if a move is not in the table or a lead is
no longer in the stage the caller saw), one `stage_changed` history event per lead with who (actor,
flow run) and why, and the nurture enrollments the move implies:

- into `nurturing`: every active enrollment ends (one `nurture_exited` event each) and exactly one
  new active enrollment starts, due at once, with the move's nurture reason (what sequences.yaml
  tracks enter on: `unqualified`, `rejected:<code>`, `sla-breached`, ...);
- into `mql`: the enrollment is ended (reason `became-mql`) by `nurture.exits.exit_nurture_for_mqls`,
  which the pipeline and engagement flows run right after scoring, and the nurture flow never
  mails an MQL meanwhile (`back-with-sales`); ending it here would make scoring write the rows the
  nurture flow claims;
- into any other stage: every active enrollment ends now (reason `became-<stage>`).

Email status (unsubscribed, bounced, ...) is another axis, kept by `nurture.suppression`: it
stops marketing email and never changes the stage.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Mapping, Sequence

from sqlalchemy import update
from sqlmodel import Session

from leadrelay.bulk import insert_rows, is_one_of, update_rows
from leadrelay.history import append_history, history_row
from leadrelay.models import EnrollmentStatus, Lead, NurtureEnrollment, Stage
from leadrelay.nurture.exits import exit_enrollments

# from-stage -> the stages a lead may move to from it.
ALLOWED: Mapping[Stage, frozenset[Stage]] = MappingProxyType({
    # Scoring: below the MQL threshold -> nurturing; at or over it -> mql at once (a hot form fill
    # goes straight to a rep).
    Stage.new: frozenset({Stage.nurturing, Stage.mql, Stage.disqualified}),
    Stage.nurturing: frozenset({Stage.mql, Stage.disqualified}),
    # A rep accepts (sal) or rejects (nurturing); an SLA that runs out recycles to nurturing too.
    Stage.mql: frozenset({Stage.sal, Stage.nurturing, Stage.disqualified}),
    # A rep who accepted can still recycle a lead that is not ready, instead of leaving it at sal.
    Stage.sal: frozenset({Stage.sql, Stage.nurturing, Stage.disqualified}),
    Stage.sql: frozenset({Stage.won, Stage.lost}),
    Stage.won: frozenset(),
    # A lost deal goes back to nurturing with the reason, never into a void.
    Stage.lost: frozenset({Stage.nurturing}),
    Stage.disqualified: frozenset(),
})

# The longest nurture reason an enrollment keeps (NurtureEnrollment.reason).
NURTURE_REASON_MAX = 60
# Bound parameters per IN list: well under SQLite's limit, whatever the batch size.
_CHUNK = 500


class LifecycleError(ValueError):
    """A stage change that the lifecycle refuses; the message is one sentence."""


@dataclass(frozen=True)
class Transition:
    """One lead's move from the stage the caller saw it in to another, and why.

    `nurture_reason` is the track-entry reason when moving into nurturing (defaults to `reason`);
    `reason` is what the history event says.
    """

    lead_id: int
    from_stage: Stage | str
    to_stage: Stage | str
    reason: str
    nurture_reason: str | None = None

    @classmethod
    def of(cls, lead: Lead, to_stage: Stage, reason: str, nurture_reason: str | None = None) -> Transition:
        """The move of a loaded `lead` from its current stage."""
        return cls(lead.id, lead.stage, to_stage, reason, nurture_reason)


@dataclass
class Applied:
    """What `apply_transitions` did."""

    moved: Counter = field(default_factory=Counter)  # to-stage -> leads moved into it
    enrollments_ended: int = 0
    enrollments_started: int = 0


def is_allowed(from_stage: Stage | str, to_stage: Stage | str) -> bool:
    """Whether the table allows a lead in `from_stage` to move to `to_stage`."""
    try:
        return Stage(to_stage) in ALLOWED[Stage(from_stage)]
    except ValueError:
        return False


def check(transition: Transition) -> None:
    """Raise LifecycleError unless `transition` may be applied as it is."""
    source, target = _stage(transition.from_stage), _stage(transition.to_stage)
    if target not in ALLOWED[source]:
        allowed = ", ".join(sorted(ALLOWED[source])) or "nowhere (it is final)"
        raise LifecycleError(f"A lead cannot go from {source} to {target}; from {source} it may go to {allowed}.")
    if not (transition.reason or "").strip():
        raise LifecycleError(f"Moving a lead from {source} to {target} needs a reason.")
    if target == Stage.nurturing and len(_nurture_reason(transition)) > NURTURE_REASON_MAX:
        raise LifecycleError(f"A nurture reason is at most {NURTURE_REASON_MAX} characters.")


def apply_transitions(session: Session, transitions: Sequence[Transition], as_of: datetime, actor: str,
                      flow_run_id: str | None = None, row_updates: Sequence[dict] = ()) -> Applied:
    """Apply every move in `transitions` at `as_of` for `actor` (and flow run), in the caller's unit
    of work: stages, history and enrollments as the module docstring says, in a few statements
    for the whole batch.

    `row_updates` are other columns the caller sets on leads of the batch, moving or not, one dict
    per lead with its `id` and the `stage` the caller saw it in: they are written in the same
    UPDATE as the moves (one write per lead, not two), each only if the lead is still in that stage.

    Raises LifecycleError before writing anything when a move is not allowed, lacks a reason, or a
    lead appears twice; raises it after writing (the caller's unit of work then rolls back) when a
    lead is no longer in the stage its move starts from (or, for `row_updates`, was seen in).
    """
    for transition in transitions:
        check(transition)
    lead_ids = [t.lead_id for t in transitions]
    if len(set(lead_ids)) != len(lead_ids):
        raise LifecycleError("A lead can make only one move per batch of transitions.")
    applied = Applied()
    _write_with_rows(session, transitions, row_updates, as_of)
    if not transitions:
        return applied
    append_history(session, [_stage_event(t, actor, as_of, flow_run_id) for t in transitions])
    applied.moved.update([_stage_value(t.to_stage) for t in transitions])
    applied.enrollments_ended = _end_enrollments(session, transitions, as_of, actor, flow_run_id)
    applied.enrollments_started = _start_enrollments(session, transitions, as_of)
    return applied


def exit_reason_for(transition: Transition) -> str | None:
    """Why a lead's active enrollments end now when it makes this move; None when they do not."""
    target = _stage(transition.to_stage)
    if target == Stage.nurturing:
        return f"replaced by a new enrollment ({_nurture_reason(transition)})"
    if target == Stage.mql:
        return None  # ended as `became-mql` by nurture.exits.exit_nurture_for_mqls (see the docstring)
    return f"became-{target}"


_STAGES = {stage.value: stage for stage in Stage}  # a dict lookup: Stage(value) is slow in a batch loop


def _stage(value: Stage | str) -> Stage:
    stage = _STAGES.get(value)
    if stage is None:
        raise LifecycleError(f"{value!r} is not a lead stage.")
    return stage


_STAGE_VALUES = {stage.value: stage.value for stage in Stage}  # Stage(...).value costs an enum property per call


def _stage_value(value: Stage | str) -> str:
    """`_stage(value).value`: the stage as the column stores it."""
    text = _STAGE_VALUES.get(value)
    if text is None:
        raise LifecycleError(f"{value!r} is not a lead stage.")
    return text


def _nurture_reason(transition: Transition) -> str:
    return (transition.nurture_reason or transition.reason).strip()


def _write_with_rows(session: Session, transitions: Sequence[Transition], row_updates: Sequence[dict],
                     as_of: datetime) -> None:
    """The stage moves, those of leads in `row_updates` in one guarded UPDATE with their other columns."""
    moves = {t.lead_id: t for t in transitions}
    rows = []
    for row in row_updates:
        seen = _stage_value(row["stage"])
        move = moves.pop(row["id"], None)
        if move is not None and _stage_value(move.from_stage) != seen:
            raise LifecycleError(f"A lead seen in {seen} cannot move from {_stage(move.from_stage)}.")
        rows.append({**row, "stage": _stage_value(move.to_stage) if move else seen, "stage_was": seen,
                     "updated_at": as_of})
    written = update_rows(session.connection(), Lead.__table__, rows, guard="stage")
    if written != len(rows):
        raise LifecycleError(f"{len(rows) - written} of the batch's leads are no longer in the stage they were "
                             "seen in; the batch is refused.")
    _move_stages(session, list(moves.values()), as_of)


def _move_stages(session: Session, transitions: Sequence[Transition], as_of: datetime) -> None:
    """One UPDATE per (from, to) pair and chunk, compare-and-set on the from-stage; leads loaded in
    the session see their new stage (ORM UPDATE, synchronised)."""
    groups: dict[tuple[Stage, Stage], list[int]] = {}
    for t in transitions:
        groups.setdefault((_stage(t.from_stage), _stage(t.to_stage)), []).append(t.lead_id)
    for (source, target), ids in groups.items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            moved = session.execute(update(Lead).where(is_one_of(session, Lead.id, chunk), Lead.stage == source.value)
                                    .values(stage=target.value, updated_at=as_of))
            if moved.rowcount != len(chunk):
                raise LifecycleError(f"{len(chunk) - moved.rowcount} of the leads moving from {source} to {target} "
                                     f"are no longer in {source}; the batch is refused.")


def _stage_event(t: Transition, actor: str, as_of: datetime, flow_run_id: str | None) -> dict:
    source, target = _stage_value(t.from_stage), _stage_value(t.to_stage)
    return history_row(t.lead_id, "stage_changed", actor, as_of, {"from": source, "to": target, "reason": t.reason},
                       to_stage=target, flow_run_id=flow_run_id)


def _end_enrollments(session: Session, transitions: Sequence[Transition], as_of: datetime, actor: str,
                     flow_run_id: str | None) -> int:
    """End the active enrollments the moves imply, one `nurture_exited` event each; returns how many."""
    by_reason: dict[str, list[int]] = {}
    for t in transitions:
        reason = exit_reason_for(t)
        if reason is not None:
            by_reason.setdefault(reason, []).append(t.lead_id)
    return sum(exit_enrollments(session, ids, reason, as_of, actor, flow_run_id) for reason, ids in by_reason.items())


def _start_enrollments(session: Session, transitions: Sequence[Transition], as_of: datetime) -> int:
    """One active enrollment, due at `as_of`, per lead moved into nurturing (the nurture flow picks
    its track); returns how many."""
    rows = [{"lead_id": t.lead_id, "reason": _nurture_reason(t), "track": None, "step_index": 0,
             "status": EnrollmentStatus.active.value, "entered_at": as_of, "next_due_at": as_of}
            for t in transitions if _stage_value(t.to_stage) == Stage.nurturing]
    insert_rows(session.connection(), NurtureEnrollment.__table__, rows)
    return len(rows)
