"""`leadrelay import` as a user runs it, on SQLite and PostgreSQL: hostile bytes lose no row, and a
database error (even with LEADRELAY_DEBUG=1) shows no address, token or key."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.conftest import REPO
from tests.support.db_url import database_url

LEADRELAY = str(Path(sys.executable).parent / "leadrelay")
ROWS = 2500
SECRETS = ("secret.person@acme.com", "carla@acme.com", "carl@acme.com", "tok-SECRET123", "SG.fake-key")


def leadrelay(workdir: Path, engine: Engine, *args: str, debug: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEADRELAY_DATABASE_URL": database_url(engine), "LEADRELAY_CONFIG_DIR": str(workdir / "config"),
           "LEADRELAY_OUTBOX_DIR": str(workdir / "outbox"), "LEADRELAY_SENDGRID_API_KEY": "SG.fake-key",
           "COLUMNS": "200"}
    env.pop("LEADRELAY_DEBUG", None)
    if debug:
        env["LEADRELAY_DEBUG"] = "1"
    return subprocess.run([LEADRELAY, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return tmp_path


def write(path: Path, rows: list[str]) -> Path:
    path.write_bytes(("\n".join(rows) + "\n").encode("utf-8"))
    return path


def test_the_nul_file_imports_every_row_from_the_command_line(engine, workdir):
    rows = ["email,first_name,company,notes"] + [
        "bad\x00@example,Nul\x00Name,Acme,hello\x00world" if i == 1200 else f"p{i}@example.com,P{i},Acme,n{i}"
        for i in range(ROWS)]
    nul_header = ["email,first_name,company,no\x00tes"] + rows[1:1201] + rows[1202:] + ["late@example.com,L,A,n"]

    first = leadrelay(workdir, engine, "import", str(write(workdir / "nul.csv", rows)))
    second = leadrelay(workdir, engine, "import", str(write(workdir / "nul-header.csv", nul_header)))

    assert first.returncode == 0, first.stderr
    assert "2499 created, 0 merged into existing leads, 1 quarantined." in first.stdout
    assert second.returncode == 0, second.stderr
    assert "1 created, 2499 merged into existing leads, 0 quarantined." in second.stdout
    assert "Traceback" not in first.stderr + second.stderr
    quarantined = leadrelay(workdir, engine, "quarantine", "--json")
    assert quarantined.returncode == 0
    assert [entry["raw"] for entry in json.loads(quarantined.stdout)] == ["bad\u2400@example,Nul\u2400Name,Acme,hello\u2400world"]


@pytest.mark.parametrize("encoding, delimiter", [("utf-16", ","), ("utf-8-sig", ";"), ("utf-8", "\t")])
def test_utf16_and_semicolon_or_tab_files_import_from_the_command_line(engine, workdir, encoding, delimiter):
    rows = ["email,first_name", "zoe@example.com,Zoë", "no-email,X", "li@example.com,李"]
    path = workdir / "excel.csv"
    path.write_bytes(("\r\n".join(rows) + "\r\n").replace(",", delimiter).encode(encoding))

    result = leadrelay(workdir, engine, "import", str(path))

    assert result.returncode == 0, result.stderr
    assert "2 created, 0 merged into existing leads, 1 quarantined." in result.stdout


def test_a_header_without_email_names_the_delimiter(engine, workdir):
    result = leadrelay(workdir, engine, "import", str(write(workdir / "x.csv", ["mail;name", "a@b.com;A"])))

    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "cannot be imported: the header has no 'email' column (its cells seem to be separated by semicolons).")


@pytest.mark.parametrize("debug", [False, True])
def test_a_database_error_shows_no_address_token_or_key(engine, workdir, debug):
    # A quarantine table that is gone: the bad row's insert fails with the row as its parameters.
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE quarantine"))
    path = write(workdir / "leads.csv", ["email,first_name,company_size,token",
                                         "secret.person@acme.com,Secret,lots,tok-SECRET123",
                                         "carla@acme.com,Carla,10,tok-SECRET123"])

    result = leadrelay(workdir, engine, "import", str(path), debug=debug)

    assert result.returncode == 1
    assert ("Traceback" in result.stderr) is debug  # the debug run does show its traceback...
    for secret in SECRETS:  # ...but never the data
        assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize("debug", [False, True])
def test_a_constraint_violation_shows_no_address_or_value(engine, workdir, debug):
    # PostgreSQL's DETAIL line would say "Key (first_name)=(Carla) already exists".
    with engine.begin() as connection:
        connection.execute(text("CREATE UNIQUE INDEX only_one_carla ON lead (first_name)"))
    path = write(workdir / "leads.csv", ["email,first_name,token", "carla@acme.com,Carla,tok-SECRET123",
                                         "carl@acme.com,Carla,tok-SECRET123"])

    result = leadrelay(workdir, engine, "import", str(path), debug=debug)

    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert ("Traceback" in output) is debug
    assert "IntegrityError" in output or "UniqueViolation" in output
    for secret in (*SECRETS, "Carla"):
        assert secret not in output
