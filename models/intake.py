"""What arrives before it is a lead: the inbound table forms write to, and quarantine."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from leadrelay.models.types import JSONType, StorableString, StorableText, UTCDateTime


class InboundLead(SQLModel, table=True):
    """A raw submission from a form or integration, turned into a lead by the pipeline."""

    __tablename__ = "inbound_lead"
    # A client's submission_id is stored once per form (source); NULLs never conflict.
    __table_args__ = (UniqueConstraint("source", "submission_id", name="uq_inbound_lead_source_submission_id"),)

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    source: str = Field(max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True))
    # Optional idempotency key a form client sends, so a retried post makes one row (and one lead).
    submission_id: str | None = Field(default=None, max_length=200)


class QuarantineEntry(SQLModel, table=True):
    """An input that could not be accepted, kept whole with the reason."""

    __tablename__ = "quarantine"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # Stored whatever bytes arrived (NUL and unpaired surrogates shown as stand-ins).
    source: str = Field(sa_column=Column(StorableString(300), nullable=False))
    reason: str = Field(sa_column=Column(StorableText(), nullable=False))
    raw: str = Field(sa_column=Column(StorableText(), nullable=False))
