"""Errors of the chat channel; each carries the code the widget receives in an ``error`` frame."""

from __future__ import annotations


class ChatError(Exception):
    """Base of the chat errors: CODE is machine-readable, the message is shown to the customer."""

    code = "chat_error"


class ChatIdentityInvalidError(ChatError):
    """A shop's identity token is malformed or its signature does not match."""

    code = "identity_invalid"


class ChatIdentityExpiredError(ChatError):
    """A shop's identity token is past its expiry."""

    code = "identity_expired"


class ChatPrechatInvalidError(ChatError):
    """The pre-chat form is missing what the widget requires, or an address is malformed."""

    code = "prechat_invalid"


class ChatSessionUnknownError(ChatError):
    """No chat session has this token (on this channel)."""

    code = "session_unknown"


class ChatSessionEndedError(ChatError):
    """The chat was ended; a new one must be started."""

    code = "session_ended"


class ChatMessageInvalidError(ChatError):
    """A chat message is empty, too long or carries an unacceptable file."""

    code = "message_invalid"


class ChatOfflineUnavailableError(ChatError):
    """Leaving a message is not possible: no email channel is configured for it."""

    code = "offline_unavailable"


class ChatNoEmailError(ChatError):
    """A transcript was asked for, but no email address is known for the customer."""

    code = "no_email"
