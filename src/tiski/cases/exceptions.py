class CaseError(Exception):
    """Base of the case domain's errors; the message is meant for the person who caused it."""


class CaseNotFoundError(CaseError):
    pass


class CaseClosedError(CaseError):
    pass


class CaseReplyError(CaseError):
    """A reply cannot be sent, e.g. the customer has no handle on the case's channel."""


class CasePermissionError(CaseError):
    pass


class CaseInvalidError(CaseError):
    pass


class MessageImmutableError(Exception):
    """A message cannot be changed: inbound messages are stored as they arrived."""


class MessageNotSentError(Exception):
    """A delivery report came for a message that has not left Tiski yet."""
