"""Nurture email: `sequences` (tracks), `guard_rails` and `send_window` decide what may go when,
`nurture_store` runs a batch, `exits` ends enrollments, `suppression` and `unsubscribe` stop
email."""
