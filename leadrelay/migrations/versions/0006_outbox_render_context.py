"""outbox_email.render_context: a rep notification is rendered when it is sent, from a snapshot

Rendering a rep's handoff email (Jinja, CSS inlining, the lead's whole history) costs ~1.4 ms, more
than the rest of a handoff put together. The hand-off batch now stores what the email shows (the
lead as it was at handoff, the offer and its signed links, the sender) in `render_context`, and
sending renders it. Rows queued before this revision keep their rendered body and no context.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('render_context', JSON_TYPE, nullable=True))


def downgrade() -> None:
    # An unsent row without its context would have no body: it cannot go back.
    op.execute("DELETE FROM outbox_email WHERE render_context IS NOT NULL AND status <> 'sent'")
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_column('render_context')
