"""Fault injection on PostgreSQL: each test gets its own schema, a URL a `leadrelay run`
subprocess can use to reach it, and the session's Prefect test server to report to.

Every module here sets `pytestmark = FAULTS`: `postgres` (skipped with a reason without
LEADRELAY_TEST_POSTGRES_URL; a failure when LEADRELAY_REQUIRE_POSTGRES=1, as in CI) and `faults`.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from leadrelay.db import upgrade_schema
from tests.conftest import POSTGRES_URL, _postgres_engine


FAULTS = [pytest.mark.postgres, pytest.mark.faults]


@dataclass(frozen=True)
class Database:
    engine: Engine
    schema: str

    def url_for(self, application_name: str) -> str:
        """A SQLAlchemy URL to this test's schema, for another process; its connections carry
        `application_name`, so a test can find (and terminate) them."""
        separator = "&" if "?" in POSTGRES_URL else "?"
        return (f"{POSTGRES_URL}{separator}options={quote('-csearch_path=' + self.schema)}"
                f"&application_name={application_name}")


@pytest.fixture
def pg():
    """A migrated PostgreSQL schema of this test's own."""
    engine, cleanup = _postgres_engine()
    upgrade_schema(engine)
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    yield Database(engine, schema)
    cleanup()


@pytest.fixture
def prefect_api_url(prefect_harness) -> str:
    """The session's Prefect test server, for `leadrelay run` subprocesses to report to."""
    from prefect.settings import get_current_settings

    return str(get_current_settings().api.url)
