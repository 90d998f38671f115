"""The web-form channel: contacts come from Tiski's own public form, replies go out by email."""

from __future__ import annotations

from tiski.channels.email.adapter import EmailAdapter
from tiski.channels.interface import adapter_register
from tiski.channels.models import ChannelKind


@adapter_register
class WebformAdapter(EmailAdapter):
    """Reply by email, from the form's reply address (the channel's address, else the default sender)."""

    kind = ChannelKind.WEBFORM
