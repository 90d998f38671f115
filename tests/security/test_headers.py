"""Every page carries the security headers and a strict Content Security Policy; templates carry no inline code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.api.conftest import token_for

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "tiski"


def policy(response: Any) -> dict[str, list[str]]:
    """Return the response's Content-Security-Policy as {directive: [sources]}."""
    header = response["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {parts[0]: parts[1:] for parts in directives}


def assert_strict(response: Any, *, frame_ancestors: list[str] | None = None) -> None:
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no other host
    assert "'unsafe-inline'" not in csp["style-src"] and "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == (frame_ancestors or ["'none'"])
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] in ("same-origin", "no-referrer")
    permissions = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in permissions


def test_console_pages_have_the_strict_policy_and_cannot_be_framed(agent_client: Client) -> None:
    for url in (reverse("console:inbox"), reverse("console:notifications"), "/admin/"):
        response = agent_client.get(url)
        assert response.status_code in (200, 302), url
        assert_strict(response)
        assert response["X-Frame-Options"] == "DENY"
    assert_strict(Client().get(reverse("login")))
    html = agent_client.get(reverse("console:inbox")).content.decode()
    assert '"allowEval":false' in html  # htmx never evaluates attribute code


def test_public_pages_have_the_strict_policy(client: Client, webform_channel: Any) -> None:
    for url in ("/help/en/", "/help/fi/search/?q=palautus", "/contact/", "/chat/demo/", "/survey/not-a-token/"):
        response = client.get(url)
        assert response.status_code in (200, 400, 404), url
        assert_strict(response, frame_ancestors=["'self'"] if url == "/contact/" else None)


def test_the_web_form_may_be_framed_only_by_the_configured_sites(
    client: Client, webform_channel: Any, settings: Any
) -> None:
    settings.TISKI_WEBFORM_EMBED_ORIGINS = ["https://shop.example"]
    response = client.get("/contact/?embed=1")
    assert_strict(response, frame_ancestors=["'self'", "https://shop.example"])
    assert "X-Frame-Options" not in response


def test_api_answers_carry_the_headers(agent: Any) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(agent)}")
    for url in ("/api/v1/cases", "/api/v1/openapi.json", "/api/v1/no-such-thing"):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert_strict(response)
    refused = Client().get("/api/v1/cases")
    assert refused.status_code == 401
    assert_strict(refused)


def test_hsts_is_sent_only_with_https_on() -> None:
    code = "import tiski.settings as s; print(getattr(s, 'SECURE_HSTS_SECONDS', 0))"
    env = {**os.environ, "TISKI_HTTPS": "1"}
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert int(on.stdout) >= 180 * 24 * 3600
    env["TISKI_HTTPS"] = "0"
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert int(off.stdout) == 0


def test_https_responses_carry_hsts(client: Client, settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/help/en/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
HANDLER = re.compile(r"""\s(?:on[a-z]+|hx-on(?::|-)[\w:-]*)\s*=\s*["']""", re.I)
EMAIL_TEMPLATES = ("email", "mail")  # HTML mail is read in mail programs, not under the site's policy


def test_no_template_has_inline_script_or_event_handler_attributes() -> None:
    offenders = []
    for path in TEMPLATES.rglob("templates/**/*.html"):
        if any(part in path.stem for part in EMAIL_TEMPLATES) or "/email/" in str(path):
            continue
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, HANDLER):
            for match in pattern.finditer(text):
                offenders.append(f"{path.relative_to(TEMPLATES)}: {match.group(0).strip()[:60]}")
        if "<style" in text and path.name != "message_html.html":  # the mail frame has its own policy
            offenders.append(f"{path.relative_to(TEMPLATES)}: <style> element")
    assert offenders == []
