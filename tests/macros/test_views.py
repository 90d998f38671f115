"""The console's macro pages over real HTTP requests: permissions, the editor, the case menu, bulk runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tiski.cases.models import Case, Message
from tiski.macros.models import Macro, MacroRun
from tiski.macros.services import macro_create

pytestmark = pytest.mark.django_db

NOTE = [{"action": "note", "body": "Checked"}]


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_visitors_go_to_the_login_page(outage_macro: Macro) -> None:
    for url in (
        reverse("macros:list"),
        reverse("macros:new"),
        reverse("macros:edit", args=[outage_macro.pk]),
        reverse("macros:run", args=[1]),
    ):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    assert Client().post(reverse("macros:bulk-start"), {"macro": outage_macro.pk}).status_code == 302


def test_another_agents_personal_macro_is_not_found(agent: Any, other_agent: Any, email_case: Any) -> None:
    theirs = macro_create(actor=other_agent, name="Matti's", actions=NOTE)
    case = email_case()
    client = _client(agent)
    assert client.get(reverse("macros:edit", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("macros:case-preview", args=[case.reference, theirs.pk])).status_code == 404
    assert client.post(reverse("macros:case-apply", args=[case.reference, theirs.pk])).status_code == 404
    assert client.post(reverse("macros:delete", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("macros:bulk-start"), {"macro": theirs.pk, "case": [case.pk]})
    assert response.status_code == 404 and not MacroRun.objects.exists()
    assert "Matti&#x27;s" not in client.get(reverse("macros:list")).content.decode()
    assert not case.notes.exists()


def test_agents_cannot_edit_shared_macros_leads_can(agent: Any, team_lead: Any, outage_macro: Macro) -> None:
    url = reverse("macros:edit", args=[outage_macro.pk])
    form = {"name": "Hijacked", "row": ["0"], "a0-action": "note", "a0-body": "x", "active": "1"}
    agent_client = _client(agent)
    assert agent_client.get(url).status_code == 403
    assert agent_client.post(url, form).status_code == 403
    assert agent_client.post(reverse("macros:delete", args=[outage_macro.pk])).status_code == 403
    assert agent_client.post(reverse("macros:new"), {**form, "shared": "1"}).status_code == 403
    outage_macro.refresh_from_db()
    assert outage_macro.name == "Outage status update"
    assert url not in agent_client.get(reverse("macros:list")).content.decode()  # no edit button either
    assert url in _client(team_lead).get(reverse("macros:list")).content.decode()

    response = _client(team_lead).post(url, form)
    assert response.status_code == 302
    outage_macro.refresh_from_db()
    assert (outage_macro.name, outage_macro.actions) == ("Hijacked", [{"action": "note", "body": "x"}])


def test_editor_rows_save_a_personal_macro(agent: Any) -> None:
    client = _client(agent)
    page = client.get(reverse("macros:new")).content.decode()
    assert 'name="a0-action"' in page and "Reply to the customer" in page
    row = client.get(reverse("macros:action-row"), {"index": "0", "a0-action": "set_status"}).content.decode()
    assert 'name="a0-status"' in row and 'value="pending"' in row
    added = client.get(reverse("macros:action-row"), {"row": ["0", "1"]}).content.decode()
    assert 'name="a2-action"' in added
    response = client.post(
        reverse("macros:new"),
        {
            "name": "Ask for the order number",
            "active": "1",
            "row": ["0", "1", "2", "3"],
            "a0-action": "reply",
            "a0-body": "Hei {{ customer.first_name }}, mikä on tilausnumerosi?",
            "a1-action": "set_status",
            "a1-status": "pending",
            "a2-action": "add_tags",
            "a2-tags": "tilaus, odottaa",
            "a3-action": "",
        },
    )
    assert response.status_code == 302
    macro = Macro.objects.get(name="Ask for the order number")
    assert macro.owner == agent and macro.active
    assert macro.actions == [
        {"action": "reply", "body": "Hei {{ customer.first_name }}, mikä on tilausnumerosi?"},
        {"action": "set_status", "status": "pending"},
        {"action": "add_tags", "tags": ["tilaus", "odottaa"]},
    ]
    listing = client.get(reverse("macros:list")).content.decode()
    assert "Ask for the order number" in listing


def test_bad_json_and_bad_rows_get_clear_errors_and_keep_what_was_typed(agent: Any) -> None:
    client = _client(agent)
    response = client.post(
        reverse("macros:new"), {"name": "Broken", "use_json": "1", "actions_json": '[{"action": "note", "body": }]'}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "The actions are not valid JSON" in page and "line 1" in page
    assert "[{&quot;action&quot;: &quot;note&quot;, &quot;body&quot;: }]" in page  # kept to fix
    response = client.post(
        reverse("macros:new"),
        {"name": "Broken", "use_json": "1", "actions_json": json.dumps([{"action": "set_status", "status": "later"}])},
    )
    assert response.status_code == 400 and "Status must be one of" in response.content.decode()
    response = client.post(reverse("macros:new"), {"name": "", "row": ["0"], "a0-action": "reply", "a0-body": ""})
    page = response.content.decode()
    assert response.status_code == 400 and "Give the macro a name." in page and "Text is required." in page
    assert not Macro.objects.exists()


def test_case_menu_previews_then_applies(agent: Any, email_case: Any, outage_macro: Macro) -> None:
    case = email_case()
    client = _client(agent)
    assert "Macros" in client.get(reverse("console:case", args=[case.reference])).content.decode()
    menu = client.get(reverse("macros:case-menu", args=[case.reference])).content.decode()
    assert "Outage status update" in menu
    preview = client.get(reverse("macros:case-preview", args=[case.reference, outage_macro.pk])).content.decode()
    assert f"Hei Anssi, korjaamme häiriötä. Viite {case.reference}." in preview
    assert not Message.objects.filter(case=case, author=Message.Author.AGENT).exists()  # a preview writes nothing
    response = client.post(
        reverse("macros:case-apply", args=[case.reference, outage_macro.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("console:case", args=[case.reference])
    case.refresh_from_db()
    assert case.status == Case.Status.PENDING
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    response = client.post(
        reverse("macros:case-apply", args=[case.reference, outage_macro.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 409 and "closed" in response.content.decode()


def test_inbox_selection_preview_start_and_progress(
    agent: Any, email_case: Any, outage_macro: Macro, run_tasks: Any
) -> None:
    cases = [email_case(f"inbox{n}@example.com", f"Inbox{n} Asiakas") for n in range(3)]
    client = _client(agent)
    inbox = client.get(reverse("console:inbox")).content.decode()
    assert "data-macro-bulk" in inbox and f'name="case" value="{cases[0].pk}"' in inbox
    options = client.get(reverse("macros:bulk-options")).content.decode()
    assert f'<option value="{outage_macro.pk}">Outage status update</option>' in options
    picked = {"macro": outage_macro.pk, "case": [cases[0].pk, cases[2].pk], "status": "active"}
    preview = client.post(reverse("macros:bulk-preview"), picked)
    page = preview.content.decode()
    assert preview.status_code == 200 and "Apply to 2 cases" in page
    assert f"Viite {cases[0].reference}." in page
    response = client.post(reverse("macros:bulk-start"), picked)
    run = MacroRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("macros:run", args=[run.pk])
    progress = client.get(reverse("macros:run-progress", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in progress and "0 of 2 cases processed" in progress
    run_tasks()
    progress = client.get(reverse("macros:run-progress", args=[run.pk])).content.decode()
    assert "every 1s" not in progress and "2 of 2 cases processed (100 %)" in progress
    assert "Every selected case took the macro." in progress
    assert Case.objects.get(pk=cases[1].pk).status != Case.Status.PENDING


def test_select_all_matching_the_filter(agent: Any, email_case: Any, sms_case: Any, outage_macro: Macro) -> None:
    emailed = [email_case(f"kaikki{n}@example.com") for n in range(3)]
    sms_case()
    client = _client(agent)
    channel = emailed[0].channel_id
    form = {"macro": outage_macro.pk, "all": "1", "channel": channel, "case": [emailed[0].pk]}
    page = client.post(reverse("macros:bulk-preview"), form).content.decode()
    assert "Apply to 3 cases" in page and "cases matching the filter" in page
    client.post(reverse("macros:bulk-start"), form)
    assert sorted(MacroRun.objects.get().case_ids) == sorted(c.pk for c in emailed)


def test_someone_elses_run_is_not_found(agent: Any, other_agent: Any, email_case: Any, outage_macro: Macro) -> None:
    from tiski.macros.services import macro_run_start

    run = macro_run_start(macro=outage_macro, actor=other_agent, case_ids=[email_case().pk])
    assert _client(agent).get(reverse("macros:run", args=[run.pk])).status_code == 404
    assert _client(other_agent).get(reverse("macros:run", args=[run.pk])).status_code == 200


def test_bulk_preview_without_a_selection_says_what_to_do(agent: Any, outage_macro: Macro) -> None:
    response = _client(agent).post(reverse("macros:bulk-preview"), {"macro": outage_macro.pk})
    assert response.status_code == 400 and "Select at least one case" in response.content.decode()


def test_a_run_whose_agent_is_gone_still_shows_to_a_team_lead(
    other_agent: Any, team_lead: Any, email_case: Any, outage_macro: Macro
) -> None:
    from tiski.macros.services import macro_run_start

    run = macro_run_start(macro=outage_macro, actor=other_agent, case_ids=[email_case().pk])
    other_agent.delete()  # the run keeps its record; its actor becomes empty
    page = _client(team_lead).get(reverse("macros:run", args=[run.pk]))
    assert page.status_code == 200 and "Started by –" in page.content.decode()
