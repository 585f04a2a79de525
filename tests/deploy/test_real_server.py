"""The README's deployment path on a real Prefect server: work pool, `prefect deploy --all`, a
worker, and runs that the *scheduler* creates (the in-process test harness has no scheduler and once
hid that no schedule ever fired); the form trigger; the shipped automations; `leadrelay serve`."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import REPO
from tests.support.real_prefect import BIN, HOT_LEAD_CSV, PrefectApi, command_env, free_port, run_command, wait_for

pytestmark = pytest.mark.prefect_server

DEPLOYMENTS = {"leadrelay-pipeline", "leadrelay-send", "leadrelay-nurture", "leadrelay-sla", "leadrelay-engagement",
               "leadrelay-report", "leadrelay-rescore"}


@pytest.fixture(scope="module")
def deployed(workspace, prefect_server, processes):
    """The README's steps: init, import, work pool, deploy --all, worker (all from the project folder)."""
    env = command_env(workspace, PREFECT_API_URL=prefect_server.url,
                      LEADRELAY_DATABASE_URL=f"sqlite:///{workspace / 'leadrelay.db'}",
                      LEADRELAY_OUTBOX_DIR=str(workspace / "outbox"))
    run_command([str(BIN / "leadrelay"), "init"], env)
    (workspace / "leads.csv").write_text(HOT_LEAD_CSV.format(email="hana@hotco.example"))
    run_command([str(BIN / "leadrelay"), "import", str(workspace / "leads.csv"), "--source", "fair"], env)
    run_command([str(BIN / "prefect"), "work-pool", "create", "leadrelay", "--type", "process"], env)
    run_command([str(BIN / "prefect"), "deploy", "--all"], env)
    processes.start("worker", [str(BIN / "prefect"), "worker", "start", "--pool", "leadrelay"], env)
    return env


def completed_run(api, deployment_id: str, how: str):
    """The newest run of the deployment created `how` ('scheduler' or 'trigger') that completed."""
    for flow_run in api.flow_runs(deployment_id):
        made_by_scheduler = flow_run["auto_scheduled"]
        made_by_trigger = (flow_run.get("created_by") or {}).get("type") == "AUTOMATION"
        if flow_run["state_type"] == "COMPLETED" and (made_by_scheduler if how == "scheduler" else made_by_trigger):
            return flow_run
    return None


def describe_runs(api, deployment_id: str, processes) -> str:
    runs = [(r["name"], r["state_type"], r["auto_scheduled"], (r.get("created_by") or {}).get("type"))
            for r in api.flow_runs(deployment_id)[:10]]
    return f"runs (name, state, auto_scheduled, created_by): {runs}\nworker log:\n{processes.log_of('worker')[-4000:]}"


def test_deploy_all_registers_every_deployment_with_schedule_tags_and_pull_step(deployed, prefect_server):
    found = {d["name"]: d for d in prefect_server.deployments()}
    assert set(found) == DEPLOYMENTS
    for deployment in found.values():
        assert deployment["schedules"], f"{deployment['name']} has no schedule"
        assert "leadrelay" in deployment["tags"]
        # Workers load the flows from the folder `prefect deploy` ran in.
        directory = deployment["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]["directory"]
        assert directory == str(REPO)
    assert found["leadrelay-send"]["entrypoint"] == "flows/send.py:send"


def test_the_scheduler_starts_pipeline_runs_that_complete_and_show_their_work(deployed, prefect_server, processes):
    deployment = prefect_server.deployment("pipeline", "leadrelay-pipeline")
    run = wait_for(lambda: completed_run(prefect_server, deployment["id"], "scheduler"), 150,
                   lambda: "no scheduler-created pipeline run completed within 150 s; "
                           + describe_runs(prefect_server, deployment["id"], processes))
    assert run["name"].startswith("pipeline 20") and run["name"].endswith("Z")
    # The worker ran our code against our database: the imported lead was scored and staged.
    shown = json.loads(run_command([str(BIN / "leadrelay"), "lead", "show", "hana@hotco.example", "--json"], deployed).stdout)
    assert shown["stage"] in ("mql", "sal") and shown["score"]["tier"] == "hot"
    assert any(event["actor"] == "flow:pipeline" for event in shown["history"])
    # The UI shows counts (never the lead's address) and a table artifact of the run.
    # The run's process sends its last logs as it exits, a moment after the run is marked completed.
    def messages() -> str:
        return "\n".join(prefect_server.logs(run["id"]))

    wait_for(lambda: "claimed" in messages(), 30, lambda: "the run's logs never showed its counts:\n" + messages()[-2000:])
    assert "hana@hotco.example" not in messages()
    assert any(a["type"] == "table" for a in prefect_server.artifacts(run["id"]))


def test_a_form_lead_event_starts_a_pipeline_run_at_once(deployed, prefect_server, processes):
    deployment = prefect_server.deployment("pipeline", "leadrelay-pipeline")
    body = {"occurred": datetime.now(timezone.utc).isoformat(), "event": "leadrelay.form.received",
            "resource": {"prefect.resource.id": "leadrelay.inbound.1", "prefect.resource.role": "form-submission"},
            "payload": {"form": "website"}, "id": str(uuid.uuid4())}
    # Events reach the server through its events endpoint (what emit_event's client ends up calling).
    response = prefect_server.http.post("/events", json=[body])
    assert response.status_code in (200, 201, 204), response.text
    wait_for(lambda: completed_run(prefect_server, deployment["id"], "trigger"), 90,
             lambda: "the form event started no pipeline run; " + describe_runs(prefect_server, deployment["id"], processes))


def test_the_scheduler_starts_send_runs_that_complete(deployed, prefect_server, processes):
    deployment = prefect_server.deployment("send", "leadrelay-send")
    run = wait_for(lambda: completed_run(prefect_server, deployment["id"], "scheduler"), 150,
                   lambda: "no scheduled send run completed; " + describe_runs(prefect_server, deployment["id"], processes))
    assert run["name"].startswith("send 20")


class _Hook(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.received.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args):
        pass


def test_shipped_automations_notify_on_an_sla_breach(deployed, prefect_server):
    hook = ThreadingHTTPServer(("127.0.0.1", free_port()), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        block = {"name": "ops-hook", "url": f"http://127.0.0.1:{hook.server_port}/notify", "method": "POST",
                 "json_data": {"subject": "{{subject}}", "body": "{{body}}"}}
        script = ("import sys, json\nfrom prefect.blocks.notifications import CustomWebhookNotificationBlock as B\n"
                  "B(**json.loads(sys.argv[1])).save(json.loads(sys.argv[1])['name'], overwrite=True)\n")
        run_command([str(BIN / "python"), "-c", script, json.dumps(block)], deployed)
        shown = run_command([str(BIN / "leadrelay"), "automations", "--block", "custom-webhook/ops-hook"], deployed)
        assert "SLA breached" in shown.stdout
        sent = []

        def notified():
            # An automation starts listening a moment after it is created: send again until it fires.
            if not _Hook.received:
                sent.append(uuid.uuid4())
                prefect_server.http.post("/events", json=[{
                    "occurred": datetime.now(timezone.utc).isoformat(), "event": "leadrelay.sla.breached",
                    "id": str(sent[-1]), "resource": {"prefect.resource.id": "leadrelay.lead.42", "prefect.resource.role": "lead"},
                    "payload": {"action": "reassigned", "handoff_id": 7, "rep": "anna.schmidt@example.com"}}])
            return [text for text in _Hook.received if "SLA breached" in text]

        found = wait_for(notified, 90, lambda: "no notification for the SLA breach reached the webhook", every=5)
        assert "leadrelay.lead.42" in found[0] and "reassigned" in found[0]
    finally:
        hook.shutdown()


def test_leadrelay_serve_runs_scheduled_pipeline_runs_by_itself(workspace, processes):
    """`leadrelay serve` with no PREFECT_API_URL: starts its own server and serves the same schedules."""
    port = free_port()
    env = command_env(workspace / "serve", LEADRELAY_DATABASE_URL=f"sqlite:///{workspace / 'served.db'}",
                      LEADRELAY_OUTBOX_DIR=str(workspace / "served-outbox"))
    (workspace / "serve").mkdir()
    run_command([str(BIN / "leadrelay"), "init"], env)
    processes.start("serve", [str(BIN / "leadrelay"), "serve", "--port", str(port)], env)
    api = PrefectApi(f"http://127.0.0.1:{port}/api")
    wait_for(api.healthy, 180, lambda: "leadrelay serve started no server:\n" + processes.log_of("serve"))

    def pipeline_done():
        deployment = api.deployment("pipeline", "leadrelay-pipeline")
        return "id" in deployment and completed_run(api, deployment["id"], "scheduler")
    run = wait_for(pipeline_done, 150, lambda: "no scheduled pipeline run completed under serve:\n"
                   + processes.log_of("serve")[-4000:], every=2)
    assert run["name"].startswith("pipeline 20")
    assert {d["name"] for d in api.deployments()} == DEPLOYMENTS


def test_four_concurrent_pipeline_runs_on_postgres_hand_off_and_email_each_lead_once(workspace, prefect_server):
    """Four `leadrelay run pipeline` at once against one server and one PostgreSQL database."""
    import os
    import subprocess

    from sqlalchemy import create_engine, text

    url = os.environ.get("LEADRELAY_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("needs LEADRELAY_TEST_POSTGRES_URL (CI sets it)")
    schema = f"concurrent_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        env = command_env(workspace / "concurrent", PREFECT_API_URL=prefect_server.url,
                          LEADRELAY_DATABASE_URL=f"{url}?options=-csearch_path%3D{schema}",
                          LEADRELAY_OUTBOX_DIR=str(workspace / "concurrent-outbox"), LEADRELAY_BATCH_SIZE="50")
        run_command([str(BIN / "leadrelay"), "init"], env)
        rows = "".join(HOT_LEAD_CSV.format(email=f"buyer{i}@hot{i}.example").splitlines(keepends=True)[1] for i in range(600))
        (workspace / "many.csv").write_text(HOT_LEAD_CSV.splitlines(keepends=True)[0] + rows)
        run_command([str(BIN / "leadrelay"), "import", str(workspace / "many.csv")], env)

        # Wednesday 10:00 UTC: reps are in their working hours, so hot leads go to reps and the queue.
        runs = [subprocess.Popen([str(BIN / "leadrelay"), "run", "pipeline", "--as-of", "2026-11-25T10:00:00Z"],
                                 env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for _ in range(4)]
        outputs = [run.communicate(timeout=600)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0, 0, 0], "\n".join(o[-2000:] for o in outputs)

        with admin.connect() as connection:
            connection.execute(text(f"SET search_path TO {schema}"))
            handoffs = connection.execute(text("SELECT count(*), count(DISTINCT lead_id) FROM handoff")).one()
            emails = connection.execute(text(
                "SELECT count(*), count(DISTINCT (lead_id, kind)), count(*) FILTER (WHERE status = 'sent') "
                "FROM outbox_email")).one()
        assert handoffs[0] == 600 and handoffs[1] == 600, f"handoffs (all, distinct leads): {handoffs}"
        assert emails[0] == emails[1] == emails[2] == 600, f"emails (all, distinct, sent): {emails}"
        assert len(list((workspace / "concurrent-outbox").glob("*.eml"))) == 600
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
