"""prefect.yaml as `prefect deploy --all` and `leadrelay serve` read it, without a server: the
`send` deployment drains what other runs left in the outbox, on a schedule."""
from __future__ import annotations

from leadrelay.flows.deployments import deployment_specs, runner_deployment

SPECS = {spec["name"]: spec for spec in deployment_specs()}


def test_every_deployment_names_a_flow_leadrelay_knows():
    assert {name: spec["flow"] for name, spec in SPECS.items()} == {
        "leadrelay-pipeline": "pipeline", "leadrelay-send": "send", "leadrelay-nurture": "nurture",
        "leadrelay-sla": "sla", "leadrelay-engagement": "engagement", "leadrelay-report": "report"}


def test_the_send_deployment_drains_what_runs_left_every_30_seconds():
    send = SPECS["leadrelay-send"]
    assert send["entrypoint"] == "flows/send.py:send"
    assert send["schedules"] == [{"interval": 30}]
    assert send["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert {"leadrelay", "email"} <= set(send["tags"])


def test_leadrelay_serve_passes_the_parameters_prefect_yaml_gives():
    spec = {**SPECS["leadrelay-pipeline"], "parameters": {"send": False}}
    assert runner_deployment(spec).parameters == {"send": False}
