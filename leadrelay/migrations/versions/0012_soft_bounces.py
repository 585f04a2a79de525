"""soft_bounce: temporary delivery failures, counted so an address is suppressed only after N in a window

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from leadrelay import models

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'soft_bounce',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('occurred_at', models.types.UTCDateTime(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('message_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_key'),
    )
    op.create_index('ix_soft_bounce_email_at', 'soft_bounce', ['email', 'occurred_at'])


def downgrade() -> None:
    op.drop_index('ix_soft_bounce_email_at', table_name='soft_bounce')
    op.drop_table('soft_bounce')
