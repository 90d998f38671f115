"""Two-factor authentication: set-up, login with an app code or a backup code, turning it off, requiring it."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth.signals import user_login_failed
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD
from tiski.accounts.session import SESSION_KEY

pytestmark = pytest.mark.django_db
SETUP = "/console/account/two-factor/"


def app_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """Return the code an authenticator app shows for DEVICE now (or STEPS_AHEAD steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def set_up(client: Client) -> list[str]:
    """Turn two-factor on for the logged-in user through the page; return the backup codes shown."""
    client.get(SETUP)
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(SETUP, {"action": "confirm", "code": app_code(device)})
    assert response.status_code == 200
    return re.findall(r"<li>([a-z2-7]{8})</li>", response.content.decode())


def password_step(client: Client, username: str, *, next_url: str = ""):  # type: ignore[no-untyped-def]
    return client.post("/login/", {"username": username, "password": PASSWORD, "next": next_url})


def test_set_up_shows_a_qr_code_and_key_and_confirms_with_a_code(client, agent):
    client.force_login(agent)
    page = client.get(SETUP).content.decode()
    device = TOTPDevice.objects.get(user=agent)
    assert "<svg" in page and 'data-testid="totp-secret"' in page
    assert not device.confirmed

    wrong = client.post(SETUP, {"action": "confirm", "code": "000000" if app_code(device) != "000000" else "111111"})
    assert wrong.status_code == 400 and "does not match" in wrong.content.decode()
    time.sleep(1.1)  # django-otp slows guessing down: one second after one wrong code

    codes = set_up(client)

    assert TOTPDevice.objects.get(user=agent).confirmed
    assert len(codes) == 10 and len(set(codes)) == 10
    assert StaticToken.objects.filter(device__user=agent).count() == 10
    assert "On" in client.get(SETUP).content.decode()


def test_login_asks_for_the_code_after_the_password(client, agent):
    client.force_login(agent)
    set_up(client)
    client.logout()

    response = password_step(client, agent.username, next_url="/console/?owner=me")

    assert response.status_code == 302 and response["Location"] == "/login/two-factor/"
    assert "_auth_user_id" not in client.session  # the password alone does not log in
    assert client.get("/console/").status_code == 302
    wrong = client.post("/login/two-factor/", {"code": "12345"})
    assert wrong.status_code == 200 and "The code is wrong" in wrong.content.decode()
    time.sleep(1.1)
    device = TOTPDevice.objects.get(user=agent)
    done = client.post("/login/two-factor/", {"code": app_code(device, steps_ahead=1)})  # the set-up used "now"
    assert done.status_code == 302 and done["Location"] == "/console/?owner=me"
    assert int(client.session["_auth_user_id"]) == agent.pk
    assert client.session[SESSION_KEY]["method"] == "two-factor"
    assert client.get("/console/").status_code == 200


def test_a_backup_code_works_once(client, agent):
    client.force_login(agent)
    codes = set_up(client)
    client.logout()

    password_step(client, agent.username)
    assert client.post("/login/two-factor/", {"code": codes[3].upper()}).status_code == 302
    client.logout()
    password_step(client, agent.username)
    again = client.post("/login/two-factor/", {"code": codes[3]})

    assert again.status_code == 200 and "already been used" in again.content.decode()
    assert StaticToken.objects.filter(device__user=agent).count() == 9


def test_the_code_step_expires(client, agent):
    client.force_login(agent)
    codes = set_up(client)
    client.logout()
    password_step(client, agent.username)
    session = client.session
    session["tiski_2fa_pending"]["at"] -= 301
    session.save()

    response = client.post("/login/two-factor/", {"code": codes[0]})

    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_wrong_codes_count_as_failed_logins_and_lock_out(client, agent):
    client.force_login(agent)
    codes = set_up(client)
    client.logout()
    failures: list[dict] = []

    def seen(sender, credentials, request, **kwargs):  # type: ignore[no-untyped-def]
        failures.append(credentials)

    user_login_failed.connect(seen)
    try:
        password_step(client, agent.username)
        for _ in range(4):
            assert client.post("/login/two-factor/", {"code": "99999999"}).status_code == 200
        locked = client.post("/login/two-factor/", {"code": "99999999"})
    finally:
        user_login_failed.disconnect(seen)

    assert failures == [{"username": agent.username}] * 5
    assert locked.status_code == 429 and "Too many failed attempts" in locked.content.decode()
    assert "tiski_2fa_pending" not in client.session
    assert password_step(client, agent.username).status_code == 429  # the password step is locked too
    assert client.post("/login/two-factor/", {"code": codes[0]}).status_code == 302  # back to the login page
    assert "_auth_user_id" not in client.session


def test_regenerating_backup_codes_replaces_them(client, agent):
    client.force_login(agent)
    first = set_up(client)

    response = client.post(SETUP, {"action": "regenerate"})

    second = re.findall(r"<li>([a-z2-7]{8})</li>", response.content.decode())
    assert len(second) == 10 and not set(first) & set(second)
    assert set(StaticToken.objects.filter(device__user=agent).values_list("token", flat=True)) == set(second)


def test_turning_off_needs_the_password_or_a_code(client, agent):
    client.force_login(agent)
    codes = set_up(client)

    refused = client.post(SETUP, {"action": "disable", "secret": "not my password"})
    assert refused.status_code == 400 and "neither your password" in refused.content.decode()
    assert TOTPDevice.objects.filter(user=agent).exists()
    time.sleep(1.1)

    assert client.post(SETUP, {"action": "disable", "secret": codes[0]}).status_code == 302

    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert not StaticToken.objects.filter(device__user=agent).exists()
    client.logout()
    assert password_step(client, agent.username)["Location"] == "/console/"  # no code asked any more


def test_required_two_factor_sends_users_to_set_it_up_first(client, agent, settings):
    settings.TISKI_REQUIRE_2FA = True
    assert password_step(client, agent.username).status_code == 302

    response = client.get("/console/")
    assert response.status_code == 302 and response["Location"] == SETUP
    htmx = client.get("/console/", HTTP_HX_REQUEST="true")
    assert htmx.status_code == 204 and htmx["HX-Redirect"] == SETUP
    page = client.get(SETUP).content.decode()
    assert "requires two-factor authentication" in page

    set_up(client)

    assert client.get("/console/").status_code == 200
    client.logout()
    password_step(client, agent.username)
    assert client.get("/console/").status_code == 302  # password alone: the code step is still pending


def test_required_two_factor_leaves_the_api_alone(agent, settings):
    from tiski.accounts.services import api_token_issue
    from tiski.accounts.token_scopes import CASES_READ

    settings.TISKI_REQUIRE_2FA = True
    issued = api_token_issue(user=agent, name="script", scopes=[CASES_READ])

    assert Client().get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {issued.raw}").status_code == 200


def test_the_admin_login_goes_through_the_two_step_login(client):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302 and response["Location"] == "/login/?next=/admin/"
