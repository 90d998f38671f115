"""Messages through the API: listing, replies through the outbox, inbound pushes, delivery reports."""

from __future__ import annotations

import base64

from django.core import mail

from tiski.cases.models import Case, CaseEvent, Message
from tiski.cases.services import case_update
from tiski.channels.interface import InboundAttachment
from tiski.channels.models import Channel, ChannelKind
from tiski.customers.models import Customer


def inbound_body(channel: Channel, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "channel_id": channel.pk,
        "handles": [{"kind": "email", "value": "Liisa@Example.com"}],
        "sender_name": "Liisa Laine",
        "subject": "Return a jacket",
        "body_text": "How do I return the jacket?",
        "external_id": "crm-42",
    }
    body.update(extra)
    return body


def test_case_messages_are_listed_oldest_first_and_filtered_by_direction(api, agent, receive, run_tasks):
    case = receive(body="First question").case
    receive(body="Second question", case_reference=case.reference)
    api.post(f"/cases/{case.pk}/messages", {"body": "An answer"})
    listed = api.get(f"/cases/{case.reference}/messages").json()
    assert [m["body_text"] for m in listed["items"]] == ["First question", "Second question", "An answer"]
    assert all(m["raw"] is None for m in listed["items"])
    inbound = api.get(f"/cases/{case.pk}/messages", {"direction": "in"}).json()
    assert [m["direction"] for m in inbound["items"]] == ["in", "in"]
    outbound = api.get(f"/cases/{case.pk}/messages", {"direction": "out", "limit": 1}).json()
    assert outbound["count"] == 1
    assert outbound["items"][0]["author_user"]["username"] == "maija"


def test_messages_of_unknown_case_answer_404(api):
    assert api.get("/cases/TSK-9999/messages").json()["code"] == "case_not_found"


def test_get_message_with_attachments_and_raw_only_on_request(api, receive):
    receipt = receive(
        raw=b"From: anssi@example.com\r\n\r\nWhich size?",
        attachments=[InboundAttachment("photo.jpg", "image/jpeg", b"\xff\xd8jpeg")],
    )
    plain = api.get(f"/messages/{receipt.message.pk}")
    assert plain.status_code == 200
    body = plain.json()
    assert body["raw"] is None
    assert body["delivery_status"] == "received"
    [attachment] = body["attachments"]
    assert (attachment["filename"], attachment["content_type"], attachment["size"]) == ("photo.jpg", "image/jpeg", 6)
    with_raw = api.get(f"/messages/{receipt.message.pk}", {"include": "raw"}).json()
    assert base64.b64decode(with_raw["raw"]) == b"From: anssi@example.com\r\n\r\nWhich size?"
    listed = api.get(f"/cases/{receipt.case.pk}/messages", {"include": "raw"}).json()
    assert listed["items"][0]["raw"] is None  # lists never carry the raw source


def test_get_unknown_message_answers_404_and_unknown_include_422(api, receive):
    assert api.get("/messages/999").json() == {"detail": "No message 999.", "code": "message_not_found"}
    message = receive().message
    assert api.get(f"/messages/{message.pk}", {"include": "secrets"}).status_code == 422


def test_reply_is_queued_then_sent_by_the_worker_as_email(api, agent, receive, run_tasks):
    case = receive(email="anssi@example.com").case
    response = api.post(f"/cases/{case.reference}/messages", {"body": "Size L fits you.", "status_after": "pending"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["delivery_status"] == "queued"
    assert body["direction"] == "out"
    assert mail.outbox == []
    run_tasks()
    assert api.get(f"/messages/{body['id']}").json()["delivery_status"] == "sent"
    [sent] = mail.outbox
    assert sent.to == ["anssi@example.com"]
    assert "Size L fits you." in sent.body
    case.refresh_from_db()
    assert (case.status, case.owner) == ("pending", agent)


def test_reply_with_an_attachment(api, receive, run_tasks):
    case = receive().case
    content = base64.b64encode(b"%PDF-1.7 invoice").decode()
    attachment = {"filename": "invoice.pdf", "content_type": "application/pdf", "content_base64": content}
    response = api.post(f"/cases/{case.pk}/messages", {"body": "Here it is.", "attachments": [attachment]})
    assert response.status_code == 201
    assert response.json()["attachments"][0]["filename"] == "invoice.pdf"
    run_tasks()
    assert mail.outbox[0].attachments[0][0] == "invoice.pdf"


def test_reply_with_invalid_base64_answers_422(api, receive):
    case = receive().case
    attachment = {"filename": "x.pdf", "content_base64": "***"}
    response = api.post(f"/cases/{case.pk}/messages", {"body": "Here", "attachments": [attachment]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "attachments.0.content_base64"


def test_reply_to_closed_case_answers_409(api, agent, receive):
    case = receive().case
    case_update(case=case, actor=agent, status=Case.Status.CLOSED)
    response = api.post(f"/cases/{case.pk}/messages", {"body": "Hello"})
    assert response.status_code == 409
    assert response.json()["code"] == "case_closed"


def test_reply_when_the_customer_has_no_address_answers_400(api, receive, webform_channel):
    customer = Customer.objects.create(name="No address")
    case = Case.objects.create(customer=customer, subject="Phoned in", channel=webform_channel)
    response = api.post(f"/cases/{case.pk}/messages", {"body": "Hello"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "No address has no address for Web form; add one to the customer.",
        "code": "reply_not_possible",
    }


def test_reply_blank_answers_400_and_missing_body_422(api, receive):
    case = receive().case
    assert api.post(f"/cases/{case.pk}/messages", {"body": "  "}).json()["code"] == "reply_not_possible"
    assert api.post(f"/cases/{case.pk}/messages", {}).status_code == 422


def test_inbound_push_creates_customer_case_and_message(api, webform_channel):
    response = api.post("/inbound", inbound_body(webform_channel))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["duplicate"], body["case_created"]) == (False, True)
    assert body["message"]["external_id"] == "crm-42"
    customer = Customer.objects.get(pk=body["customer_id"])
    assert customer.name == "Liisa Laine"
    assert customer.identities.get().value == "liisa@example.com"
    assert Case.objects.get(pk=body["case_id"]).subject == "Return a jacket"


def test_inbound_push_is_stored_once_per_external_id(api, webform_channel):
    first = api.post("/inbound", inbound_body(webform_channel))
    again = api.post("/inbound", inbound_body(webform_channel, body_text="Changed on resend"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert Message.objects.count() == 1


def test_inbound_push_with_a_case_reference_continues_the_customers_case(api, webform_channel):
    first = api.post("/inbound", inbound_body(webform_channel)).json()
    follow_up = inbound_body(webform_channel, external_id="crm-43", case_reference=first["case_reference"])
    second = api.post("/inbound", follow_up).json()
    assert (second["case_created"], second["case_id"]) == (False, first["case_id"])


def test_inbound_push_with_attachment(api, webform_channel):
    content = base64.b64encode(b"GIF89a").decode()
    body = inbound_body(
        webform_channel, attachments=[{"filename": "a.gif", "content_type": "image/gif", "content_base64": content}]
    )
    response = api.post("/inbound", body)
    assert response.json()["message"]["attachments"][0]["size"] == 6


def test_inbound_push_errors(api, webform_channel):
    bad_handle = api.post("/inbound", inbound_body(webform_channel, handles=[{"kind": "email", "value": "nope"}]))
    assert (bad_handle.status_code, bad_handle.json()["code"]) == (400, "identity_invalid")
    no_body = api.post("/inbound", inbound_body(webform_channel, body_text=""))
    assert no_body.status_code == 400
    assert no_body.json() == {
        "detail": "An inbound message needs a text, an HTML body or an attachment.",
        "code": "inbound_invalid",
    }
    no_handles = api.post("/inbound", inbound_body(webform_channel, handles=[]))
    assert no_handles.status_code == 422
    unknown = api.post("/inbound", {**inbound_body(webform_channel), "channel_id": 999})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "channel_not_found")
    off = Channel.objects.create(kind=ChannelKind.EMAIL, name="Old mailbox", active=False)
    inactive = api.post("/inbound", inbound_body(off))
    assert (inactive.status_code, inactive.json()["code"]) == (400, "channel_inactive")
    assert Message.objects.count() == 0


def test_delivery_report_for_a_sent_reply_is_recorded(api, agent, receive, run_tasks):
    case = receive().case
    reply = api.post(f"/cases/{case.pk}/messages", {"body": "Size L"}).json()
    not_yet = api.patch(f"/messages/{reply['id']}", {"delivery_status": "delivered"})
    assert (not_yet.status_code, not_yet.json()["code"]) == (409, "message_not_sent")
    run_tasks()
    delivered = api.patch(f"/messages/{reply['id']}", {"delivery_status": "delivered"})
    assert delivered.status_code == 200
    assert delivered.json()["delivery_status"] == "delivered"
    failed = api.patch(f"/messages/{reply['id']}", {"delivery_status": "failed", "error": "Mailbox full"})
    assert (failed.json()["delivery_status"], failed.json()["delivery_error"]) == ("failed", "Mailbox full")
    event = CaseEvent.objects.get(case=case, kind="delivery_failed")
    assert (event.actor, event.data["error"]) == (agent, "Mailbox full")


def test_inbound_message_cannot_be_changed(api, receive):
    message = receive().message
    response = api.patch(f"/messages/{message.pk}", {"delivery_status": "delivered"})
    assert response.status_code == 409
    assert response.json()["code"] == "message_immutable"
    message.refresh_from_db()
    assert message.delivery_status == "received"


def test_delivery_report_refuses_other_statuses_and_unknown_messages(api, receive):
    message = receive().message
    assert api.patch(f"/messages/{message.pk}", {"delivery_status": "sent"}).status_code == 422
    assert api.patch("/messages/999", {"delivery_status": "failed"}).status_code == 404
