"""The demo's simulator page, /simulator/: write to the demo company as a customer over a messaging provider,
and see what the providers received from Tiski (replies with their delivery and read reports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tiski.cases.models import Message
from tiski.channels.models import Channel, ChannelKind
from tiski.channels.voice.models import CallbackRequest
from tiski.customers.exceptions import IdentityInvalidError
from tiski.customers.normalize import normalize_phone
from tiski.simulators import demo

KINDS = [
    ("sms", gettext_lazy("SMS (Twilio)")),
    ("whatsapp", gettext_lazy("WhatsApp (Meta)")),
    ("messenger", gettext_lazy("Messenger (Meta)")),
    ("instagram", gettext_lazy("Instagram direct message (Meta)")),
    ("mention", gettext_lazy("Instagram mention of the company (Meta)")),
]
PHONE_KINDS = ("sms", "whatsapp")


class CustomerMessageForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Channel"), choices=KINDS)
    sender = forms.CharField(
        label=gettext_lazy("From"),
        max_length=64,
        help_text=gettext_lazy("A phone number for SMS and WhatsApp; a user id or @name for Messenger and Instagram"),
    )
    name = forms.CharField(label=gettext_lazy("Customer's name"), max_length=100, required=False)
    text = forms.CharField(label=gettext_lazy("Message"), max_length=1600, widget=forms.Textarea(attrs={"rows": 4}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, sender = data.get("kind"), (data.get("sender") or "").strip()
        if kind in PHONE_KINDS and sender:
            try:
                data["sender"] = normalize_phone(sender)
            except IdentityInvalidError:
                self.add_error("sender", _("Write a phone number, e.g. 040 123 4567 or +358 40 123 4567."))
        elif sender:
            data["sender"] = sender.lstrip("@")
        return data


@dataclass(frozen=True)
class Received:
    """One reply a simulated provider took from Tiski."""

    provider: str
    to: str
    text: str
    status: str
    at: datetime | None


def _providers() -> demo.Providers:
    if demo.PROVIDERS is None:
        raise Http404(_("The provider simulators run only in `tiski demo`."))
    return demo.PROVIDERS


def _channel(kind: str) -> Channel:
    channel_kind = ChannelKind.INSTAGRAM if kind == "mention" else kind
    channel = Channel.objects.filter(kind=channel_kind, active=True).order_by("pk").first()
    if channel is None:
        raise Http404(_("The demo has no active %(kind)s channel.") % {"kind": channel_kind})
    return channel


def _deliver(providers: demo.Providers, data: dict[str, Any]) -> int:
    """Send the customer's message as the provider would; return the HTTP status Tiski answered with."""
    kind, sender, name, text = data["kind"], data["sender"], data.get("name") or "", data["text"]
    url = demo.webhook_url(_channel(kind))
    if kind == "sms":
        channel = _channel(kind)
        to = (channel.config or {}).get("from_number") or channel.address
        extra = {"ProfileName": name} if name else None
        return providers.twilio.send_inbound(url, from_=sender, to=to, body=text, extra=extra)
    meta = providers.meta
    if kind == "whatsapp":
        return meta.send_whatsapp(url, sender, text, name=name or sender).status
    if kind == "messenger":
        return meta.send_messenger(url, sender, text).status
    if kind == "instagram":
        return meta.send_instagram(url, sender, text).status
    return meta.send_mention(url, sender, text).status


def _status_label(status: str) -> str:
    """Return the provider's STATUS in the console's words (Message.Delivery), or as given."""
    status = {"undelivered": "failed", "played": "read"}.get(status, status)
    try:
        return str(Message.Delivery(status).label)
    except ValueError:
        return status


def _received(providers: demo.Providers) -> list[Received]:
    """Return the replies the simulators took, newest first, each with the last status reported back."""
    twilio_status: dict[str, str] = {}
    for callback in providers.twilio.callbacks:
        sid = callback.params.get("MessageSid", "")
        twilio_status[sid] = callback.params.get("MessageStatus", "")
    rows = [
        Received("Twilio SMS", message.to, message.body, _status_label(twilio_status.get(message.sid, "queued")), None)
        for message in providers.twilio.messages
    ]
    meta_status: dict[str, str] = {}
    for webhook in providers.meta.webhooks_sent:
        for entry in webhook.payload.get("entry", []):
            for change in entry.get("changes", []):
                for status in change.get("value", {}).get("statuses", []):
                    meta_status[str(status.get("id"))] = str(status.get("status"))
            for event in entry.get("messaging", []):
                for mid in event.get("delivery", {}).get("mids", []):
                    meta_status.setdefault(str(mid), "delivered")
    for sent in providers.meta.sent:
        payload = sent.payload
        text = (payload.get("text") or {}).get("body") or (payload.get("message") or {}).get("text") or ""
        if not text and payload.get("type") == "template":
            text = _("Template: %(name)s") % {"name": (payload.get("template") or {}).get("name", "")}
        provider = "WhatsApp" if sent.kind == "whatsapp" else "Messenger / Instagram"
        rows.append(
            Received(provider, sent.recipient, text, _status_label(meta_status.get(sent.message_id, "sent")), None)
        )
    return list(reversed(rows))


class PhoneCallForm(forms.Form):
    caller = forms.CharField(label=gettext_lazy("Caller's number"), max_length=64)

    def clean_caller(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["caller"])
        except IdentityInvalidError:
            raise forms.ValidationError(_("Write a phone number, e.g. 040 123 4567 or +358 40 123 4567.")) from None


CALL_KEY = "simulator_call"  # the simulated caller's call, kept in the session between clicks
WAIT_STEP_S = 30


def _phone(request: HttpRequest, providers: demo.Providers) -> HttpResponse:
    """The phone line: call, wait in the queue (each click 30 s more), press 1 for a callback, hang up."""
    twilio, action = providers.twilio, request.POST.get("phone", "")
    call = request.session.get(CALL_KEY)
    if action == "call":
        form = PhoneCallForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
            return redirect("simulator")
        channel = _channel(ChannelKind.PHONE)
        call = twilio.voice_call_start(
            demo.webhook_url(channel),
            from_=form.cleaned_data["caller"],
            to=channel.address or channel.config["from_number"],
            queue=channel.name,
        )
        twilio.voice_call_wait(call, 0)
    elif call and not call["ended"]:
        if action == "wait":
            twilio.voice_call_wait(call, WAIT_STEP_S)
        elif action == "press" and call["gather"]:
            twilio.voice_call_press(call, "1")
        elif action == "hang_up":
            twilio.voice_call_hang_up(call)
    elif action == "done":
        call = None
    request.session[CALL_KEY] = call
    if call and call["ended"]:
        # The request is on the call's case (a caller who had asked already has theirs updated, not a new one).
        on_its_case = CallbackRequest.objects.filter(case__calls__provider_call_id=call["sid"])
        requested = on_its_case.select_related("case").order_by("-pk").first()
        if requested is not None:
            messages.success(
                request,
                _("Callback requested: %(reference)s waits in the console as callback work for a free agent.")
                % {"reference": requested.case.reference},
            )
    return redirect("simulator")


@login_required
def simulator(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("cases.work_case"):
        raise PermissionDenied(_("Only agents use the provider simulator."))
    providers = _providers()
    if request.method == "POST" and "phone" in request.POST:
        return _phone(request, providers)
    form = CustomerMessageForm(request.POST or None, initial={"kind": "sms", "sender": "+358 40 123 4567"})
    if request.method == "POST" and form.is_valid():
        status = _deliver(providers, form.cleaned_data)
        if status == 200:
            messages.success(request, _("Delivered: Tiski took the message (HTTP 200). It is in the inbox now."))
        else:
            messages.error(request, _("Tiski answered HTTP %(status)s; nothing was stored.") % {"status": status})
        return redirect("simulator")
    context = {
        "form": form,
        "received": _received(providers),
        "now": timezone.now(),
        "call": request.session.get(CALL_KEY),
        "phone_form": PhoneCallForm(initial={"caller": "+358 40 765 4321"}),
    }
    return render(request, "simulators/simulator.html", context)
