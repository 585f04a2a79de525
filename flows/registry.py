"""Every flow `leadrelay run` and `leadrelay serve` know, by name."""
from flows.pipeline import pipeline

FLOWS = {"pipeline": pipeline}
