"""Provider secrets of a channel: named in the channel's settings in the admin, read from the environment.

A channel's settings (Channel.config, edited in the admin) hold the provider's public identifiers (account
SID, phone number id, page id) and, under "secrets", the names of the environment variables that hold its
secrets (auth token, app secret, access token). The secret itself is never stored in the database, so a
database dump or the admin never shows it; several numbers or pages each name their own variables.

    {"account_sid": "AC…", "secrets": {"auth_token": "TISKI_TWILIO_SUPPORT_TOKEN"}}
"""

from __future__ import annotations

import os

from tiski.channels.exceptions import ChannelConfigError
from tiski.channels.models import Channel


def channel_secret(channel: Channel, name: str) -> str:
    """Return CHANNEL's secret NAME from the environment variable its settings name; raise ChannelConfigError
    when the settings name none or the variable is unset or empty."""
    secrets = (channel.config or {}).get("secrets") or {}
    variable = secrets.get(name) if isinstance(secrets, dict) else None
    if not variable or not isinstance(variable, str):
        raise ChannelConfigError(
            f'Channel "{channel}" names no environment variable for its {name}: '
            f'set "secrets": {{"{name}": "VARIABLE_NAME"}} in its settings in the admin.'
        )
    value = os.environ.get(variable, "")
    if not value:
        raise ChannelConfigError(f'The environment variable {variable} (the {name} of channel "{channel}") is not set.')
    return value


def channel_setting(channel: Channel, name: str) -> str:
    """Return CHANNEL's non-secret setting NAME; raise ChannelConfigError when it is missing."""
    value = (channel.config or {}).get(name)
    if value in (None, ""):
        raise ChannelConfigError(f'Channel "{channel}" has no "{name}" in its settings (admin → Channels).')
    return str(value)
