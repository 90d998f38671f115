class FollowInvalidError(ValueError):
    """A follow names no target or more than one (a customer, an organisation or a case: exactly one)."""


class FollowPermissionError(PermissionError):
    """The user may not follow anything: following is for agents who work on cases."""


class FollowTargetNotFoundError(LookupError):
    """The customer, organisation or case to follow does not exist."""
