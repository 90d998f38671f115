"""Bearer-token authentication for integrators: `Authorization: Bearer <token>`."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer

from tiski.accounts.selectors import api_token_user
from tiski.api.errors import ApiError


class TokenAuth(HttpBearer):
    """Resolve the bearer token to its active user; answer 401 with the reason otherwise."""

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
        user = api_token_user(raw=token)
        if user is None:
            raise ApiError(401, "token_invalid", "The API token is unknown, revoked, or its user is inactive.")
        return user


def current_user(request: HttpRequest) -> User:
    """Return the user the request's token belongs to."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise ApiError(401, "not_authenticated", "Authentication required.")
    return user


def require_perm(request: HttpRequest, perm: str, doing: str) -> User:
    """Return the request's user; raise a 403 ApiError naming DOING when the user lacks PERM."""
    user = current_user(request)
    if not user.has_perm(perm):
        raise ApiError(403, "permission_denied", f"Your account does not have permission to {doing}.")
    return user
