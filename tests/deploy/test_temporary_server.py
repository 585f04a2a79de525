"""`leadrelay run` without PREFECT_API_URL starts a temporary Prefect server of its own: several at
once share one fresh PREFECT_HOME without racing on its migrations, and a killed command takes its
server with it."""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests.support.real_prefect import BIN, HOT_LEAD_CSV, command_env, run_command, wait_for

pytestmark = pytest.mark.prefect_server


@pytest.fixture
def user_env(workspace, tmp_path):
    env = command_env(tmp_path, LEADRELAY_DATABASE_URL=f"sqlite:///{tmp_path / 'leadrelay.db'}",
                      LEADRELAY_OUTBOX_DIR=str(tmp_path / "outbox"))
    run_command([str(BIN / "leadrelay"), "init"], env)
    (tmp_path / "leads.csv").write_text(HOT_LEAD_CSV.format(email="hana@hotco.example"))
    run_command([str(BIN / "leadrelay"), "import", str(tmp_path / "leads.csv")], env)
    return env


def servers_started_by(pid: int) -> list[int]:
    """Prefect servers whose parent is `pid` (the temporary server of that command)."""
    found = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in found.splitlines()
            if int(line.split()[1]) == pid and "prefect server start" in line]


def test_four_runs_at_once_on_a_fresh_prefect_home_all_succeed(user_env):
    runs = [subprocess.Popen([str(BIN / "leadrelay"), "run", "pipeline"], env=user_env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(4)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], "\n---\n".join(o[-1500:] for o in outputs)


def test_a_killed_run_takes_its_temporary_server_with_it(user_env):
    run = subprocess.Popen([str(BIN / "leadrelay"), "run", "pipeline"], env=user_env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = wait_for(lambda: servers_started_by(run.pid), 120, lambda: "leadrelay run started no server", every=0.2)
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    wait_for(lambda: not _alive(server[0]), 30, lambda: f"the temporary server {server[0]} outlived its command")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; it only waits for its (re)parent to reap it.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"
