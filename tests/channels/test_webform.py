"""The public contact form: from a visitor's POST through the pipeline to the confirmation page."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tiski.cases.models import Attachment, Case, Message
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.webform.services import form_token_issue, receipt_token, subject_for
from tiski.core.net import client_ip
from tiski.customers.models import Customer, Identity

pytestmark = pytest.mark.django_db

FORM_URL = "/contact/"


def form_data(categories: dict[str, Any] | None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Anssi Asiakas",
        "email": " Anssi@Example.COM ",
        "phone": "040 123 4567",
        "topic": str(categories["orders"].pk) if categories else None,
        "message": "My order 5521 has not arrived.\nCould you check where it is?",
        "website": "",
        "form_token": form_token_issue(),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def follow_thanks(client: Client, response: Any, language: str = "en") -> Any:
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"].startswith("/contact/thanks/")
    return client.get(response["Location"], HTTP_ACCEPT_LANGUAGE=language)


# Rendering


def test_form_renders_in_english_with_public_topics_only(client, webform_channel, categories):
    response = client.get(FORM_URL, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Contact us" in html
    assert "Orders" in html and "Returns" in html
    assert "Internal audit" not in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert re.search(r'name="form_token" value="[^"]+"', html)
    assert response["Content-Language"] == "en"


def test_form_renders_in_finnish_by_browser_locale(client, webform_channel, categories):
    response = client.get(FORM_URL, HTTP_ACCEPT_LANGUAGE="fi-FI,fi;q=0.9")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fi"' in html
    assert "Ota yhteyttä" in html
    assert "Tilaukset" in html and "Palautukset" in html
    assert "Sähköpostiosoite" in html


def test_language_switch_by_query_overrides_browser_locale(client, webform_channel, categories):
    html = client.get(FORM_URL + "?lang=fi", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Ota yhteyttä" in html
    assert 'href="/contact/?lang=en"' in html


def test_honeypot_is_hidden_from_people_and_assistive_technology(client, webform_channel, categories):
    html = client.get(FORM_URL).content.decode()
    honeypot = re.search(r'<div class="wf-hp" aria-hidden="true">(.*?)</div>', html, re.S)
    assert honeypot is not None
    assert 'tabindex="-1"' in honeypot.group(1) and 'autocomplete="off"' in honeypot.group(1)


def test_company_name_comes_from_the_environment(client, webform_channel, categories, monkeypatch):
    monkeypatch.setenv("TISKI_COMPANY_NAME", "Kauppa Oy")
    assert "Kauppa Oy" in client.get(FORM_URL).content.decode()


def test_form_without_public_topics_has_no_topic_field(client, webform_channel):
    response = client.post(FORM_URL, form_data(None))
    receipt_page = follow_thanks(client, response)
    assert receipt_page.status_code == 200
    assert Case.objects.get().category is None


# Submitting


def test_valid_submission_creates_one_case_through_the_pipeline(client, webform_channel, categories):
    files = [
        SimpleUploadedFile("../../etc/receipt 1.pdf", b"%PDF-1.4 receipt", content_type="application/pdf"),
        SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff photo", content_type="image/jpeg"),
    ]
    response = client.post(FORM_URL, {**form_data(categories), "attachments": files}, HTTP_ACCEPT_LANGUAGE="fi")
    page = follow_thanks(client, response, language="fi")

    case = Case.objects.get()
    message = case.messages.get()
    assert case.channel == webform_channel
    assert case.category == categories["orders"]
    assert case.subject == "Tilaukset: My order 5521 has not arrived. Could you check where it is?"
    assert message.direction == Message.Direction.IN
    assert message.body_text == "My order 5521 has not arrived.\nCould you check where it is?"
    assert message.sender_name == "Anssi Asiakas"
    assert message.external_id.startswith("webform:")
    customer = case.customer
    assert customer.name == "Anssi Asiakas"
    assert customer.language == "fi"
    assert set(customer.identities.values_list("kind", "value")) == {
        (Identity.Kind.EMAIL, "anssi@example.com"),
        (Identity.Kind.PHONE, "+358401234567"),
    }
    stored = {a.filename: a for a in Attachment.objects.filter(message=message)}
    assert set(stored) == {"receipt_1.pdf", "photo.jpg"}
    assert stored["receipt_1.pdf"].size == len(b"%PDF-1.4 receipt")
    assert stored["receipt_1.pdf"].sha256 == hashlib.sha256(b"%PDF-1.4 receipt").hexdigest()
    assert stored["photo.jpg"].file.read() == b"\xff\xd8\xff photo"

    html = page.content.decode()
    assert case.reference in html
    assert "anssi@example.com" in html
    assert "Olemme vastaanottaneet viestisi" in html


def test_confirmation_text_in_english(client, webform_channel, categories):
    page = follow_thanks(client, client.post(FORM_URL, form_data(categories), HTTP_ACCEPT_LANGUAGE="en"))
    case = Case.objects.get()
    text = " ".join(re.sub(r"<[^>]+>", " ", page.content.decode()).split())
    assert f"We received your message. Your case reference is {case.reference}." in text
    assert "We will reply to anssi@example.com." in text


def test_same_customer_submitting_again_is_recognised(client, webform_channel, categories):
    follow_thanks(client, client.post(FORM_URL, form_data(categories)))
    follow_thanks(client, client.post(FORM_URL, form_data(categories, email="anssi@example.com", phone="")))
    assert Case.objects.count() == 2
    assert Customer.objects.count() == 1


def test_a_typed_phone_number_never_joins_a_new_address_to_a_known_customer(client, webform_channel, categories):
    """The form's email is who writes; a phone number anyone can type does not merge two people."""
    follow_thanks(client, client.post(FORM_URL, form_data(categories)))
    follow_thanks(client, client.post(FORM_URL, form_data(categories, email="someone.else@example.com")))
    first, second = Customer.objects.order_by("pk")
    assert list(first.identities.filter(kind=Identity.Kind.EMAIL).values_list("value", flat=True)) != [
        "someone.else@example.com"
    ]
    assert first.identities.filter(kind=Identity.Kind.PHONE).exists()
    assert list(second.identities.values_list("value", flat=True)) == ["someone.else@example.com"]


def test_resubmitting_the_same_form_token_stores_one_case(client, webform_channel, categories):
    data = form_data(categories)
    first = client.post(FORM_URL, data)
    second = client.post(FORM_URL, data)
    assert Case.objects.count() == 1
    assert Message.objects.count() == 1
    assert first.status_code == second.status_code == 302
    assert follow_thanks(client, second).status_code == 200


def test_channel_can_be_chosen_by_id(client, webform_channel, categories):
    other = Channel.objects.create(kind=ChannelKind.WEBFORM, name="Returns form", address="returns@shop.example")
    follow_thanks(client, client.post(f"/contact/{other.pk}/", form_data(categories)))
    follow_thanks(client, client.post(f"{FORM_URL}?channel={other.pk}", form_data(categories)))
    assert set(Case.objects.values_list("channel", flat=True)) == {other.pk}


# Bad input: a clear error, the values kept, never a 500


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"email": ""}, "email", "Please enter your email address so we can reply."),
        ({"email": "anssi@"}, "email", "Please enter a valid email address"),
        ({"phone": "call me maybe"}, "phone", "Please enter a valid phone number"),
        ({"message": "   "}, "message", "Please write your message."),
        ({"message": "x" * 20_001}, "message", "at most 20000 characters"),
        ({"name": ""}, "name", "Please tell us your name."),
        ({"topic": "999999"}, "topic", "Please choose one of the topics"),
    ],
)
def test_bad_input_gets_a_clear_error_and_keeps_the_values(
    client, webform_channel, categories, overrides, field, error
):
    data = form_data(categories, **overrides)
    response = client.post(FORM_URL, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert error in html
    assert f'id="id_{field}_error"' in html
    assert re.search(rf'id="id_{field}"[^>]*aria-invalid="true"', html) or re.search(
        rf'aria-invalid="true"[^>]*id="id_{field}"', html
    )
    assert f"id_{field}_error" in re.search(rf'<[^>]*id="id_{field}"[^>]*>', html).group(0)
    assert "Anssi Asiakas" in html or field == "name"
    assert "My order 5521 has not arrived." in html or field == "message"
    assert Case.objects.count() == 0


def test_oversized_attachment_is_refused_naming_the_file_and_limit(client, webform_channel, categories, settings):
    settings.TISKI_WEBFORM_MAX_ATTACHMENT_BYTES = 1024
    big = SimpleUploadedFile("scan.pdf", b"x" * 2048, content_type="application/pdf")
    response = client.post(FORM_URL, {**form_data(categories), "attachments": [big]})
    html = response.content.decode()
    assert response.status_code == 200
    assert "“scan.pdf” is 2.0\xa0KB; the limit is 1.0\xa0KB per file." in html
    assert "please choose them again" in html.lower() or "Please choose them again" in html
    assert "My order 5521 has not arrived." in html
    assert Case.objects.count() == 0


def test_oversized_request_is_refused_before_it_is_read(client, webform_channel, categories, settings):
    settings.TISKI_WEBFORM_MAX_ATTACHMENTS = 1
    settings.TISKI_WEBFORM_MAX_ATTACHMENT_BYTES = 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    huge = SimpleUploadedFile("video.mp4", b"x" * 200_000, content_type="video/mp4")
    response = client.post(FORM_URL, {**form_data(categories), "attachments": [huge]})
    assert response.status_code == 413
    assert "The attachments are too large" in response.content.decode()
    assert "1.0\xa0KB" in response.content.decode()
    assert Case.objects.count() == 0


def test_too_many_attachments_are_refused(client, webform_channel, categories, settings):
    settings.TISKI_WEBFORM_MAX_ATTACHMENTS = 2
    files = [SimpleUploadedFile(f"f{i}.txt", b"data", content_type="text/plain") for i in range(3)]
    response = client.post(FORM_URL, {**form_data(categories), "attachments": files})
    assert response.status_code == 200
    assert "You attached 3 files; please attach at most 2." in response.content.decode()
    assert Case.objects.count() == 0


def test_empty_attachment_is_refused(client, webform_channel, categories):
    empty = SimpleUploadedFile("empty.txt", b"", content_type="text/plain")
    response = client.post(FORM_URL, {**form_data(categories), "attachments": [empty]})
    assert response.status_code == 200
    assert "“empty.txt” is empty" in response.content.decode()
    assert Case.objects.count() == 0


def test_expired_or_forged_form_token_keeps_the_text_and_issues_a_fresh_token(client, webform_channel, categories):
    data = form_data(categories, form_token="forged-token")
    response = client.post(FORM_URL, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "This form has expired" in html
    assert "My order 5521 has not arrived." in html
    fresh = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    assert fresh != "forged-token"
    follow_thanks(client, client.post(FORM_URL, {**data, "form_token": fresh}))
    assert Case.objects.count() == 1


def test_script_in_the_message_is_stored_as_text_and_shown_escaped(client, webform_channel, categories):
    attack = "<script>alert('x')</script> Hello <b>there</b>"
    page = follow_thanks(client, client.post(FORM_URL, form_data(categories, message=attack, name="<img src=x>")))
    message = Message.objects.get()
    assert message.body_text == attack
    assert message.body_html == ""
    html = page.content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html

    error_page = client.post(FORM_URL, form_data(categories, message=attack, email="")).content.decode()
    assert "<script>alert" not in error_page
    assert "&lt;script&gt;" in error_page


# Spam, abuse, CSRF


def test_honeypot_creates_no_case_and_shows_thanks_without_reference(client, webform_channel, categories, caplog):
    response = client.post(FORM_URL, form_data(categories, website="http://spam.example"))
    page = follow_thanks(client, response)
    assert Case.objects.count() == 0
    assert Customer.objects.count() == 0
    html = page.content.decode()
    assert "We received your message." in html
    assert "TSK-" not in html
    assert "honeypot" in caplog.text


def test_rate_limit_answers_429_after_the_limit_and_keeps_the_text(client, webform_channel, categories, settings):
    settings.TISKI_RATES = {**settings.TISKI_RATES, "webform": f"3/{settings.TISKI_WEBFORM_RATE_WINDOW_S}"}
    for _ in range(3):
        assert client.post(FORM_URL, form_data(categories)).status_code == 302
    response = client.post(FORM_URL, form_data(categories, message="Fourth message"))
    html = response.content.decode()
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= settings.TISKI_WEBFORM_RATE_WINDOW_S
    assert "Too many messages" in html
    assert "Fourth message" in html
    assert Case.objects.count() == 3
    other_ip = client.post(FORM_URL, form_data(categories), REMOTE_ADDR="192.0.2.7")
    assert other_ip.status_code == 302


def test_forwarded_for_is_trusted_only_from_a_configured_proxy(rf, settings):
    request = rf.post(FORM_URL, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.1")
    settings.TISKI_TRUSTED_PROXIES = []
    assert client_ip(request) == "10.0.0.5"
    settings.TISKI_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request) == "198.51.100.1"
    settings.TISKI_TRUSTED_PROXIES = ["10.0.0.0/8", "198.51.100.1"]
    assert client_ip(request) == "203.0.113.9"


def test_csrf_is_enforced(webform_channel, categories):
    client = Client(enforce_csrf_checks=True)
    response = client.post(FORM_URL, form_data(categories))
    assert response.status_code == 403
    assert "My order 5521 has not arrived." in response.content.decode()
    assert Case.objects.count() == 0

    client.get(FORM_URL)  # sets the CSRF cookie
    assert client.post(FORM_URL, form_data(categories)).status_code == 403
    token = client.cookies["csrftoken"].value
    assert client.post(FORM_URL, {**form_data(categories), "csrfmiddlewaretoken": token}).status_code == 302
    assert Case.objects.count() == 1


def test_embedded_form_without_cookie_passes_only_from_its_own_origin(webform_channel, categories):
    """A third-party iframe gets no SameSite=Lax CSRF cookie; the browser's Origin vouches for the POST."""
    url = FORM_URL + "?embed=1"

    def post(**headers: str) -> Any:
        return Client(enforce_csrf_checks=True).post(url, form_data(categories), **headers)

    assert post(HTTP_ORIGIN="https://evil.example").status_code == 403
    assert post(HTTP_ORIGIN="http://testserver", HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    assert post().status_code == 403
    same_origin = post(HTTP_ORIGIN="http://testserver", HTTP_SEC_FETCH_SITE="same-origin")
    assert same_origin.status_code == 302
    assert "embed=1" in same_origin["Location"]
    assert Case.objects.count() == 1


# Channels, receipts, embedding


def test_no_webform_channel_shows_a_friendly_404(client, db):
    response = client.get(FORM_URL)
    assert response.status_code == 404
    assert "Contact form not available" in response.content.decode()


def test_inactive_or_other_kind_channel_is_a_404(client, webform_channel, categories):
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Mailbox")
    assert client.get(f"/contact/{email.pk}/").status_code == 404
    webform_channel.active = False
    webform_channel.save()
    assert client.get(FORM_URL).status_code == 404
    assert client.post(FORM_URL, form_data(categories)).status_code == 404
    assert Case.objects.count() == 0


def test_tampered_confirmation_token_is_a_404(client, webform_channel, categories):
    location = client.post(FORM_URL, form_data(categories))["Location"]
    token = location.split("/")[3]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = client.get(reverse("webform:thanks", kwargs={"token": tampered}))
    assert response.status_code == 404
    assert "This confirmation link is not valid" in response.content.decode()
    message_id = Message.objects.get().pk
    forged = receipt_token(message_id=message_id).replace(":", ";")
    assert client.get(reverse("webform:thanks", kwargs={"token": forged})).status_code == 404
    assert client.get(reverse("webform:thanks", kwargs={"token": "1042"})).status_code == 404


def test_confirmation_url_does_not_carry_the_case_number(client, webform_channel, categories):
    location = client.post(FORM_URL, form_data(categories))["Location"]
    case = Case.objects.get()
    assert case.reference not in location
    assert f"/{case.pk}/" not in location


def test_form_may_be_framed_by_configured_origins(client, webform_channel, categories, settings):
    settings.TISKI_WEBFORM_EMBED_ORIGINS = ["https://shop.example", "https://www.shop.example"]
    response = client.get(FORM_URL + "?embed=1")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    policy = [directive.strip() for directive in response["Content-Security-Policy"].split(";")]
    assert "frame-ancestors 'self' https://shop.example https://www.shop.example" in policy
    assert "script-src 'self'" in policy  # the rest of the site's policy still applies
    html = response.content.decode()
    assert 'class="wf-embed"' in html
    assert "wf-header" not in html
    assert "webform/frame.js" in html
    thanks = client.get(client.post(FORM_URL + "?embed=1", form_data(categories))["Location"])
    assert "X-Frame-Options" not in thanks
    assert "frame-ancestors" in thanks["Content-Security-Policy"]
    assert 'class="wf-embed"' in thanks.content.decode()


def test_embed_script_is_served(client, db):
    response = client.get("/contact/embed.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert "tiski:webform:resize" in body and "embed" in body


def test_wrong_method_is_405(client, webform_channel):
    assert client.put(FORM_URL).status_code == 405


def test_subject_is_topic_and_first_words():
    assert subject_for(topic="Orders", text="Short question") == "Orders: Short question"
    long = subject_for(topic="Orders", text="word " * 40)
    assert long.startswith("Orders: word word") and long.endswith("…") and len(long) < 80
    assert subject_for(topic="", text="Only text") == "Only text"
