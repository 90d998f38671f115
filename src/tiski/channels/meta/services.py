"""Writes for the Meta channels: the social category and queue, sending an approved WhatsApp template."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from tiski import events
from tiski.accounts.roles import WORK_CASES
from tiski.cases.exceptions import CaseClosedError, CasePermissionError, CaseReplyError
from tiski.cases.models import Case, CaseEvent, Category, Message
from tiski.cases.services import case_event_record
from tiski.channels.meta.models import TemplateSend, WhatsAppTemplate
from tiski.channels.models import ChannelKind
from tiski.routing.models import Queue, RoutingRule

SOCIAL_CATEGORY = {"name": "Social media", "name_fi": "Sosiaalinen media"}
SOCIAL_QUEUE = {"name": "Social", "name_fi": "Some"}
SOCIAL_RULE = "Social media mentions and comments"


def social_category_ensure() -> Category:
    """Return the category of mentions and keyword comments; create it the first time, with the "Social" queue
    and a routing rule that sends the category there (an administrator may change both afterwards)."""
    category = Category.objects.filter(name=SOCIAL_CATEGORY["name"]).first()
    if category is not None:
        return category
    try:
        with transaction.atomic():
            category = Category.objects.create(public=False, position=900, **SOCIAL_CATEGORY)
            queue, _created = Queue.objects.get_or_create(name=SOCIAL_QUEUE["name"], defaults=SOCIAL_QUEUE)
            rule = RoutingRule.objects.create(name=SOCIAL_RULE, queue=queue, position=0)
            rule.categories.add(category)
    except IntegrityError:  # another request created it first
        return Category.objects.get(name=SOCIAL_CATEGORY["name"])
    return category


@transaction.atomic
def whatsapp_template_send(
    *, case: Case, actor: User, template: WhatsAppTemplate, parameters: Sequence[str]
) -> Message:
    """Queue TEMPLATE with PARAMETERS to CASE's customer on its WhatsApp channel and return the message.

    Templates are what may be sent outside the 24-hour customer-service window. The message records the
    template and its parameters; the outbox sends it as type "template". Raise CaseReplyError when the
    template is not an approved one of the case's channel or the parameters do not fit.
    """
    if not actor.has_perm(WORK_CASES):
        raise CasePermissionError("You do not have permission to work on cases.")
    from tiski.channels.outbox import outbox_enqueue

    case = Case.objects.select_for_update(of=("self",)).select_related("channel", "customer").get(pk=case.pk)
    if case.status == Case.Status.CLOSED:
        raise CaseClosedError(f"{case.reference} is closed; a new contact opens a new case.")
    if case.channel is None or case.channel.kind != ChannelKind.WHATSAPP:
        raise CaseReplyError("Templates are sent on WhatsApp cases only.")
    if template.channel_id != case.channel_id:
        raise CaseReplyError(f"The template {template} belongs to another WhatsApp number.")
    if template.status != WhatsAppTemplate.Status.APPROVED:
        raise CaseReplyError(f"The template {template} is not approved by Meta ({template.get_status_display()}).")
    values = [str(value).strip() for value in parameters]
    if len(values) != template.parameter_count or not all(values):
        raise CaseReplyError(
            f"The template {template} takes {template.parameter_count} parameter(s); give each a value."
        )
    if not case.customer.identities.filter(kind="phone").exists():
        raise CaseReplyError(f"{case.customer} has no phone number for WhatsApp; add one to the customer.")
    message = Message.objects.create(
        case=case,
        channel=case.channel,
        direction=Message.Direction.OUT,
        author=Message.Author.AGENT,
        author_user=actor,
        sender_name=actor.get_full_name() or actor.get_username(),
        subject=case.subject,
        body_text=template.render(values),
        delivery_status=Message.Delivery.QUEUED,
    )
    TemplateSend.objects.create(message=message, template=template, parameters=values)
    fields = ["updated_at"]
    if case.first_response_at is None:
        case.first_response_at = timezone.now()
        fields.append("first_response_at")
    if case.status == Case.Status.NEW:
        case_event_record(case=case, kind=CaseEvent.Kind.STATUS_CHANGED, actor=actor, old=case.status, new="open")
        case.status = Case.Status.OPEN
        fields.append("status")
    case.save(update_fields=fields)
    case_event_record(
        case=case, kind=CaseEvent.Kind.REPLY_QUEUED, actor=actor, message_id=message.pk, template=template.name
    )
    outbox_enqueue(message=message)
    events.publish(events.ReplyQueued(message_id=message.pk, case_id=case.pk))
    return message
