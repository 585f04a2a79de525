"""Handing MQLs to sales: `routing` (rules in `routing_rules`) picks the rep, `sla` computes the
deadline, `handoff_store` and `sla_store` write them, `answers` takes the rep's accept or
reject."""
