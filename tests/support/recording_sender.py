"""A fake email backend for tests: records what would have been sent."""
from __future__ import annotations

import threading
from collections.abc import Iterable

from leadrelay.email.backends import EmailSender
from leadrelay.email.message import EmailMessage, SendResult


class RecordingSender(EmailSender):
    """A fake backend: records every attempt and answers from a script, then "sent".

    `attempts` holds every message passed to `send`, `sent` those whose answer was "sent".
    `results` (optional) are answered in order, one per call, before falling back to "sent".
    Thread-safe, so it can stand in for a backend shared by concurrent tasks.
    """

    def __init__(self, results: Iterable[SendResult] = ()):
        self.attempts: list[EmailMessage] = []
        self.sent: list[EmailMessage] = []
        self._script = list(results)
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> SendResult:
        with self._lock:
            self.attempts.append(message)
            result = self._script.pop(0) if self._script else None
            if result is None:
                result = SendResult("sent", provider_id=f"recorded-{len(self.attempts)}")
            if result.status == "sent":
                self.sent.append(message)
            return result
