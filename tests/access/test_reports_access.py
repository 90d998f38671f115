"""Reports and their exports: partner agents see their own figures and never take report data away; read-only
users see no reports at all; agents keep their own figures and exports."""

from __future__ import annotations

from django.urls import reverse

from tests.access.partner_world import World  # the fixture `world` comes from tests/access/conftest.py
from tests.api.conftest import Api, token_for

EXPORT = "/console/reports/export"


def _export_urls(user_pk: int) -> list[str]:
    own = f"days=7&agent={user_pk}"
    return [
        f"{EXPORT}/contacts_in.csv?{own}",
        f"{EXPORT}/contacts_in.parquet?{own}",
        f"{EXPORT}/cases.csv?figure=contacts_in&{own}",
    ]


def test_partner_agent_sees_own_figures_but_exports_nothing(world: World) -> None:
    client = world.client_for(world.sanna)
    me = client.get(reverse("reports:me"))
    assert me.status_code == 200
    for url in _export_urls(world.sanna.pk):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Partner agents cannot export reports" in response.content.decode()
    assert client.get(reverse("reports:dashboard")).status_code == 403
    assert client.get(reverse("reports:agents")).status_code == 403
    assert client.get(reverse("reports:agent", args=[world.maija.pk])).status_code == 403
    assert client.get(reverse("report_delivery:subscriptions")).status_code == 403
    cases = client.get(reverse("reports:cases"), {"figure": "contacts_in", "agent": str(world.sanna.pk), "days": "7"})
    assert cases.status_code == 200


def test_read_only_user_sees_no_reports_and_exports_nothing(world: World) -> None:
    client = world.client_for(world.bea)
    assert client.get(reverse("reports:me")).status_code == 403
    assert client.get(reverse("reports:dashboard")).status_code == 403
    assert client.get(reverse("reports:cases"), {"agent": world.bea.pk}).status_code == 403
    assert client.get(reverse("report_delivery:subscriptions")).status_code == 403
    for url in _export_urls(world.bea.pk):
        assert client.get(url).status_code == 403, url


def test_an_agent_still_exports_their_own_figures(world: World) -> None:
    client = world.client_for(world.maija)
    for url in _export_urls(world.maija.pk):
        assert client.get(url).status_code == 200, url
    cases = client.get(reverse("reports:cases"), {"figure": "contacts_in", "agent": str(world.maija.pk), "days": "7"})
    assert cases.status_code == 200


def test_reports_api_refuses_partner_and_read_only_tokens(world: World) -> None:
    for user in (world.sanna, world.bea):
        api = Api(token_for(user))
        assert api.get("/reports/figures").status_code == 403
        assert api.get("/reports/figures/contacts_in").status_code == 403
        assert api.get("/survey-responses").status_code == 403
