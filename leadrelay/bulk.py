"""Writing a batch's rows at once: COPY on PostgreSQL, one executemany on SQLite.

Principle 1 in one place: a batch task never writes a statement per row. Rows are dicts keyed by
column name with the values the ORM would take (aware datetimes, dicts and lists for JSON).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import ARRAY, JSON, Table, any_, bindparam, insert, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from leadrelay.db import without_error_data
from leadrelay.models.types import UTCDateTime

_temp_names = itertools.count()


def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (all with the same keys) into `table` in one COPY or one executemany."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    columns = tuple(rows[0])
    copy_rows(connection, table.name, columns, _copy_tuples(table, columns, rows))


def insert_returning(connection: Connection, table: Table, rows: list[dict[str, Any]], returning: Sequence[str],
                     skip_conflicts_on: str | None = None) -> list[tuple]:
    """Insert `rows` (all with the same keys) and return the `returning` columns of each row
    inserted, in no particular order. With `skip_conflicts_on` (a unique column), rows whose value
    the table already holds are skipped (the database decides, so concurrent writers cannot both
    insert one) and return nothing."""
    if not rows:
        return []
    if connection.dialect.name != "postgresql":
        statement = sqlite.insert(table)
        if skip_conflicts_on:
            statement = statement.on_conflict_do_nothing(index_elements=[skip_conflicts_on])
        return [tuple(row) for row in connection.execute(statement.returning(*(table.c[c] for c in returning)), rows)]
    columns = tuple(rows[0])
    temp = _temp_copy(connection, table, columns, rows)
    names = ", ".join(columns)
    conflict = f" ON CONFLICT ({skip_conflicts_on}) DO NOTHING" if skip_conflicts_on else ""
    inserted = raw(connection, f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {temp}{conflict} "
                               f"RETURNING {', '.join(returning)}")
    raw(connection, f"DROP TABLE {temp}")
    return inserted


def is_one_of(bind: Connection | Session, column: Any, values: Iterable[Any]) -> Any:
    """The condition `column` is one of `values`: one array parameter on PostgreSQL (one query
    text whatever the count, so psycopg prepares it once and the plan stays good), IN on SQLite."""
    values = sorted(set(values))
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def update_rows(connection: Connection, table: Table, rows: list[dict[str, Any]], guard: str | None = None) -> int:
    """Set the columns of each row (all with the same keys, one of them `id`) on the row of
    `table` with that id: COPY into a temporary table and one UPDATE … FROM on PostgreSQL.
    With `guard` (a column name), each row also carries `<guard>_was` and is only written where
    the table still holds that value (compare-and-set). Returns how many rows were written."""
    if not rows:
        return 0
    was = f"{guard}_was" if guard else None
    columns = tuple(rows[0])
    changed = [name for name in columns if name not in ("id", was)]
    if connection.dialect.name != "postgresql":
        statement = update(table).where(table.c.id == bindparam("v_id"))
        if guard:
            statement = statement.where(table.c[guard] == bindparam(f"v_{was}", type_=table.c[guard].type))
        statement = statement.values({name: bindparam(f"v_{name}", type_=table.c[name].type) for name in changed})
        return connection.execute(statement, [{f"v_{name}": row[name] for name in columns} for row in rows]).rowcount
    temp = _temp_copy(connection, table, columns, rows, guard)
    sets = ", ".join(f"{name} = t.{name}" for name in changed)
    check = f" AND {table.name}.{guard} = t.{was}" if guard else ""
    _, written = _run(connection, f"UPDATE {table.name} SET {sets} FROM {temp} t WHERE {table.name}.id = t.id{check}")
    raw(connection, f"DROP TABLE {temp}")
    return written


def _temp_copy(connection: Connection, table: Table, columns: tuple[str, ...], rows: list[dict[str, Any]],
               guard: str | None = None) -> str:
    """A new temporary table with `table`'s `columns` (types, no constraints; `<guard>_was` typed
    like `guard`), filled by COPY; its name."""
    temp = f"_rows_{table.name}_{next(_temp_names)}"
    selected = ", ".join(f"{guard} AS {name}" if guard and name == f"{guard}_was" else name for name in columns)
    raw(connection, f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS SELECT {selected} FROM {table.name} WITH NO DATA")
    copy_rows(connection, temp, columns, _copy_tuples(table, columns, rows, guard))
    return temp


def copy_rows(connection: Connection, table: str, columns: Iterable[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY `rows` (values in `columns` order, as COPY takes them) into `table`, inside the
    connection's transaction (PostgreSQL only)."""
    try:
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    except Exception as exc:
        without_error_data(exc)  # COPY's CONTEXT line quotes the row that failed
        raise


def raw(connection: Connection, sql: str) -> list[tuple]:
    """Run `sql` on the connection's own psycopg connection (inside its transaction); rows it returns."""
    return _run(connection, sql)[0]


def _run(connection: Connection, sql: str) -> tuple[list[tuple], int]:
    """`raw`, with the number of rows the statement touched."""
    try:
        with connection.connection.driver_connection.cursor() as cursor:
            cursor.execute(sql)
            return (cursor.fetchall() if cursor.description else []), cursor.rowcount
    except Exception as exc:
        without_error_data(exc)  # a DETAIL line quotes the row ("Key (email)=(…) already exists")
        raise


@lru_cache(maxsize=16)  # a batch has one as_of: converted once, not once per row
def naive_utc(value: datetime) -> datetime:
    """The columns are `timestamp without time zone` holding UTC, as UTCDateTime writes them."""
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _json_text(value: Any) -> str | None:
    # orjson: a sixth of json.dumps's time, and a batch's history and snapshots are mostly JSON
    return None if value is None else orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


@lru_cache(maxsize=16)
def naive_utc_text(value: datetime) -> str:
    """`naive_utc` as COPY's text takes it: psycopg's datetime dumper costs four times a string's."""
    return datetime.isoformat(naive_utc(value), " ")


def _utc_converter() -> Callable[[datetime | None], str | None]:
    """`naive_utc_text` for one batch's column: its rows mostly share one instant (the batch's
    `as_of`, the same object), converted once."""
    last_in, last_out = None, None

    def convert(value: datetime | None) -> str | None:
        nonlocal last_in, last_out
        if value is last_in:
            return last_out
        last_in, last_out = value, (None if value is None else naive_utc_text(value))
        return last_out

    return convert


def _converter(column: Any) -> Callable[[Any], Any] | None:
    if isinstance(column.type, UTCDateTime):
        return _utc_converter()
    if isinstance(column.type, JSON):
        return _json_text
    return None


def _copy_tuples(table: Table, columns: tuple[str, ...], rows: Iterable[dict[str, Any]],
                 guard: str | None = None) -> Iterable[Sequence[Any]]:
    """Each row's values in `columns` order, as COPY takes them (naive UTC timestamps and JSON as text)."""
    typed_like = {f"{guard}_was": guard} if guard else {}
    converters = [(index, convert) for index, name in enumerate(columns)
                  if (convert := _converter(table.c[typed_like.get(name, name)])) is not None]
    pick = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
    if not converters:
        yield from map(pick, rows)
        return
    for row in rows:
        values = list(pick(row))
        for index, convert in converters:
            values[index] = convert(values[index])
        yield values
