"""What the crash test runs inside `tiski shell` against the data directory under test: set up, start the bulk
macro, report. Each function prints one JSON line for the test to read (the test process has no Django of its
own pointed at that database)."""

from __future__ import annotations

import json
import os

from tiski.accounts.services import agent_create
from tiski.cases.models import Case, Message
from tiski.channels.models import Channel, ChannelKind, Delivery
from tiski.macros.models import Macro, MacroRun
from tiski.macros.services import macro_run_start

REPLY = "Kiitos viestistäsi! Palaamme asiaan pian."
BULK_EMAIL_CASES = 80  # and every SMS and WhatsApp conversation: about 150 replies in all


def setup() -> None:
    """Create the three channels the test writes on, and the agent who runs the bulk macro."""
    email = Channel.objects.create(kind=ChannelKind.EMAIL, name="Tuki", address=os.environ["CRASH_MAILBOX"])
    sms = Channel.objects.create(
        kind=ChannelKind.SMS,
        name="SMS",
        address=os.environ["CRASH_SMS_NUMBER"],
        config={"account_sid": os.environ["CRASH_TWILIO_ACCOUNT"], "secrets": {"auth_token": "CRASH_TWILIO_TOKEN"}},
    )
    whatsapp = Channel.objects.create(
        kind=ChannelKind.WHATSAPP,
        name="WhatsApp",
        address="+358451112222",
        config={
            "phone_number_id": os.environ["CRASH_WA_PHONE_NUMBER_ID"],
            "secrets": {
                "app_secret": "CRASH_META_APP_SECRET",
                "access_token": "CRASH_META_TOKEN",
                "verify_token": "CRASH_META_TOKEN",
            },
        },
    )
    agent_create(username="crash-agent", password=None, role="agent", first_name="Kaisa")
    print(json.dumps({"email": email.pk, "sms": sms.pk, "whatsapp": whatsapp.pk}))


def bulk_start() -> None:
    """Start a bulk run of a replying macro over every open SMS and WhatsApp case and some email cases, as an
    agent does from the inbox."""
    from django.contrib.auth import get_user_model

    from tiski.automation.actions import actions_validate

    agent = get_user_model().objects.get(username="crash-agent")
    macro = Macro.objects.create(
        name="Crash reply", actions=actions_validate([{"action": "reply", "body": REPLY}]), created_by=agent
    )
    open_cases = Case.objects.filter(status__in=Case.OPEN_STATUSES).order_by("pk")
    conversations = list(open_cases.exclude(channel__kind=ChannelKind.EMAIL).values_list("pk", flat=True))
    mails = list(open_cases.filter(channel__kind=ChannelKind.EMAIL).values_list("pk", flat=True)[:BULK_EMAIL_CASES])
    case_ids = conversations + mails
    run = macro_run_start(macro=macro, actor=agent, case_ids=case_ids)
    print(json.dumps({"run": run.pk, "cases": len(case_ids)}))


def report() -> None:
    """Print what is stored: every inbound message's (kind, external id), every reply's delivery, the bulk runs."""
    inbound = list(Message.objects.filter(direction=Message.Direction.IN).values_list("channel__kind", "external_id"))
    outbound = [
        {"pk": pk, "kind": kind, "external_id": external_id, "status": status, "case": case_id}
        for pk, kind, external_id, status, case_id in Delivery.objects.values_list(
            "message_id", "message__channel__kind", "message__external_id", "status", "message__case_id"
        )
    ]
    runs = list(MacroRun.objects.filter(bulk=True).values("pk", "status", "total", "done_count", "failed_count"))
    print(json.dumps({"inbound": inbound, "outbound": outbound, "runs": runs}))
