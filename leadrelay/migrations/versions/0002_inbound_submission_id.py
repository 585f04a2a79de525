"""inbound_lead.submission_id: a form client's idempotency key, unique per form (source)

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode (SQLite) rebuilds the table; PostgreSQL gets plain ALTER TABLE statements.
    with op.batch_alter_table('inbound_lead', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submission_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.create_unique_constraint('uq_inbound_lead_source_submission_id', ['source', 'submission_id'])


def downgrade() -> None:
    with op.batch_alter_table('inbound_lead', schema=None) as batch_op:
        batch_op.drop_constraint('uq_inbound_lead_source_submission_id', type_='unique')
        batch_op.drop_column('submission_id')
