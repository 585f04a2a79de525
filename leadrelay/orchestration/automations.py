"""The Prefect automations leadrelay ships: who hears about an SLA breach and a failed run.

`leadrelay automations --block TYPE/NAME` creates them (again: it replaces its own by name) on the
server PREFECT_API_URL names, notifying through a notification block made in the Prefect UI
(Blocks → Slack Webhook, Microsoft Teams, email, a custom webhook, …).
"""
from __future__ import annotations

import asyncio
from uuid import UUID

from leadrelay.orchestration.events import SLA_BREACHED

FLOW_NAMES = ["pipeline", "nurture", "sla", "engagement", "report", "rescore"]
SLA_AUTOMATION = "leadrelay: SLA breached"
FAILED_RUN_AUTOMATION = "leadrelay: flow run failed or crashed"


class AutomationError(Exception):
    """The automations could not be set up; the message is one sentence."""


def automation_definitions(block_document_id: UUID) -> list:
    """The automations, notifying through the block with this id."""
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore as Automation, EventTrigger, Posture

    sla = Automation(
        name=SLA_AUTOMATION, description="A handoff passed its SLA deadline without an answer.",
        trigger=EventTrigger(expect={SLA_BREACHED}, match={"prefect.resource.id": "leadrelay.lead.*"},
                             posture=Posture.Reactive, threshold=1, within=0),
        actions=[SendNotification(
            block_document_id=block_document_id, subject="leadrelay: SLA breached",
            body="The handoff of {{ event.resource.id }} passed its deadline without an answer: "
                 "{{ event.payload.action }} (handoff {{ event.payload.handoff_id }}, rep {{ event.payload.rep }}).")])
    failed = Automation(
        name=FAILED_RUN_AUTOMATION, description="A leadrelay flow run failed or crashed.",
        trigger=EventTrigger(expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
                             match={"prefect.resource.id": "prefect.flow-run.*"},
                             match_related={"prefect.resource.role": "flow", "prefect.resource.name": FLOW_NAMES},
                             posture=Posture.Reactive, threshold=1, within=0),
        actions=[SendNotification(
            block_document_id=block_document_id, subject="leadrelay: flow run {{ flow_run.name }} {{ flow_run.state.name }}",
            body="Flow run {{ flow_run.name }} ended {{ flow_run.state.name }}: {{ flow_run.state.message }}")])
    return [sla, failed]


def install_automations(block: str) -> list[str]:
    """Create (or replace) the automations on the configured server; returns their names."""
    return asyncio.run(_install(block))


async def _install(block: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    block_type, _, block_name = block.partition("/")
    if not block_name:
        raise AutomationError(f"name the notification block as TYPE/NAME (as `prefect block ls` shows it), not '{block}'.")
    async with get_client() as client:
        try:
            document = await client.read_block_document_by_name(block_name, block_type)
        except ObjectNotFound:
            raise AutomationError(f"the Prefect server has no block '{block}'; create it in the UI under Blocks.") from None
        names = []
        for automation in automation_definitions(document.id):
            for existing in await client.read_automations_by_name(automation.name):
                await client.delete_automation(existing.id)
            await client.create_automation(automation)
            names.append(automation.name)
    return names
