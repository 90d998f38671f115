"""How the rules hear of the rest of Tiski: inside the writing transaction, like routing and the SLA clocks."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from tiski import events
from tiski.automation import services
from tiski.automation.models import Rule
from tiski.cases.models import CaseEvent
from tiski.channels.services import receiving

Trigger = Rule.Trigger
_CASE_TRIGGERS: dict[str, str] = {
    CaseEvent.Kind.CREATED: Trigger.CASE_CREATED,
    CaseEvent.Kind.STATUS_CHANGED: Trigger.STATUS_CHANGED,
    CaseEvent.Kind.ASSIGNED: Trigger.ASSIGNED,
}


def connect() -> None:
    """Subscribe the rules to the domain events, and the rule cache to rule changes (from ready())."""
    events.subscribe(events.MessageReceived, on_contact, inside=True)
    events.subscribe(events.CaseEventRecorded, on_case_event, when=lambda e: e.kind in _CASE_TRIGGERS, inside=True)
    events.subscribe(events.SlaTimer, on_sla_timer, inside=True)
    events.subscribe(events.CustomerSignalsChanged, on_signals, inside=True)
    events.subscribe(events.SurveyAnswered, on_survey, inside=True)
    post_save.connect(services.rules_forget, sender=Rule, dispatch_uid="automation.forget.save")
    post_delete.connect(services.rules_forget, sender=Rule, dispatch_uid="automation.forget.delete")


def on_contact(event: events.MessageReceived) -> None:
    triggers = (Trigger.CASE_CREATED, Trigger.MESSAGE_RECEIVED) if event.case_created else (Trigger.MESSAGE_RECEIVED,)
    services.rules_run(
        trigger=triggers, case_id=event.case_id, channel_kind=event.channel_kind, message_id=event.message_id
    )


def on_case_event(event: events.CaseEventRecorded) -> None:
    """Queue the rules of a case change, to run once the change is committed.

    The services record a change's event before they save the case row, so the rules cannot run at once: they
    would read (and might overwrite) the case as it was. The task carries the chain of rules running now, so a
    rule's own changes still cannot start it again (services' loop prevention).
    """
    trigger = _CASE_TRIGGERS[event.kind]
    if trigger == Trigger.CASE_CREATED and receiving():
        return  # the pipeline's new case: its MessageReceived runs the rules, with the message
    if not services.has_rules(trigger):
        return
    from tiski.automation.tasks import automation_case_event

    automation_case_event.enqueue(
        trigger=trigger, case_id=event.case_id, event_id=event.event_id, chain=list(services.chain_now())
    )


def on_sla_timer(event: events.SlaTimer) -> None:
    trigger = Trigger.SLA_WARNING if event.kind == "sla_warning" else Trigger.SLA_BREACHED
    if services.has_rules(trigger):
        services.rules_run(
            trigger=trigger,
            case_id=event.case_id,
            channel_kind=services.channel_kind_of(event.case_id),
            event={"metric": event.metric},
        )


def on_signals(event: events.CustomerSignalsChanged) -> None:
    if services.has_rules(Trigger.SIGNAL_CHANGED):
        services.rules_run_for_signals(customer_id=event.customer_id, gained=event.gained, lost=event.lost)


def on_survey(event: events.SurveyAnswered) -> None:
    """Run the "survey answered" rules on the surveyed case (published after the answer committed).

    A changed answer runs them again only when it turned negative: a customer correcting 1 to 2 must not get a
    second follow-up. Anonymous answers (no case) run no rules.
    """
    if not event.case_id or not services.has_rules(Trigger.SURVEY_ANSWERED):
        return
    if event.changed and (event.negative == event.negative_before or not event.negative):
        return
    from tiski.surveys.models import SurveyResponse

    comment = SurveyResponse.objects.filter(pk=event.response_id).values_list("comment", flat=True).first() or ""
    services.rules_run_for_survey(
        case_id=event.case_id,
        survey={
            "survey.kind": event.kind,
            "survey.score": event.score,
            "survey.negative": event.negative,
            "survey.comment": comment,
        },
    )
