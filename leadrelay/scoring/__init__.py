"""Scoring: `score` computes fit, engagement, tier and stage from the rules (pure); `score_store`
claims, scores and writes a batch."""
