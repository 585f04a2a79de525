"""Prefect beyond flows and tasks: the `server` a command talks to, the `events` leadrelay emits
and the `automations` it ships."""
