"""The client behind a request: its address, read through the reverse proxies Tiski trusts."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    """Return the client's address: the peer, or the X-Forwarded-For hop a trusted proxy vouches for.

    TISKI_TRUSTED_PROXIES lists the addresses or networks of the reverse proxies in front of Tiski
    (comma-separated); X-Forwarded-For is read only when the peer is one of them.
    """
    return _client_address(request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""))


def scope_client_ip(scope: Mapping[str, Any]) -> str:
    """client_ip for an ASGI connection scope (a WebSocket): its peer and its X-Forwarded-For header."""
    client = scope.get("client") or ("",)
    forwarded = b",".join(value for name, value in scope.get("headers", ()) if name.lower() == b"x-forwarded-for")
    return _client_address(str(client[0] or ""), forwarded.decode("latin-1"))


def _client_address(peer: str, forwarded_for: str) -> str:
    peer = peer or "unknown"
    trusted = _trusted_proxies()
    if not trusted or not _in_networks(peer, trusted):
        return peer
    forwarded = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if not _valid_ip(hop):
            return peer
        if not _in_networks(hop, trusted):
            return hop
    return forwarded[0] if forwarded else peer


def _trusted_proxies() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in settings.TISKI_TRUSTED_PROXIES:
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                logger.warning("TISKI_TRUSTED_PROXIES: %r is not an address or network; ignored", item.strip())
    return networks


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _in_networks(address: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
