"""Email as message objects: `rendering` (one Jinja2 environment), `message`, the backends that
send them, and the `outbox` that sends each exactly once with retries."""
