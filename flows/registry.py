"""Every flow `leadrelay run` and `leadrelay serve` know, by name."""
from leadrelay.flows.engagement import engagement
from leadrelay.flows.nurture import nurture
from leadrelay.flows.pipeline import pipeline
from leadrelay.flows.report import report
from leadrelay.flows.rescore import rescore
from leadrelay.flows.send import send
from leadrelay.flows.sla import sla

FLOWS = {"pipeline": pipeline, "send": send, "nurture": nurture, "sla": sla, "engagement": engagement,
         "report": report, "rescore": rescore}
