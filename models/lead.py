"""Leads and the accounts (companies) they belong to."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from leadrelay.models.types import EmailStatus, JSONType, Stage, UTCDateTime

# Field limits enforced at intake: a longer value is quarantined, not truncated.
LIMITS = {
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "title": 200,
    "company": 200,
    "company_domain": 253,
    "industry": 100,
    "country": 100,
    "phone": 50,
    "need": 2000,
    "source": 100,
    "attribute": 1000,
}


class Account(SQLModel, table=True):
    """A company, matched by its domain; a buying team is the leads of one account."""

    id: int | None = Field(default=None, primary_key=True)
    domain: str = Field(max_length=253, unique=True)
    name: str | None = Field(default=None, max_length=200)
    owner_rep: str | None = Field(default=None, max_length=254)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Lead(SQLModel, table=True):
    # Partial indexes (migration 0015): a scored lead or one without an account adds no entry.
    __table_args__ = (Index("ix_lead_needs_scoring", "needs_scoring", "id", postgresql_where=text("needs_scoring IS TRUE")),
                      Index("ix_lead_account_id", "account_id", postgresql_where=text("account_id IS NOT NULL"),
                            sqlite_where=text("account_id IS NOT NULL")),
                      # the hand-off claim walks MQLs in id order, whatever the statistics say
                      Index("ix_lead_mql_id", "id", postgresql_where=text("stage = 'mql'"),
                            sqlite_where=text("stage = 'mql'")))

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    title: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    company_domain: str | None = Field(default=None, max_length=253)
    industry: str | None = Field(default=None, max_length=100)
    company_size: int | None = None
    country: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    budget_usd: int | None = None
    timeframe_months: int | None = None
    need: str | None = Field(default=None, max_length=2000)
    source: str | None = Field(default=None, max_length=100)
    list_kind: str = Field(default="internal", max_length=16)
    consent: bool | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))

    account_id: int | None = Field(default=None, foreign_key="account.id")
    # Changed only through leadrelay.lifecycle.
    stage: str = Field(default=Stage.new, max_length=16, index=True)
    owner_rep: str | None = Field(default=None, max_length=254)
    # Marketing email only (see EmailStatus); set by unsubscribes, bounces and spam reports.
    email_status: str = Field(default=EmailStatus.ok, max_length=16,
                              sa_column_kwargs={"server_default": EmailStatus.ok.value})
    email_status_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    email_status_reason: str | None = Field(default=None, max_length=200)

    fit_score: int = 0
    engagement_score: int = 0
    score_total: int = 0
    tier: str = Field(default="cold", max_length=8)
    score_breakdown: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    scored_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Set by intake and engagement; the pipeline claims leads where it is true.
    needs_scoring: bool = True

    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
