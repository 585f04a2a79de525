"""Outgoing email (the outbox), nurture enrollments and suppressions."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, text
from sqlmodel import Field, SQLModel

from leadrelay.models.types import JSONType, UTCDateTime


class OutboxEmail(SQLModel, table=True):
    """An email decided on, written in the same transaction as the decision; sending drains it."""

    __tablename__ = "outbox_email"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),
                      Index("ix_outbox_status_lease", "status", "lease_until"))

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40)  # one of leadrelay.email.kinds
    lead_id: int | None = Field(default=None, foreign_key="lead.id", index=True)
    to_email: str = Field(max_length=254)
    to_name: str = Field(default="", max_length=300)
    from_email: str = Field(max_length=254)
    from_name: str = Field(default="", max_length=300)
    subject: str = Field(max_length=500)
    html: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    headers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))  # extra headers only
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # SendGrid custom args (kind, ids; never personal data); the idempotency key is added at send time.
    custom_args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    # pending -> sending (claimed by a drainer until `lease_until`) -> sent | failed, or back to pending
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    provider_id: str | None = Field(default=None, max_length=200)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # while `sending`: when the claim runs out and another drainer may take the row back
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Set for messages rendered when sent (`leadrelay.email.rendering.render_later`): what the
    # email shows, as it was when it was decided; subject, html and text stay empty until then.
    # json, not jsonb, on PostgreSQL: a snapshot written once and read whole, never searched
    # inside; jsonb's conversion made its COPY a third slower (migration 0013)
    render_context: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class NurtureEnrollment(SQLModel, table=True):
    """A lead on a nurture track: which step is next and when it is due."""

    __tablename__ = "nurture_enrollment"
    __table_args__ = (Index("ix_enrollment_status_due", "status", "next_due_at"),
                      # one probe per lead for "its active enrollment", whatever the statistics say
                      Index("ix_enrollment_active_lead", "lead_id", postgresql_where=text("status = 'active'"),
                            sqlite_where=text("status = 'active'")))

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    reason: str = Field(max_length=60)
    track: str | None = Field(default=None, max_length=100)
    step_index: int = 0
    status: str = Field(default="active", max_length=16)
    entered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    next_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    exited_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    exit_reason: str | None = Field(default=None, max_length=200)


class Suppression(SQLModel, table=True):
    """An address that must never get email again (unsubscribed, bounced, complained, erased)."""

    email: str = Field(primary_key=True, max_length=254)
    reason: str = Field(max_length=60)
    source: str = Field(max_length=60)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AppSecret(SQLModel, table=True):
    """Secrets generated on first run (the link-signing key) when none is configured."""

    __tablename__ = "app_secret"

    name: str = Field(primary_key=True, max_length=60)
    value: str = Field(max_length=200)


class SoftBounce(SQLModel, table=True):
    """A temporary delivery failure (SendGrid `blocked` bounce, `deferred`): counted, and the address
    is suppressed only after enough of them in a window (sequences.yaml `soft_bounces`)."""

    __tablename__ = "soft_bounce"
    __table_args__ = (Index("ix_soft_bounce_email_at", "email", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # `blocked` or `deferred`: SendGrid's word for it (its SMTP text is not kept: it may quote the address).
    kind: str = Field(max_length=40)
    # One failure per message: SendGrid retries a deferred message and reports each try.
    message_key: str | None = Field(default=None, max_length=200, unique=True)
