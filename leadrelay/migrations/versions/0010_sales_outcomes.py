"""sales_outcome: what sales said became of a lead (SQL, won, lost, disqualified), with amount

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
from leadrelay import models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sales_outcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('occurred_at', models.types.UTCDateTime(), nullable=False),
    sa.Column('recorded_at', models.types.UTCDateTime(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('source_key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.ForeignKeyConstraint(['lead_id'], ['lead.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_key')
    )
    with op.batch_alter_table('sales_outcome', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_outcome_lead_id'), ['lead_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sales_outcome', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_outcome_lead_id'))
    op.drop_table('sales_outcome')
