"""The Tiski HTTP API: one NinjaAPI assembled from the routers, token-authenticated, errors as JSON."""

from __future__ import annotations

from ninja import NinjaAPI

from tiski.accounts.token_scopes import ALL_SCOPES
from tiski.api import callbacks, cases, customer_data, customers, identity, messages, records
from tiski.api.auth import TokenAuth
from tiski.api.errors import exception_handlers_install
from tiski.api.parser import ApiParser
from tiski.api.scopes import scoped_operations
from tiski.audit import api as audit_api
from tiski.automation import api as automation_api
from tiski.core.limits import limits_documented
from tiski.knowledge import api as knowledge_api
from tiski.proactive import api as proactive_api
from tiski.reports import api as reports_api
from tiski.surveys import api as surveys_api

DESCRIPTION = """\
The API of Tiski for integrators: customers, cases, messages and internal notes.

Authenticate every request with `Authorization: Bearer <token>`. Tokens are created on the console's
API tokens page or with `tiski create-token USER --scope SCOPE …`. A request can do what BOTH the token's
user may do and the token's scopes allow: each operation names the one scope it needs (in its description
and as `x-token-scope`); a token without it is answered 403 with the code `scope_missing`.
Scopes: SCOPES.

Errors are JSON: `{"detail": "<what went wrong>", "code": "<machine code>"}`; invalid input answers 422
with one entry per field in `errors`. Lists are paged with `limit` (at most 200) and `offset`; the
answer's `next` is the next page's URL.
""".replace("SCOPES", ", ".join(f"`{scope}`" for scope in ALL_SCOPES))

api = NinjaAPI(
    title="Tiski API",
    version="1",
    description=DESCRIPTION,
    auth=TokenAuth(),
    parser=ApiParser(),
    urls_namespace="api",
)
exception_handlers_install(api)
api.add_decorator(limits_documented, mode="view")  # the 413 and 429 of tiski.core.limits, in the schema
api.add_decorator(scoped_operations, mode="view")  # each operation's token scope, checked on authentication
api.add_router("", customers.router)
api.add_router("", cases.router)
api.add_router("", messages.router)
api.add_router("", identity.router)
api.add_router("", records.router)
api.add_router("", customer_data.router)
api.add_router("", callbacks.router)
api.add_router("", automation_api.router)
api.add_router("", proactive_api.router)
api.add_router("", knowledge_api.router)
api.add_router("", surveys_api.router)
api.add_router("", reports_api.router)
api.add_router("", audit_api.router)
