"""Three indexes hold only the rows their queries look for

Every pipeline run writes ~118,000 lead versions and ~250,000 history events per 100,000 leads,
and each new version or event is entered into every index of its table. Three of those entries
were never read:
- `ix_lead_needs_scoring` held every lead, though only the scoring claim uses it, and it looks for
  the leads waiting to be scored. On PostgreSQL it now holds only those (`(needs_scoring, id)
  WHERE needs_scoring IS TRUE`), so scoring a lead adds no entry. SQLite keeps the full index: its
  planner matches a partial index only on the same spelling of the condition.
- `ix_lead_account_id` held the leads without an account too; lookups are by account.
- `ix_lead_event_to_stage` held every history event; only stage changes have a `to_stage`.
The queries that use them are unchanged: each condition they test implies the index's.

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

WAITING = sa.text("needs_scoring IS TRUE")  # the claim's own spelling: PostgreSQL proves nothing from plain `needs_scoring`
HAS_ACCOUNT = sa.text("account_id IS NOT NULL")
STAGE_CHANGE = sa.text("to_stage IS NOT NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_lead_needs_scoring', table_name='lead')
        op.create_index('ix_lead_needs_scoring', 'lead', ['needs_scoring', 'id'], postgresql_where=WAITING)
    op.drop_index('ix_lead_account_id', table_name='lead')
    op.create_index('ix_lead_account_id', 'lead', ['account_id'], postgresql_where=HAS_ACCOUNT,
                    sqlite_where=HAS_ACCOUNT)
    op.drop_index('ix_lead_event_to_stage', table_name='lead_event')
    op.create_index('ix_lead_event_to_stage', 'lead_event', ['to_stage'], postgresql_where=STAGE_CHANGE,
                    sqlite_where=STAGE_CHANGE)


def downgrade() -> None:
    op.drop_index('ix_lead_event_to_stage', table_name='lead_event')
    op.create_index('ix_lead_event_to_stage', 'lead_event', ['to_stage'])
    op.drop_index('ix_lead_account_id', table_name='lead')
    op.create_index('ix_lead_account_id', 'lead', ['account_id'])
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_lead_needs_scoring', table_name='lead')
        op.create_index('ix_lead_needs_scoring', 'lead', ['needs_scoring', 'id'])
