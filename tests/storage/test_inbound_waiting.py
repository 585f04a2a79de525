"""Whether form submissions are waiting, as the pipeline asks before it ends a run."""
from datetime import timedelta

from leadrelay.db import unit_of_work
from leadrelay.intake.inbound import inbound_waiting, intake_next_inbound
from leadrelay.models import InboundLead
from tests.factories import T0


def test_a_submission_counts_as_waiting_from_its_arrival_until_it_is_taken_in(engine):
    with unit_of_work(engine) as session:
        session.add(InboundLead(received_at=T0, source="website", payload={"email": "carla@acme-buyer.com"}))
    with unit_of_work(engine) as session:
        assert not inbound_waiting(session, T0 - timedelta(seconds=1))
        assert inbound_waiting(session, T0)
        intake_next_inbound(session, T0, 10, "flow:pipeline")
    with unit_of_work(engine) as session:
        assert not inbound_waiting(session, T0 + timedelta(days=1))
