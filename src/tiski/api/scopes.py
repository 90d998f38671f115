"""The scope every API operation needs, checked in one place when the request's token is authenticated.

Each operation's view function is listed here by its dotted name. An operation missing from the table
refuses every token (403) until it is added: a new endpoint is closed until someone decides its scope.
The OpenAPI document shows each operation's scope in its description and as ``x-token-scope``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ninja.operation import Operation

from tiski.accounts.token_scopes import (
    AUDIT_READ,
    AUTOMATION_READ,
    AUTOMATION_WRITE,
    CALLBACKS_WRITE,
    CASES_READ,
    CASES_WRITE,
    CUSTOMERS_READ,
    CUSTOMERS_WRITE,
    EVENTS_WRITE,
    GDPR,
    KNOWLEDGE_READ,
    KNOWLEDGE_WRITE,
    RECORDS_WRITE,
    REPORTS_READ,
    SURVEYS_WRITE,
)

OPERATION_SCOPES: Final[dict[str, str]] = {
    # cases, notes and messages
    "tiski.api.cases.cases_list": CASES_READ,
    "tiski.api.cases.cases_get": CASES_READ,
    "tiski.api.cases.notes_list": CASES_READ,
    "tiski.api.messages.messages_list": CASES_READ,
    "tiski.api.messages.messages_get": CASES_READ,
    "tiski.api.cases.cases_create": CASES_WRITE,
    "tiski.api.cases.cases_update": CASES_WRITE,
    "tiski.api.cases.notes_create": CASES_WRITE,
    "tiski.api.messages.messages_reply": CASES_WRITE,
    "tiski.api.messages.messages_update": CASES_WRITE,
    "tiski.api.messages.inbound_create": CASES_WRITE,
    # follows and notifications (the token user's own)
    "tiski.api.customer_data.follows_list": CASES_READ,
    "tiski.api.customer_data.notifications_get": CASES_READ,
    "tiski.api.customer_data.follows_create": CASES_WRITE,
    "tiski.api.customer_data.follows_remove": CASES_WRITE,
    "tiski.api.customer_data.notifications_read": CASES_WRITE,
    # customers, identities, external records, marketing consent
    "tiski.api.customers.customers_list": CUSTOMERS_READ,
    "tiski.api.customers.customers_get": CUSTOMERS_READ,
    "tiski.api.identity.suggestions_list": CUSTOMERS_READ,
    "tiski.api.records.customer_records": CUSTOMERS_READ,
    "tiski.api.records.records_get": CUSTOMERS_READ,
    "tiski.api.customer_data.customers_marketing": CUSTOMERS_READ,
    "tiski.api.customer_data.marketing_suppressions_list": CUSTOMERS_READ,
    "tiski.api.customers.customers_create": CUSTOMERS_WRITE,
    "tiski.api.customers.customers_update": CUSTOMERS_WRITE,
    "tiski.api.identity.suggestions_accept": CUSTOMERS_WRITE,
    "tiski.api.identity.suggestions_reject": CUSTOMERS_WRITE,
    "tiski.api.identity.customers_merge": CUSTOMERS_WRITE,
    "tiski.api.identity.identities_split": CUSTOMERS_WRITE,
    "tiski.api.records.records_upsert": RECORDS_WRITE,
    "tiski.api.records.records_delete": RECORDS_WRITE,
    "tiski.api.customer_data.customers_export": GDPR,
    "tiski.api.customer_data.customers_erase": GDPR,
    # callbacks and proactive events
    "tiski.api.callbacks.callback_requests_create": CALLBACKS_WRITE,
    "tiski.proactive.api.external_events_create": EVENTS_WRITE,
    "tiski.proactive.api.external_events_get": EVENTS_WRITE,
    # the audit log
    "tiski.audit.api.audit_list": AUDIT_READ,
    # automation
    "tiski.automation.api.rules_list": AUTOMATION_READ,
    "tiski.automation.api.rules_get": AUTOMATION_READ,
    "tiski.automation.api.rules_dry_run": AUTOMATION_READ,
    "tiski.automation.api.runs_list": AUTOMATION_READ,
    "tiski.automation.api.rules_put": AUTOMATION_WRITE,
    "tiski.automation.api.rules_create": AUTOMATION_WRITE,
    "tiski.automation.api.rules_update": AUTOMATION_WRITE,
    "tiski.automation.api.rules_delete": AUTOMATION_WRITE,
    # knowledge
    "tiski.knowledge.api.articles_list": KNOWLEDGE_READ,
    "tiski.knowledge.api.articles_get": KNOWLEDGE_READ,
    "tiski.knowledge.api.translations_versions": KNOWLEDGE_READ,
    "tiski.knowledge.api.articles_create": KNOWLEDGE_WRITE,
    "tiski.knowledge.api.articles_update": KNOWLEDGE_WRITE,
    "tiski.knowledge.api.translations_save": KNOWLEDGE_WRITE,
    "tiski.knowledge.api.translations_status": KNOWLEDGE_WRITE,
    # surveys and reports
    "tiski.surveys.api.survey_responses_import": SURVEYS_WRITE,
    "tiski.surveys.api.survey_responses_list": REPORTS_READ,
    "tiski.reports.api.figures_list": REPORTS_READ,
    "tiski.reports.api.figure_get": REPORTS_READ,
}


def operation_key(view_func: Callable[..., Any]) -> str:
    """Return the dotted name an operation's view function is listed under in OPERATION_SCOPES."""
    return f"{view_func.__module__}.{view_func.__name__}"


def operation_scope(view_func: Callable[..., Any]) -> str | None:
    """Return the scope the operation of VIEW_FUNC needs, or None when it has not been given one."""
    return OPERATION_SCOPES.get(operation_key(view_func))


def scoped_operations(run: Callable[..., Any]) -> Callable[..., Any]:
    """Give the operation that RUN belongs to an authentication that checks its scope; return RUN unchanged.

    Installed with ``api.add_decorator(..., mode="view")``: Ninja calls it once per operation while binding
    the routers, passing the operation's bound ``run`` method.
    """
    from tiski.api.auth import TokenAuth

    operation = getattr(run, "__self__", None)
    if not isinstance(operation, Operation):  # pragma: no cover - Ninja changed how it binds decorators
        raise TypeError("scoped_operations must decorate an Operation's run method")
    scope = operation_scope(operation.view_func)
    operation.auth_callbacks = [TokenAuth(scope=scope)]
    note = (
        f"Token scope: `{scope}`."
        if scope
        else "No token scope is defined for this operation yet: every token is refused."
    )
    description = operation.description or ""
    if note not in description:
        operation.description = f"{description}\n\n{note}".strip()
    extra = dict(operation.openapi_extra or {})
    extra["x-token-scope"] = scope
    operation.openapi_extra = extra
    return run
