"""The Tiski HTTP API: one NinjaAPI assembled from the routers, token-authenticated, errors as JSON."""

from __future__ import annotations

from ninja import NinjaAPI

from tiski.api import callbacks, cases, customer_data, customers, identity, messages, records
from tiski.api.auth import TokenAuth
from tiski.api.errors import exception_handlers_install
from tiski.api.parser import ApiParser
from tiski.automation import api as automation_api
from tiski.knowledge import api as knowledge_api
from tiski.proactive import api as proactive_api
from tiski.reports import api as reports_api
from tiski.surveys import api as surveys_api

DESCRIPTION = """\
The API of Tiski for integrators: customers, cases, messages and internal notes.

Authenticate every request with `Authorization: Bearer <token>`. Tokens are created in the admin or
with `tiski create-token USER`; a request can do what the token's user may do.

Errors are JSON: `{"detail": "<what went wrong>", "code": "<machine code>"}`; invalid input answers 422
with one entry per field in `errors`. Lists are paged with `limit` (at most 200) and `offset`; the
answer's `next` is the next page's URL.
"""

api = NinjaAPI(
    title="Tiski API",
    version="1",
    description=DESCRIPTION,
    auth=TokenAuth(),
    parser=ApiParser(),
    urls_namespace="api",
)
exception_handlers_install(api)
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
