"""How the service levels hear of the rest of Tiski: the clocks inside the writing transaction, like routing; the
automatic reply to a new case as a durable task after commit."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from tiski import events
from tiski.cases.models import CaseEvent
from tiski.sla import services
from tiski.sla.autoreplies import WRITTEN
from tiski.sla.defaults import autoreplies_ensure, sla_defaults_ensure
from tiski.sla.models import BusinessCalendar, OpeningHours, SlaPolicy, SpecialDay
from tiski.sla.tasks import autoreply

_KINDS = frozenset({CaseEvent.Kind.STATUS_CHANGED, CaseEvent.Kind.REPLY_QUEUED})


def connect() -> None:
    """Subscribe the clocks to the domain events and the policy cache to policy changes (from ready())."""
    events.subscribe(events.MessageReceived, on_contact, inside=True)
    events.subscribe(events.CaseEventRecorded, on_case_event, when=lambda e: e.kind in _KINDS, inside=True)
    for model in (SlaPolicy, BusinessCalendar, OpeningHours, SpecialDay):
        post_save.connect(services.policies_forget, sender=model, dispatch_uid=f"sla.forget.save.{model.__name__}")
        post_delete.connect(services.policies_forget, sender=model, dispatch_uid=f"sla.forget.del.{model.__name__}")
    m2m_changed.connect(services.policies_forget, sender=SlaPolicy.queues.through, dispatch_uid="sla.forget.queues")
    post_migrate.connect(sla_defaults_ensure, sender=apps.get_app_config("sla"), dispatch_uid="tiski.sla.defaults")
    post_migrate.connect(autoreplies_ensure, sender=apps.get_app_config("sla"), dispatch_uid="tiski.sla.autoreplies")
    # A chat is answered inline, in the widget, the moment its first message is stored (channels.chat).
    events.subscribe(events.MessageReceived, autoreply, when=_wants_autoreply)


def _wants_autoreply(event: events.MessageReceived) -> bool:
    return event.case_created and event.channel_kind in WRITTEN and event.channel_kind != "chat"


def on_contact(event: events.MessageReceived) -> None:
    services.clocks_on_contact(message_id=event.message_id, case_id=event.case_id, case_created=event.case_created)


def on_case_event(event: events.CaseEventRecorded) -> None:
    if event.kind == CaseEvent.Kind.REPLY_QUEUED:
        if event.actor_id is not None:  # an agent's reply (an automatic one is no response)
            services.clocks_on_reply(case_id=event.case_id)
        return
    data: dict[str, Any] = CaseEvent.objects.values_list("data", flat=True).get(pk=event.event_id) or {}
    services.clocks_on_status(case_id=event.case_id, old=str(data.get("old") or ""), new=str(data.get("new") or ""))
