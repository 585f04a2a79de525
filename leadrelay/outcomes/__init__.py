"""Outcomes from sales (SQL, won, lost, disqualified): rules, recording, CSV import, CRM webhook."""
