"""The audited actions: their codes and what the console calls them."""

from __future__ import annotations

from typing import Final

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# code → label, grouped as the console's action filter shows them.
ACTION_LABELS: Final[dict[str, Promise]] = {
    "auth.login": _("Signed in"),
    "auth.login_failed": _("Sign-in failed"),
    "auth.logout": _("Signed out"),
    "role.change": _("Role changed"),
    "permission.change": _("Permissions changed"),
    "token.create": _("API token created"),
    "token.revoke": _("API token revoked"),
    "customer.view_full": _("Customer's full data viewed"),
    "customer.merge": _("Customers merged"),
    "customer.split": _("Customer split"),
    "customer.export": _("Customer data exported (GDPR)"),
    "customer.erase": _("Customer erased (GDPR)"),
    "report.export": _("Report exported"),
    "rule.create": _("Rule created"),
    "rule.change": _("Rule changed"),
    "rule.delete": _("Rule deleted"),
    "macro.bulk_apply": _("Macro applied in bulk"),
    "audit.export": _("Audit log exported"),
}

# The tone of each action's chip: "bad" for what an administrator looks at first.
ACTION_TONES: Final[dict[str, str]] = {
    "auth.login_failed": "bad",
    "customer.erase": "bad",
    "customer.export": "warn",
    "report.export": "warn",
    "audit.export": "warn",
    "role.change": "warn",
    "permission.change": "warn",
    "token.create": "warn",
    "customer.view_full": "warn",
}


# The keys of an entry's detail as the console's table shows them (the export and the API keep the keys).
DETAIL_LABELS: Final[dict[str, Promise]] = {
    "added": _("added"),
    "removed": _("removed"),
    "user": _("user"),
    "scopes": _("scopes"),
    "cases": _("cases"),
    "merged": _("merged"),
    "new_customer": _("new customer"),
    "fields": _("fields"),
    "figure": _("figure"),
    "format": _("format"),
    "via": _("via"),
    "is_staff": _("Django admin access"),
    "is_superuser": _("superuser"),
}


def action_label(code: str) -> str:
    """Return the console's name for action CODE (the code itself when unknown)."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code
