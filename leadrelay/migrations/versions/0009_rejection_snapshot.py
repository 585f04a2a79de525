"""handoff: the lead's score and engagement when a rep answered, and the rep's note

A rejection is respected for a cooldown unless the lead's engagement rises by a configured amount
since; the rise is measured from `engagement_at_answer`, and the email that hands the lead back
says the score then (`score_at_answer`) and now, and the rep's note (`answer_note`). Handoffs
answered before this revision have none of them: their cooldown ends on time only.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handoff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('score_at_answer', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('engagement_at_answer', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answer_note', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('handoff', schema=None) as batch_op:
        batch_op.drop_column('answer_note')
        batch_op.drop_column('engagement_at_answer')
        batch_op.drop_column('score_at_answer')
