"""Every flow `leadrelay run` and `leadrelay serve` know, by name."""
from flows.pipeline import pipeline
from flows.sla import sla

FLOWS = {"pipeline": pipeline, "sla": sla}
