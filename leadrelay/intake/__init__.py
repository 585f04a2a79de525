"""Leads arriving: `normalise` judges one row (CSV, form or inbound), `store` writes a batch,
`importer`, `inbound` and `forms` bring them in, `quarantine` keeps what was refused."""
