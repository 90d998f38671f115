class IdentityInvalidError(ValueError):
    """A handle cannot be normalised for its kind (a malformed email address or phone number)."""


class IdentityTakenError(Exception):
    """A handle belongs to another customer already; CUSTOMER_ID is that customer."""

    def __init__(self, message: str, *, customer_id: int) -> None:
        super().__init__(message)
        self.customer_id = customer_id


class TimelineCursorInvalidError(ValueError):
    """A timeline cursor ("load older" position) is malformed: it was not made by customer_timeline()."""


class TimelineFilterInvalidError(ValueError):
    """A timeline filter names an entry kind or channel kind that does not exist."""


class CustomerMergeError(ValueError):
    """Two customers cannot be merged: they are the same customer, or one of them is erased."""


class IdentitySplitError(ValueError):
    """An identity cannot be split off: it is the customer's only one, or the customer is erased."""


class SuggestionDecidedError(ValueError):
    """The match suggestion was accepted or rejected already."""


class RecordNotFoundError(LookupError):
    """No external record has the given source and external id."""


class RecordPermissionError(PermissionError):
    """The user may not change external records (customers.change_externalrecord)."""


class RecordSourceUnknownError(ValueError):
    """Records name a source system that is not configured (Customers › Source systems in the admin)."""


class SignalRuleInvalidError(ValueError):
    """A signal rule's conditions name an unknown field or operator, or a value of the wrong type."""


class CustomerErasedError(ValueError):
    """The customer's personal data has been erased already: it cannot be erased again."""


class CustomerEraseConfirmationError(ValueError):
    """An erasure was not confirmed by repeating the customer's id."""
