class IdentityInvalidError(ValueError):
    """A handle cannot be normalised for its kind (a malformed email address or phone number)."""


class IdentityTakenError(Exception):
    """A handle belongs to another customer already; CUSTOMER_ID is that customer."""

    def __init__(self, message: str, *, customer_id: int) -> None:
        super().__init__(message)
        self.customer_id = customer_id
