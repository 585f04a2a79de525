"""What managers read: the funnel, SLA compliance and sources."""
