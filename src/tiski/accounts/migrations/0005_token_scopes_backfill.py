"""Give the API tokens issued before scopes existed every scope, so they keep working as before.

Tokens are checked against their scopes from now on and a token without scopes may do nothing; the tokens
made before (scopes == []) could do everything their user may, which is what every scope gives them.
The list is frozen here on purpose: scopes added later are not granted to old tokens.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

SCOPES_AT_THE_TIME = [
    "cases:read",
    "cases:write",
    "customers:read",
    "customers:write",
    "records:write",
    "gdpr",
    "callbacks:write",
    "events:write",
    "knowledge:read",
    "knowledge:write",
    "surveys:write",
    "reports:read",
    "automation:read",
    "automation:write",
    "audit:read",
]


def backfill(apps: Any, schema_editor: Any) -> None:
    api_token = apps.get_model("accounts", "ApiToken")
    for token in api_token.objects.only("pk", "scopes"):
        if not token.scopes:
            token.scopes = list(SCOPES_AT_THE_TIME)
            token.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_partners_and_token_scopes")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
