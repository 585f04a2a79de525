"""Column types and enums shared by the tables."""
from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from leadrelay.text_safety import storable


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (SQLite keeps no zone); always read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class StorableText(TypeDecorator):
    """Text from outside (a quarantined row, a reason quoting it) that is stored whatever it holds:
    NUL and unpaired surrogates, which PostgreSQL refuses, are written as visible stand-ins
    (see leadrelay.text_safety). Same column type as Text/String, so no migration."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect):
        return None if value is None else storable(value)


class StorableString(StorableText):
    """StorableText for a VARCHAR column: `StorableString(300)`."""

    impl = String
    cache_ok = True


# JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Stage(StrEnum):
    """Where a lead is in the funnel; `leadrelay.lifecycle` is the one place it changes."""

    new = "new"
    nurturing = "nurturing"
    mql = "mql"
    sal = "sal"
    sql = "sql"
    won = "won"
    lost = "lost"
    disqualified = "disqualified"


class EmailStatus(StrEnum):
    """Whether a lead may get marketing email: an axis of its own, apart from its sales stage."""

    ok = "ok"
    unsubscribed = "unsubscribed"
    bounced = "bounced"
    complained = "complained"
    # `leadrelay erase`: the person's data is gone; the row is an anonymised tombstone for the counts.
    erased = "erased"


class Tier(StrEnum):
    cold = "cold"
    warm = "warm"
    hot = "hot"


class HandoffStatus(StrEnum):
    open = "open"
    accepted = "accepted"
    rejected = "rejected"
    reassigned = "reassigned"
    recycled = "recycled"
    # Closed without an answer because the lead was erased on request.
    withdrawn = "withdrawn"


class EnrollmentStatus(StrEnum):
    active = "active"
    finished = "finished"
    exited = "exited"


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    # Never to be sent (the lead was erased); `outbox retry` leaves it alone.
    cancelled = "cancelled"
