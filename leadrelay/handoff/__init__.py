"""Handing MQLs to sales: `routing` (rules in `routing_rules`) picks the rep, `sla` computes the
deadline, `handoff_store` and `sla_store` write them, `answers` takes the rep's accept or
reject (reasons in `reasons`), `cooldown` and `rejection_store` keep a rejected lead from
bouncing straight back, and `reassign` moves an open handoff to another rep."""
