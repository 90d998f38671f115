"""Proactive work is routed like any other: the real router offers it to a free agent serving its queue and
kind, the offer card shows why, and accepting it opens the case with the proactive panel."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tiski.proactive.models import ProactiveRule
from tiski.proactive.services import proactive_rules_run
from tiski.routing.models import Queue, WorkItem
from tiski.routing.router import route_pending
from tiski.routing.services import units_for, work_accept

pytestmark = pytest.mark.django_db


def test_proactive_call_reaches_a_free_agent_of_its_queue_through_the_router(
    tyre_rule: ProactiveRule, outreach: Queue, channels, make_customer, make_record, online_agent
) -> None:
    other_queue = Queue.objects.create(name="Billing")
    elsewhere = online_agent(queues=[other_queue], username="elsa")  # free, but not in the rule's queue
    writer = online_agent(queues=[outreach], channel_kinds=["email"], username="wilma")  # serves mail only
    caller = online_agent(queues=[outreach], username="kalle")
    make_record(make_customer("Liisa"), attributes={"tyre_tread_mm": 2.5})
    proactive_rules_run()
    item = WorkItem.objects.get()
    assert (item.queue, item.channel_kind, item.units) == (outreach, "outbound", units_for("outbound"))

    offered = route_pending()

    assert [i.pk for i in offered] == [item.pk]
    item.refresh_from_db()
    assert (item.status, item.agent) == ("offered", caller)
    assert elsewhere.pk != item.agent_id and writer.pk != item.agent_id


def test_the_offer_card_and_the_case_page_show_the_reason(
    tyre_rule: ProactiveRule, outreach: Queue, channels, make_customer, make_record, online_agent, make_agent
) -> None:
    agent = make_agent("kalle", password=PASSWORD)
    online_agent(agent, queues=[outreach])
    make_record(
        make_customer("Liisa"), title="Talvirenkaat, hylly B-12", attributes={"tyre_tread_mm": 2.5, "shelf": "B-12"}
    )
    proactive_rules_run()
    route_pending()
    item = WorkItem.objects.get()
    client = Client()
    assert client.login(username="kalle", password=PASSWORD)

    inbox = client.get("/console/").content.decode()
    assert 'class="offer__reason"' in inbox and "stored winter tyres are worn out" in inbox
    assert "Outbound call" in inbox

    work_accept(item=item, agent=agent)
    page = client.get(f"/console/cases/{item.case.reference}/").content.decode()
    assert 'id="proactive"' in page and "Winter tyres worn out" in page
    assert "tyre_tread_mm is 2.5 (the rule: &lt; 4)" in page
    assert '<div class="is-trigger"><dt>tyre_tread_mm</dt><dd>2.5</dd></div>' in page
    assert item.case.customer.identities.get(kind="phone").value in page
    assert "Opened by the proactive rule “Winter tyres worn out”" in page


def test_a_case_no_rule_opened_has_no_panel(make_customer, make_agent) -> None:
    from tiski.cases.models import Case

    make_agent("kalle", password=PASSWORD)
    case = Case.objects.create(customer=make_customer(), subject="Plain question")
    client = Client()
    assert client.login(username="kalle", password=PASSWORD)
    assert 'id="proactive"' not in client.get(f"/console/cases/{case.reference}/").content.decode()
