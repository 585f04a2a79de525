"""Every flow `leadrelay run` and `leadrelay serve` know, by name."""
from flows.engagement import engagement
from flows.nurture import nurture
from flows.pipeline import pipeline
from flows.report import report
from flows.sla import sla

FLOWS = {"pipeline": pipeline, "nurture": nurture, "sla": sla, "engagement": engagement, "report": report}
