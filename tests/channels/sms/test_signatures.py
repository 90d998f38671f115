"""X-Twilio-Signature: Twilio's published test vectors against the simulator's signer and Tiski's verify.

The simulator signs with its own implementation of Twilio's algorithm; Tiski verifies with the twilio SDK's
RequestValidator. Each is checked against the vectors from twilio-python's tests (via the shared corpus),
and against the other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from tiski.channels.interface import WebhookRequest, adapter_for
from tiski.channels.models import Channel
from tiski.channels.sms.adapter import FormParams
from tiski.simulators.twilio import twilio_signature

VECTORS_FILE = Path(__file__).resolve().parents[4] / "shared/corpus/external/webhooks/signature_vectors.json"
VECTORS: list[dict[str, Any]] = (
    json.loads(VECTORS_FILE.read_text())["twilio_x_twilio_signature"] if VECTORS_FILE.exists() else []
)
VECTOR_IDS = [vector["case"][:60] for vector in VECTORS]

pytestmark = pytest.mark.skipif(not VECTORS, reason=f"the shared corpus is not at {VECTORS_FILE}")


def pairs_of(vector: dict[str, Any]) -> list[tuple[str, str]]:
    params = vector["params"]
    return list(params.items()) if isinstance(params, dict) else [tuple(pair) for pair in params]


def webhook_call(*, url: str, body: bytes, content_type: str, signature: str) -> WebhookRequest:
    query = dict(part.split("=", 1) for part in urlsplit(url).query.split("&") if "=" in part)
    return WebhookRequest(
        method="POST",
        url=url,
        headers={"content-type": content_type, "x-twilio-signature": signature},
        query=query,
        body=body,
    )


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_simulator_signer_reproduces_twilios_published_signatures(vector: dict[str, Any]) -> None:
    signature = twilio_signature(
        auth_token=vector["auth_token"], url=vector["recomputed_here_for_url"], params=pairs_of(vector)
    )
    assert (signature == vector["header_value"]) is vector["valid"]


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_verify_accepts_exactly_the_valid_vectors(vector: dict[str, Any], sms_channel: Channel, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TISKI_TEST_TWILIO_TOKEN", vector["auth_token"])
    if "bodySHA256" in vector["url"]:
        body, content_type = b'{"property": "value", "boolean": true}', "application/json"
    else:
        body, content_type = urlencode(pairs_of(vector)).encode(), "application/x-www-form-urlencoded"
    call = webhook_call(url=vector["url"], body=body, content_type=content_type, signature=vector["header_value"])
    assert adapter_for("sms").verify(channel=sms_channel, request=call) is vector["valid"]  # type: ignore[attr-defined]


def test_verify_refuses_a_json_body_that_does_not_match_its_hash(sms_channel: Channel, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    vector = next(v for v in VECTORS if "bodySHA256" in v["url"])
    monkeypatch.setenv("TISKI_TEST_TWILIO_TOKEN", vector["auth_token"])
    call = webhook_call(
        url=vector["url"],
        body=b'{"property": "forged"}',
        content_type="application/json",
        signature=vector["header_value"],
    )
    assert adapter_for("sms").verify(channel=sms_channel, request=call) is False  # type: ignore[attr-defined]


def test_verify_refuses_a_signature_made_with_another_token_or_over_other_fields(sms_channel: Channel) -> None:
    url = f"https://support.example.com/hooks/sms/{sms_channel.pk}/"
    params = {"MessageSid": "SM" + "1" * 32, "From": "+358401234567", "Body": "Hei"}
    body = urlencode(params).encode()
    adapter = adapter_for("sms")
    good = twilio_signature(auth_token="0b7c8b3b2a1d4e5f6a7b8c9d0e1f2a3b", url=url, params=params)
    other_token = twilio_signature(auth_token="not-the-token", url=url, params=params)
    stale = twilio_signature(auth_token="0b7c8b3b2a1d4e5f6a7b8c9d0e1f2a3b", url=url, params={**params, "Body": "Moi"})
    other_url = twilio_signature(auth_token="0b7c8b3b2a1d4e5f6a7b8c9d0e1f2a3b", url=url + "?x=1", params=params)
    form = "application/x-www-form-urlencoded"
    verify = adapter.verify  # type: ignore[attr-defined]
    assert verify(channel=sms_channel, request=webhook_call(url=url, body=body, content_type=form, signature=good))
    for signature in (other_token, stale, other_url, ""):
        call = webhook_call(url=url, body=body, content_type=form, signature=signature)
        assert verify(channel=sms_channel, request=call) is False


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    params=st.lists(
        st.tuples(
            st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=12),
            st.text(max_size=30).filter(lambda text: "\x00" not in text),
        ),
        max_size=8,
    ),
    token=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
)
def test_simulator_signer_and_the_sdk_validator_agree(params: list[tuple[str, str]], token: str) -> None:
    url = "https://support.example.com/hooks/sms/7/?a=1&b=%C3%A4"
    signature = twilio_signature(auth_token=token, url=url, params=params)
    form = FormParams()
    for name, value in params:
        form.setdefault(name, []).append(value)
    assert RequestValidator(token).validate(url, form, signature)
    assert not RequestValidator(token + "x").validate(url, form, signature)
