"""Meta's webhook signature against the published test vectors: our verification and the simulator's signer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tiski.channels.meta import graph
from tiski.simulators.meta import hub_signature

VECTORS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "external" / "webhooks" / "signature_vectors.json"


def vectors(name: str) -> list[dict[str, Any]]:
    if not VECTORS.exists():
        pytest.skip(f"{VECTORS} is not present")
    return json.loads(VECTORS.read_text())[name]


def test_sha256_vectors_verify_and_the_simulator_signs_them_the_same() -> None:
    cases = vectors("meta_x_hub_signature_256")
    assert cases
    for case in cases:
        body = case["raw_body_utf8"].encode()
        assert graph.signature_valid(secret=case["app_secret"], body=body, sha256=case["header_value"]) is case["valid"]
        assert (hub_signature(case["app_secret"], body) == case["header_value"]) is case["valid"]


def test_sha256_vector_fails_for_a_changed_body_or_secret() -> None:
    case = vectors("meta_x_hub_signature_256")[0]
    body = case["raw_body_utf8"].encode()
    assert not graph.signature_valid(secret=case["app_secret"], body=body + b"\n", sha256=case["header_value"])
    assert not graph.signature_valid(secret=case["app_secret"] + "x", body=body, sha256=case["header_value"])
    reserialised = json.dumps(json.loads(body)).encode()  # the signature is over the raw bytes, not the JSON
    assert not graph.signature_valid(secret=case["app_secret"], body=reserialised, sha256=case["header_value"])
    assert not graph.signature_valid(secret=case["app_secret"], body=body)  # no header at all


def test_legacy_sha1_vectors() -> None:
    for case in vectors("meta_x_hub_signature_sha1_legacy"):
        body = case["raw_body_utf8"].encode()
        assert graph.signature_valid(secret=case["app_secret"], body=body, sha1=case["header_value"]) is case["valid"]


def test_sha256_header_wins_over_a_valid_legacy_header() -> None:
    case = vectors("meta_x_hub_signature_sha1_legacy")[0]
    body = case["raw_body_utf8"].encode()
    assert not graph.signature_valid(
        secret=case["app_secret"], body=body, sha256="sha256=" + "0" * 64, sha1=case["header_value"]
    )
