"""What sales said became of a lead (SQL, won, lost, disqualified), one row per outcome recorded."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from leadrelay.models.types import UTCDateTime


class SalesOutcome(SQLModel, table=True):
    """One outcome, with who said it (`actor`), why (`reason`) and the deal's amount in cents.

    `source_key` makes a CRM's delivery idempotent (`webhook:<event_id>`, `import:<external_id>`
    or `import:<hash of email, outcome, occurred_at>`): the same key is recorded once. The stage
    change itself is in the lead's history (leadrelay.lifecycle); this row keeps what the funnel sums.
    """

    __tablename__ = "sales_outcome"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    outcome: str = Field(max_length=16)
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    amount_cents: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    reason: str | None = Field(default=None, max_length=200)
    actor: str = Field(max_length=300)
    source_key: str | None = Field(default=None, max_length=300, unique=True)
