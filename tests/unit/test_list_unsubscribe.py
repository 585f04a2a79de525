"""List-Unsubscribe in .eml outbox files is a plain `<https://…>` a mail client can act on, never
RFC 2047 encoded-words, and the one-click header goes with it, as in the SendGrid body."""
from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone

import pytest

from leadrelay.email.backends import OutboxDirSender, build_sendgrid_body
from leadrelay.email.list_headers import mime_header_value
from leadrelay.email.message import EmailMessage
from leadrelay.links.signing import sign
from leadrelay.nurture.email import NurtureLinks, unsubscribe_headers

AS_OF = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
TOKEN = sign("unsubscribe", {"lead": 123456, "email": "nina.longname@acme-buyer.example.com"}, "a-secret",
             AS_OF + timedelta(days=365))
URL = f"https://links.leadrelay.example.com/unsubscribe/{TOKEN}"
MAILTO = "mailto:hello@leadrelay.example.com?subject=unsubscribe"


def message() -> EmailMessage:
    return EmailMessage(idempotency_key="nurture:1:1", to_email="nina@acme-buyer.com", to_name="Nina",
                        from_email="hello@leadrelay.example.com", from_name="Leadrelay", subject="Hello",
                        html="<p>Hi</p>", text="Hi", headers=unsubscribe_headers(NurtureLinks(URL, MAILTO)))


@pytest.mark.parametrize("policy", [email.policy.default, email.policy.compat32])
def test_the_eml_has_a_plain_list_unsubscribe_header_with_the_url(tmp_path, policy):
    assert len(URL) > 100  # a signed link is longer than a 78-column line: what used to be encoded
    sender = OutboxDirSender(tmp_path)
    assert sender.send(message()).status == "sent"
    data = sender.path_for(message()).read_bytes()

    parsed = email.message_from_bytes(data, policy=policy)

    value = " ".join(str(parsed["List-Unsubscribe"]).split())  # a folded header unfolds to one line
    assert value == f"<{URL}>, <{MAILTO}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?utf-8?" not in head
    assert all(len(line) <= 998 for line in head.split("\r\n"))
    assert f"List-Unsubscribe: <{URL}>," in head  # the URL whole on one line, as a client reads it


def test_the_sendgrid_body_carries_the_same_two_headers():
    assert build_sendgrid_body(message())["headers"] == {"List-Unsubscribe": f"<{URL}>, <{MAILTO}>",
                                                         "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


@pytest.mark.parametrize("name, value", [("Subject", "<https://x>"), ("List-Unsubscribe", "not a <uri> list"),
                                         ("List-Unsubscribe", "<https://example.com/ü>"),
                                         ("List-Unsubscribe", "<https://example.com/" + "a" * 1000 + ">")])
def test_other_headers_and_values_that_are_not_short_ascii_uri_lists_fold_as_usual(name, value):
    assert type(mime_header_value(name, value)) is str
