"""Bearer-token authentication for integrators: `Authorization: Bearer <token>`."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer

from tiski.accounts.roles import can_read_cases
from tiski.accounts.selectors import api_token_get
from tiski.api.errors import ApiError


class TokenAuth(HttpBearer):
    """Resolve the bearer token to its active user; answer 401 with the reason otherwise.

    With SCOPE, the operation needs that token scope as well: a token without it is answered 403 naming the
    scope. With no scope (an operation nobody gave one yet) every token is refused.
    """

    def __init__(self, *, scope: str | None = None) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest) -> User:
        header = request.headers.get("Authorization", "").strip()
        if not header:
            raise ApiError(
                401, "not_authenticated", "Authentication required: send the header Authorization: Bearer <token>."
            )
        scheme, _space, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "not_authenticated", 'The Authorization header must read "Bearer <token>".')
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> User:
        api_token = api_token_get(raw=token)
        if api_token is None:
            raise ApiError(401, "token_invalid", "The API token is unknown, revoked, or its user is inactive.")
        if self.scope is None:
            raise ApiError(
                403, "scope_undefined", "This operation has no token scope yet, so no token may use it.", scopes=[]
            )
        if self.scope not in api_token.scopes:
            raise ApiError(
                403,
                "scope_missing",
                f"This token lacks the scope {self.scope}, which this operation needs; create a token with that scope.",
                required_scope=self.scope,
                scopes=list(api_token.scopes),
            )
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


def current_user(request: HttpRequest) -> User:
    """Return the user the request's token belongs to."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise ApiError(401, "not_authenticated", "Authentication required.")
    return user


def require_case_reader(request: HttpRequest) -> User:
    """Return the request's user; raise a 403 ApiError unless the user may see cases (agents and read-only users)."""
    user = current_user(request)
    if not can_read_cases(user):
        raise ApiError(403, "permission_denied", "Your account does not have permission to see cases.")
    return user


def require_perm(request: HttpRequest, perm: str, doing: str) -> User:
    """Return the request's user; raise a 403 ApiError naming DOING when the user lacks PERM."""
    user = current_user(request)
    if not user.has_perm(perm):
        raise ApiError(403, "permission_denied", f"Your account does not have permission to {doing}.")
    return user
