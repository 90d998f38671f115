"""Template helpers of the customer 360° view: signal lights, money, record states, customer event sentences."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django import template
from django.urls import get_urlconf, reverse
from django.utils import formats, timezone
from django.utils.dates import MONTHS_3
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext_lazy, pgettext_lazy
from django.utils.translation import gettext as _

from tiski.customers.models import CustomerEvent, ExternalRecord

register = template.Library()

# Traffic-light shapes, so that the level reads without colour too: a stop sign, a warning triangle, a dot.
_LIGHT = {
    "red": '<path d="M5.1 1.5h5.8l3.6 3.6v5.8l-3.6 3.6H5.1l-3.6-3.6V5.1z"/>',
    "amber": '<path d="M8 1.6 15 14H1z"/>',
    "green": '<circle cx="8" cy="8" r="6.2"/>',
}
_LEVEL_TEXT = {"red": gettext_lazy("Alert"), "amber": gettext_lazy("Attention"), "green": gettext_lazy("Good to know")}
_LEVEL_RANK = {"red": 0, "amber": 1, "green": 2}


def _light_svg(level: str) -> SafeString:
    return format_html(
        '<svg class="light light--{}" viewBox="0 0 16 16" width="10" height="10" aria-hidden="true" '
        'focusable="false">{}</svg>',
        level,
        SafeString(_LIGHT.get(level, _LIGHT["amber"])),
    )


@register.simple_tag
def light(level: str) -> SafeString:
    """Return the traffic-light shape of LEVEL (decorative: the label says it in words)."""
    return _light_svg(level)


def _ordered(signals: Sequence[Any]) -> list[Any]:
    return sorted(signals, key=lambda s: _LEVEL_RANK.get(s.level, 3))


@register.simple_tag
def signal_chips(signals: Sequence[Any] | None) -> SafeString:
    """Return each signal as a chip: its light, its label, the detail on hover; the worst first."""
    if not signals:
        return SafeString("")
    chips = format_html_join(
        "",
        '<li class="signal signal--{}" title="{}">{}<span class="visually-hidden">{}: </span>{}</li>',
        (
            (s.level, s.detail or s.label, _light_svg(s.level), _LEVEL_TEXT.get(s.level, ""), s.label)
            for s in _ordered(signals)
        ),
    )
    return format_html('<ul class="signals" aria-label="{}">{}</ul>', _("Signals"), chips)


@register.simple_tag
def signal_mini(signals: Sequence[Any] | None, label: bool = True) -> SafeString:
    """Return a row's signals compactly: every light, the worst one's LABEL and the rest counted (all on hover).

    Without LABEL only the lights show (their shapes tell the level); the labels are read out and on hover.
    """
    if not signals:
        return SafeString("")
    ordered = _ordered(signals)
    everything = "; ".join(f"{s.label}{' – ' + s.detail if s.detail else ''}" for s in ordered)
    lights = format_html_join("", "{}", ((_light_svg(s.level),) for s in ordered))
    if not label:
        return format_html(
            '<span class="signal-mini" title="{}"><span class="signal-mini__lights" aria-hidden="true">{}</span>'
            '<span class="visually-hidden">{}: {}</span></span>',
            everything,
            lights,
            _("Signals"),
            everything,
        )
    more = len(ordered) - 1
    return format_html(
        '<span class="signal-mini signal-mini--{}" title="{}"><span class="signal-mini__lights" aria-hidden="true">{}'
        '</span><span class="signal-mini__label" aria-hidden="true">{}</span>{}<span class="visually-hidden">{}: {}'
        "</span></span>",
        ordered[0].level,
        everything,
        lights,
        ordered[0].label,
        format_html('<span class="signal-mini__more" aria-hidden="true">+{}</span>', more) if more else "",
        _("Signals"),
        everything,
    )


_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "SEK": "kr", "NOK": "kr", "DKK": "kr", "JPY": "¥", "CHF": "CHF"}


@register.filter
def money(amount: Decimal | None, currency: str = "") -> str:
    """Return AMOUNT with its currency as the active language writes it: "1 234,50 €" or "€1,234.50"."""
    if amount is None:
        return ""
    number = formats.number_format(amount, 2, use_l10n=True, force_grouping=True)
    code = (currency or "").upper()
    symbol = _SYMBOLS.get(code, code)
    if not symbol:
        return number
    if (get_language() or "").startswith("fi") or len(symbol) > 1:
        return f"{number}\u00a0{symbol}"
    return f"{symbol}{number}"


@register.filter
def short_date(value: date | None) -> str:
    """Return a compact date in the active language: "21.11.2026" or "21 Nov 2026"."""
    if value is None:
        return ""
    if (get_language() or "").startswith("fi"):
        return f"{value.day}.{value.month}.{value.year}"
    return f"{value.day} {str(MONTHS_3[value.month]).title()} {value.year}"


@register.filter
def days_from_today(value: date | None) -> int | None:
    """Return how many days VALUE is after today (negative: in the past)."""
    if value is None:
        return None
    return (value - timezone.localdate()).days


# Statuses the source systems commonly use, translated; anything else is shown as written (underscores → spaces).
_STATUS = {
    "open": gettext_lazy("open"),
    "draft": gettext_lazy("draft"),
    "new": gettext_lazy("new"),
    "ordered": gettext_lazy("ordered"),
    "processing": gettext_lazy("processing"),
    "in_progress": gettext_lazy("in progress"),
    "shipped": gettext_lazy("shipped"),
    "delivered": gettext_lazy("delivered"),
    "cancelled": gettext_lazy("cancelled"),
    "returned": gettext_lazy("returned"),
    "paid": gettext_lazy("paid"),
    "unpaid": gettext_lazy("unpaid"),
    "overdue": gettext_lazy("overdue"),
    "reminded": gettext_lazy("reminder sent"),
    "in_collection": gettext_lazy("in collection"),
    "credited": gettext_lazy("credited"),
    "sent": gettext_lazy("sent"),
    "accepted": gettext_lazy("accepted"),
    "rejected": gettext_lazy("rejected"),
    "expired": gettext_lazy("expired"),
    "active": gettext_lazy("active"),
    "ended": gettext_lazy("ended"),
    "terminated": gettext_lazy("terminated"),
    "scheduled": gettext_lazy("scheduled"),
    "completed": gettext_lazy("completed"),
    "closed": pgettext_lazy("record status", "closed"),
    "in_service": gettext_lazy("in service"),
    "needs_service": gettext_lazy("needs service"),
    "good": gettext_lazy("good"),
    "fair": gettext_lazy("fair"),
    "poor": gettext_lazy("poor"),
    "broken": gettext_lazy("broken"),
    "excellent": gettext_lazy("excellent"),
    "in_use": gettext_lazy("in use"),
    "done": gettext_lazy("done"),
    "answered": gettext_lazy("answered"),
}
_TONE = {
    "bad": {"overdue", "in_collection", "cancelled", "rejected", "broken", "poor", "terminated", "failed", "huono"},
    "warn": {"unpaid", "reminded", "needs_service", "fair", "expired", "tyydyttävä", "välttävä"},
    "ok": {"delivered", "paid", "accepted", "active", "completed", "good", "excellent", "credited", "hyvä"}
    | {"erinomainen", "kiitettävä"},
}


def _status_tone(status: str) -> str:
    return next((tone for tone, statuses in _TONE.items() if status in statuses), "plain")


@register.simple_tag
def record_status(status: str) -> SafeString:
    """Return a record's status as a chip; colour follows the meaning, the text is always there."""
    if not status:
        return SafeString("")
    label = _STATUS.get(status, status.replace("_", " "))
    return format_html('<span class="chip chip--{}">{}</span>', _status_tone(status), label)


@register.simple_tag
def record_condition(record: ExternalRecord) -> SafeString:
    """Return an asset's condition (attributes.condition) as a chip, or nothing."""
    condition = str((record.attributes or {}).get("condition", "") or "")
    if not condition:
        return SafeString("")
    key = condition.strip().lower().replace(" ", "_")
    label = _STATUS.get(key, condition)
    return format_html('<span class="chip chip--{}">{}</span>', _status_tone(key), label)


@register.filter
def attribute(record: ExternalRecord, key: str) -> Any:
    """Return RECORD.attributes[KEY], or ""."""
    value = (record.attributes or {}).get(key, "")
    return "" if value is None else value


_RECORD_PLURAL = {
    "order": gettext_lazy("Orders"),
    "invoice": gettext_lazy("Invoices"),
    "offer": gettext_lazy("Offers"),
    "contract": gettext_lazy("Contracts"),
    "asset": gettext_lazy("Products and assets"),
    "visit": gettext_lazy("Service visits"),
    "survey": gettext_lazy("Survey answers"),
}


@register.filter
def record_kind_plural(kind: str) -> str:
    return str(_RECORD_PLURAL.get(kind, kind))


def _actor(event: CustomerEvent) -> str:
    if event.actor is None:
        return _("Tiski")
    return event.actor.get_full_name() or event.actor.get_username()


def _customer_link(customer_id: Any, name: Any) -> SafeString:
    if not customer_id:
        return format_html("{}", name or "–")
    url = reverse("console:customer", args=[customer_id])
    return format_html('<a href="{}">{}</a>', url, name or f"#{customer_id}")


_FIELD_LABEL = {
    "name": gettext_lazy("name"),
    "language": gettext_lazy("language"),
    "tier": gettext_lazy("tier"),
    "organization": gettext_lazy("organisation"),
    "address": gettext_lazy("address"),
    "interests": gettext_lazy("interests"),
    "notes": gettext_lazy("notes"),
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@register.simple_tag
def customer_event_text(event: CustomerEvent) -> SafeString:
    """Return one sentence that tells what EVENT did to the customer, in the active language.

    The data is as customers.services writes it: "merged" {id, name}, "identity" {kind, value},
    "to_customer"/"from_customer", "candidate" {id, name}, "field"/"old"/"new", "value".
    """
    data = _dict(event.data)
    actor = _actor(event)
    kind = event.kind
    if kind in (CustomerEvent.Kind.MERGED, CustomerEvent.Kind.LINKED):
        merged = _dict(data.get("merged"))
        identities = ", ".join(str(i.get("value", "")) for i in data.get("identities") or [] if isinstance(i, dict))
        if kind == CustomerEvent.Kind.LINKED:
            if identities:
                return format_html(_("{actor} linked {handles} to this customer"), actor=actor, handles=identities)
            return format_html(_("{actor} linked a new contact to this customer"), actor=actor)
        name = merged.get("name") or (f"#{merged['id']}" if merged.get("id") else "")
        return format_html(_("{actor} merged customer {other} into this one"), actor=actor, other=name or "–")
    if kind == CustomerEvent.Kind.SPLIT:
        identity = str(_dict(data.get("identity")).get("value", ""))
        if data.get("to_customer"):
            target = _customer_link(data["to_customer"], f"#{data['to_customer']}")
            return format_html(
                _("{actor} split {identity} off to a new customer {customer}"),
                actor=actor,
                identity=identity,
                customer=target,
            )
        if data.get("from_customer"):
            source = _customer_link(data["from_customer"], f"#{data['from_customer']}")
            return format_html(
                _("{actor} split {identity} off customer {customer} to this one"),
                actor=actor,
                identity=identity,
                customer=source,
            )
        return format_html(_("{actor} split {identity} off"), actor=actor, identity=identity)
    if kind == CustomerEvent.Kind.SUGGESTION_REJECTED:
        candidate = _dict(data.get("candidate"))
        if candidate.get("name"):
            return format_html(
                _("{actor} marked this customer as not the same as {other}"),
                actor=actor,
                other=_customer_link(candidate.get("id"), candidate["name"]),
            )
        return format_html(_("{actor} marked a suggested match as not the same customer"), actor=actor)
    if kind in (CustomerEvent.Kind.IDENTITY_ADDED, CustomerEvent.Kind.IDENTITY_REMOVED):
        value = str(data.get("value", ""))
        if kind == CustomerEvent.Kind.IDENTITY_ADDED:
            return format_html(_("{actor} added {value}"), actor=actor, value=value)
        return format_html(_("{actor} removed {value}"), actor=actor, value=value)
    if kind == CustomerEvent.Kind.MARKETING:
        if data.get("suppressed"):
            return format_html("{}", _("Marketing paused: an open complaint"))
        return format_html("{}", _("Marketing allowed again"))
    if kind == CustomerEvent.Kind.UPDATED and data.get("field"):
        field = str(data["field"])
        return format_html(
            _("{actor} changed the {field}"), actor=actor, field=_FIELD_LABEL.get(field, field.replace("_", " "))
        )
    if kind == CustomerEvent.Kind.EXPORTED:
        return format_html(_("{actor} exported the customer's data"), actor=actor)
    if kind == CustomerEvent.Kind.ERASED:
        return format_html(_("{actor} erased the customer's personal data"), actor=actor)
    if kind == CustomerEvent.Kind.CREATED:
        return format_html("{}", _("Customer created"))
    return format_html("{} · {}", event.get_kind_display(), actor)


@register.filter
def display_name(customer: Any) -> str:
    """Return the customer's name; "Erased customer #12" after erasure, "Customer #12" without a name."""
    if customer is None or isinstance(customer, str):
        return customer or ""
    if getattr(customer, "erased_at", None) is not None:
        return _("Erased customer #%(number)s") % {"number": customer.pk}
    return str(customer.name) if customer.name else _("Customer #%(number)s") % {"number": customer.pk}


_REASON_KIND = {
    "name": gettext_lazy("Name"),
    "organization": gettext_lazy("Organisation"),
    "organisation": gettext_lazy("Organisation"),
    "domain": gettext_lazy("Email domain"),
    "email": gettext_lazy("Email"),
    "local_part": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "profile": gettext_lazy("Profile name"),
}


@register.simple_tag
def reason_text(reason: Any) -> str:
    """Return one reason of a match suggestion as "Name: Anssi Asiakas ≈ Anssi Asiakas"."""
    if isinstance(reason, dict):
        kind = str(reason.get("kind", ""))
        detail = str(reason.get("detail", "") or "")
        label = _REASON_KIND.get(kind, kind.replace("_", " ").capitalize())
        return f"{label}: {detail}" if detail and label else detail or str(label)
    return str(reason)


@functools.lru_cache(maxsize=8)
def _case_url_prefix(urlconf: str | None) -> str:
    return reverse("console:case", args=["0"], urlconf=urlconf).removesuffix("0/")


@register.filter
def case_href(case: Any) -> str:
    """Return the console address of CASE; reverse() once, not for every timeline entry."""
    return f"{_case_url_prefix(get_urlconf())}{case.reference}/"
