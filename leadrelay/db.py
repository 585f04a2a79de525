"""The one home of the database: a lazily made engine and a unit of work per batch."""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseError(Exception):
    """The database could not be reached or is not initialised; the message is one sentence."""


@lru_cache
def engine_for(url: str) -> Engine:
    """One engine per URL, made on first use (never at import)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets the web app read while a flow writes; foreign keys are off by default.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine() -> Engine:
    from leadrelay.config.settings import get_settings

    return engine_for(get_settings().database_url)


def supports_skip_locked(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose work commits as one when the block ends, or rolls back on any error."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine | None = None) -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command

    engine = engine or get_engine()
    command.upgrade(_alembic_config(engine), "head")


def require_schema(engine: Engine | None = None) -> None:
    """Raise DatabaseError unless `leadrelay init` has created the tables."""
    engine = engine or get_engine()
    try:
        present = inspect(engine).has_table("lead")
    except Exception as exc:
        raise DatabaseError(f"cannot reach the database ({type(exc).__name__}); check LEADRELAY_DATABASE_URL.") from None
    if not present:
        raise DatabaseError("the database has no leadrelay tables yet; run `leadrelay init` first.")
