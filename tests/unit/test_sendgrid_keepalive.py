"""SendGridSender's keep-alive transport: the official client over pooled connections, against the
loopback SendGrid (keep-alive on), with a server that counts TCP connections and can close them."""
from __future__ import annotations

import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from sqlmodel import Session

from leadrelay.email import keepalive
from leadrelay.email.backends import SendGridSender
from leadrelay.email.keepalive import KeepAliveClient
from leadrelay.email.kinds import NURTURE
from leadrelay.email.message import EmailMessage
from leadrelay.email.outbox import enqueue, pending_count, send_due
from tests.support.fake_sendgrid import FakeSendGrid

AS_OF = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
KEY = "SG.fake-key.for-tests"


pytestmark = pytest.mark.usefixtures("no_proxy_for_loopback")


def message(n: int) -> EmailMessage:
    return EmailMessage(idempotency_key=f"nurture:{n}:0", to_email=f"lead{n}@example.org", to_name="Lea",
                        from_email="marketing@example.com", from_name="Example", subject=f"Hello {n}",
                        html="<p>hi</p>", text="hi", categories=(NURTURE,), custom_args={"kind": NURTURE})


class CountingSendGrid(FakeSendGrid):
    """The loopback SendGrid with keep-alive that counts the TCP connections it accepted.

    close_after_each: close the connection after every answer without saying so (no
      `Connection: close`), as a server's idle timeout does between two requests.
    drop_next: read the next request whole, then close the connection without answering.
    """

    def __init__(self, *, close_after_each: bool = False, **options):
        super().__init__(KEY, keep_alive=True, **options)
        self.close_after_each = close_after_each
        self.drop_next = False
        self.dropped: list[bytes] = []
        self.connections = 0

    def start(self) -> CountingSendGrid:
        super().start()
        fake = self

        class Handler(self._server.RequestHandlerClass):
            def setup(self):
                super().setup()
                with fake._lock:
                    fake.connections += 1

            def do_POST(self):
                if fake.drop_next:
                    fake.drop_next = False
                    fake.dropped.append(self.rfile.read(int(self.headers["Content-Length"])))
                    self.close_connection = True
                    return
                self._handle()
                if fake.close_after_each:
                    self.close_connection = True

        self._server.RequestHandlerClass = Handler  # no connection has been accepted yet
        return self


def test_100_sends_from_8_threads_use_at_most_8_connections():
    with CountingSendGrid() as server:
        sender = SendGridSender(KEY, host=server.url, timeout=5, max_in_flight=8)
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(sender.send, [message(n) for n in range(100)]))
        sender.close()
    assert [r.status for r in results] == ["sent"] * 100
    assert 1 <= server.connections <= 8
    assert sorted(server.accepted_idempotency_keys()) == sorted(f"nurture:{n}:0" for n in range(100))


def test_sends_one_after_another_share_one_connection_and_the_call_chain_shares_the_pool():
    with CountingSendGrid() as server:
        sender = SendGridSender(KEY, host=server.url, timeout=5)
        client = sender._client.client
        assert isinstance(client.mail.send, KeepAliveClient) and client.mail.send._pool is client._pool
        assert [sender.send(message(n)).status for n in range(10)] == ["sent"] * 10
        sender.close()
    assert server.connections == 1


def test_a_connection_the_server_closed_between_requests_is_replaced_not_used():
    with CountingSendGrid(close_after_each=True) as server:
        sender = SendGridSender(KEY, host=server.url, timeout=5)
        statuses = []
        for n in range(5):
            statuses.append(sender.send(message(n)).status)
            time.sleep(0.1)  # the server's close reaches the idle connection in the pool
        sender.close()
    assert statuses == ["sent"] * 5
    assert server.connections == 5
    assert server.accepted_idempotency_keys() == [f"nurture:{n}:0" for n in range(5)]


def test_a_pooled_connection_that_fails_on_write_is_replaced_and_the_request_sent_once(monkeypatch):
    with CountingSendGrid() as server:
        sender = SendGridSender(KEY, host=server.url, timeout=5)
        assert sender.send(message(1)).status == "sent"
        [[(connection, _)]] = sender._client.client._pool._idle.values()
        # a drop the idle check cannot see yet: the next write fails (EPIPE)
        connection.sock.shutdown(socket.SHUT_WR)
        monkeypatch.setattr(keepalive, "_is_dropped", lambda sock: False)
        assert sender.send(message(2)).status == "sent"
        sender.close()
    assert server.accepted_idempotency_keys() == ["nurture:1:0", "nurture:2:0"]
    assert server.connections == 2


def test_a_connection_lost_after_the_request_was_written_is_a_retry_and_never_resent():
    with CountingSendGrid() as server:
        sender = SendGridSender(KEY, host=server.url, timeout=5)
        assert sender.send(message(1)).status == "sent"
        server.drop_next = True
        lost = sender.send(message(2))
        assert sender.send(message(3)).status == "sent"
        sender.close()
    assert lost.status == "retry" and lost.error.startswith("SendGrid unreachable")
    assert len(server.dropped) == 1  # the server had it once; the transport did not send it again
    assert server.accepted_idempotency_keys() == ["nurture:1:0", "nurture:3:0"]


def test_close_closes_the_idle_connections():
    with CountingSendGrid() as server:
        sender = SendGridSender(KEY, host=server.url, timeout=5)
        sender.send(message(1))
        [[(connection, _)]] = sender._client.client._pool._idle.values()
        sender.close()
        assert connection.sock is None and sender._client.client._pool._idle == {}
        assert sender.send(message(2)).status == "sent"  # a closed pool opens a new connection
        sender.close()
    assert server.connections == 2


def test_draining_through_a_server_that_closes_every_connection_sends_each_message_once(engine):
    with Session(engine) as session:
        for n in range(100):
            enqueue(session, message(n), NURTURE, None, AS_OF)
        session.commit()
    with CountingSendGrid(close_after_each=True) as server:
        sender = SendGridSender(KEY, host=server.url, timeout=5, max_in_flight=8)
        totals = send_due(engine, sender, AS_OF, 500, retry_base_seconds=0.05, max_wait_seconds=30)
        sender.close()
    assert totals == {"sent": 100, "failed": 0, "still_pending": 0} and pending_count(engine) == 0
    keys = server.accepted_idempotency_keys()
    assert Counter(keys) == Counter(f"nurture:{n}:0" for n in range(100))
