"""Screenshots of the automation pages at 1440×900 and 1024×768 in English and Finnish: the ordered rule list,
the editor with a dry run, and the log."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from tests.e2e.live_asgi import live_asgi  # noqa: F401  (the fixture)
from tests.e2e.test_screenshots import ARTIFACTS, LANGUAGES, console_in, sizes
from tiski.accounts.models import Team
from tiski.automation.models import Rule
from tiski.automation.services import rule_save
from tiski.channels.interface import InboundMessage
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.services import message_receive
from tiski.customers.models import Customer
from tiski.customers.services import Handle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RULES = [
    {
        "name": "Laskukysymykset laskutukselle",
        "description": "Laskutustiimi vastaa laskuista",
        "trigger": "message_received",
        "channel_kinds": ["email", "webform"],
        "conditions": {
            "any": [
                {"field": "message.text", "op": "contains", "value": "lasku"},
                {"field": "message.text", "op": "contains", "value": "invoice"},
            ]
        },
        "actions": [{"action": "set_team", "team": "Laskutus"}, {"action": "add_tags", "tags": ["lasku"]}],
    },
    {
        "name": "VIP-asiakkaat ensin",
        "trigger": "case_created",
        "conditions": {"all": [{"field": "customer.tier", "op": "in", "value": ["vip", "gold"]}]},
        "actions": [
            {"action": "set_priority", "priority": "high"},
            {"action": "notify", "to": "team_leads", "text": "VIP: {{ case.reference }}"},
        ],
    },
    {
        "name": "Ensivastaus myöhässä → eskaloi",
        "trigger": "sla_breached",
        "conditions": {"all": [{"field": "event.metric", "op": "is", "value": "first_response"}]},
        "actions": [{"action": "escalate", "reason": "Ensivastaus myöhässä"}],
    },
    {
        "name": "Sulje hiljaiset tapaukset",
        "description": "Asiakas ei ole vastannut viiteen päivään",
        "trigger": "status_for",
        "trigger_status": "pending",
        "trigger_hours": 120,
        "actions": [
            {"action": "reply", "body": "Hei {{ customer.first_name }}, suljemme tapauksen {{ case.reference }}."},
            {"action": "set_status", "status": "solved"},
        ],
    },
    {
        "name": "Ilmoita kumppanijärjestelmään",
        "enabled": False,
        "trigger": "status_changed",
        "conditions": {"all": [{"field": "case.status", "op": "is", "value": "solved"}]},
        "actions": [{"action": "webhook", "url": "https://crm.example.fi/hooks/tiski"}],
    },
]


def test_screenshots_of_automation(browser: Browser, live_asgi: str, administrator: User) -> None:  # noqa: F811
    Rule.objects.all().delete()  # a migration's rule is still there when this is the process's first live test
    Team.objects.create(name="Laskutus")
    for data in RULES:
        rule_save(data=data, actor=administrator)
    Rule.objects.filter(name="Ilmoita kumppanijärjestelmään").update(enabled=False)
    rule_save(
        data={
            "name": "Rikki",
            "trigger": "message_received",
            "actions": [{"action": "set_team", "team": "Kenttä"}],
            "conditions": {"all": [{"field": "message.text", "op": "contains", "value": "huolto"}]},
        },
        actor=administrator,
    )
    mailbox = Channel.objects.create(kind=ChannelKind.EMAIL, name="Asiakaspalvelu", address="tuki@example.fi")
    Customer.objects.create(name="Veera Virta", tier="vip").identities.create(kind="email", value="veera@example.fi")
    for n, (subject, sender) in enumerate(
        [
            ("Laskussa väärä summa", "veera@example.fi"),
            ("Invoice 4471 is wrong", "oliver@example.com"),
            ("Pyörän huolto ensi viikolla", "anna@example.fi"),
            ("Lasku erääntyi, voiko siirtää?", "matti@example.fi"),
        ]
    ):
        message_receive(
            inbound=InboundMessage(
                channel=mailbox,
                handles=[Handle("email", sender)],
                body_text=f"{subject}. Kiitos!",
                subject=subject,
                sender_name=sender.split("@")[0].title(),
                external_id=f"<shot-{n}@example.fi>",
            )
        )
    first = Rule.objects.order_by("position").first()
    assert first is not None

    for language in LANGUAGES:
        for width, height in sizes(language):
            suffix = f"{language}-{width}"
            context, page = console_in(
                browser, live_asgi, language=language, width=width, height=height, username="admin"
            )
            page.goto(f"{live_asgi}/console/automation/")
            expect(page.locator(".rules-table tbody tr")).to_have_count(6)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"rules {suffix}: {overflow}px too wide"
            page.screenshot(path=ARTIFACTS / f"automation-rules-{suffix}.png", full_page=True)

            page.goto(f"{live_asgi}/console/automation/{first.pk}/")
            page.locator("button[hx-post$='/dry-run/']").click()
            expect(page.locator(".dry-run__title")).to_be_visible()
            expect(page.locator(".dry-run__cases li")).to_have_count(3)
            page.screenshot(path=ARTIFACTS / f"automation-edit-{suffix}.png")
            page.locator(".dry-run").scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / f"automation-dry-run-{suffix}.png")

            page.goto(f"{live_asgi}/console/automation/log/")
            expect(page.locator(".rule-log tbody tr")).to_have_count(5)  # 3 + 1 done, 1 failed
            page.screenshot(path=ARTIFACTS / f"automation-log-{suffix}.png", full_page=True)
            context.close()
