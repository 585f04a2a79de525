"""Rescore runs: where a walk over every lead has got to, so a crashed run resumes there."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from leadrelay.models.types import JSONType, UTCDateTime


class RescoreRun(SQLModel, table=True):
    """One rescore of every lead at one `as_of`, walked by lead id in batches.

    `mode` is `decay` (the scheduled rescore: leads with engagement points, written only when their
    tier or MQL side changes) or `full` (`leadrelay rescore`: every lead, with the current config).
    `last_lead_id` is the checkpoint, advanced in the same transaction as each batch's writes.
    `status`: running -> finished, or abandoned when a new run replaced an unfinished one.
    """

    __tablename__ = "rescore_run"

    id: int | None = Field(default=None, primary_key=True)
    mode: str = Field(max_length=16)
    as_of: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # A fingerprint of the scoring rules the run applies: a resumed run must use the same ones.
    config_fingerprint: str = Field(max_length=64)
    last_lead_id: int = 0
    status: str = Field(default="running", max_length=16)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
