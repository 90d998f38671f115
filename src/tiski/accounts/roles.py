"""The three roles, as Django groups, and the permissions each one holds.

Permission checks in views and the API use ``user.has_perm(...)`` with these codenames, never the group
names, so a company can shape its own roles in the admin.
"""

from __future__ import annotations

from typing import Final

AGENT: Final = "agent"
TEAM_LEAD: Final = "team lead"
ADMINISTRATOR: Final = "administrator"
ROLES: Final = (AGENT, TEAM_LEAD, ADMINISTRATOR)

# Permission "app_label.codename" strings used throughout the code.
WORK_CASES: Final = "cases.work_case"  # see the inbox, open cases, reply, note, change status/priority
ASSIGN_ANY: Final = "cases.assign_any"  # assign a case to another agent or team
VIEW_CUSTOMERS: Final = "customers.view_customer"
CHANGE_CUSTOMERS: Final = "customers.change_customer"
MERGE_CUSTOMERS: Final = "customers.merge_customer"  # merge two customers, split an identity off
EXPORT_CUSTOMERS: Final = "customers.export_customer"  # GDPR: everything about a customer as JSON
ERASE_CUSTOMERS: Final = "customers.erase_customer"  # GDPR: anonymise a customer
CHANGE_RECORDS: Final = "customers.change_externalrecord"  # upsert and import external records
MANAGE_TOKENS: Final = "accounts.manage_tokens"  # create and revoke API tokens for any user
VIEW_SENT_MAIL: Final = "accounts.view_sent_mail"  # the local mailbox of `tiski demo`
VIEW_QUARANTINE: Final = "tiski_channels.view_quarantinedmail"  # mail that could not be stored, kept raw
CHANGE_QUARANTINE: Final = "tiski_channels.change_quarantinedmail"  # re-process or dismiss it
SUPERVISE: Final = "routing.supervise"  # the live supervisor view; reassign work, set others' presence
VIEW_ARTICLES: Final = "knowledge.view_article"  # read internal knowledge articles in the console
WRITE_ARTICLES: Final = "knowledge.change_article"  # write articles and their language versions (as drafts)
PUBLISH_ARTICLES: Final = "knowledge.publish_article"  # review, publish and archive articles
PARTNER_ARTICLES: Final = "knowledge.view_partner_articles"  # read partner articles in the partner portal
VIEW_REPORTS: Final = "reports.view_reports"  # every report, dashboard, export and the reports API
VIEW_OWN_FIGURES: Final = "reports.view_own_figures"  # one's own figures (the agent's report page)

_AGENT_PERMS = [WORK_CASES, VIEW_CUSTOMERS, CHANGE_CUSTOMERS, "customers.add_customer"]
_AGENT_PERMS += [VIEW_ARTICLES, WRITE_ARTICLES, "knowledge.add_article"]  # read and draft knowledge articles
_AGENT_PERMS += [VIEW_OWN_FIGURES]
_LEAD_PERMS = [*_AGENT_PERMS, ASSIGN_ANY, MERGE_CUSTOMERS, SUPERVISE]
_LEAD_PERMS += ["macros.manage_shared_macros"]  # create and change shared macros (tiski.macros)
_LEAD_PERMS += [PUBLISH_ARTICLES]  # review, publish and archive knowledge articles
_LEAD_PERMS += ["surveys.view_surveyresponse"]  # the survey responses page and API (tiski.surveys)
_LEAD_PERMS += [VIEW_REPORTS]  # dashboards, reports, exports (tiski.reports)
_ADMIN_PERMS = [*_LEAD_PERMS, MANAGE_TOKENS, VIEW_SENT_MAIL]

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
}
