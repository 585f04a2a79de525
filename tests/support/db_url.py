"""The URL a user would set (LEADRELAY_DATABASE_URL) for a test's database."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.conftest import POSTGRES_URL


def database_url(engine: Engine) -> str:
    """SQLite: the file's URL; PostgreSQL: the test's schema, chosen with `options=-csearch_path`."""
    if engine.dialect.name == "sqlite":
        return str(engine.url)
    with engine.connect() as connection:
        schema = connection.execute(text("select current_schema()")).scalar_one()
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
