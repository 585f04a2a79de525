"""The one home of the database: a lazily made engine, a unit of work per batch, and the two
dialect differences the code cares about (row claims and race-safe inserts)."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import orjson
import psycopg
from psycopg.pq import DiagnosticField
from sqlalchemy import Insert, Select, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseError(Exception):
    """The database could not be reached or is not initialised; the message is one sentence."""


@lru_cache
def engine_for(url: str) -> Engine:
    """One engine per URL, made on first use (never at import).

    Its errors and logs never carry data: SQL parameters are hidden (`hide_parameters`), and
    PostgreSQL's DETAIL/CONTEXT lines, which quote a row's values ("Key (email)=(…) already
    exists"), are cut from the driver's message (see `keep_error_data_out`)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets the web app read while a flow writes; foreign keys are off by default.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return keep_error_data_out(engine)
    return keep_error_data_out(create_engine(url, pool_pre_ping=True, hide_parameters=True,
                                             json_deserializer=json_loads))


# A run of 19 digits may be an integer past 64 bits, which orjson would read as a float. Bytes are
# checked by mapping digits to "0" and the rest to " " (5x faster than a regular expression).
_DIGITS_AS_ZEROS = bytes(ord("0") if chr(i).isdigit() and i < 128 else ord(" ") for i in range(256))
_LONG_NUMBER_BYTES = b"0" * 19
_LONG_NUMBER_TEXT = re.compile(r"\d{19}")


def json_loads(data: bytes | str) -> Any:
    """JSON text as Python values, the very values `json.loads` makes, at orjson's speed (the
    driver parses every JSONB value read; with json.loads that was most of a hand-off batch's
    reading). Text orjson would read otherwise (an integer past 64 bits, NaN) goes to json.loads."""
    if isinstance(data, memoryview):
        data = bytes(data)
    if isinstance(data, str):
        long_number = _LONG_NUMBER_TEXT.search(data) is not None
    else:
        long_number = _LONG_NUMBER_BYTES in data.translate(_DIGITS_AS_ZEROS)
    if not long_number:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


def keep_error_data_out(engine: Engine) -> Engine:
    """`engine` with every driver error cut to its first line (PostgreSQL's primary message,
    which names the constraint or type, not the row); the exception's type is unchanged, so
    code catching IntegrityError still works."""

    @event.listens_for(engine, "handle_error")
    def _first_line_only(context):
        full = without_error_data(context.original_exception)
        wrapped = context.sqlalchemy_exception  # its text was made from the driver's already
        if wrapped is not None:
            wrapped.params = None  # hidden from its text, but pickled with it (Prefect stores failures)
        if full and wrapped is not None and wrapped.args and isinstance(wrapped.args[0], str):
            first = full.split("\n", 1)[0]
            wrapped.args = (wrapped.args[0].replace(full, first), *wrapped.args[1:])

    return engine


# What a driver error keeps of PostgreSQL's diagnostics: names, never the row (DETAIL, CONTEXT,
# WHERE and the failing statement quote it, and Prefect pickles a failed run's exception to disk).
_DIAGNOSTICS_KEPT = {"SEVERITY", "SEVERITY_NONLOCALIZED", "SQLSTATE", "MESSAGE_PRIMARY", "SCHEMA_NAME",
                     "TABLE_NAME", "COLUMN_NAME", "DATATYPE_NAME", "CONSTRAINT_NAME"}


def without_error_data(error: BaseException) -> str | None:
    """Cut a driver error's message to its first line, in place (PostgreSQL's DETAIL and CONTEXT
    lines quote the row: "Key (email)=(…)", "COPY lead, line 3: …"), and its diagnostics to the
    names in them; returns the text it had, or None when there was nothing to cut. For errors from
    the driver's own cursor (COPY, raw SQL) too."""
    _forget_row_diagnostics(error)
    args = getattr(error, "args", ())
    if not (args and isinstance(args[0], str) and "\n" in args[0]):
        return None
    error.args = (args[0].split("\n", 1)[0], *args[1:])
    return args[0]


def _forget_row_diagnostics(error: BaseException) -> None:
    """A psycopg error's diagnostics (what `.diag` reads and pickling keeps) down to the names."""
    if not isinstance(error, psycopg.Error) or error._info is None:  # noqa: SLF001 (no public setter)
        return
    fields = [field for field in DiagnosticField if field.name in _DIAGNOSTICS_KEPT]
    info = error._info  # noqa: SLF001
    error._info = ({field: info.get(field) for field in fields} if isinstance(info, dict)  # noqa: SLF001
                   else {field: info.error_field(field) for field in fields})


def supports_skip_locked(bind: Engine | Connection) -> bool:
    """Whether the database can lock rows and skip rows others hold (PostgreSQL, not SQLite)."""
    return bind.dialect.name == "postgresql"


def claim(session: Session, query: Select, of: Any = None, skip_locked: bool = True) -> Select:
    """`query` made into a claim: the rows it returns are locked for this transaction.

    On PostgreSQL that is `FOR UPDATE SKIP LOCKED` (`of`: only lock that table's rows in a join),
    so concurrent workers get disjoint batches; `skip_locked=False` waits for the rows instead.
    On SQLite the query is returned unchanged: its single writer already serialises claims.
    """
    if not supports_skip_locked(session.get_bind()):
        return query
    return query.with_for_update(skip_locked=skip_locked, of=of)


def dialect_insert(session: Session, table: Any) -> Insert:
    """An INSERT for `table` with `on_conflict_do_nothing` / `on_conflict_do_update`, in the
    session's dialect (PostgreSQL or SQLite): the one way to write a race-safe insert here."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """A session whose work commits as one when the block ends, or rolls back on any error."""
    session = Session(engine, expire_on_commit=False)
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


def upgrade_schema(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command

    command.upgrade(_alembic_config(engine), "head")


def require_schema(engine: Engine) -> None:
    """Raise DatabaseError unless `leadrelay init` has created the tables."""
    try:
        present = inspect(engine).has_table("lead")
    except Exception as exc:
        raise DatabaseError(f"cannot reach the database ({type(exc).__name__}); check LEADRELAY_DATABASE_URL.") from None
    if not present:
        raise DatabaseError("the database has no leadrelay tables yet; run `leadrelay init` first.")
