class ChannelError(Exception):
    """Base of the channel layer's errors."""


class ChannelKindUnknownError(ChannelError):
    """No adapter is registered for a channel kind."""


class DeliveryError(ChannelError):
    """A provider refused or could not take an outbound message; the outbox retries it."""


class DeliveryPermanentError(DeliveryError):
    """A provider refused an outbound message for good (no recipient, invalid address): not retried."""


class InboundInvalidError(ChannelError):
    """An inbound contact cannot be stored as given; the message says why."""


class ChannelConfigError(ChannelError):
    """A channel lacks a setting or secret it needs; the message names it and where to set it."""
