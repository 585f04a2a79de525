"""Reps and the handoffs of leads to them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from leadrelay.models.types import JSONType, UTCDateTime


class RepState(SQLModel, table=True):
    """What routing must remember about a rep between runs (the rest is in reps.yaml)."""

    __tablename__ = "rep_state"

    email: str = Field(primary_key=True, max_length=254)
    last_assigned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class Handoff(SQLModel, table=True):
    """A lead handed to a rep, with the deadline to answer by."""

    __table_args__ = (Index("ix_handoff_status_due", "status", "due_at"),
                      # one probe per lead for "its open handoff", whatever the statistics say
                      Index("ix_handoff_open_lead", "lead_id", postgresql_where=text("status = 'open'"),
                            sqlite_where=text("status = 'open'")))

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    rep_email: str = Field(max_length=254, index=True)
    status: str = Field(default="open", max_length=16)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # How many times this decision was passed on after a breach (0 for the first rep).
    attempt: int = 0
    reason: str | None = Field(default=None, max_length=2000)
    route: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    sla_breached: bool = False
    # The lead as the rep saw it when answering: a rejection's cooldown ends early when engagement
    # rises this much since, and the email that hands it back shows the score then and now.
    score_at_answer: int | None = None
    engagement_at_answer: int | None = None
    answer_note: str | None = Field(default=None, max_length=500)
