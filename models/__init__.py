"""SQLModel tables: the one source of truth for the schema (Alembic migrations follow it)."""
from models.history import EngagementEvent, LeadEvent
from models.intake import InboundLead, QuarantineEntry
from models.lead import LIMITS, Account, Lead
from models.messaging import AppSecret, NurtureEnrollment, OutboxEmail, Suppression
from models.sales import Handoff, RepState
from models.types import EnrollmentStatus, HandoffStatus, OutboxStatus, Stage, Tier

__all__ = [
    "Account", "AppSecret", "EngagementEvent", "EnrollmentStatus", "Handoff", "HandoffStatus",
    "InboundLead", "LIMITS", "Lead", "LeadEvent", "NurtureEnrollment", "OutboxEmail",
    "OutboxStatus", "QuarantineEntry", "RepState", "Stage", "Suppression", "Tier",
]
