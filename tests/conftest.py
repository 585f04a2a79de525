"""Shared fixtures: a database per test (SQLite, and PostgreSQL when configured), services wired
to it, and one Prefect test harness for the whole session."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import create_engine

from leadrelay.config.rules import load_rules
from leadrelay.config.settings import Settings
from leadrelay.db import json_loads, upgrade_schema
from leadrelay.wiring import Services, use_services
from tests.support.recording_sender import RecordingSender

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("LEADRELAY_TEST_POSTGRES_URL")
# CI sets these: a skipped PostgreSQL or browser test is then a failure, not a quiet pass.
REQUIRE_POSTGRES = os.environ.get("LEADRELAY_REQUIRE_POSTGRES") == "1"
REQUIRE_BROWSER = os.environ.get("LEADRELAY_REQUIRE_BROWSER") == "1"
REQUIRE_PREFECT_SERVER = os.environ.get("LEADRELAY_REQUIRE_PREFECT_SERVER") == "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: needs LEADRELAY_TEST_POSTGRES_URL")
    config.addinivalue_line("markers", "browser: needs a headless Chromium")
    config.addinivalue_line("markers", "prefect_server: starts a real Prefect server (LEADRELAY_TEST_PREFECT_SERVER=1)")
    config.addinivalue_line("markers", "faults: fault injection on PostgreSQL (tests/faults)")


_required_skips: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and ((REQUIRE_POSTGRES and "postgres" in report.keywords) or
                           (REQUIRE_BROWSER and "browser" in report.keywords) or
                           (REQUIRE_PREFECT_SERVER and "prefect_server" in report.keywords)):
        _required_skips.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _required_skips:
        print(f"\n{len(_required_skips)} required PostgreSQL/browser/Prefect server tests were skipped:")
        for nodeid in _required_skips[:20]:
            print(f"  {nodeid}")
        session.exitstatus = 1


def _postgres_engine():
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need LEADRELAY_TEST_POSTGRES_URL (CI sets it)")
    engine = create_engine(POSTGRES_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    # Each test gets its own schema: tests stay independent without a database per test.
    # JSON read as `engine_for` reads it in production (leadrelay.db.json_loads).
    scoped = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"},
                           json_deserializer=json_loads)
    return scoped, lambda: _drop_schema(engine, scoped, schema)


def _drop_schema(engine, scoped, schema):
    scoped.dispose()
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_engine(request, tmp_path):
    """A database with no schema yet (for migration tests): SQLite in a temp file, and PostgreSQL
    in a fresh schema."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'leadrelay.db'}")
        cleanup = engine.dispose
    else:
        engine, cleanup = _postgres_engine()
    yield engine
    cleanup()


@pytest.fixture
def engine(empty_engine):
    """A migrated database, on SQLite and on PostgreSQL."""
    upgrade_schema(empty_engine)
    return empty_engine


@pytest.fixture
def no_proxy_for_loopback(monkeypatch):
    """For tests that talk to a loopback SendGrid: urllib (under the sendgrid client) honours
    *_proxy variables, and a CI proxy must not see these requests."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'leadrelay.db'}")
    upgrade_schema(engine)
    yield engine
    engine.dispose()


def make_settings(tmp_path: Path, database_url: str = "sqlite://", **overrides) -> Settings:
    values = dict(database_url=database_url, config_dir=REPO / "config", outbox_dir=tmp_path / "outbox",
                  secret_key="test-secret", base_url="http://links.test", send_max_wait_seconds=0)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def services(engine, tmp_path):
    """Services wired to the test database, the shipped rules and a recording email sender,
    installed for flows and tasks."""
    wired = Services(settings=make_settings(tmp_path, str(engine.url)), engine=engine,
                     rules=load_rules(REPO / "config"), sender=RecordingSender())
    with use_services(wired) as installed:
        yield installed


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect backend for every flow test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
