class TokenUserUnknownError(Exception):
    """No active user has the given username."""
