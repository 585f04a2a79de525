"""lead.email_status (+ _at, _reason): email status is its own axis; `suppressed` is no longer a stage

Every lead whose address is in `suppression` gets the email status its suppression reason means;
every lead in stage `suppressed` goes back to the stage it had before (from its history), with a
`stage_changed` event that says why.

Revision ID: 0003
Revises: 0002
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
import sqlmodel
from leadrelay import models

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Suppression reasons as stored (SendGrid event names; `unsubscribed` from the link) -> email status.
# Written out here, not imported: a migration must keep meaning what it meant when it ran.
STATUS_FOR_REASON = {
    'bounce': 'bounced', 'dropped': 'bounced', 'spamreport': 'complained',
    'unsubscribe': 'unsubscribed', 'group_unsubscribe': 'unsubscribed', 'unsubscribed': 'unsubscribed',
}
STAGES = ('new', 'nurturing', 'mql', 'sal', 'sql', 'won', 'lost', 'disqualified')
ACTOR = 'migration:0003'
_CHUNK = 500

lead = sa.table(
    'lead', sa.column('id', sa.Integer), sa.column('email', sa.String), sa.column('stage', sa.String),
    sa.column('email_status', sa.String), sa.column('email_status_at', models.types.UTCDateTime()),
    sa.column('email_status_reason', sa.String),
)
suppression = sa.table('suppression', sa.column('email', sa.String), sa.column('reason', sa.String),
                       sa.column('at', models.types.UTCDateTime()))
lead_event = sa.table(
    'lead_event', sa.column('id', sa.Integer), sa.column('lead_id', sa.Integer),
    sa.column('at', models.types.UTCDateTime()), sa.column('kind', sa.String), sa.column('actor', sa.String),
    sa.column('to_stage', sa.String), sa.column('detail', models.types.JSONType), sa.column('flow_run_id', sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='ok'))
        batch_op.add_column(sa.Column('email_status_at', models.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('email_status_reason', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=True))
    connection = op.get_bind()
    _email_status_from_suppressions(connection)
    _restore_suppressed_stages(connection)


def downgrade() -> None:
    # The old schema knew one way to say "no marketing email": the stage.
    op.execute(lead.update().where(lead.c.email_status != 'ok').values(stage='suppressed'))
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_column('email_status_reason')
        batch_op.drop_column('email_status_at')
        batch_op.drop_column('email_status')


def _email_status_from_suppressions(connection) -> None:
    """One UPDATE: each suppressed address's lead, whatever its stage, takes the status, time and
    reason of its suppression row (an unknown reason counts as unsubscribed: it stops email)."""
    def of_suppression(column):
        return sa.select(column).where(suppression.c.email == lead.c.email).scalar_subquery()

    reason = of_suppression(suppression.c.reason)
    connection.execute(
        lead.update()
        .where(sa.exists().where(suppression.c.email == lead.c.email))
        .values(email_status=sa.case(STATUS_FOR_REASON, value=reason, else_='unsubscribed'),
                email_status_at=of_suppression(suppression.c.at), email_status_reason=reason)
    )


def _restore_suppressed_stages(connection) -> None:
    """Leads in stage `suppressed` get back the stage they were in when they were suppressed."""
    lead_ids = list(connection.scalars(sa.select(lead.c.id).where(lead.c.stage == 'suppressed').order_by(lead.c.id)))
    now = datetime.now(timezone.utc)
    for start in range(0, len(lead_ids), _CHUNK):
        chunk = lead_ids[start:start + _CHUNK]
        changes = connection.execute(
            sa.select(lead_event.c.lead_id, lead_event.c.to_stage, lead_event.c.detail)
            .where(lead_event.c.lead_id.in_(chunk), lead_event.c.kind == 'stage_changed')
            .order_by(lead_event.c.lead_id, lead_event.c.at, lead_event.c.id)
        ).all()
        history: dict[int, list] = {lead_id: [] for lead_id in chunk}
        for lead_id, to_stage, detail in changes:
            history[lead_id].append((to_stage, detail or {}))
        restored = {lead_id: previous_stage(events) for lead_id, events in history.items()}
        connection.execute(lead.update().where(lead.c.id == sa.bindparam('lead_id')).values(stage=sa.bindparam('stage')),
                           [{'lead_id': lead_id, 'stage': stage} for lead_id, stage in restored.items()])
        connection.execute(lead_event.insert(), [
            {'lead_id': lead_id, 'at': now, 'kind': 'stage_changed', 'actor': ACTOR, 'to_stage': stage,
             'flow_run_id': None,
             'detail': {'from': 'suppressed', 'to': stage,
                        'reason': 'email status is its own axis now; the stage before suppression is restored'}}
            for lead_id, stage in restored.items()
        ])


def previous_stage(events: list) -> str:
    """The stage before the last move into `suppressed`: that move's `from`, else the stage the
    last earlier move went to, else `new`. `events` are (to_stage, detail), oldest first."""
    last = max((i for i, (to_stage, _) in enumerate(events) if to_stage == 'suppressed'), default=len(events))
    named = events[last][1].get('from') if last < len(events) else None
    if named in STAGES:
        return named
    earlier = [to_stage for to_stage, _ in events[:last] if to_stage in STAGES]
    return earlier[-1] if earlier else 'new'
