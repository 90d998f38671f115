"""HTTP edges of the chat: the sample shop page, attachment upload and download (token-checked)."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from tiski.cases.models import Attachment
from tiski.cases.services import FileIn
from tiski.channels.chat.consumers import origin_allowed
from tiski.channels.chat.exceptions import ChatError
from tiski.channels.chat.selectors import chat_session_by_token
from tiski.channels.chat.services import chat_attachment_post
from tiski.channels.models import Channel, ChannelKind
from tiski.core.files import file_response

ALLOWED_TYPES = (
    "image/",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.oasis.opendocument.",
)


def max_attachment_bytes() -> int:
    """Return the largest file a customer may send in the chat (setting TISKI_CHAT_MAX_ATTACHMENT_BYTES, 10 MB)."""
    return int(settings.TISKI_CHAT_MAX_ATTACHMENT_BYTES)


def _cors(response: HttpResponse, request: HttpRequest, channel: Channel) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    if origin and origin_allowed(channel=channel, origin=origin, host=request.get_host()):
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
    return response


def _chat_channel(channel_id: int) -> Channel:
    return get_object_or_404(Channel, pk=channel_id, kind=ChannelKind.CHAT, active=True)


@csrf_exempt  # posted from the company's site by the widget; the session token is the credential
@require_http_methods(["POST"])
def attachment_upload(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Store the files posted by the widget as the customer's chat message; answer {"id": …} or an error."""
    channel = _chat_channel(channel_id)

    def answer(status: int, **body: object) -> HttpResponse:
        return _cors(JsonResponse(body, status=status), request, channel)

    origin = request.headers.get("Origin", "")
    if origin and not origin_allowed(channel=channel, origin=origin, host=request.get_host()):
        return answer(403, code="origin_refused", text="This site may not use this chat.")
    session = chat_session_by_token(channel_id=channel.pk, token=request.POST.get("token", ""))
    if session is None:
        return answer(403, code="session_unknown", text="No chat has this token.")
    files = request.FILES.getlist("file")
    limit = max_attachment_bytes()
    stored: list[FileIn] = []
    for upload in files[:5]:
        content_type = (upload.content_type or "").lower()
        if upload.size is None or upload.size > limit:
            return answer(413, code="file_too_large", text=f"{upload.name}: at most {limit // (1024 * 1024)} MB.")
        if not content_type.startswith(ALLOWED_TYPES):
            return answer(415, code="file_type", text=f"{upload.name}: this type of file cannot be sent.")
        stored.append(FileIn(upload.name or "file", content_type, upload.read()))
    try:
        receipt = chat_attachment_post(
            session=session, client_id=request.POST.get("id", ""), files=stored, text=request.POST.get("text", "")
        )
    except ChatError as error:
        return answer(400, code=error.code, text=str(error))
    return answer(201, id=f"m{receipt.message.pk}", case=receipt.case.reference, duplicate=receipt.duplicate)


@require_GET
def attachment_download(request: HttpRequest, channel_id: int, attachment_id: int) -> FileResponse:
    """Return an attachment of the chat to the customer holding a token of that chat's session."""
    session = chat_session_by_token(channel_id=channel_id, token=request.GET.get("token", ""))
    if session is None or session.case_id is None:
        raise Http404
    attachment = get_object_or_404(
        Attachment, pk=attachment_id, message__case_id=session.case_id, message__channel_id=channel_id
    )
    return file_response(
        file=attachment.file.open("rb"), filename=attachment.filename, content_type=attachment.content_type
    )


@require_GET
def demo(request: HttpRequest) -> HttpResponse:
    """Render a sample shop page carrying the widget's script tag (for trying the chat and for tests)."""
    channel_id = request.GET.get("channel", "")
    channels = Channel.objects.filter(kind=ChannelKind.CHAT, active=True)
    channel = channels.filter(pk=int(channel_id)).first() if channel_id.isdigit() else channels.order_by("pk").first()
    lang = request.GET.get("lang", "") if request.GET.get("lang", "") in ("fi", "en") else "en"
    return render(
        request,
        "chat/demo.html",
        {
            "channel": channel,
            "lang": lang,
            "identity_token": request.GET.get("identity_token", ""),
        },
    )
