"""The set-based import on a real database: a batch that mixes new rows, rows merging into leads
already stored, duplicates within the file and bad rows gives the leads, history and quarantine
that taking the rows one at a time gave."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from leadrelay.intake import importer
from leadrelay.intake.importer import import_csv
from leadrelay.models import Account, Lead, LeadEvent, QuarantineEntry
from tests.factories import T0

T1 = T0 + timedelta(hours=1)

FIRST = [
    "email,first_name,title,company_size,consent,colour",
    "ann@acme.com,Ann,CEO,1500,yes,blue",
    "bob@acme.com,Bob,CTO,,,",
]
SECOND = [
    "email,first_name,title,company_size,consent,colour",
    "new1@beta.io,New,VP Sales,200,no,red",          # new
    "ANN@acme.com,Ann,Chief Executive,1500,,green",  # merges into a stored lead
    "broken,x,,,,",                                  # quarantined
    "new1@BETA.io,Newer,,,yes,",                     # an in-file duplicate of a new lead
    "bob@acme.com,,,,,",                             # merges, changes nothing
    "new2@gmail.com,Gina,,lots,,",                   # quarantined: not a number
    "new3@gmail.com,Gail,,,,",                       # new, free mail: no account
    "ann@acme.com,Annie,,,,",                        # a second merge into the stored lead
]


def write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_mixed_batch_merges_creates_and_quarantines_like_one_row_at_a_time(engine, tmp_path, monkeypatch):
    import_csv(write(tmp_path, "first.csv", FIRST), T0, engine=engine)
    monkeypatch.setattr(importer, "LEAD_BATCH", 5)  # the duplicates and merges span two batches
    counts = import_csv(write(tmp_path, "second.csv", SECOND), T1, engine=engine, list_kind="external")

    assert (counts.created, counts.merged, counts.quarantined) == (2, 4, 2)
    with Session(engine) as session:
        leads = {lead.email: lead for lead in session.scalars(select(Lead).order_by(Lead.id))}
        assert list(leads) == ["ann@acme.com", "bob@acme.com", "new1@beta.io", "new3@gmail.com"]  # ids in file order
        ann, bob, new1, new3 = leads.values()
        assert (ann.first_name, ann.title, ann.company_size, ann.consent) == ("Annie", "Chief Executive", 1500, True)
        assert ann.attributes == {"colour": "green"}
        assert (ann.list_kind, ann.created_at, ann.updated_at) == ("internal", T0, T1)
        assert (new1.first_name, new1.title, new1.company_size, new1.consent) == ("Newer", "VP Sales", 200, True)
        assert (new1.list_kind, new1.stage, new1.tier, new1.score_breakdown, new1.needs_scoring) == (
            "external", "new", "cold", [], True)
        assert new1.attributes == {"colour": "red"}
        assert ann.account_id == bob.account_id is not None
        assert new1.account_id is not None and new3.account_id is None
        assert sorted(session.scalars(select(Account.domain))) == ["acme.com", "beta.io"]

        def events(lead):
            query = select(LeadEvent).where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.id)
            return [(e.kind, e.detail.get("origin"), e.detail.get("changed"), e.actor, e.at)
                    for e in session.scalars(query)]

        assert events(ann) == [
            ("intake", "first.csv line 2", None, "import:first.csv", T0),
            ("intake_merged", "second.csv line 3", ["title", "source", "colour"], "import:second.csv", T1),  # source: the file name
            ("intake_merged", "second.csv line 9", ["first_name"], "import:second.csv", T1),
        ]
        assert events(bob)[1:] == [("intake_merged", "second.csv line 6", ["source"], "import:second.csv", T1)]
        assert events(new1) == [
            ("intake", "second.csv line 2", None, "import:second.csv", T1),
            ("intake_merged", "second.csv line 5", ["first_name", "consent"], "import:second.csv", T1),
        ]
        assert events(new3) == [("intake", "second.csv line 8", None, "import:second.csv", T1)]
        assert session.scalars(select(LeadEvent.detail).where(LeadEvent.lead_id == new1.id)).first() == {
            "origin": "second.csv line 2", "source": "second", "list": "external"}

        quarantine = [(q.source, q.reason, q.raw, q.at) for q in session.scalars(select(QuarantineEntry).order_by(QuarantineEntry.id))]
        assert quarantine == [
            ("second.csv line 4", "the email is not valid: An email address must have an @-sign.", "broken,x,,,,", T1),
            ("second.csv line 7", "the field 'company_size' should be a whole number, not 'lots'", "new2@gmail.com,Gina,,lots,,", T1),
        ]
