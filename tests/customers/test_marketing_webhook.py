"""The outgoing marketing-suppression webhook, against a real HTTP server on the loopback interface."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tiski.cases.models import Case
from tiski.cases.services import case_create, case_update
from tiski.customers.marketing import WEBHOOK_EVENT, marketing_refresh, marketing_webhook_deliver
from tiski.customers.models import Customer, CustomerEvent, Identity

SECRET = "whsec-test-0123456789"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the loopback server got, and the statuses it answers with in turn (the last one repeats)."""

    url: str
    statuses: list[int]
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="", statuses=[200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(Received(headers={k.lower(): v for k, v in self.headers.items()}, body=body))
            status = state.statuses[min(len(state.requests), len(state.statuses)) - 1]
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/tiski"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def webhook(settings, receiver):  # type: ignore[no-untyped-def]
    settings.TISKI_MARKETING_WEBHOOK_URL = receiver.url
    settings.TISKI_MARKETING_WEBHOOK_SECRET = SECRET
    settings.TISKI_MARKETING_WEBHOOK_BACKOFF_S = 0
    return receiver


@pytest.fixture
def customer(db):  # type: ignore[no-untyped-def]
    customer = Customer.objects.create(name="Anssi Laaksonen")
    Identity.objects.create(customer=customer, kind="email", value="anssi@example.com")
    Identity.objects.create(customer=customer, kind="phone", value="+358401234567")
    return customer


def _runs() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path__endswith=".marketing_webhook").order_by("enqueued_at"))


def _signed(received: Received) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.headers["x-tiski-signature"], expected)


def test_a_complaint_posts_a_signed_suppression_and_a_500_is_retried(webhook, run_tasks, agent, customer):
    webhook.statuses = [500, 200]
    case = case_create(customer=customer, subject="Broken", actor=agent, type=Case.Type.COMPLAINT)
    run_tasks()
    assert len(webhook.requests) == 2
    first, retry = webhook.requests
    assert _signed(first) and _signed(retry)
    assert first.headers["x-tiski-delivery"] == retry.headers["x-tiski-delivery"]  # one delivery, tried twice
    assert first.headers["content-type"] == "application/json"
    payload = json.loads(retry.body)
    event = CustomerEvent.objects.get(customer=customer, kind=CustomerEvent.Kind.MARKETING)
    assert payload == {
        "event": WEBHOOK_EVENT,
        "customer_id": customer.pk,
        "suppressed": True,
        "reason": "open_complaint",
        "cases": [case.reference],
        "identities": [
            {"kind": "email", "value": "anssi@example.com"},
            {"kind": "phone", "value": "+358401234567"},
        ],
        "sequence": event.pk,
        "occurred_at": event.created_at.isoformat(),
    }
    assert [run.return_value for run in _runs()] == ["retrying: HTTP 500", "sent"]


def test_a_tampered_body_does_not_match_the_signature(webhook, run_tasks, agent, customer):
    case_create(customer=customer, subject="Broken", actor=agent, type=Case.Type.COMPLAINT)
    run_tasks()
    [received] = webhook.requests
    tampered = Received(headers=received.headers, body=received.body.replace(b"true", b"false"))
    assert _signed(received) and not _signed(tampered)


def test_lifting_posts_suppressed_false_with_a_higher_sequence(webhook, run_tasks, agent, customer):
    case = case_create(customer=customer, subject="Broken", actor=agent, type=Case.Type.COMPLAINT)
    run_tasks()
    case_update(case=case, actor=agent, status=Case.Status.SOLVED)
    run_tasks()
    on, off = (json.loads(r.body) for r in webhook.requests)
    assert (on["suppressed"], off["suppressed"]) == (True, False)
    assert off["reason"] == "no_open_complaint"
    assert off["sequence"] > on["sequence"]
    assert webhook.requests[0].headers["x-tiski-delivery"] != webhook.requests[1].headers["x-tiski-delivery"]


def test_a_4xx_answer_is_not_retried(webhook, run_tasks, agent, customer):
    webhook.statuses = [400]
    case_create(customer=customer, subject="Broken", actor=agent, type=Case.Type.COMPLAINT)
    run_tasks()
    assert len(webhook.requests) == 1
    assert [run.return_value for run in _runs()] == ["refused: HTTP 400"]


def test_a_network_error_is_retried_later_with_backoff(settings, agent, customer, run_tasks):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.TISKI_MARKETING_WEBHOOK_URL = f"http://127.0.0.1:{port}/hook"
    settings.TISKI_MARKETING_WEBHOOK_SECRET = SECRET
    settings.TISKI_MARKETING_WEBHOOK_BACKOFF_S = 30
    case_create(customer=customer, subject="Broken", actor=agent, type=Case.Type.COMPLAINT)
    run_tasks()
    first, retry = _runs()
    assert first.return_value.startswith("retrying: ConnectError")
    assert retry.status == "READY"
    assert retry.args_kwargs["kwargs"]["attempt"] == 2
    assert (retry.run_after - timezone.now()).total_seconds() > 20


def test_delivery_gives_up_after_the_last_attempt(webhook, settings, run_tasks, agent, customer):
    settings.TISKI_MARKETING_WEBHOOK_MAX_ATTEMPTS = 3
    webhook.statuses = [503]
    case_create(customer=customer, subject="Broken", actor=agent, type=Case.Type.COMPLAINT)
    run_tasks()
    assert len(webhook.requests) == 3
    assert _runs()[-1].return_value == "failed: HTTP 503"


def test_a_retry_of_a_superseded_change_is_not_sent(webhook, agent, customer):
    Case.objects.create(customer=customer, subject="Complaint", type=Case.Type.COMPLAINT)
    marketing_refresh(customer_id=customer.pk)
    older = CustomerEvent.objects.get(customer=customer, kind=CustomerEvent.Kind.MARKETING)
    Case.objects.filter(customer=customer).update(status=Case.Status.SOLVED)
    marketing_refresh(customer_id=customer.pk)
    assert marketing_webhook_deliver(event_id=older.pk, delivery_id="d-1", attempt=2) == (
        "skipped: superseded by a newer change"
    )
    assert webhook.requests == []


def test_nothing_is_queued_without_a_webhook_url(settings, run_tasks, agent, customer):
    settings.TISKI_MARKETING_WEBHOOK_URL = ""
    case_create(customer=customer, subject="Broken", actor=agent, type=Case.Type.COMPLAINT)
    run_tasks()
    customer.refresh_from_db()
    assert customer.marketing_suppressed is True
    assert _runs() == []


def test_nothing_is_sent_unsigned(webhook, settings, run_tasks, agent, customer):
    settings.TISKI_MARKETING_WEBHOOK_SECRET = ""
    case_create(customer=customer, subject="Broken", actor=agent, type=Case.Type.COMPLAINT)
    run_tasks()
    assert webhook.requests == []
    assert [run.return_value for run in _runs()] == ["failed: TISKI_MARKETING_WEBHOOK_SECRET is not set"]
