"""The kinds of email leadrelay sends, spelled one way everywhere.

The same string is the outbox row's `kind`, the message's SendGrid category and its
`custom_args["kind"]`, which SendGrid's Event Webhook hands back (so the webhook can tell a rep's
email from a lead's). Snake case, because custom args and database values are read by code.
"""
from __future__ import annotations

REP_NOTIFICATION = "rep_notification"  # a lead handed to a rep, with Accept / Reject links
SLA_ESCALATION = "sla_escalation"  # a rep's manager told that a handoff passed its deadline
NURTURE = "nurture"  # one step of a nurture track, to the lead
HANDOFF_REASSIGNED = "handoff_reassigned"  # a rep told that a lead they held was given to another rep

# Emails to staff, not to leads: their opens and clicks are not the lead's engagement.
REP_FACING = frozenset({REP_NOTIFICATION, SLA_ESCALATION, HANDOFF_REASSIGNED})
