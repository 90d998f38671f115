"""Shared fixtures: real database, real task worker, agents in each role, a web-form channel."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command

from tiski.accounts.services import agent_create
from tiski.channels.interface import InboundMessage
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import Receipt, message_receive
from tiski.core.ratelimit import counters_clear
from tiski.customers.services import Handle

PASSWORD = "correct horse battery staple"


class QuickPbkdf2PasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 with one round: the same format, so a `tiski` process a test starts (real settings,
    1,000,000 rounds) still checks these passwords. Each test user no longer costs half a second of CPU."""

    iterations = 1


def pytest_configure(config: pytest.Config) -> None:
    settings.PASSWORD_HASHERS = ["tests.conftest.QuickPbkdf2PasswordHasher"]


def pytest_report_header(config: pytest.Config) -> str:
    return f"tiski database: {settings.DATABASES['default']['ENGINE']} {settings.DATABASES['default']['NAME']}"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _rate_counters() -> None:
    """Start every test with the public endpoints' rate counters at zero (tiski.core.ratelimit)."""
    counters_clear()


@pytest.fixture
def run_tasks(monkeypatch) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    """Run every due background task with the real database worker, then return.

    The worker closes connections that are not in autocommit between tasks, as a long-running process
    should; inside the test's transaction that would be the test's own connection (PostgreSQL), so the
    check is left out here. The worker as a process of its own is tested in tests/core.
    """
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def run() -> None:
        call_command("db_worker", batch=True, startup_delay=False, interval=0, verbosity=0)

    return run


@pytest.fixture
def agent(db):  # type: ignore[no-untyped-def]
    return agent_create(username="maija", password=PASSWORD, role="agent", first_name="Maija", last_name="Mäkinen")


@pytest.fixture
def other_agent(db):  # type: ignore[no-untyped-def]
    return agent_create(username="matti", password=PASSWORD, role="agent", first_name="Matti", last_name="Virtanen")


@pytest.fixture
def team_lead(db):  # type: ignore[no-untyped-def]
    return agent_create(username="minna", password=PASSWORD, role="team lead", first_name="Minna", last_name="Korhonen")


@pytest.fixture
def administrator(db):  # type: ignore[no-untyped-def]
    return agent_create(username="admin", password=PASSWORD, role="administrator", first_name="Aino", last_name="Admin")


@pytest.fixture
def webform_channel(db):  # type: ignore[no-untyped-def]
    return Channel.objects.create(kind=ChannelKind.WEBFORM, name="Contact form", address="support@shop.example")


@pytest.fixture
def receive(webform_channel) -> Callable[..., Receipt]:  # type: ignore[no-untyped-def]
    """Push one contact through the real pipeline on the web-form channel."""

    def send(
        *,
        email: str = "anssi@example.com",
        body: str = "Which size fits me?",
        subject: str = "Shirt size",
        name: str = "Anssi Asiakas",
        **extra,  # type: ignore[no-untyped-def]
    ) -> Receipt:
        extra.setdefault("channel", webform_channel)
        return message_receive(
            inbound=InboundMessage(
                handles=[Handle("email", email)], body_text=body, subject=subject, sender_name=name, **extra
            )
        )

    return send


def postgres_required() -> bool:
    return os.environ.get("TISKI_REQUIRE_POSTGRES", "") not in ("", "0")


@pytest.fixture(autouse=True)
def _fresh_address_cache():  # type: ignore[no-untyped-def]
    """Each test sets up its own mailboxes: forget the addresses another test cached."""
    from tiski.channels.email.mailbox import our_addresses_forget

    our_addresses_forget()
    yield
    our_addresses_forget()


@pytest.fixture(autouse=True)
def _fresh_sla_policies():  # type: ignore[no-untyped-def]
    """Service-level policies are cached per process for a few seconds: each test reads its own."""
    from tiski.sla.services import policies_forget

    policies_forget()
    yield
    policies_forget()


@pytest.fixture(autouse=True)
def _fresh_rules():  # type: ignore[no-untyped-def]
    """Automation rules are compiled per process and kept a few seconds: each test reads its own."""
    from tiski.automation.services import rules_forget

    rules_forget()
    yield
    rules_forget()
