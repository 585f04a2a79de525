"""After `make demo`, `leadrelay funnel` in the same folder reads the demo: its database is copied to
the default `./leadrelay.db` when there is none, and an existing or configured database is never
touched."""
from __future__ import annotations

import sqlite3

from leadrelay.demo.run import share_with_default_database

DEFAULT = "sqlite:///leadrelay.db"


def demo_database(path):
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")  # as the demo's engine writes it
    connection.execute("CREATE TABLE lead (email TEXT)")
    connection.execute("INSERT INTO lead VALUES ('carla@acme-buyer.com')")
    connection.commit()
    return connection  # left open: the copy must include what is still in the write-ahead log


def rows(path):
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT email FROM lead").fetchall()
    finally:
        connection.close()


def test_the_demo_becomes_the_default_database_when_there_is_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    held = demo_database(tmp_path / "demo" / "leadrelay.db")

    assert share_with_default_database(tmp_path / "demo" / "leadrelay.db", DEFAULT) is True
    held.close()
    assert rows(tmp_path / "leadrelay.db") == [("carla@acme-buyer.com",)]


def test_an_existing_or_configured_database_is_never_touched(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    demo_database(tmp_path / "demo" / "leadrelay.db").close()

    assert share_with_default_database(tmp_path / "demo" / "leadrelay.db", "postgresql+psycopg://db/leads") is False
    assert not (tmp_path / "leadrelay.db").exists()
    (tmp_path / "leadrelay.db").write_bytes(b"")  # the user's own, whatever it holds
    assert share_with_default_database(tmp_path / "demo" / "leadrelay.db", DEFAULT) is False
    assert (tmp_path / "leadrelay.db").read_bytes() == b""
