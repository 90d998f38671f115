"""The permission matrix: every role against every console URL, every API operation and every WebSocket route.

The lists are walked from the URL resolver, the Ninja API and the ASGI WebSocket routers, so a new endpoint
without a row here FAILS ("add it to the matrix"). Each row says what each role gets:

    O  allowed: past the access check (2xx, 3xx other than to the login page, or 400/405/409/422 on the
       empty input the matrix sends)
    D  403                N  404 (outside the user's scope, or no such object for someone allowed to look)
    L  a redirect to the login page (401 for the API)      *  anything but a server error (public endpoints)

Roles, in column order: anonymous, agent, team lead, administrator, partner agent on an object in the
partner's scope, partner agent on an object outside it, read-only. The objects come from the partner world
(tests/access/partner_world.py): the partner's chat case and its customer, and an email case outside.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from channels.routing import URLRouter
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.access.partner_world import World  # the fixture `world` comes from tests/access/conftest.py
from tests.api.conftest import Api, token_for
from tiski.api.api import api as tiski_api
from tiski.api.scopes import OPERATION_SCOPES, operation_key
from tiski.cases.models import Attachment, Message
from tiski.customers.models import Organization

ROLES = ("anonymous", "agent", "lead", "admin", "partner_in", "partner_out", "read_only")
PASSED = {200, 201, 202, 204, 301, 302, 303, 304, 400, 405, 409, 422}

# ── the console: URL name → (method, expectations in ROLES' order) ─────────────────────────────────────────────
# Path parameters are filled by name from the world (see _kwargs); "partner_out" gets the object outside scope.
CONSOLE: dict[str, tuple[str, str]] = {
    "login": ("GET", "*******"),
    "logout": ("POST", "*******"),
    "login-two-factor": ("GET", "*******"),
    "oidc_authentication_init": ("GET", "*******"),
    "oidc_authentication_callback": ("GET", "*******"),
    "set_language": ("POST", "*******"),
    "account:two-factor": ("GET", "LOOOOOO"),
    "account:session": ("POST", "LOOOOOO"),
    # cases
    "console:inbox": ("GET", "LOOOOOO"),
    "console:case": ("GET", "LOOOONO"),
    "console:case-timeline": ("GET", "LOOOONO"),
    "console:case-reply": ("POST", "LOOOOND"),
    "console:case-note": ("POST", "LOOOOND"),
    "console:case-update": ("POST", "LOOOOND"),
    "console:case-follow": ("POST", "LOOOONO"),
    "console:case-canned": ("GET", "LOOOONO"),
    "console:case-call": ("POST", "LDOODND"),
    "console:case-call-end": ("POST", "LDOODND"),
    "console:case-transcript": ("POST", "LDOODND"),
    "console:case-dial": ("POST", "LOOOOND"),
    "console:case-transfer": ("POST", "LOOOOND"),
    "console:attachment": ("GET", "LOOOONO"),
    "console:message-split": ("POST", "LOOOOND"),
    "console:message-html": ("GET", "LOOOONO"),
    "console:message-original": ("GET", "LOOOONO"),
    "knowledge-case:articles": ("GET", "LOOODDO"),
    "knowledge-case:use": ("POST", "LOOODDD"),
    "meta:template-picker": ("GET", "LOOOOND"),
    "meta:template-send": ("POST", "LOOOOND"),
    # customers
    "console:customer": ("GET", "LOOOONO"),
    "console:customer-timeline": ("GET", "LOOOONO"),
    "console:customer-follow": ("POST", "LOOOONO"),
    "console:customer-merge": ("POST", "LDOODDD"),
    "console:customer-export": ("POST", "LDDODDD"),
    "console:customer-erase": ("POST", "LDDODDD"),
    "console:identity-split": ("POST", "LDOODDD"),
    "console:suggestion-link": ("POST", "LNNNNND"),
    "console:suggestion-reject": ("POST", "LNNNNND"),
    "console:organization": ("GET", "LOOONNO"),
    "console:organization-follow": ("POST", "LOOONNO"),
    "console:notifications": ("GET", "LOOOOOO"),
    "console:notification-open": ("GET", "LNNNNNN"),
    # routing and calls
    "console:presence": ("POST", "LOOOOOD"),
    "console:offers": ("GET", "LOOOOOO"),
    "console:offer-accept": ("POST", "LNNNNND"),
    "console:offer-decline": ("POST", "LNNNNND"),
    "console:call-case": ("POST", "LNNNNND"),
    "console:call-wrap-up": ("POST", "LNNNNND"),
    "console:callback-attempt": ("POST", "LNNNNND"),
    "console:callback-cancel": ("POST", "LNNNNND"),
    "console:supervisor": ("GET", "LDOODDD"),
    "console:supervisor-queue": ("GET", "LDOODDD"),
    "console:supervisor-transfer": ("POST", "LDNNDDD"),
    "console:supervisor-presence": ("POST", "LDOODDD"),
    # administration in the console
    "console:quarantine": ("GET", "LDDODDD"),
    "console:quarantine-raw": ("GET", "LDDNDDD"),
    "console:quarantine-reprocess": ("POST", "LDDNDDD"),
    "console:quarantine-dismiss": ("POST", "LDDNDDD"),
    "console:tokens": ("GET", "LOOOOOO"),
    "console:token-revoke": ("POST", "LNNNNND"),
    "console:sent-mail": ("GET", "LDDODDD"),
    "audit:log": ("GET", "LDDODDD"),
    "audit:export": ("GET", "LDDODDD"),
    # macros
    "macros:list": ("GET", "LOOOOOD"),
    "macros:new": ("GET", "LOOOOOD"),
    "macros:action-row": ("GET", "LOOOOOD"),
    "macros:edit": ("GET", "LNNNNND"),
    "macros:delete": ("POST", "LNNNNND"),
    "macros:case-menu": ("GET", "LOOOOND"),
    "macros:case-preview": ("GET", "LNNNNND"),
    "macros:case-apply": ("POST", "LNNNNND"),
    "macros:bulk-options": ("GET", "LOOOOOD"),
    "macros:bulk-preview": ("POST", "LOOOOOD"),
    "macros:bulk-start": ("POST", "LOOOOOD"),
    "macros:run": ("GET", "LNNNNND"),
    "macros:run-progress": ("GET", "LNNNNND"),
    # automation
    "automation:list": ("GET", "LDDODDD"),
    "automation:new": ("GET", "LDDODDD"),
    "automation:dry-run": ("POST", "LDDODDD"),
    "automation:condition-row": ("GET", "LDDODDD"),
    "automation:log": ("GET", "LDDODDD"),
    "automation:edit": ("GET", "LDDNDDD"),
    "automation:toggle": ("POST", "LDDNDDD"),
    "automation:move": ("POST", "LDDNDDD"),
    "automation:delete": ("POST", "LDDNDDD"),
    # knowledge
    "knowledge:list": ("GET", "LOOODDO"),
    "knowledge:new": ("GET", "LOOODDD"),
    "knowledge:article": ("GET", "LNNNDDN"),
    "knowledge:settings": ("POST", "LNNNDDD"),
    "knowledge:add-language": ("POST", "LNNNDDD"),
    "knowledge:save": ("POST", "LNNNDDD"),
    "knowledge:status": ("POST", "LNNNDDD"),
    "knowledge:restore": ("POST", "LNNNDDD"),
    "help_console:stats": ("GET", "LDOODDD"),
    "help_console:share-create": ("POST", "LNNNNND"),
    "help_console:share-revoke": ("POST", "LNNNNND"),
    # reports
    "reports:dashboard": ("GET", "LDOODDD"),
    "reports:dashboard-live": ("GET", "LDOODDD"),
    "reports:reasons": ("GET", "LDOODDD"),
    "reports:agents": ("GET", "LDOODDD"),
    "reports:agent": ("GET", "LOOODDD"),
    "reports:teams": ("GET", "LDOODDD"),
    "reports:team": ("GET", "LDOODDD"),
    "reports:channels": ("GET", "LDOODDD"),
    "reports:channel": ("GET", "LDOODDD"),
    "reports:organizations": ("GET", "LDOODDD"),
    "reports:organization": ("GET", "LDOODDD"),
    "reports:products": ("GET", "LDOODDD"),
    "reports:product": ("GET", "LDOODDD"),
    "reports:me": ("GET", "LOOOOOD"),
    "reports:figure": ("GET", "LDOODDD"),
    "reports:cases": ("GET", "LDOODDD"),
    "report_exports:cases": ("GET", "LOOODDD"),
    "report_exports:csv": ("GET", "LOOODDD"),
    "report_exports:parquet": ("GET", "LOOODDD"),
    "report_delivery:subscriptions": ("GET", "LDOODDD"),
    "report_delivery:cancel": ("POST", "LDNNDDD"),
    "survey_console:responses": ("GET", "LDOODDD"),
    "survey_console:settings": ("GET", "LDDODDD"),
    # public: customers, providers' webhooks, the help centre, simulators
    "webform:form": ("GET", "*******"),
    "webform:embed_js": ("GET", "*******"),
    "webform:thanks": ("GET", "*******"),
    "webform:form_channel": ("GET", "*******"),
    "chat:demo": ("GET", "*******"),
    "chat:upload": ("POST", "*******"),
    "chat:attachment": ("GET", "*******"),
    "surveys:answer": ("GET", "*******"),
    "help:share": ("GET", "*******"),
    "help:suggest": ("GET", "*******"),
    "help:partners-root": ("GET", "*******"),
    "help:partners-home": ("GET", "*******"),
    "help:partners-search": ("GET", "*******"),
    "help:partners-category": ("GET", "*******"),
    "help:partners-article": ("GET", "*******"),
    "help:partners-feedback": ("POST", "*******"),
    "help:root": ("GET", "*******"),
    "help:home": ("GET", "*******"),
    "help:search": ("GET", "*******"),
    "help:category": ("GET", "*******"),
    "help:article": ("GET", "*******"),
    "help:feedback": ("POST", "*******"),
    "email:mailgun_inbound": ("POST", "*******"),
    "email:mailgun_inbound_mime": ("POST", "*******"),
    "email:sendgrid_inbound": ("POST", "*******"),
    "email:postmark_inbound": ("POST", "*******"),
    "email:amazon_ses_inbound": ("POST", "*******"),
    "channel-webhook": ("POST", "*******"),
    "simulator": ("GET", "*******"),
}
# URL prefixes checked elsewhere: the Django admin (is_staff, Django's own), the API (below), the root redirect.
SKIPPED_PREFIXES = ("admin/", "api/v1/")

# ── the API: the token's user's role decides; the limited token is an agent's with cases:read only ─────────────
# operation key → expectations for (agent, lead, admin, partner_in, partner_out, read_only, limited token).
API_ROLES = ("agent", "lead", "admin", "partner_in", "partner_out", "read_only", "limited")


def _api_expected(key: str) -> str:
    """Return the expected outcomes of the API operation KEY for API_ROLES (see the module's docstring)."""
    return API.get(key, "")


API: dict[str, str] = {
    "tiski.api.cases.cases_list": "OOOOOOO",
    "tiski.api.cases.cases_get": "OOOONOO",
    "tiski.api.cases.notes_list": "OOOONOO",
    "tiski.api.messages.messages_list": "OOOONOO",
    "tiski.api.messages.messages_get": "OOOONOO",
    "tiski.api.cases.cases_create": "OOOONDD",
    "tiski.api.cases.cases_update": "OOOONDD",
    "tiski.api.cases.notes_create": "OOOONDD",
    "tiski.api.messages.messages_reply": "OOOONDD",
    "tiski.api.messages.messages_update": "OOOONDD",
    "tiski.api.messages.inbound_create": "OOOONDD",
    "tiski.api.customer_data.follows_list": "OOOOOOO",
    "tiski.api.customer_data.notifications_get": "OOOOOOO",
    "tiski.api.customer_data.follows_create": "OOOONOD",
    "tiski.api.customer_data.follows_remove": "OOOONOO",  # after follows_create
    "tiski.api.customer_data.notifications_read": "OOOOOOD",
    "tiski.api.customers.customers_list": "OOOOOOD",
    "tiski.api.customers.customers_get": "OOOONOD",
    "tiski.api.identity.suggestions_list": "OOOONOD",
    "tiski.api.records.customer_records": "OOONNOD",
    "tiski.api.records.records_get": "OOONNOD",
    "tiski.api.customer_data.customers_marketing": "OOOONOD",
    "tiski.api.customer_data.marketing_suppressions_list": "OOOOOOD",
    "tiski.api.customers.customers_create": "OOODDDD",
    "tiski.api.customers.customers_update": "OOODDDD",
    "tiski.api.identity.suggestions_accept": "NNNDDDD",
    "tiski.api.identity.suggestions_reject": "NNNDDDD",
    "tiski.api.identity.customers_merge": "DNNDDDD",  # no such other customer
    "tiski.api.identity.identities_split": "DOODDDD",
    "tiski.api.records.records_upsert": "DDODDDD",
    "tiski.api.records.records_delete": "DDODDDD",
    "tiski.api.customer_data.customers_export": "DDODDDD",
    "tiski.api.customer_data.customers_erase": "DDODDDD",
    "tiski.api.callbacks.callback_requests_create": "OOOONDD",
    "tiski.proactive.api.external_events_create": "DDNDDDD",  # no rule listens
    "tiski.proactive.api.external_events_get": "DDNDDDD",
    "tiski.automation.api.rules_list": "DDODDDD",
    "tiski.automation.api.rules_get": "DDNDDDD",
    "tiski.automation.api.rules_dry_run": "DDODDDD",
    "tiski.automation.api.runs_list": "DDODDDD",
    "tiski.automation.api.rules_put": "DDODDDD",
    "tiski.automation.api.rules_create": "DDODDDD",
    "tiski.automation.api.rules_update": "DDNDDDD",
    "tiski.automation.api.rules_delete": "DDNDDDD",
    "tiski.knowledge.api.articles_list": "OOODDOD",
    "tiski.knowledge.api.articles_get": "NNNDDND",
    "tiski.knowledge.api.translations_versions": "NNNDDND",
    "tiski.knowledge.api.articles_create": "OOODDDD",
    "tiski.knowledge.api.articles_update": "NNNDDND",
    "tiski.knowledge.api.translations_save": "NNNDDND",
    "tiski.knowledge.api.translations_status": "NNNDDND",
    "tiski.surveys.api.survey_responses_import": "DDODDDD",
    "tiski.surveys.api.survey_responses_list": "DOODDDD",
    "tiski.reports.api.figures_list": "DOODDDD",
    "tiski.reports.api.figure_get": "DOODDDD",
    "tiski.audit.api.audit_list": "DDODDDD",
}

# ── WebSocket routes: path → expectations for (anonymous, agent, read-only, partner) on connecting ────────────
WEBSOCKETS: dict[str, str] = {
    "ws/console/": "DODO",  # a user who may work cases; anonymous and read-only users are closed
    "ws/chat/<int:channel_id>/": "****",  # the customer's chat: anonymous, checked by Origin
}


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    pattern: URLPattern


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            inner = namespace
            if item.namespace:
                inner = f"{namespace}:{item.namespace}" if namespace else item.namespace
            yield from _walk(item, prefix + str(item.pattern), inner)
        elif isinstance(item, URLPattern):
            name = f"{namespace}:{item.name}" if namespace and item.name else (item.name or "")
            yield Route(name, prefix + str(item.pattern), item)


def console_routes() -> list[Route]:
    routes = [r for r in _walk(get_resolver()) if r.route and not r.route.startswith(SKIPPED_PREFIXES)]
    return [r for r in routes if not r.route.startswith("^")]


def api_operations() -> list[tuple[str, str, str]]:
    found = []
    for bound in tiski_api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    found.append((method, path, operation_key(operation.view_func)))
    return found


def websocket_routes() -> list[str]:
    from tiski import asgi

    routes = []
    for app in (asgi.chat_socket, asgi.console_ws):
        while not isinstance(app, URLRouter):  # through the origin check, the session and the auth middleware
            app = getattr(app, "application", None) or app.inner
        routes += [str(route.pattern) for route in app.routes]
    return routes


# ── the objects ───────────────────────────────────────────────────────────────────────────────────────────────


@dataclass
class Objects:
    """What path parameters refer to: (inside the partner's scope, outside it)."""

    values: dict[str, tuple[Any, Any]]

    def get(self, name: str, outside: bool) -> Any:
        inside, out = self.values[name]
        return out if outside else inside


def _attachment(message: Message) -> Attachment:
    attachment = Attachment(message=message, filename="a.txt", content_type="text/plain", size=2, sha256="0" * 64)
    attachment.file.save("a.txt", ContentFile(b"hi"), save=False)
    attachment.save()
    return attachment


def objects_create(world: World) -> Objects:
    m_in = Message.objects.filter(case=world.c_chat).first()
    m_out = Message.objects.filter(case=world.c_mail).first()
    assert m_in is not None and m_out is not None
    Message.objects.filter(pk__in=[m_in.pk, m_out.pk]).update(body_html="<p>Hi</p>", raw=b"Subject: hi\r\n\r\nhi")
    a_in, a_out = _attachment(m_in), _attachment(m_out)
    org = Organization.objects.create(name="Helkama Oy")
    world.anssi.organization = org
    world.anssi.save(update_fields=["organization"])
    missing = 999_999
    return Objects(
        {
            "reference": (world.c_chat.reference, world.c_mail.reference),
            "case": (world.c_chat.reference, world.c_mail.reference),
            "customer": (world.anssi.pk, world.other.pk),
            "message": (m_in.pk, m_out.pk),
            "attachment": (a_in.pk, a_out.pk),
            "filename": ("a.txt", "a.txt"),
            "organization": (org.pk, org.pk),
            "identity": (world.chat_identity.pk, world.email_identity.pk),
            "missing": (missing, missing),
            "channel": (world.chat.pk, world.email.pk),
            "queue": (world.q_chat.pk, world.q_general.pk),
            "agent": (world.maija.pk, world.maija.pk),
            "team": (world.t_partner.pk, world.t_billing.pk),
        }
    )


# Which object a path parameter names, by URL name prefix and parameter.
def _param_object(name: str, param: str) -> str:
    if param in ("reference",):
        return "reference"
    if param == "filename":
        return "filename"
    if param == "key":
        return {"console:case-follow": "case", "console:customer-follow": "customer"}.get(name, "organization")
    if param == "pk":
        by_name = {
            "console:attachment": "attachment",
            "console:message-split": "message",
            "console:message-html": "message",
            "console:message-original": "message",
            "console:customer": "customer",
            "console:customer-timeline": "customer",
            "console:customer-merge": "customer",
            "console:customer-export": "customer",
            "console:customer-erase": "customer",
            "console:identity-split": "identity",
            "console:organization": "organization",
            "console:supervisor-queue": "queue",
            "console:supervisor-presence": "agent",
            "reports:agent": "agent",
            "reports:team": "team",
            "reports:organization": "organization",
        }
        return by_name.get(name, "missing")
    if param in ("channel_id",):
        return "channel"
    return "missing"


TEXT_PARAMS = {"kind": "chat", "name": "contacts_in", "language": "fi", "slug": "nothing", "lang": "fi"}
TEXT_PARAMS |= {"token": "no-such-token", "direction": "up"}


def _kwargs(route: Route, objects: Objects, outside: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for param in route.pattern.pattern.converters:
        if param in TEXT_PARAMS and route.name != "console:customer-follow":
            kwargs[param] = TEXT_PARAMS[param]
        else:
            kwargs[param] = objects.get(_param_object(route.name, param), outside)
    return kwargs


def _path(route: Route, kwargs: dict[str, Any]) -> str:
    from django.urls import reverse

    if route.name:
        return reverse(route.name, kwargs=kwargs)
    return "/" + route.route  # pragma: no cover - every console route has a name


def _outcome(response: Any) -> str:
    status = response.status_code
    if status >= 500:
        return f"5xx({status})"
    if status in (301, 302) and "/login/" in response.get("Location", ""):
        return "L"
    if status == 401:
        return "L"
    if status == 403:
        return "D"
    if status == 404:
        return "N"
    if status in PASSED:
        return "O"
    return f"?{status}"


def _matches(expected: str, got: str) -> bool:
    return got == expected or (expected == "*" and not got.startswith("5xx"))


# ── the tests ─────────────────────────────────────────────────────────────────────────────────────────────────


def test_every_console_url_api_operation_and_websocket_route_is_in_the_matrix() -> None:
    names = {route.name for route in console_routes()}
    unnamed = [route.route for route in console_routes() if not route.name]
    assert not unnamed, f"name these URL patterns: {unnamed}"
    missing = sorted(names - set(CONSOLE))
    assert not missing, f"add it to the matrix (CONSOLE in {__name__}): {missing}"
    stale = sorted(set(CONSOLE) - names)
    assert not stale, f"no such URL any more; remove from the matrix: {stale}"
    keys = {key for _method, _path, key in api_operations()}
    assert not sorted(keys - set(API)), f"add it to the matrix (API): {sorted(keys - set(API))}"
    assert not sorted(set(API) - keys), f"remove from the matrix (API): {sorted(set(API) - keys)}"
    assert set(API) == set(OPERATION_SCOPES)
    ws = set(websocket_routes())
    assert ws == set(WEBSOCKETS), f"add it to the matrix (WEBSOCKETS): {sorted(ws ^ set(WEBSOCKETS))}"


def _users(world: World) -> dict[str, User | None]:
    from tiski.accounts.services import agent_create

    lead = agent_create(username="lead", password="x", role="team lead")
    admin = agent_create(username="boss", password="x", role="administrator")
    return {
        "anonymous": None,
        "agent": world.maija,
        "lead": lead,
        "admin": admin,
        "partner_in": world.sanna,
        "partner_out": world.sanna,
        "read_only": world.bea,
    }


@pytest.mark.parametrize("role", ROLES)
def test_console_matrix(world: World, role: str) -> None:
    objects = objects_create(world)
    user = _users(world)[role]
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    column = ROLES.index(role)
    wrong = []
    for route in sorted(console_routes(), key=lambda r: (r.name == "logout", r.name)):  # logging out last
        method, expectations = CONSOLE[route.name]
        path = _path(route, _kwargs(route, objects, outside=role == "partner_out"))
        response = client.post(path) if method == "POST" else client.get(path)
        got = _outcome(response)
        if not _matches(expectations[column], got):
            wrong.append(f"{method} {path} ({route.name}): expected {expectations[column]}, got {got}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def _bodies(world: World, outside: bool) -> dict[str, dict[str, Any]]:
    """Return a valid body for each writing operation (so the answer is about access, not input).

    Objects that would be changed for good (merges, deletions) are named by an id that does not exist:
    who may do it gets 404, who may not 403.
    """
    case = world.c_mail if outside else world.c_chat
    customer = world.other if outside else world.anssi
    channel = world.email if outside else world.chat
    return {
        "tiski.api.cases.cases_create": {"customer_id": customer.pk, "subject": "Matrix", "channel_id": channel.pk},
        "tiski.api.cases.cases_update": {"priority": "high"},
        "tiski.api.cases.notes_create": {"body": "matrix note"},
        "tiski.api.messages.messages_reply": {"body": "matrix reply"},
        "tiski.api.messages.messages_update": {"delivery_status": "delivered"},
        "tiski.api.messages.inbound_create": {
            "channel_id": channel.pk,
            "handles": [{"kind": "email", "value": "matrix@example.com"}],
            "body_text": "hello",
            "external_id": f"matrix-{outside}",
        },
        "tiski.api.customer_data.follows_create": {"case_id": case.pk},
        "tiski.api.customer_data.follows_remove": {"case_id": case.pk},
        "tiski.api.customer_data.notifications_read": {"ids": None},
        "tiski.api.customers.customers_create": {"name": "Matrix customer"},
        "tiski.api.customers.customers_update": {"interests": "skiing"},
        "tiski.api.identity.customers_merge": {"other_id": 999_999},
        "tiski.api.records.records_upsert": {"source": "crm", "records": []},
        "tiski.api.customer_data.customers_erase": {"confirm": "not-the-id"},
        "tiski.api.callbacks.callback_requests_create": {"customer_id": customer.pk, "number": "+358401234567"},
        "tiski.proactive.api.external_events_create": {"name": "icy_evening", "occurrence": "2026-01-01"},
        "tiski.knowledge.api.articles_create": {"language": "fi", "title": "Matrix"},
        "tiski.knowledge.api.articles_update": {},
        "tiski.knowledge.api.translations_save": {"title": "Matrix"},
        "tiski.knowledge.api.translations_status": {"status": "draft"},
        "tiski.surveys.api.survey_responses_import": {
            "case_reference": case.reference,
            "kind": "csat",
            "score": 5,
            "external_id": f"matrix-{outside}",
        },
    }


def _api_call(api: Api, method: str, path: str, body: dict[str, Any]) -> Any:
    if method == "GET":
        return api.get(path)
    if method == "DELETE":
        return api.delete(path)
    if method == "PUT":
        return api.put(path, body)
    if method == "PATCH":
        return api.patch(path, body)
    return api.post(path, body)


def _api_path(path: str, objects: Objects, outside: bool, key: str) -> str:
    values = {
        "{case_ref}": str(objects.get("reference", outside)),
        "{customer_id}": str(objects.get("customer", outside)),
        "{message_id}": str(objects.get("message", outside)),
        "{identity_id}": str(objects.get("identity", outside)),
        "{suggestion_id}": "999999",
        "{rule_id}": "999999",
        "{event_id}": "999999",
        "{article_id}": "999999",
        "{language}": "fi",
        "{name}": "contacts_in",
        "{source}": "crm",
        "{path:external_id}": "ORD-778",
    }
    for placeholder, value in values.items():
        path = path.replace(placeholder, value)
    return path


@pytest.mark.parametrize("role", API_ROLES)
def test_api_matrix(world: World, role: str) -> None:
    objects = objects_create(world)
    users = _users(world) | {"limited": world.maija}
    user = users[role]
    assert user is not None
    scopes = ("cases:read",) if role == "limited" else None
    api = Api(token_for(user, scopes) if scopes else token_for(user))
    anonymous = Api(None)
    column = API_ROLES.index(role)
    wrong = []
    bodies = _bodies(world, outside=role == "partner_out")
    for method, path, key in sorted(api_operations(), key=lambda op: (op[0] == "DELETE", op)):  # deleting last
        expected = _api_expected(key)[column]
        if role == "limited" and OPERATION_SCOPES[key] != "cases:read":
            expected = "D"  # the token's scope, whatever the user may do
        url = _api_path(path, objects, outside=role == "partner_out", key=key)
        got = _outcome(_api_call(api, method, url, bodies.get(key, {})))
        if not _matches(expected, got):
            wrong.append(f"{method} {url} ({key}): expected {expected}, got {got}")
        if role == "agent":  # anonymous once: every operation wants a token
            got_anonymous = _outcome(_api_call(anonymous, method, url, bodies.get(key, {})))
            if got_anonymous != "L":
                wrong.append(f"{method} {url} ({key}) anonymous: expected 401, got {got_anonymous}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.django_db(transaction=True)
def test_websocket_matrix(world: World) -> None:
    from tests.routing.test_consumers import WebsocketCommunicator, login, run

    column_users: list[User | None] = [None, world.maija, world.bea, world.sanna]
    wrong: list[str] = []

    async def scenario() -> None:
        for route, expectations in WEBSOCKETS.items():
            path = "/" + route.replace("<int:channel_id>", str(world.chat.pk))
            for user, expected in zip(column_users, expectations, strict=True):
                communicator = WebsocketCommunicator(path, "", headers[user.pk if user else 0])
                connected, _code = await communicator.connect()
                await asyncio.sleep(0.3)  # the console accepts, then closes a socket it refuses
                closed = False
                while not communicator.output_queue.empty():
                    closed |= (await communicator.receive_output(0.1))["type"] == "websocket.close"
                got = "O" if connected and not closed else "D"
                await communicator.disconnect()
                if not _matches(expected, got):
                    wrong.append(f"{route} as {user}: expected {expected}, got {got}")

    headers = {(user.pk if user else 0): login(user) for user in column_users}
    run(scenario)
    assert not wrong, "\n".join(wrong)
