"""A mailbox is a Channel of kind email; its policy lives in Channel.config, with these defaults."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tiski.channels.models import Channel, ChannelKind

DEFAULT_RESPONSE_HOURS = {"low": 48, "normal": 24, "high": 8, "urgent": 2}


@dataclass(frozen=True)
class MailboxPolicy:
    address: str
    aliases: tuple[str, ...] = ()
    reopen_days: int | None = 30  # a reply to a case solved longer ago opens a new, linked case
    acknowledge: bool = True
    forwards_from_agents: bool = True  # an agent's forward is stored as from the original sender
    acknowledgements_per_hour: int = 3  # per sender: two auto-responders can never loop
    max_bytes: int = 25 * 1024 * 1024
    response_hours: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RESPONSE_HOURS))
    # Per language, a text replacing the built-in acknowledgement; $name, $reference, $hours, $subject
    # are filled in. A language without its own text gets the built-in one in that language.
    acknowledgement_texts: dict[str, str] = field(default_factory=dict)

    @property
    def reopen_within(self) -> timedelta | None:
        return timedelta(days=self.reopen_days) if self.reopen_days is not None else None

    @property
    def addresses(self) -> set[str]:
        return {self.address.lower(), *(alias.lower() for alias in self.aliases)} - {""}


def _int_or_none(value: Any, default: int | None) -> int | None:
    if value is None:
        return default
    if value == "" or value is False:
        return None
    return int(value)


def mailbox_policy(channel: Channel) -> MailboxPolicy:
    """Return CHANNEL's mailbox policy; raise ValueError naming the setting that is malformed."""
    config = channel.config or {}
    try:
        hours = {**DEFAULT_RESPONSE_HOURS, **{k: int(v) for k, v in (config.get("response_hours") or {}).items()}}
        return MailboxPolicy(
            address=channel.address.strip().lower(),
            aliases=tuple(str(a).strip().lower() for a in config.get("aliases", []) if str(a).strip()),
            reopen_days=_int_or_none(config.get("reopen_days"), 30),
            acknowledge=bool(config.get("acknowledge", True)),
            forwards_from_agents=bool(config.get("forwards_from_agents", True)),
            acknowledgements_per_hour=int(config.get("acknowledgements_per_hour", 3)),
            max_bytes=int(config.get("max_bytes", 25 * 1024 * 1024)),
            response_hours=hours,
            acknowledgement_texts={
                str(lang): str(text) for lang, text in (config.get("acknowledgement_texts") or {}).items()
            },
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"mailbox {channel.name}: a setting in its configuration is malformed ({exc})") from exc


def mailbox_for_address(address: str) -> Channel | None:
    """Return the active mailbox that receives mail for ADDRESS (its address or an alias), or None."""
    wanted = address.strip().lower()
    for channel in Channel.objects.filter(kind=ChannelKind.EMAIL, active=True).order_by("pk"):
        if wanted in mailbox_policy(channel).addresses:
            return channel
    return None


def mailbox_default() -> Channel | None:
    """Return the mailbox used when none is named: the one flagged default, else the first active one."""
    mailboxes = Channel.objects.filter(kind=ChannelKind.EMAIL, active=True).order_by("pk")
    return next((m for m in mailboxes if (m.config or {}).get("default")), None) or mailboxes.first()


_OUR_ADDRESSES_TTL_S = 30.0
_our_addresses_cache: tuple[float, frozenset[str]] | None = None


def our_addresses() -> frozenset[str]:
    """Return every address Tiski receives on; mail from these is a loop, never a customer.

    Read for every inbound mail, so it is kept for 30 seconds per process: a new mailbox is known as
    one of ours within that time.
    """
    global _our_addresses_cache
    now = time.monotonic()
    if _our_addresses_cache is None or now - _our_addresses_cache[0] > _OUR_ADDRESSES_TTL_S:
        _our_addresses_cache = (now, frozenset(_our_addresses_read()))
    return _our_addresses_cache[1]


def our_addresses_forget() -> None:
    """Drop the cached addresses (after a mailbox changed in this process, and in tests)."""
    global _our_addresses_cache
    _our_addresses_cache = None


def _our_addresses_read() -> set[str]:
    addresses: set[str] = set()
    for channel in Channel.objects.filter(kind__in=[ChannelKind.EMAIL, ChannelKind.WEBFORM]):
        if channel.kind == ChannelKind.EMAIL:
            addresses |= mailbox_policy(channel).addresses
        elif channel.address:
            addresses.add(channel.address.strip().lower())
    return addresses
