"""The append-only history of each lead, and the engagement it showed."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from leadrelay.models.types import JSONType, UTCDateTime


class LeadEvent(SQLModel, table=True):
    """One step in a lead's life: who or what did it (`actor`), when, and why (`detail`)."""

    __tablename__ = "lead_event"
    __table_args__ = (Index("ix_lead_event_lead_at", "lead_id", "at"),
                      # only stage changes have a to_stage (migration 0015)
                      Index("ix_lead_event_to_stage", "to_stage", postgresql_where=text("to_stage IS NOT NULL"),
                            sqlite_where=text("to_stage IS NOT NULL")))

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id")
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=300)
    # The stage a `stage_changed` event moved to: lets the funnel count without parsing JSON.
    to_stage: str | None = Field(default=None, max_length=16)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    flow_run_id: str | None = Field(default=None, max_length=64)


class EngagementEvent(SQLModel, table=True):
    """Something a lead did (open, click, visit, download, demo request); decays in scoring."""

    __tablename__ = "engagement_event"
    __table_args__ = (Index("ix_engagement_lead_at", "lead_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id")
    kind: str = Field(max_length=40)
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    source: str = Field(max_length=40)
    # The provider's event id: the same event delivered twice is stored once.
    external_id: str | None = Field(default=None, max_length=200, unique=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
