"""Rescore runs: the checkpoint of `leadrelay rescore` and the scheduled rescore

A rescore walks every lead by id in batches; each batch's writes and the run's `last_lead_id`
commit together, so a run that crashed half-way resumes after its last finished batch.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

from leadrelay.models.types import JSONType, UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rescore_run',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('mode', sa.String(length=16), nullable=False),
        sa.Column('as_of', UTCDateTime(), nullable=False),
        sa.Column('config_fingerprint', sa.String(length=64), nullable=False),
        sa.Column('last_lead_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=False),
        sa.Column('finished_at', UTCDateTime(), nullable=True),
        sa.Column('counts', JSONType, nullable=False),
    )
    op.create_index('ix_rescore_run_mode_status', 'rescore_run', ['mode', 'status'])


def downgrade() -> None:
    op.drop_index('ix_rescore_run_mode_status', table_name='rescore_run')
    op.drop_table('rescore_run')
