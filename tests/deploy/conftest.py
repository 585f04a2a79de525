"""A real `prefect server start` (scheduler, triggers, automations) for the tests in this folder."""
from __future__ import annotations

import os

import pytest

from tests.support.real_prefect import BIN, PrefectApi, Processes, command_env, free_port, wait_for

ENABLED = os.environ.get("LEADRELAY_TEST_PREFECT_SERVER") == "1"


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    running = Processes(tmp_path_factory.mktemp("logs"))
    yield running
    running.stop_all()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    if not ENABLED:
        pytest.skip("real Prefect server tests need LEADRELAY_TEST_PREFECT_SERVER=1 (CI sets it; they take a few minutes)")
    return tmp_path_factory.mktemp("deploy")


@pytest.fixture(scope="module")
def prefect_server(workspace, processes) -> PrefectApi:
    """`prefect server start` on a free port, with its scheduler and automation services."""
    port = free_port()
    processes.start("server", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                    command_env(workspace))
    api = PrefectApi(f"http://127.0.0.1:{port}/api")
    wait_for(api.healthy, 180, lambda: "prefect server start did not answer in 180 s:\n" + processes.log_of("server"))
    return api
