"""Reading a batch's rows on PostgreSQL without SQLAlchemy's row processing: plain tuples from the
connection's own psycopg cursor, inside the session's transaction.

For the few reads of tens of thousands of rows per batch (a scoring batch's leads, a hand-off
batch's ~80k history rows), where building SQLAlchemy rows cost more than the query. JSON columns come back parsed by
the engine's loader (`leadrelay.db.json_loads`); timestamps come back naive, in UTC.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.rows import dict_row
from sqlalchemy import Select
from sqlalchemy.engine import Connection

from leadrelay.db import without_error_data


def fetch_dicts(connection: Connection, query: Select) -> list[dict[str, Any]]:
    """The rows of `query` as dicts keyed by column name, read by psycopg itself (PostgreSQL only).

    No SQLAlchemy result processing (a third of the time for a batch of leads), so only for
    columns the driver already returns as the ORM would: text, numbers, booleans, JSON; not
    UTCDateTime, which the ORM makes aware.
    """
    compiled = query.compile(dialect=connection.dialect)
    try:
        with connection.connection.driver_connection.cursor(row_factory=dict_row) as cursor:
            cursor.execute(str(compiled), compiled.params)
            return cursor.fetchall()
    except Exception as exc:
        without_error_data(exc)  # an error may quote a parameter
        raise


def fetch_raw(connection: Connection, sql: str, params: Sequence[Any]) -> list[tuple]:
    """The rows of `sql` (a SELECT with `%s` placeholders) run with `params` (PostgreSQL only)."""
    try:
        with connection.connection.driver_connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    except Exception as exc:
        without_error_data(exc)  # an error may quote a parameter
        raise
