"""prefect.yaml as `prefect deploy --all` and `leadrelay serve` read it, without a server: the
pipeline leaves sending to the `send` deployment, which runs on a schedule and on every batch that queued mail."""
from __future__ import annotations

from leadrelay.flows.deployments import deployment_specs, runner_deployment

SPECS = {spec["name"]: spec for spec in deployment_specs()}


def test_every_deployment_names_a_flow_leadrelay_knows():
    assert {name: spec["flow"] for name, spec in SPECS.items()} == {
        "leadrelay-pipeline": "pipeline", "leadrelay-send": "send", "leadrelay-nurture": "nurture",
        "leadrelay-sla": "sla", "leadrelay-engagement": "engagement", "leadrelay-report": "report"}


def test_the_pipeline_deployment_leaves_sending_to_the_send_deployment():
    assert SPECS["leadrelay-pipeline"]["parameters"] == {"send": False}
    send = SPECS["leadrelay-send"]
    assert send["entrypoint"] == "flows/send.py:send"
    assert send["schedules"] == [{"interval": 30}]
    assert send["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert {"leadrelay", "email"} <= set(send["tags"])


def test_the_send_deployment_is_triggered_once_per_batch_that_queued_mail():
    [trigger] = runner_deployment(SPECS["leadrelay-send"]).triggers
    assert trigger.expect == {"leadrelay.mail.queued"}
    assert trigger.match.model_dump() == {"prefect.resource.id": "leadrelay.outbox"}
    assert (trigger.posture, trigger.threshold, trigger.within.total_seconds()) == ("Reactive", 1, 0)
    # the same shape as the pipeline's form trigger, with the event and resource it listens for
    [form] = runner_deployment(SPECS["leadrelay-pipeline"]).triggers
    assert (form.posture, form.threshold, form.within) == (trigger.posture, trigger.threshold, trigger.within)


def test_leadrelay_serve_runs_the_pipeline_without_sending():
    assert runner_deployment(SPECS["leadrelay-pipeline"]).parameters == {"send": False}
