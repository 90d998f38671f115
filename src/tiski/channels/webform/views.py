"""The public contact form, its confirmation page and the embed script.

Embedding on a company site (the snippet; see also the comment in webform/embed.js)::

    <script src="https://support.example.com/contact/embed.js" async></script>

puts an auto-resizing iframe with the form where the script tag is. Optional attributes:
data-channel="3" (a particular web-form channel), data-lang="fi" or "en", data-target="#contact" (the
element to fill instead). The company site's origin must be listed in TISKI_WEBFORM_EMBED_ORIGINS.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from tiski.channels.models import Channel
from tiski.channels.webform.forms import HONEYPOT_FIELD, ContactForm
from tiski.channels.webform.services import (
    company_name,
    form_token_issue,
    rate_limit_hit,
    receipt_get,
    receipt_token,
    webform_channel_get,
    webform_submit,
)
from tiski.core.net import client_ip
from tiski.core.security import webform_frame_ancestors
from tiski.knowledge.helpcentre.services import deflection_contacted

logger = logging.getLogger(__name__)

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def _language(request: HttpRequest) -> str | None:
    """Return the language the page was asked in (?lang=fi), if it is one Tiski speaks."""
    code = request.GET.get("lang", "")
    return code if code in LANGUAGE_CODES else None


@contextmanager
def _page_language(request: HttpRequest) -> Iterator[str]:
    """Use ?lang= when given (it works inside third-party iframes, where cookies may not), else the locale."""
    code = _language(request)
    if code is None:
        yield translation.get_language() or settings.LANGUAGE_CODE
        return
    with translation.override(code):
        yield code


def _query(request: HttpRequest, **changes: str | None) -> str:
    """Return the page's ?embed/lang/channel query string with CHANGES applied ("" when empty)."""
    kept = {key: request.GET[key] for key in ("embed", "lang", "channel") if request.GET.get(key)}
    for key, value in changes.items():
        if value is None:
            kept.pop(key, None)
        else:
            kept[key] = value
    return f"?{urlencode(kept)}" if kept else ""


def _context(request: HttpRequest, language: str, **extra: Any) -> dict[str, Any]:
    embed = request.GET.get("embed") == "1"
    switch = [
        {"code": code, "name": name, "url": request.path + _query(request, lang=code), "current": code == language}
        for code, name in (("fi", "Suomi"), ("en", "English"))
    ]
    return {
        "company_name": company_name(),
        "embed": embed,
        "language": language,
        "language_switch": switch,
        **extra,
    }


def _finish(response: HttpResponse, language: str) -> HttpResponse:
    """Add the embedding policy and the language headers every web-form page sends."""
    webform_frame_ancestors(response)  # the site policy, framed by TISKI_WEBFORM_EMBED_ORIGINS
    response["Content-Language"] = language
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


def _channel(request: HttpRequest, channel_id: int | None) -> Channel | None:
    if channel_id is None and request.GET.get("channel", "").isdigit():
        channel_id = int(request.GET["channel"])
    return webform_channel_get(channel_id=channel_id)


def _unavailable(request: HttpRequest, language: str) -> HttpResponse:
    response = render(request, "webform/unavailable.html", _context(request, language), status=404)
    return _finish(response, language)


def _csrf_rejected(request: HttpRequest) -> bool:
    """Return whether the POST fails the CSRF check.

    Django's check (cookie + token, Origin, Referer) decides, with one addition: a form embedded on
    another site is a third-party frame, where browsers do not keep the SameSite=Lax CSRF cookie. A POST
    that arrives without any CSRF cookie passes when the browser states that it comes from this very
    origin (the Origin header, and Sec-Fetch-Site when sent): another site cannot forge those.
    """
    if settings.CSRF_COOKIE_NAME not in request.COOKIES:
        origin = request.META.get("HTTP_ORIGIN", "")
        fetch_site = request.META.get("HTTP_SEC_FETCH_SITE", "same-origin")
        if origin and fetch_site == "same-origin" and origin == f"{request.scheme}://{request.get_host()}":
            return False
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    return check.process_view(request, _csrf_probe, (), {}) is not None


def _csrf_probe(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


def _too_large(request: HttpRequest) -> bool:
    """Return whether the request body exceeds what a form with the largest allowed attachments can be."""
    limit = (
        settings.TISKI_WEBFORM_MAX_ATTACHMENTS * settings.TISKI_WEBFORM_MAX_ATTACHMENT_BYTES
        + (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
        + 64 * 1024  # multipart headers
    )
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return True


def _form_again(request: HttpRequest) -> ContactForm:
    """Return an unbound form showing what the visitor sent, with a fresh token when theirs is invalid."""
    values = {key: request.POST.get(key, "") for key in ("name", "email", "phone", "topic", "message", "deflection")}
    return ContactForm(initial={**values, "form_token": request.POST.get("form_token") or form_token_issue()})


@never_cache
@xframe_options_exempt
@csrf_exempt  # checked in the view by _csrf_rejected, so that a rejected visitor keeps the text typed
@require_http_methods(["GET", "POST"])
def contact_form(request: HttpRequest, channel_id: int | None = None) -> HttpResponse:
    """Show the contact form; file a valid submission through the pipeline and redirect to the receipt."""
    with _page_language(request) as language:
        channel = _channel(request, channel_id)
        if channel is None:
            return _unavailable(request, language)
        status = 200
        notice = ""
        headers: dict[str, str] = {}
        if request.method == "GET":
            form = ContactForm(initial={"form_token": form_token_issue()})
        elif _too_large(request):
            # Refused before the body is read, so an oversized upload is not spooled to disk first.
            form = ContactForm(initial={"form_token": form_token_issue()})
            status = 413
            notice = "too_large"
        elif _csrf_rejected(request):
            form = _form_again(request)
            status = 403
            notice = "csrf"
        elif not (decision := rate_limit_hit(ip=client_ip(request))).allowed:
            form = _form_again(request)
            status = 429
            notice = "rate"
            headers["Retry-After"] = str(decision.retry_after_s)
            logger.warning("web form %s: rate limit reached for %s", channel.pk, client_ip(request))
        else:
            form = ContactForm(request.POST, request.FILES)
            if form.is_spam:
                logger.warning("web form %s: honeypot filled in by %s; nothing stored", channel.pk, client_ip(request))
                return _to_receipt(request, channel=channel, message_id=None)
            if form.is_valid():
                receipt = webform_submit(channel=channel, submission=form.submission(language=language))
                deflection_contacted(session=form.cleaned_data.get("deflection") or "")
                return _to_receipt(request, channel=channel, message_id=receipt.message.pk)
            if "form_token" in form.errors:
                renewed = request.POST.copy()
                renewed["form_token"] = form_token_issue()
                form.data = renewed  # the errors are computed already; the visitor sends the fresh token
        context = _context(
            request,
            language,
            form=form,
            channel=channel,
            notice=notice,
            honeypot_field=HONEYPOT_FIELD,
            files_dropped=request.method == "POST" and bool(request.FILES) and (status != 200 or form.errors),
            retry_minutes=max(1, round(int(headers.get("Retry-After", "60")) / 60)),
            max_files=settings.TISKI_WEBFORM_MAX_ATTACHMENTS,
            max_size=settings.TISKI_WEBFORM_MAX_ATTACHMENT_BYTES,
        )
        response = render(request, "webform/form.html", context, status=status)
        for name, value in headers.items():
            response[name] = value
        return _finish(response, language)


def _to_receipt(request: HttpRequest, *, channel: Channel, message_id: int | None) -> HttpResponse:
    """Redirect to the confirmation page (post/redirect/get), keeping the form's channel, language and mode."""
    url = reverse("webform:thanks", kwargs={"token": receipt_token(message_id=message_id)})
    return HttpResponseRedirect(url + _query(request, channel=str(channel.pk)))


@never_cache
@xframe_options_exempt
@require_GET
def contact_thanks(request: HttpRequest, token: str) -> HttpResponse:
    """Show the confirmation with the case reference; a forged or tampered token is a 404."""
    from django.core import signing

    with _page_language(request) as language:
        try:
            receipt = receipt_get(token=token, language=language)
        except signing.BadSignature:
            response = render(
                request, "webform/unavailable.html", _context(request, language, receipt_missing=True), status=404
            )
            return _finish(response, language)
        back = reverse("webform:form") + _query(request)
        response = render(request, "webform/thanks.html", _context(request, language, receipt=receipt, back=back))
        return _finish(response, language)


@require_GET
def embed_script(request: HttpRequest) -> HttpResponse:
    """Return the script a company puts on its site to show the form in an auto-resizing iframe."""
    response = render(request, "webform/embed.js", {}, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response
