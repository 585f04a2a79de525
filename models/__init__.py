"""SQLModel tables: the one source of truth for the schema (Alembic migrations follow it)."""
from leadrelay.models.history import EngagementEvent, LeadEvent
from leadrelay.models.intake import InboundLead, QuarantineEntry
from leadrelay.models.lead import LIMITS, Account, Lead
from leadrelay.models.messaging import AppSecret, NurtureEnrollment, OutboxEmail, SoftBounce, Suppression
from leadrelay.models.outcomes import SalesOutcome
from leadrelay.models.rescore import RescoreRun
from leadrelay.models.sales import Handoff, RepState
from leadrelay.models.types import EmailStatus, EnrollmentStatus, HandoffStatus, OutboxStatus, Stage, Tier

__all__ = [
    "Account", "AppSecret", "EmailStatus", "EngagementEvent", "EnrollmentStatus", "Handoff", "HandoffStatus",
    "InboundLead", "LIMITS", "Lead", "LeadEvent", "NurtureEnrollment", "OutboxEmail",
    "OutboxStatus", "QuarantineEntry", "RepState", "RescoreRun", "SalesOutcome", "SoftBounce", "Stage", "Suppression", "Tier",
]
