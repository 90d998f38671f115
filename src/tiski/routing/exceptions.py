class RoutingError(Exception):
    """A routing change cannot be made (the offer is gone, the agent has no room, …).

    The message is meant for the person who asked for the change.
    """


class RoutingPermissionError(RoutingError):
    """The actor may not make this routing change (e.g. move another agent's work without supervising)."""
