"""The one webhook endpoint of the messaging providers: /hooks/<kind>/<channel id>/.

Every provider (Twilio for SMS, Meta for WhatsApp, Messenger and Instagram) calls the same view; the
channel's adapter verifies the signature and parses the body. A call that is not signed right gets 403 and
stores nothing. A signed call whose body cannot be read is kept in the quarantine (never lost) and answered
200, so that the provider does not retry it forever; an administrator sees it there. Inbound messages go
through the one pipeline (channels.services.message_receive: a provider's retry is a duplicate there),
delivery reports through delivery_status_apply, call events through voice.services.call_event_apply.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt

from tiski.channels.exceptions import ChannelConfigError, ChannelKindUnknownError, InboundInvalidError
from tiski.channels.interface import WebhookAdapter, WebhookRequest, adapter_for
from tiski.channels.models import Channel, QuarantinedMail
from tiski.channels.services import delivery_status_apply, message_receive

logger = logging.getLogger(__name__)


def webhook_request(request: HttpRequest) -> WebhookRequest:
    """Return the adapter's view of REQUEST, with the URL as the provider called it.

    Behind a proxy set TISKI_WEBHOOK_BASE_URL (https://support.example.com): providers sign the public URL.
    """
    base = settings.TISKI_WEBHOOK_BASE_URL
    url = f"{base.rstrip('/')}{request.get_full_path()}" if base else request.build_absolute_uri()
    form: dict[str, str] = {}
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        form = {key: request.POST.get(key, "") for key in request.POST}
    return WebhookRequest(
        method=request.method or "GET",
        url=url,
        headers={key.lower(): value for key, value in request.headers.items()},
        query={key: request.GET.get(key, "") for key in request.GET},
        body=request.body,
        form=form,
    )


@csrf_exempt  # providers sign their calls; the signature is the check
def webhook(request: HttpRequest, kind: str, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id, kind=kind, active=True)
    try:
        adapter = adapter_for(kind)
    except ChannelKindUnknownError:
        adapter = None
    if not isinstance(adapter, WebhookAdapter):
        return HttpResponse(status=404)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    call = webhook_request(request)
    try:
        if request.method == "GET":
            answer = adapter.handshake(channel=channel, request=call)
            return HttpResponse(answer, content_type="text/plain") if answer is not None else HttpResponseForbidden()
        if not adapter.verify(channel=channel, request=call):
            logger.warning("webhook %s/%s: signature missing or wrong; nothing stored", kind, channel_id)
            return HttpResponseForbidden("invalid signature")
    except ChannelConfigError as error:
        logger.error("webhook %s/%s: %s", kind, channel_id, error)
        return HttpResponse(str(error), status=503, content_type="text/plain")  # the provider retries later
    try:
        batch = adapter.parse(channel=channel, request=call)
    except InboundInvalidError as error:
        QuarantinedMail.objects.create(channel=channel, raw=call.body, reason=str(error), source=f"webhook:{kind}")
        logger.warning("webhook %s/%s: quarantined: %s", kind, channel_id, error)
        body, content_type = adapter.acknowledgement()
        return HttpResponse(body, content_type=content_type)
    for inbound in batch.messages:
        try:
            message_receive(inbound=inbound)
        except InboundInvalidError as error:
            QuarantinedMail.objects.create(
                channel=inbound.channel, raw=inbound.raw or call.body, reason=str(error), source=f"webhook:{kind}"
            )
    for update in batch.statuses:
        delivery_status_apply(kind=kind, update=update)
    if batch.calls:
        from tiski.channels.voice.services import call_event_apply

        for event in batch.calls:
            call_event_apply(channel=channel, event=event)
    body, content_type = batch.answer or adapter.acknowledgement()
    return HttpResponse(body, content_type=content_type)
