"""The one home of Prefect events: what leadrelay tells the Prefect server happened.

Automations (`leadrelay automations`) and the `pipeline` deployment's trigger listen for these.
A resource is a lead or an inbound submission by its id; payloads hold ids, counts, reasons and
rep emails (staff, not customers): never a lead's address or name.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

HANDOFF_CREATED = "leadrelay.handoff.created"
SLA_BREACHED = "leadrelay.sla.breached"
EMAIL_FAILED = "leadrelay.email.failed"
FORM_RECEIVED = "leadrelay.form.received"

log = logging.getLogger("leadrelay.orchestration.events")


def lead_resource(lead_id: int) -> dict[str, str]:
    return {"prefect.resource.id": f"leadrelay.lead.{lead_id}", "prefect.resource.role": "lead"}


def emit(event: str, resource: dict[str, str], payload: dict[str, Any] | None = None) -> None:
    """Send one event to the Prefect server when one is configured; never raises (an event that
    cannot be sent must not undo the work it reports)."""
    if _server_to_tell():
        _send(event, resource, payload)


def emit_for_leads(event: str, lead_payloads: Iterable[tuple[int, dict[str, Any]]]) -> None:
    """One event per lead: `(lead_id, payload)` pairs, emitted after their batch committed. The
    pairs are not read at all when no server is configured."""
    if not _server_to_tell():
        return
    for lead_id, payload in lead_payloads:
        _send(event, lead_resource(lead_id), payload)


def _server_to_tell() -> bool:
    from leadrelay.orchestration.server import configured_api_url

    # With no server configured, Prefect would start a temporary one just for the event.
    return bool(configured_api_url())


def _send(event: str, resource: dict[str, str], payload: dict[str, Any] | None) -> None:
    try:
        from prefect.events import emit_event

        emit_event(event=event, resource=resource, payload=payload or {})
    except Exception as exc:  # the work is committed; losing its event is logged, not fatal
        log.warning("could not emit %s (%s)", event, type(exc).__name__)


def emit_form_received(inbound_id: int, form_name: str) -> None:
    """A form submission was stored in the inbound table (the pipeline's trigger listens)."""
    emit(FORM_RECEIVED, {"prefect.resource.id": f"leadrelay.inbound.{inbound_id}",
                         "prefect.resource.role": "form-submission", "leadrelay.form": form_name},
         {"form": form_name})
