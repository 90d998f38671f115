"""The console narrowed for a partner agent: inbox, search, case pages and their sub-views, customers.

Everything outside the partner's scope answers 404 (never 403), also when the URL or id is guessed.
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.urls import reverse

from tests.access.partner_world import World
from tiski.audit.models import AuditEntry
from tiski.cases.models import Attachment, Case, Message, Note


def _case_get_urls(case: Case) -> list[str]:
    ref = case.reference
    return [
        reverse("console:case", args=[ref]),
        reverse("console:case-timeline", args=[ref]),
        reverse("console:case-canned", args=[ref]),
    ]


def _case_post_urls(case: Case) -> list[tuple[str, dict[str, str]]]:
    ref = case.reference
    return [
        (reverse("console:case-reply", args=[ref]), {"body": "hello"}),
        (reverse("console:case-note", args=[ref]), {"body": "note"}),
        (reverse("console:case-update", args=[ref]), {"status": "solved"}),
        (reverse("console:case-follow", args=[ref]), {"action": "follow"}),
        (reverse("console:case-transfer", args=[ref]), {"target": "queue:1"}),
        (reverse("console:case-transcript", args=[ref]), {"to": "a@example.com"}),
        (reverse("console:case-call", args=[ref]), {"number": "+358401234567"}),
        (reverse("console:case-dial", args=[ref]), {"number": "+358401234567"}),
    ]


def test_inbox_lists_only_the_partners_cases(world: World) -> None:
    client = world.client_for(world.sanna)
    html = client.get(reverse("console:inbox")).content.decode()
    for case in world.visible:
        assert case.reference in html
    for case in world.invisible:
        assert case.reference not in html
        assert case.subject not in html


def test_inbox_filters_and_search_stay_in_scope(world: World) -> None:
    client = world.client_for(world.sanna)
    for query in (
        {"q": world.c_mail.reference},
        {"q": "anssi@example.com"},
        {"q": "Invoice"},
        {"q": "Nora"},
        {"channel": str(world.email.pk)},
        {"status": "new"},
    ):
        listed = {case.pk for case in client.get(reverse("console:inbox"), query).context["page"].cases}
        assert not listed & {case.pk for case in world.invisible}, query
    page = client.get(reverse("console:inbox"), {"q": "anssi@example.com"}).context["page"]
    listed = {case.pk for case in page.cases}
    assert listed == {world.c_chat.pk, world.c_handed.pk}


def test_inbox_count_counts_only_visible_cases(world: World) -> None:
    response = world.client_for(world.sanna).get(reverse("console:inbox"))
    assert response.context["page"].total == len(world.visible)
    response = world.client_for(world.maija).get(reverse("console:inbox"))
    assert response.context["page"].total == Case.objects.count()


def test_every_case_view_of_an_invisible_case_is_404(world: World) -> None:
    client = world.client_for(world.sanna)
    for case in world.invisible:
        for url in _case_get_urls(case):
            assert client.get(url).status_code == 404, url
        for url, data in _case_post_urls(case):
            assert client.post(url, data).status_code == 404, url
    assert not Message.objects.filter(case__in=world.invisible, direction="out").exists()
    assert Note.objects.filter(case__in=world.invisible).count() == 1  # the one made by the fixture


def test_guessing_a_case_by_number_is_404(world: World) -> None:
    client = world.client_for(world.sanna)
    for key in (str(world.c_mail.pk), world.c_mail.reference.lower(), "TSK-999999"):
        assert client.get(reverse("console:case", args=[key])).status_code == 404


def test_visible_cases_open_with_their_context(world: World) -> None:
    client = world.client_for(world.sanna)
    for case in world.visible:
        response = client.get(reverse("console:case", args=[case.reference]))
        assert response.status_code == 200, case
    html = client.get(reverse("console:case", args=[world.c_chat.reference])).content.decode()
    assert "internal-chat-note" in html  # the partner works the case: its notes too
    # The customer pane lists no invisible case of the same customer, and no records or customer notes.
    assert world.c_mail.reference not in html
    assert "ORD-778" not in html and "Bike Helkama" not in html
    assert "Prefers phone calls" not in html
    assert world.c_handed.reference in html


def test_messages_and_attachments_of_invisible_cases_are_404(world: World) -> None:
    message = world.c_mail.messages.get()
    message.body_html = "<p>hidden</p>"
    message.raw = b"From: anssi@example.com\r\n\r\nsecret"
    message.save()
    attachment = Attachment.objects.create(
        message=message,
        file=ContentFile(b"%PDF-1.4 secret", name="inv.pdf"),
        filename="inv.pdf",
        content_type="application/pdf",
        size=15,
        sha256="0" * 64,
    )
    client = world.client_for(world.sanna)
    for url in (
        reverse("console:message-html", args=[message.pk]),
        reverse("console:message-original", args=[message.pk]),
        reverse("console:message-split", args=[message.pk]),
        reverse("console:attachment", args=[attachment.pk, "inv.pdf"]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("console:message-split", args=[message.pk]), {"subject": "x"}).status_code == 404
    # The same message for an ordinary agent: there.
    agent = world.client_for(world.maija)
    assert agent.get(reverse("console:attachment", args=[attachment.pk, "inv.pdf"])).status_code == 200
    assert agent.get(reverse("console:message-original", args=[message.pk])).status_code == 200


def test_related_cases_out_of_scope_are_not_shown(world: World) -> None:
    world.c_chat.related.add(world.c_mail, world.c_handed)
    html = world.client_for(world.sanna).get(reverse("console:case", args=[world.c_chat.reference])).content.decode()
    assert world.c_handed.reference in html
    assert world.c_mail.reference not in html


def test_customer_page_is_reduced_and_audited(world: World) -> None:
    client = world.client_for(world.sanna)
    response = client.get(reverse("console:customer", args=[world.anssi.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert world.anssi.name in html
    assert "chat-visitor-1" in html and "anssi@example.com" in html  # used on the visible cases
    assert "+358401111111" not in html  # never used on a case the partner sees
    assert "ORD-778" not in html and "Prefers phone calls" not in html
    assert "secret-invoice-text" not in html and "internal-mail-note" not in html
    assert world.c_mail.reference not in html
    assert reverse("console:customer-export", args=[world.anssi.pk]) not in html
    assert reverse("console:customer-erase", args=[world.anssi.pk]) not in html
    assert reverse("console:customer-merge", args=[world.anssi.pk]) not in html
    assert "data-reduced" in html
    entry = AuditEntry.objects.get(action="customer.view_full")
    assert entry.actor == world.sanna and entry.target_id == str(world.anssi.pk)
    # An ordinary agent's look is the full page, and not on this trail.
    html = world.client_for(world.maija).get(reverse("console:customer", args=[world.anssi.pk])).content.decode()
    assert "ORD-778" in html and "+358401111111" in html and world.c_mail.reference in html
    assert AuditEntry.objects.filter(action="customer.view_full").count() == 1


def test_customer_timeline_shows_only_visible_cases(world: World) -> None:
    client = world.client_for(world.sanna)
    html = client.get(reverse("console:customer-timeline", args=[world.anssi.pk])).content.decode()
    assert "helmet size" in html
    assert "secret-invoice-text" not in html and "internal-mail-note" not in html


def test_invisible_customers_and_their_actions_are_404(world: World) -> None:
    client = world.client_for(world.sanna)
    nora = world.other
    assert client.get(reverse("console:customer", args=[nora.pk])).status_code == 404
    assert client.get(reverse("console:customer-timeline", args=[nora.pk])).status_code == 404
    assert client.post(reverse("console:customer-follow", args=[nora.pk]), {"action": "follow"}).status_code == 404
    for name in ("customer-export", "customer-erase", "customer-merge"):
        response = client.post(reverse(f"console:{name}", args=[world.anssi.pk]))
        assert response.status_code in (403, 404), name
    identity = nora.identities.get()
    assert client.get(reverse("console:identity-split", args=[identity.pk])).status_code in (403, 404)


def test_partner_cannot_open_the_supervisor_view(world: World) -> None:
    client = world.client_for(world.sanna)
    assert client.get(reverse("console:supervisor")).status_code == 403


def test_macros_never_touch_an_invisible_case(world: World, run_tasks) -> None:  # type: ignore[no-untyped-def]
    from tiski.macros.models import MacroRun
    from tiski.macros.services import macro_create

    macro = macro_create(actor=world.sanna, name="Solve", actions=[{"action": "set_status", "status": "solved"}])
    client = world.client_for(world.sanna)
    hidden = world.c_mail
    for name in ("macros:case-menu", "macros:case-preview", "macros:case-apply"):
        args = [hidden.reference] if name == "macros:case-menu" else [hidden.reference, macro.pk]
        url = reverse(name, args=args)
        response = client.post(url) if name.endswith("apply") else client.get(url)
        assert response.status_code == 404, name
    # In bulk: the invisible ids are dropped from the selection, the visible one is changed.
    ids = [str(world.c_mail.pk), str(world.c_other.pk), str(world.c_chat.pk)]
    client.post(reverse("macros:bulk-start"), {"macro": str(macro.pk), "case": ids})
    run = MacroRun.objects.get()
    assert run.case_ids == [world.c_chat.pk]
    run_tasks()
    for case in world.invisible:
        case.refresh_from_db()
        assert case.status == Case.Status.NEW
    world.c_chat.refresh_from_db()
    assert world.c_chat.status == Case.Status.SOLVED


def test_the_inbox_filters_offer_only_the_partners_channels_teams_and_agents(world: World) -> None:
    choices = world.client_for(world.sanna).get(reverse("console:inbox")).context["choices"]
    assert {channel.pk for channel in choices.channels} == {world.chat.pk, world.messenger.pk}
    assert {team.name for team in choices.teams} == {"Chatly team", "Chat desk"}
    assert [agent.pk for agent in choices.agents] == [world.sanna.pk]
    choices = world.client_for(world.maija).get(reverse("console:inbox")).context["choices"]
    assert len(choices.channels) == 3 and len(choices.teams) == 3
