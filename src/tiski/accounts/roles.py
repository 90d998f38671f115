"""The roles, as Django groups, and the permissions each one holds.

Permission checks in views and the API use ``user.has_perm(...)`` with these codenames, never the group
names, so a company can shape its own roles in the admin.
"""

from __future__ import annotations

from typing import Final

AGENT: Final = "agent"
TEAM_LEAD: Final = "team lead"
ADMINISTRATOR: Final = "administrator"
PARTNER_AGENT: Final = "partner agent"  # an outside company's agent: works only the partner's granted cases
READ_ONLY: Final = "read-only"  # a billing or field-service colleague: sees and follows cases, never writes
ROLES: Final = (AGENT, TEAM_LEAD, ADMINISTRATOR, PARTNER_AGENT, READ_ONLY)

# Permission "app_label.codename" strings used throughout the code.
WORK_CASES: Final = "cases.work_case"  # see the inbox, open cases, reply, note, change status/priority
VIEW_CASES: Final = "cases.view_case"  # see the inbox and cases and follow them; writes need WORK_CASES
ASSIGN_ANY: Final = "cases.assign_any"  # assign a case to another agent or team
VIEW_CUSTOMERS: Final = "customers.view_customer"
CHANGE_CUSTOMERS: Final = "customers.change_customer"
MERGE_CUSTOMERS: Final = "customers.merge_customer"  # merge two customers, split an identity off
EXPORT_CUSTOMERS: Final = "customers.export_customer"  # GDPR: everything about a customer as JSON
ERASE_CUSTOMERS: Final = "customers.erase_customer"  # GDPR: anonymise a customer
CHANGE_RECORDS: Final = "customers.change_externalrecord"  # upsert and import external records
MANAGE_TOKENS: Final = "accounts.manage_tokens"  # create and revoke API tokens for any user
VIEW_SENT_MAIL: Final = "accounts.view_sent_mail"  # the local mailbox of `tiski demo`
VIEW_AUDIT: Final = "audit.view_auditentry"  # search and export the audit log (administrators only)
VIEW_QUARANTINE: Final = "tiski_channels.view_quarantinedmail"  # mail that could not be stored, kept raw
CHANGE_QUARANTINE: Final = "tiski_channels.change_quarantinedmail"  # re-process or dismiss it
SUPERVISE: Final = "routing.supervise"  # the live supervisor view; reassign work, set others' presence
VIEW_ARTICLES: Final = "knowledge.view_article"  # read internal knowledge articles in the console
WRITE_ARTICLES: Final = "knowledge.change_article"  # write articles and their language versions (as drafts)
PUBLISH_ARTICLES: Final = "knowledge.publish_article"  # review, publish and archive articles
PARTNER_ARTICLES: Final = "knowledge.view_partner_articles"  # read partner articles in the partner portal
VIEW_REPORTS: Final = "reports.view_reports"  # every report, dashboard, export and the reports API
VIEW_OWN_FIGURES: Final = "reports.view_own_figures"  # one's own figures (the agent's report page)

_AGENT_PERMS = [WORK_CASES, VIEW_CASES, VIEW_CUSTOMERS, CHANGE_CUSTOMERS, "customers.add_customer"]
_AGENT_PERMS += [VIEW_ARTICLES, WRITE_ARTICLES, "knowledge.add_article"]  # read and draft knowledge articles
_AGENT_PERMS += [VIEW_OWN_FIGURES]
_LEAD_PERMS = [*_AGENT_PERMS, ASSIGN_ANY, MERGE_CUSTOMERS, SUPERVISE]
_LEAD_PERMS += ["macros.manage_shared_macros"]  # create and change shared macros (tiski.macros)
_LEAD_PERMS += [PUBLISH_ARTICLES]  # review, publish and archive knowledge articles
_LEAD_PERMS += ["surveys.view_surveyresponse"]  # the survey responses page and API (tiski.surveys)
_LEAD_PERMS += [VIEW_REPORTS]  # dashboards, reports, exports (tiski.reports)
_ADMIN_PERMS = [*_LEAD_PERMS, MANAGE_TOKENS, VIEW_SENT_MAIL, VIEW_AUDIT]
# Narrowed to the partner's grants by tiski.accounts.scope; no reports, supervising, merging or exports.
_PARTNER_PERMS = [WORK_CASES, VIEW_CASES, VIEW_CUSTOMERS, PARTNER_ARTICLES, VIEW_OWN_FIGURES]
# Zendesk's "light agent": sees every case and customer and follows them; no reply, note or change.
_READ_ONLY_PERMS = [VIEW_CASES, VIEW_CUSTOMERS, VIEW_ARTICLES]

# Administrators also manage everything in these apps through the admin (channels, teams, users, categories …).
ADMIN_APPS: Final = (
    "accounts",
    "customers",
    "cases",
    "tiski_channels",
    "chat",
    "meta",
    "voice",
    "notifications",
    "routing",
    "sla",
    "automation",
    "macros",
    "proactive",
    "surveys",
    "knowledge",
    "reports",
    "report_delivery",  # subscribe team leads to reports by email (tiski.reports.delivery)
    "auth",
)

ROLE_PERMISSIONS: Final[dict[str, list[str]]] = {
    AGENT: _AGENT_PERMS,
    TEAM_LEAD: _LEAD_PERMS,
    ADMINISTRATOR: _ADMIN_PERMS,
    PARTNER_AGENT: _PARTNER_PERMS,
    READ_ONLY: _READ_ONLY_PERMS,
}


def can_read_cases(user: object) -> bool:
    """Return whether USER may see cases at all (WORK_CASES or VIEW_CASES): the check for every read."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and (user.has_perm(WORK_CASES) or user.has_perm(VIEW_CASES))  # type: ignore[attr-defined]
    )
