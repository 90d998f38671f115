class IdentityInvalidError(ValueError):
    """A handle cannot be normalised for its kind (a malformed email address or phone number)."""
