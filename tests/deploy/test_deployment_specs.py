"""prefect.yaml as `prefect deploy --all` and `leadrelay serve` read it, without a server: the
`send` deployment drains what other runs left in the outbox, on a schedule."""
from __future__ import annotations

from leadrelay.flows.deployments import deployment_specs, runner_deployment

SPECS = {spec["name"]: spec for spec in deployment_specs()}


def test_every_deployment_names_a_flow_leadrelay_knows():
    assert {name: spec["flow"] for name, spec in SPECS.items()} == {
        "leadrelay-pipeline": "pipeline", "leadrelay-send": "send", "leadrelay-nurture": "nurture",
        "leadrelay-sla": "sla", "leadrelay-engagement": "engagement", "leadrelay-report": "report",
        "leadrelay-rescore": "rescore"}


def test_the_send_deployment_drains_what_runs_left_every_30_seconds():
    send = SPECS["leadrelay-send"]
    assert send["entrypoint"] == "flows/send.py:send"
    assert send["schedules"] == [{"interval": 30}]
    assert send["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert {"leadrelay", "email"} <= set(send["tags"])


def test_leadrelay_serve_passes_the_parameters_prefect_yaml_gives():
    spec = {**SPECS["leadrelay-pipeline"], "parameters": {"send": False}}
    assert runner_deployment(spec).parameters == {"send": False}


def test_scores_age_every_day_in_one_decay_rescore_at_a_time():
    rescore = SPECS["leadrelay-rescore"]
    assert rescore["entrypoint"] == "flows/rescore.py:rescore"
    assert rescore["schedules"] == [{"cron": "30 5 * * *"}]
    assert rescore["parameters"] == {"mode": "decay"}
    assert rescore["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    served = runner_deployment(rescore)
    assert served.parameters == {"mode": "decay"} and served.name == "leadrelay-rescore"
