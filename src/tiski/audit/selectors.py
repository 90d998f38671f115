"""Reads of the audit log: the filter administrators search it with."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date

from tiski.audit.models import AuditEntry

VIEW_AUDIT = "audit.view_auditentry"


class AuditFilterError(ValueError):
    """A filter value that cannot be read (a date that is not a date, an address that is not one)."""


@dataclass(frozen=True)
class AuditFilter:
    """What to look for: every field optional; dates are whole days in the current time zone."""

    actor: str = ""
    action: str = ""
    target: str = ""
    ip: str = ""
    start: date | None = None
    end: date | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> AuditFilter:
        """Read the filter from a query string (actor, action, target, ip, from, to); raise AuditFilterError."""
        start, end = _date(query.get("from", ""), "from"), _date(query.get("to", ""), "to")
        if start and end and end < start:
            raise AuditFilterError("to: the end is before the start")
        ip = query.get("ip", "").strip()
        if ip:
            try:
                ipaddress.ip_network(ip, strict=False)
            except ValueError:
                raise AuditFilterError(f"ip: {ip!r} is not an address or network") from None
        return cls(
            actor=query.get("actor", "").strip()[:150],
            action=query.get("action", "").strip()[:64],
            target=query.get("target", "").strip()[:200],
            ip=ip,
            start=start,
            end=end,
        )

    def to_query(self) -> dict[str, str]:
        """Return the filter as query-string values (empty ones left out)."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "ip": self.ip,
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
        }
        return {key: value for key, value in values.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.to_query())


def _date(value: str, name: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = parse_date(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise AuditFilterError(f"{name}: {value!r} is not a date (YYYY-MM-DD)")
    return parsed


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_entries(*, flt: AuditFilter) -> QuerySet[AuditEntry]:
    """Return the entries matching FLT, newest first.

    actor: a username (exact, case-insensitive; also matches deleted users by their label);
    action: a code (`auth.login`) or a family (`auth` or `auth.`); target: text in the label, or `#id`;
    ip: an address or a network (`10.0.0.0/8`, matched by prefix for IPv4 /8, /16, /24 and exactly otherwise).
    """
    qs = AuditEntry.objects.select_related("actor", "target_type")
    if flt.actor:
        qs = qs.filter(Q(actor__username__iexact=flt.actor) | Q(actor_label__iexact=flt.actor))
    if flt.action:
        family = flt.action.rstrip(".")
        qs = qs.filter(action=flt.action) if "." in family else qs.filter(action__startswith=family + ".")
    if flt.target:
        if flt.target.startswith("#") and flt.target[1:].isdigit():
            qs = qs.filter(Q(target_id=flt.target[1:]) | Q(target_label__icontains=flt.target))
        else:
            qs = qs.filter(target_label__icontains=flt.target)
    if flt.ip:
        qs = qs.filter(_ip_q(flt.ip))
    if flt.start:
        qs = qs.filter(at__gte=_midnight(flt.start))
    if flt.end:
        qs = qs.filter(at__lt=_midnight(flt.end + timedelta(days=1)))
    return qs.order_by("-at", "-id")


def _ip_q(value: str) -> Q:
    network = ipaddress.ip_network(value, strict=False)
    if network.num_addresses == 1:
        return Q(ip=str(network.network_address))
    if network.version == 4 and network.prefixlen in (8, 16, 24):
        octets = str(network.network_address).split(".")[: network.prefixlen // 8]
        return Q(ip__startswith=".".join(octets) + ".")
    # Any other network: compare in Python over the addresses seen, which are few next to the entries.
    seen = AuditEntry.objects.exclude(ip="").values_list("ip", flat=True).distinct()
    inside = [ip for ip in seen if _in(ip, network)]
    return Q(ip__in=inside)


def _in(ip: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(ip) in network
    except ValueError:
        return False


def audit_actors() -> list[str]:
    """Return the actor labels seen in the log, for the actor filter's suggestions (at most 500)."""
    labels = AuditEntry.objects.exclude(actor_label="").values_list("actor_label", flat=True).distinct()
    return sorted(labels.order_by()[:500], key=str.casefold)
