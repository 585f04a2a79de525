"""Outbox snapshots stored as json, and bodies and snapshots compressed with lz4, on PostgreSQL

A rep notification's stored snapshot (`render_context`) is about 3 KB, written once and read whole
when the email is sent, never searched inside. As jsonb, with PostgreSQL's default compression
(pglz), a COPY of 17,800 of them took 916 ms; as json 585 ms; jsonb with lz4 527 ms. Only new
values are compressed the new way. Servers built without lz4 keep their default; SQLite has
neither type nor compression to change.

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

COLUMNS = ("render_context", "html", "text")


def _lz4_available(bind) -> bool:
    return bind.dialect.name == "postgresql" and bool(bind.execute(sa.text(
        "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")).first())


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox_email ALTER COLUMN render_context TYPE json USING render_context::json")
    if _lz4_available(bind):
        for column in COLUMNS:
            op.execute(f"ALTER TABLE outbox_email ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in COLUMNS:
            op.execute(f"ALTER TABLE outbox_email ALTER COLUMN {column} SET COMPRESSION DEFAULT")
        op.execute("ALTER TABLE outbox_email ALTER COLUMN render_context TYPE jsonb USING render_context::jsonb")
