"""Appending to leads' history: one row per step, written in bulk with the batch it belongs to."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from leadrelay.bulk import insert_rows
from leadrelay.models import LeadEvent


def current_flow_run_id() -> str | None:
    """The Prefect flow run this code runs in, if any."""
    try:
        from prefect.runtime import flow_run

        run_id = flow_run.id
    except Exception:
        return None
    return str(run_id) if run_id else None


def history_row(
    lead_id: int,
    kind: str,
    actor: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
    to_stage: str | None = None,
    flow_run_id: str | None = None,
) -> dict[str, Any]:
    """One history event, ready for `append_history`."""
    return {
        "lead_id": lead_id,
        "kind": kind,
        "actor": actor,
        "at": at,
        "detail": detail or {},
        "to_stage": to_stage,
        "flow_run_id": flow_run_id,
    }


def append_history(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write `history_row`s in the session's transaction, all in one COPY (PostgreSQL) or executemany."""
    insert_rows(session.connection(), LeadEvent.__table__, rows)
