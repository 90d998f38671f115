"""A local Meta Graph API: the part of WhatsApp Cloud API, Messenger and Instagram that Tiski uses, over real HTTP.

What it implements, as Meta documents it:

* ``POST /{phone-number-id}/messages`` (WhatsApp: ``messaging_product: "whatsapp"``, ``to``, ``type`` text or
  template) → ``{"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}], "messages": [{"id":
  "wamid.…"}]}``. A text to a number that has not written within 24 hours is refused as Meta refuses it:
  HTTP 400, error code 131047 ("Re-engagement message"); a template is always accepted when its name is known
  (or when no template list was given).
* ``POST /{page-id}/messages`` and ``/me/messages`` (Messenger, Instagram: ``recipient.id``, ``message.text``)
  → ``{"recipient_id", "message_id": "m_…"}``; Instagram private replies (``recipient.comment_id``), one per
  comment (a second one: error 10900).
* Every call needs ``Authorization: Bearer <token>`` with a known access token; otherwise HTTP 401 with
  error code 190 (OAuthException), as Graph answers an invalid token. ``fail_next`` answers 500 or 429.
* ``POST /{phone-number-id}/media`` (multipart: ``file``, ``type``, ``messaging_product``) → ``{"id"}``, for
  sending images and documents (``type`` image/video/audio/document with ``{"id": …}``).
* Media: ``GET /{media-id}`` (Bearer) → ``{"url", "mime_type", "sha256", "file_size", "id",
  "messaging_product"}``; ``GET /download/{media-id}`` (Bearer) → the bytes; ``GET /cdn/{media-id}`` (no
  auth) → the bytes, as Messenger/Instagram attachment URLs are served.
* Instagram mentions: ``GET /{ig-user-id}?fields=mentioned_media.media_id(ID){…}`` and
  ``…mentioned_comment.comment_id(ID){…}`` → the mentioned post or comment.
* Webhooks, signed with this module's own ``X-Hub-Signature-256`` implementation: ``send_whatsapp``,
  ``send_messenger``, ``send_instagram``, ``send_mention``, ``send_comment``; after each accepted outbound
  message, status callbacks (WhatsApp ``statuses`` sent → delivered → read, or failed; Messenger/Instagram
  ``delivery`` then ``read``) to the webhook URL configured for the channel kind (``webhooks``).

    with MetaSimulator(app_secret="…", access_tokens=["…"], webhooks={"whatsapp": url}) as meta:
        settings.TISKI_META_GRAPH_URL = meta.url
        meta.send_whatsapp(url, from_="358401234567", text="Hei", name="Anssi")
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tiski.simulators.server import LoopbackSimulator

logger = logging.getLogger(__name__)

WINDOW_S = 24 * 3600
MESSAGES_PATH = re.compile(r"^/(?:v[\d.]+/)?(?P<node>[A-Za-z0-9_]+)/messages$")
UPLOAD_PATH = re.compile(r"^/(?:v[\d.]+/)?(?P<node>[0-9]+)/media$")
NODE_PATH = re.compile(r"^/(?:v[\d.]+/)?(?P<node>[A-Za-z0-9_.]+)$")
DOWNLOAD_PATH = re.compile(r"^/(?P<kind>download|cdn)/(?P<media>[A-Za-z0-9_]+)$")
MENTIONED = re.compile(r"^mentioned_(?P<what>media|comment)\.(?:media|comment)_id\((?P<id>[^)]+)\)")


def hub_signature(app_secret: str, body: bytes) -> str:
    """Return the X-Hub-Signature-256 header Meta sends with BODY: "sha256=" and the lower-case hex
    HMAC-SHA256 of the raw body bytes keyed with the app secret."""
    mac = hmac.new(app_secret.encode("utf-8"), msg=body, digestmod=hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def _id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")


@dataclass
class Sent:
    """One outbound message a client created, as the simulator took it."""

    message_id: str
    kind: str  # "whatsapp" or "page"
    node: str  # the phone number id or page id (or "me") in the path
    recipient: str
    payload: dict[str, Any]


@dataclass
class Webhook:
    """One webhook the simulator POSTed, with the answer it got (status 0 when the call failed)."""

    url: str
    payload: dict[str, Any]
    status: int
    answer: bytes = b""


@dataclass
class _Media:
    content: bytes
    mime_type: str


@dataclass
class _Pending:
    url: str
    payloads: list[dict[str, Any]] = field(default_factory=list)


class MetaSimulator(LoopbackSimulator):
    """A Graph API stand-in on 127.0.0.1: start() it, point TISKI_META_GRAPH_URL at .url, stop() it.

    APP_SECRET signs the webhooks; ACCESS_TOKENS are the tokens the API accepts. WEBHOOKS maps a channel
    kind ("whatsapp", "messenger", "instagram") to the webhook URL that status callbacks go to.
    PHONE_NUMBER_ID, PAGE_ID and IG_USER_ID name the business number and accounts in the bodies.
    OUTCOME is the last status: "read" (sent → delivered → read), "delivered", or "failed". With
    HOLD_CALLBACKS the status callbacks wait for release_callbacks(); otherwise they follow after
    CALLBACK_DELAY seconds. TEMPLATES, when given, are the approved template names.
    """

    def __init__(
        self,
        *,
        app_secret: str,
        access_tokens: Iterable[str],
        webhooks: Mapping[str, str] | None = None,
        phone_number_id: str = "106540352242922",
        display_phone_number: str = "358451112222",
        waba_id: str = "102290129340398",
        page_id: str = "104560078900001",
        ig_user_id: str = "17841400000000001",
        outcome: str = "read",
        hold_callbacks: bool = False,
        callback_delay: float = 0.2,
        templates: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port, hold_callbacks=hold_callbacks)
        self.app_secret = app_secret
        self.access_tokens = set(access_tokens)
        self.webhooks = dict(webhooks or {})
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.waba_id = waba_id
        self.page_id = page_id
        self.ig_user_id = ig_user_id
        self.outcome = outcome
        self.callback_delay = callback_delay
        self.templates = set(templates) if templates is not None else None
        self.sent: list[Sent] = []
        self.webhooks_sent: list[Webhook] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every call, in order
        self.last_inbound: dict[str, float] = {}  # WhatsApp number (digits) → when it last wrote (epoch s)
        self._media: dict[str, _Media] = {}
        self._mentioned: dict[tuple[str, str], dict[str, Any]] = {}
        self._replied_comments: set[str] = set()

    # --- life cycle ---------------------------------------------------------------------------------------

    thread_name = "meta-simulator"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    def wait_callbacks(self, timeout: float = 10) -> None:
        """Wait until every status callback started so far has been answered."""
        self._callbacks_join(timeout=timeout)

    def media_add(self, content: bytes, mime_type: str) -> str:
        """Store a media file and return its id (served at /{id}, /download/{id} and /cdn/{id})."""
        media_id = str(secrets.randbelow(10**15) + 10**15)
        with self._lock:
            self._media[media_id] = _Media(content=content, mime_type=mime_type)
        return media_id

    def wrote_at(self, number: str, when: float) -> None:
        """Record that NUMBER last wrote at WHEN (epoch seconds): the simulator's 24-hour window."""
        self.last_inbound[number.lstrip("+")] = when

    # --- webhooks -----------------------------------------------------------------------------------------

    def sign(self, body: bytes) -> dict[str, str]:
        """Return the headers Meta sends with webhook BODY."""
        return {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": hub_signature(self.app_secret, body),
            "User-Agent": "facebookexternalua",
        }

    def post(self, url: str, payload: dict[str, Any], *, headers: Mapping[str, str] | None = None) -> Webhook:
        """POST PAYLOAD as Meta does (compact JSON, signed) and return the answer."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers or self.sign(body)))  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback URL from the test)
                webhook = Webhook(url=url, payload=payload, status=response.status, answer=response.read())
        except urllib.error.HTTPError as error:
            webhook = Webhook(url=url, payload=payload, status=error.code, answer=error.read())
        except OSError:
            webhook = Webhook(url=url, payload=payload, status=0)
        with self._lock:
            self.webhooks_sent.append(webhook)
        return webhook

    def whatsapp_body(
        self,
        *,
        from_: str,
        text: str | None = None,
        media: tuple[bytes, str, str] | None = None,
        name: str = "Anssi Asiakas",
        message_id: str | None = None,
        timestamp: float | None = None,
        caption: str = "",
        phone_number_id: str | None = None,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Return a WhatsApp Cloud API webhook body with one inbound message: TEXT, or MEDIA (content, mime
        type, kind such as "image" or "document"), or MESSAGE as given (location, contacts …)."""
        number = from_.lstrip("+")
        when = time.time() if timestamp is None else timestamp
        item: dict[str, Any] = {"from": number, "id": message_id or _id("wamid.HBgM"), "timestamp": str(int(when))}
        if message is not None:
            item.update(message)
        elif media is not None:
            content, mime_type, kind = media
            part: dict[str, Any] = {
                "mime_type": mime_type,
                "sha256": hashlib.sha256(content).hexdigest(),
                "id": self.media_add(content, mime_type),
            }
            if caption:
                part["caption"] = caption
            if kind == "document":
                part["filename"] = f"document.{mime_type.rsplit('/', 1)[-1]}"
            item.update({"type": kind, kind: part})
        else:
            item.update({"type": "text", "text": {"body": text or ""}})
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.waba_id,
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": self.display_phone_number,
                                    "phone_number_id": phone_number_id or self.phone_number_id,
                                },
                                "contacts": [{"profile": {"name": name}, "wa_id": number}],
                                "messages": [item],
                            },
                            "field": "messages",
                        }
                    ],
                }
            ],
        }

    def send_whatsapp(self, webhook_url: str, from_: str, text: str | None = None, **options: Any) -> Webhook:
        """Deliver one signed inbound WhatsApp message to WEBHOOK_URL (see whatsapp_body) and open the number's
        24-hour window."""
        payload = self.whatsapp_body(from_=from_, text=text, **options)
        stamp = float(payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"])
        self.last_inbound[from_.lstrip("+")] = max(stamp, self.last_inbound.get(from_.lstrip("+"), 0))
        return self.post(webhook_url, payload)

    def page_body(
        self,
        *,
        kind: str,
        sender: str,
        text: str | None = None,
        media: tuple[bytes, str, str] | None = None,
        mid: str | None = None,
        story_mention: bool = False,
        timestamp: float | None = None,
    ) -> dict[str, Any]:
        """Return a Messenger ("messenger") or Instagram ("instagram") webhook body with one message event."""
        account = self.page_id if kind == "messenger" else self.ig_user_id
        message: dict[str, Any] = {"mid": mid or _id("m_")}
        if text:
            message["text"] = text
        if media is not None or story_mention:
            content, mime_type, attachment_kind = media or (b"\xff\xd8\xff story", "image/jpeg", "image")
            media_id = self.media_add(content, mime_type)
            message["attachments"] = [
                {
                    "type": "story_mention" if story_mention else attachment_kind,
                    "payload": {"url": f"{self.url}/cdn/{media_id}"},
                }
            ]
        when_ms = int((time.time() if timestamp is None else timestamp) * 1000)
        return {
            "object": "page" if kind == "messenger" else "instagram",
            "entry": [
                {
                    "id": account,
                    "time": when_ms,
                    "messaging": [
                        {
                            "sender": {"id": sender},
                            "recipient": {"id": account},
                            "timestamp": when_ms,
                            "message": message,
                        }
                    ],
                }
            ],
        }

    def send_messenger(self, webhook_url: str, sender: str, text: str | None = None, **options: Any) -> Webhook:
        """Deliver one signed inbound Messenger message from page-scoped id SENDER to WEBHOOK_URL."""
        return self.post(webhook_url, self.page_body(kind="messenger", sender=sender, text=text, **options))

    def send_instagram(self, webhook_url: str, sender: str, text: str | None = None, **options: Any) -> Webhook:
        """Deliver one signed inbound Instagram direct message from Instagram-scoped id SENDER to WEBHOOK_URL."""
        return self.post(webhook_url, self.page_body(kind="instagram", sender=sender, text=text, **options))

    def changes_body(self, field_name: str, value: dict[str, Any]) -> dict[str, Any]:
        """Return an Instagram webhook body with one change of FIELD_NAME ("mentions", "comments")."""
        return {
            "object": "instagram",
            "entry": [
                {"id": self.ig_user_id, "time": int(time.time()), "changes": [{"field": field_name, "value": value}]}
            ],
        }

    def mention_body(
        self, username: str, caption: str, *, media: tuple[bytes, str] | None = None, in_comment: bool = False
    ) -> dict[str, Any]:
        """Have USERNAME mention the business account in a post's CAPTION (or, IN_COMMENT, in a comment) and
        return Meta's "mentions" webhook body, which names only the ids; the content is served by the Graph
        API's mentioned_media / mentioned_comment fields. MEDIA (content, mime type) is the post's image."""
        media_id = str(secrets.randbelow(10**16) + 10**16)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime())
        if in_comment:
            comment_id = str(secrets.randbelow(10**16) + 10**16)
            with self._lock:
                self._mentioned[("comment", comment_id)] = {
                    "id": comment_id,
                    "text": caption,
                    "username": username,
                    "timestamp": stamp,
                    "media": {"id": media_id, "permalink": f"https://www.instagram.com/p/{media_id}/"},
                }
            return self.changes_body("mentions", {"comment_id": comment_id, "media_id": media_id})
        post: dict[str, Any] = {
            "id": media_id,
            "caption": caption,
            "media_type": "IMAGE",
            "permalink": f"https://www.instagram.com/p/{media_id}/",
            "username": username,
            "timestamp": stamp,
        }
        if media is not None:
            post["media_url"] = f"{self.url}/cdn/{self.media_add(*media)}"
        with self._lock:
            self._mentioned[("media", media_id)] = post
        return self.changes_body("mentions", {"media_id": media_id})

    def send_mention(self, webhook_url: str, username: str, caption: str, **options: Any) -> Webhook:
        """Deliver a signed "mentions" webhook (see mention_body) to WEBHOOK_URL."""
        return self.post(webhook_url, self.mention_body(username, caption, **options))

    def comment_body(
        self, username: str, text: str, *, user_id: str | None = None, comment_id: str | None = None
    ) -> dict[str, Any]:
        """Return Meta's "comments" webhook body: USERNAME commented TEXT on one of the business's posts."""
        value = {
            "from": {"id": user_id or str(secrets.randbelow(10**16) + 10**16), "username": username},
            "media": {"id": str(secrets.randbelow(10**16) + 10**16), "media_product_type": "FEED"},
            "id": comment_id or str(secrets.randbelow(10**16) + 10**16),
            "text": text,
        }
        return self.changes_body("comments", value)

    def send_comment(self, webhook_url: str, username: str, text: str, **options: Any) -> Webhook:
        """Deliver a signed "comments" webhook (see comment_body) to WEBHOOK_URL."""
        return self.post(webhook_url, self.comment_body(username, text, **options))

    # --- status callbacks ---------------------------------------------------------------------------------

    def _statuses_whatsapp(self, sent: Sent) -> list[dict[str, Any]]:
        steps = {"read": ["sent", "delivered", "read"], "delivered": ["sent", "delivered"], "failed": ["failed"]}
        bodies = []
        for step in steps.get(self.outcome, ["sent"]):
            status: dict[str, Any] = {
                "id": sent.message_id,
                "status": step,
                "timestamp": str(int(time.time())),
                "recipient_id": sent.recipient,
            }
            opaque = sent.payload.get("biz_opaque_callback_data")
            if isinstance(opaque, str) and opaque:
                status["biz_opaque_callback_data"] = opaque  # echoed in every status webhook, as Meta documents
            if step == "failed":
                status["errors"] = [
                    {
                        "code": 131026,
                        "title": "Message undeliverable",
                        "message": "Message undeliverable",
                        "error_data": {"details": "Message Undeliverable."},
                    }
                ]
            bodies.append(
                {
                    "object": "whatsapp_business_account",
                    "entry": [
                        {
                            "id": self.waba_id,
                            "changes": [
                                {
                                    "value": {
                                        "messaging_product": "whatsapp",
                                        "metadata": {
                                            "display_phone_number": self.display_phone_number,
                                            "phone_number_id": sent.node,
                                        },
                                        "statuses": [status],
                                    },
                                    "field": "messages",
                                }
                            ],
                        }
                    ],
                }
            )
        return bodies

    def _statuses_page(self, sent: Sent, kind: str) -> list[dict[str, Any]]:
        account = self.page_id if kind == "messenger" else self.ig_user_id
        now_ms = int(time.time() * 1000) + 1000  # after the message was stored as sent
        events: list[dict[str, Any]] = [{"delivery": {"mids": [sent.message_id], "watermark": now_ms}}]
        if self.outcome == "read":
            events.append({"read": {"watermark": now_ms}})
        return [
            {
                "object": "page" if kind == "messenger" else "instagram",
                "entry": [
                    {
                        "id": account,
                        "time": now_ms,
                        "messaging": [
                            {
                                "sender": {"id": sent.recipient},
                                "recipient": {"id": account},
                                "timestamp": now_ms,
                                **event,
                            }
                        ],
                    }
                ],
            }
            for event in events
        ]

    def _callbacks_start(self, sent: Sent, kind: str) -> None:
        url = self.webhooks.get(kind)
        if not url:
            return
        payloads = self._statuses_whatsapp(sent) if kind == "whatsapp" else self._statuses_page(sent, kind)

        def run() -> None:
            self._release.wait(timeout=60)
            time.sleep(self.callback_delay)
            for payload in payloads:
                self.post(url, payload)

        thread = threading.Thread(target=run, name="meta-simulator-callbacks", daemon=True)
        self._callback_threads.append(thread)
        thread.start()

    # --- the Graph API ------------------------------------------------------------------------------------

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        value = headers.get("authorization", "")
        return value.startswith("Bearer ") and value[7:].strip() in self.access_tokens

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str, bytes]:
        """Answer one API call (HEADERS with lower-case names): return (status, content type, body)."""
        parts = urlsplit(target)
        path = parts.path
        with self._lock:
            self.requests.append((method, path))
        download = DOWNLOAD_PATH.match(path)
        if method == "GET" and download is not None:
            media = self._media.get(download["media"])
            if download["kind"] == "download" and not self._authorized(headers):
                return _error(401, 190, "Invalid OAuth access token - Cannot parse access token", "OAuthException")
            if media is None:
                return _error(404, 100, "Unsupported get request. Object does not exist", "GraphMethodException")
            return 200, media.mime_type, media.content
        if not self._authorized(headers):
            return _error(401, 190, "Invalid OAuth access token - Cannot parse access token", "OAuthException")
        messages = MESSAGES_PATH.match(path)
        if method == "POST" and messages is not None:
            return self._message_create(messages["node"], body)
        upload = UPLOAD_PATH.match(path)
        if method == "POST" and upload is not None:
            return self._media_upload(upload["node"], headers.get("content-type", ""), body)
        node = NODE_PATH.match(path)
        if method == "GET" and node is not None:
            return self._node(node["node"], parse_qs(parts.query).get("fields", [""])[0])
        return _error(400, 100, f"Unknown path components: {path}", "OAuthException")

    def _node(self, node: str, fields: str) -> tuple[int, str, bytes]:
        media = self._media.get(node)
        if media is not None:
            return _json(
                200,
                {
                    "messaging_product": "whatsapp",
                    "url": f"{self.url}/download/{node}",
                    "mime_type": media.mime_type,
                    "sha256": hashlib.sha256(media.content).hexdigest(),
                    "file_size": len(media.content),
                    "id": node,
                },
            )
        mentioned = MENTIONED.match(fields)
        if mentioned is not None and node in (self.ig_user_id, "me"):
            found = self._mentioned.get((mentioned["what"], mentioned["id"]))
            if found is None:
                return _error(400, 100, "Invalid parameter", "OAuthException")
            return _json(200, {f"mentioned_{mentioned['what']}": found, "id": self.ig_user_id})
        return _error(400, 100, "Unsupported get request. Object does not exist", "GraphMethodException")

    def _media_upload(self, node: str, content_type: str, body: bytes) -> tuple[int, str, bytes]:
        """Take a multipart/form-data upload (file, type, messaging_product) and answer {"id": media id}."""
        if node != self.phone_number_id:
            return _error(400, 100, f"Object with ID '{node}' does not exist", "GraphMethodException")
        form = BytesParser(policy=policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body
        )
        fields: dict[str, tuple[bytes, str]] = {}
        if form.is_multipart():
            for part in form.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if isinstance(name, str) and isinstance(payload, bytes):
                    fields[name] = (payload, part.get_content_type())
        if "file" not in fields or fields.get("messaging_product", (b"", ""))[0] != b"whatsapp":
            return _error(400, 100, "Param file and messaging_product are required", "OAuthException")
        content, part_type = fields["file"]
        declared = fields.get("type", (part_type.encode(), ""))[0].decode()
        return _json(200, {"id": self.media_add(content, declared or part_type)})

    def _message_create(self, node: str, body: bytes) -> tuple[int, str, bytes]:
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure == 429:
            return _error(429, 130429, "Rate limit hit", "OAuthException")
        if failure is not None:
            return _error(failure, 1, "An unknown error occurred", "OAuthException")
        try:
            payload = json.loads(body)
        except ValueError:
            return _error(400, 100, "Invalid JSON", "OAuthException")
        if not isinstance(payload, dict):
            return _error(400, 100, "Invalid parameter", "OAuthException")
        if payload.get("messaging_product") == "whatsapp":
            return self._whatsapp_create(node, payload)
        return self._page_create(node, payload)

    def _whatsapp_create(self, node: str, payload: dict[str, Any]) -> tuple[int, str, bytes]:
        to = str(payload.get("to", "")).lstrip("+")
        kind = payload.get("type", "text")
        if node != self.phone_number_id:
            return _error(400, 100, f"Object with ID '{node}' does not exist", "GraphMethodException")
        if not to.isdigit():
            return _error(
                400, 131009, "Parameter value is not valid", "OAuthException", "Recipient phone number invalid"
            )
        if kind == "text":
            text = (payload.get("text") or {}).get("body", "")
            if not text:
                return _error(400, 100, "Invalid parameter", "OAuthException", "text['body'] is required")
            if len(text) > 4096:
                return _error(400, 100, "Invalid parameter", "OAuthException", "text['body'] is too long")
            if time.time() - self.last_inbound.get(to, 0) > WINDOW_S:
                return _error(
                    400,
                    131047,
                    "Re-engagement message",
                    "OAuthException",
                    "Message failed to send because more than 24 hours have passed since the customer last "
                    "replied to this number.",
                )
        elif kind in ("image", "video", "audio", "document"):
            media_id = str((payload.get(kind) or {}).get("id", ""))
            if media_id not in self._media:
                return _error(400, 131053, "Media upload error", "OAuthException", f"unknown media id {media_id}")
            if time.time() - self.last_inbound.get(to, 0) > WINDOW_S:
                return _error(400, 131047, "Re-engagement message", "OAuthException", "more than 24 hours")
        elif kind == "template":
            name = (payload.get("template") or {}).get("name", "")
            if self.templates is not None and name not in self.templates:
                return _error(404, 132001, "Template name does not exist in the translation", "OAuthException", name)
        else:
            return _error(400, 131051, "Unsupported message type", "OAuthException", str(kind))
        sent = Sent(message_id=_id("wamid.HBgM"), kind="whatsapp", node=node, recipient=to, payload=payload)
        with self._lock:
            self.sent.append(sent)
        self._callbacks_start(sent, "whatsapp")
        return _json(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": payload.get("to"), "wa_id": to}],
                "messages": [{"id": sent.message_id}],
            },
        )

    def _page_create(self, node: str, payload: dict[str, Any]) -> tuple[int, str, bytes]:
        to = payload.get("recipient") or {}
        recipient = str(to.get("id", ""))
        comment_id = str(to.get("comment_id", ""))
        text = str((payload.get("message") or {}).get("text", ""))
        if comment_id:  # a private reply to an Instagram comment: one per comment
            if comment_id in self._replied_comments:
                return _error(400, 10900, "Activity already replied to", "OAuthException")
            self._replied_comments.add(comment_id)
            recipient = str(int(hashlib.sha256(comment_id.encode()).hexdigest()[:12], 16))  # the commenter's id
        if not recipient:
            return _error(400, 100, "The parameter recipient is required", "OAuthException")
        if not text:
            return _error(400, 100, "param message must be non-empty", "OAuthException")
        if node not in ("me", self.page_id, self.ig_user_id):
            return _error(400, 100, f"Object with ID '{node}' does not exist", "GraphMethodException")
        kind = "instagram" if node == self.ig_user_id else "messenger"
        sent = Sent(message_id=_id("m_"), kind="page", node=node, recipient=recipient, payload=payload)
        with self._lock:
            self.sent.append(sent)
        self._callbacks_start(sent, kind)
        return _json(200, {"recipient_id": recipient, "message_id": sent.message_id})


def _json(status: int, payload: dict[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(payload).encode()


def _error(status: int, code: int, message: str, kind: str, details: str = "") -> tuple[int, str, bytes]:
    """Return an error as the Graph API sends it."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": _id("A")[:27]}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return _json(status, {"error": error})


def _handler_for(simulator: MetaSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, content_type, answer = simulator.handle(
                self.command, self.path, {key.lower(): value for key, value in self.headers.items()}, body
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("meta simulator: " + format, *args)

    return Handler
