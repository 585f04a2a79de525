"""outbox_email.lease_until: a batch of rows is claimed as `sending` with a lease that expires

The drainer claims due rows in one statement, marks them `sending` with `lease_until`, and commits
the claim before it sends; a worker that dies mid-batch leaves rows whose lease runs out, and the
next claim takes them back. Downgrading puts any `sending` row back to `pending`.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

from leadrelay.models.types import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', UTCDateTime(), nullable=True))
        batch_op.create_index('ix_outbox_status_lease', ['status', 'lease_until'], unique=False)


def downgrade() -> None:
    op.execute("UPDATE outbox_email SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_lease')
        batch_op.drop_column('lease_until')
