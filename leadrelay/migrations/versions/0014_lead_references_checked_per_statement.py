"""History and enrollments check their lead once per statement, not once per row (PostgreSQL)

A foreign key checks each inserted row with a query of its own: for the ~250,000 history events
and ~82,000 enrollments a pipeline run writes per 100,000 leads, that was ~1.5 s of PostgreSQL's
~8 s. Here the two busiest references (`lead_event.lead_id`, `nurture_enrollment.lead_id`) are
checked by statement-level triggers instead, over all the rows a statement (a batch's COPY)
wrote, with the same promises: a row naming a lead that does not exist is refused
(`foreign_key_violation`), the leads named are locked FOR KEY SHARE until commit (so a concurrent
delete waits, as with the key), and deleting a lead that history or an enrollment names is
refused. SQLite keeps its foreign keys (the models declare them); other references keep theirs.

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

CHECKED = {"lead_event": "lead_event_lead_id_fkey", "nurture_enrollment": "nurture_enrollment_lead_id_fkey"}

NEW_ROWS_NAME_LEADS = """
CREATE FUNCTION leadrelay_new_rows_name_leads() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    named integer;
    found integer;
BEGIN
    SELECT count(DISTINCT lead_id) INTO named FROM new_rows;
    SELECT count(*) INTO found FROM (
        SELECT 1 FROM lead WHERE id IN (SELECT lead_id FROM new_rows) FOR KEY SHARE) AS locked;
    IF found <> named THEN
        RAISE EXCEPTION 'insert or update on table "%" names a lead that does not exist', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$
"""

DELETED_LEADS_UNNAMED = """
CREATE FUNCTION leadrelay_deleted_leads_unnamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows o WHERE EXISTS (SELECT 1 FROM lead_event e WHERE e.lead_id = o.id)
                                           OR EXISTS (SELECT 1 FROM nurture_enrollment n WHERE n.lead_id = o.id)) THEN
        RAISE EXCEPTION 'delete on table "lead" would leave history or enrollments naming it'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NEW_ROWS_NAME_LEADS)
    op.execute(DELETED_LEADS_UNNAMED)
    for table, key in CHECKED.items():
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {key}")
        for event in ("INSERT", "UPDATE"):
            op.execute(f"CREATE TRIGGER {table}_leads_exist_{event.lower()} AFTER {event} ON {table} "
                       "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
                       "EXECUTE FUNCTION leadrelay_new_rows_name_leads()")
    op.execute("CREATE TRIGGER lead_deleted_unnamed AFTER DELETE ON lead REFERENCING OLD TABLE AS old_rows "
               "FOR EACH STATEMENT EXECUTE FUNCTION leadrelay_deleted_leads_unnamed()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER lead_deleted_unnamed ON lead")
    for table, key in CHECKED.items():
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {table}_leads_exist_{event} ON {table}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {key} FOREIGN KEY (lead_id) REFERENCES lead (id)")
    op.execute("DROP FUNCTION leadrelay_deleted_leads_unnamed()")
    op.execute("DROP FUNCTION leadrelay_new_rows_name_leads()")
