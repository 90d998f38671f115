class TokenUserUnknownError(Exception):
    """No active user has the given username."""


class TokenScopeError(ValueError):
    """An API token was asked for without scopes or with a name that is not a scope."""
