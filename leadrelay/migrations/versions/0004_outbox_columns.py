"""outbox_email.from_email, from_name, custom_args as columns; one spelling per email kind; no engagement_event.applied

The outbox used to keep the sender and the SendGrid custom args as `_from_email`, `_from_name`
and `_custom_args` keys inside its `headers` JSON. Existing rows get those values in the new
columns, and the keys leave `headers` (one UPDATE per dialect, SQLite and PostgreSQL JSON
functions). The SLA escalation kind was stored as `escalation`; it is `sla_escalation` now, as
in its custom args. `engagement_event.applied` was never read or written; it goes.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
# Written out here, not imported: a migration must keep meaning what it meant when it ran.
OLD_ESCALATION_KIND, ESCALATION_KIND = 'escalation', 'sla_escalation'

# headers -> columns, and headers without the `_` keys, per dialect.
TO_COLUMNS = {
    'sqlite': """
        UPDATE outbox_email SET
            from_email = COALESCE(json_extract(headers, '$._from_email'), ''),
            from_name = COALESCE(json_extract(headers, '$._from_name'), ''),
            custom_args = COALESCE(json_extract(headers, '$._custom_args'), '{}'),
            headers = json_remove(headers, '$._from_email', '$._from_name', '$._custom_args')
        WHERE json_extract(headers, '$._from_email') IS NOT NULL
    """,
    'postgresql': """
        UPDATE outbox_email SET
            from_email = COALESCE(headers->>'_from_email', ''),
            from_name = COALESCE(headers->>'_from_name', ''),
            custom_args = COALESCE(headers->'_custom_args', '{}'::jsonb),
            headers = headers - '_from_email' - '_from_name' - '_custom_args'
        WHERE headers ? '_from_email'
    """,
}
TO_HEADERS = {
    'sqlite': """
        UPDATE outbox_email SET headers = json_set(headers, '$._from_email', from_email, '$._from_name', from_name,
                                                   '$._custom_args', json(custom_args))
    """,
    'postgresql': """
        UPDATE outbox_email SET headers = headers || jsonb_build_object(
            '_from_email', from_email, '_from_name', from_name, '_custom_args', custom_args)
    """,
}


def upgrade() -> None:
    # Server defaults only carry the existing rows through NOT NULL; they are dropped below.
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('from_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('from_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('custom_args', JSON_TYPE, nullable=False, server_default=sa.text("'{}'")))
    op.execute(TO_COLUMNS[op.get_bind().dialect.name])
    op.execute(f"UPDATE outbox_email SET kind = '{ESCALATION_KIND}' WHERE kind = '{OLD_ESCALATION_KIND}'")
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        for column in ('from_email', 'from_name', 'custom_args'):
            batch_op.alter_column(column, server_default=None)
    with op.batch_alter_table('engagement_event', schema=None) as batch_op:
        batch_op.drop_index('ix_engagement_event_applied')
        batch_op.drop_column('applied')


def downgrade() -> None:
    with op.batch_alter_table('engagement_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applied', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index('ix_engagement_event_applied', ['applied'], unique=False)
    op.execute(f"UPDATE outbox_email SET kind = '{OLD_ESCALATION_KIND}' WHERE kind = '{ESCALATION_KIND}'")
    op.execute(TO_HEADERS[op.get_bind().dialect.name])
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_column('custom_args')
        batch_op.drop_column('from_name')
        batch_op.drop_column('from_email')
