"""A local Twilio: the part of Twilio's Programmable Messaging wire format that Tiski uses, over real HTTP.

What it implements, as Twilio documents it:

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form-encoded To, From or MessagingServiceSid,
  Body, StatusCallback) with HTTP basic auth (account SID : auth token). It answers 201 with the Message
  resource as JSON (``sid`` "SM" + 32 hex digits, ``status`` "queued", …), or an error as Twilio sends
  them: ``{"code", "message", "more_info", "status"}`` — 401/20003 for wrong credentials, 400/21211 for a
  'To' that is not E.164, 400/21610 for an unsubscribed recipient (configurable), 400/21408 for a region
  not enabled (configurable), 21602/21603/21604/21617 for missing or too long fields; ``fail_next`` makes
  it answer 500 or 429 for the next calls.
* Status callbacks: after taking a message it POSTs ``sent`` then ``delivered`` (or ``undelivered`` with
  ErrorCode 30003) to the message's StatusCallback, form-encoded and signed with ``X-Twilio-Signature``.
* Inbound SMS/MMS: ``send_inbound`` POSTs a signed form-encoded webhook with Twilio's fields (MessageSid,
  SmsSid, SmsMessageSid, AccountSid, From, To, Body, NumMedia, NumSegments, SmsStatus, ApiVersion,
  MediaUrl{i}, MediaContentType{i}, geographic fields).
* Calls (Programmable Voice): ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` (form-encoded To, From,
  Twiml or Url, StatusCallback, StatusCallbackEvent) answers 201 with the Call resource (``sid`` "CA" + 32 hex
  digits, ``status`` "queued"), or 21211 for a 'To' that is not E.164, 21212 for a missing 'From', 21205 for
  neither Twiml nor Url; the calls are kept in ``calls``. No real call is placed: tests post the call's status
  callbacks themselves, or ``answer_calls_after`` has the simulator post ringing, in-progress and completed.
* A caller in a queue (``<Enqueue waitUrl=…>``): ``voice_call_start`` reports the call ringing to the voice
  webhook, ``voice_call_wait`` requests the waitUrl with the time waited (QueueTime, QueuePosition,
  CurrentQueueSize, AvgQueueTime, QueueSid) and follows the TwiML answer — what ``<Say>`` says, a
  ``<Gather>``'s action — ``voice_call_press`` sends the digits to that action, and ``voice_call_hang_up``
  (or a ``<Hangup/>``) ends the call with its ``completed`` status callback.
* Media: ``GET /media/<id>`` serves stored media to HTTP basic auth with the owning account's credentials
  (as with Twilio's "HTTP basic authentication for media" setting).

The signature is this module's own implementation of Twilio's documented algorithm (not the twilio SDK's
validator), so that tests check one against the other.

    with TwilioSimulator(auth_tokens={"AC…": "token"}) as twilio:
        settings.TISKI_TWILIO_API_URL = twilio.url
        twilio.send_inbound(webhook_url, from_="+358401234567", to="+358451112222", body="Hei")
"""

from __future__ import annotations

import base64
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode
from xml.etree import ElementTree

from tiski.simulators.server import LoopbackSimulator

logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$")
MEDIA_PATH = re.compile(r"^/media/(?P<media>[A-Za-z0-9]+)$")
CALLS_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls\.json$")
MAX_BODY = 1600

Params = Mapping[str, str] | Sequence[tuple[str, str]]


def twilio_signature(*, auth_token: str, url: str, params: Params = ()) -> str:
    """Return the X-Twilio-Signature Twilio sends for a POST of PARAMS to URL.

    Twilio's documented algorithm: the full URL (with its query), then for each parameter name in sorted
    order the name followed by its value (each distinct value of a repeated name, sorted); HMAC-SHA1 of that
    UTF-8 string keyed with the auth token, base64-encoded.
    """
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    values: dict[str, set[str]] = {}
    for name, value in pairs:
        values.setdefault(name, set()).add(value)
    text = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(auth_token.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def new_sid(prefix: str) -> str:
    """Return a Twilio-style id: the two-letter PREFIX and 32 lower-case hex digits."""
    return prefix + secrets.token_hex(16)


@dataclass
class SentMessage:
    """One message an API client created, as the simulator took it."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status_callback: str
    messaging_service_sid: str = ""
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class Callback:
    """One status callback the simulator POSTed, with the answer it got (0 when the call failed)."""

    url: str
    params: dict[str, str]
    status: int


@dataclass
class _Media:
    account_sid: str
    content_type: str
    content: bytes


class TwilioSimulator(LoopbackSimulator):
    """A Twilio stand-in on 127.0.0.1: start() it, point TISKI_TWILIO_API_URL at .url, stop() it.

    AUTH_TOKENS maps account SIDs to auth tokens. UNSUBSCRIBED numbers are refused with 21610 (the customer
    texted STOP), INVALID ones (and any 'To' not in E.164) with 21211 (Twilio's number lookup), numbers
    starting with a prefix in BLOCKED_PREFIXES with 21408 (region not enabled).
    OUTCOME is the final status callback: "delivered", or "undelivered" (ErrorCode 30003). With
    HOLD_CALLBACKS the status callbacks wait for release_callbacks(); otherwise they start after
    CALLBACK_DELAY seconds. With ANSWER_CALLS_AFTER (seconds) the calls placed through the API are played
    through: ringing, answered after that long, completed after TALK_S more.
    """

    def __init__(
        self,
        *,
        auth_tokens: Mapping[str, str],
        unsubscribed: Iterable[str] = (),
        invalid: Iterable[str] = (),
        blocked_prefixes: Iterable[str] = (),
        outcome: str = "delivered",
        hold_callbacks: bool = False,
        callback_delay: float = 0.2,
        answer_calls_after: float | None = None,
        talk_s: float = 20.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port, hold_callbacks=hold_callbacks)
        self.auth_tokens = dict(auth_tokens)
        self.unsubscribed = set(unsubscribed)
        self.invalid = set(invalid)
        self.blocked_prefixes = tuple(blocked_prefixes)
        self.outcome = outcome
        self.callback_delay = callback_delay
        self.answer_calls_after = answer_calls_after  # None: calls placed stay queued (tests post their events)
        self.talk_s = talk_s
        self.messages: list[SentMessage] = []
        self.calls: list[dict[str, Any]] = []  # the Call resources created, each with the form it came with
        self.callbacks: list[Callback] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every call, in order
        self._media: dict[str, _Media] = {}
        self.last_answer = b""  # the body of the application's answer to the last send_inbound
        self.last_params: dict[str, str] = {}  # the fields of the last send_inbound

    # --- life cycle ---------------------------------------------------------------------------------------

    thread_name = "twilio-simulator"

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    def wait_callbacks(self, *, timeout: float = 10) -> list[Callback]:
        """Wait until every status callback started so far has been answered; return all callbacks made."""
        self._callbacks_join(timeout=timeout)
        return list(self.callbacks)

    def add_media(self, *, account_sid: str, content_type: str, content: bytes) -> str:
        """Store media for ACCOUNT_SID and return its URL (served with basic auth, as Twilio's media)."""
        media_id = new_sid("ME")
        self._media[media_id] = _Media(account_sid, content_type, content)
        return f"{self.url}/media/{media_id}"

    # --- Twilio calling the application --------------------------------------------------------------------

    def post_signed(
        self, url: str, params: Params, *, account_sid: str, signature: str | None = None
    ) -> tuple[int, bytes]:
        """POST PARAMS form-encoded to URL signed with ACCOUNT_SID's token (or with SIGNATURE as given, "" for
        none), as Twilio does; return the answer's status and body."""
        pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
        if signature is None:
            signature = twilio_signature(auth_token=self.auth_tokens[account_sid], url=url, params=pairs)
        request = urllib.request.Request(url, data=urlencode(pairs).encode("utf-8"), method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        request.add_header("User-Agent", "TwilioProxy/1.1")
        request.add_header("Accept", "*/*")
        if signature:
            request.add_header("X-Twilio-Signature", signature)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), error.read()

    def inbound_params(
        self,
        *,
        from_: str,
        to: str,
        body: str,
        media: Sequence[tuple[str, bytes]] = (),
        account_sid: str | None = None,
        message_sid: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Return the form fields of an inbound SMS (or MMS, with MEDIA as (content type, bytes)) as Twilio
        posts them to a number's messaging webhook."""
        account = account_sid or next(iter(self.auth_tokens))
        sid = message_sid or new_sid("MM" if media else "SM")
        params = {
            "ToCountry": "FI",
            "ToState": "",
            "SmsMessageSid": sid,
            "NumMedia": str(len(media)),
            "ToCity": "",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "FI",
            "To": to,
            "ToZip": "",
            "NumSegments": str(max(1, -(-len(body) // 153))) if len(body) > 160 else "1",
            "MessageSid": sid,
            "AccountSid": account,
            "From": from_,
            "ApiVersion": API_VERSION,
        }
        for index, (content_type, content) in enumerate(media):
            params[f"MediaContentType{index}"] = content_type
            params[f"MediaUrl{index}"] = self.add_media(account_sid=account, content_type=content_type, content=content)
        params.update(extra or {})
        return params

    def send_inbound(
        self,
        webhook_url: str,
        *,
        from_: str,
        to: str,
        body: str,
        media: Sequence[tuple[str, bytes]] = (),
        account_sid: str | None = None,
        message_sid: str | None = None,
        extra: Mapping[str, str] | None = None,
        signature: str | None = None,
    ) -> int:
        """POST a signed inbound SMS/MMS to WEBHOOK_URL as Twilio does; return the answer's HTTP status."""
        params = self.inbound_params(
            from_=from_, to=to, body=body, media=media, account_sid=account_sid, message_sid=message_sid, extra=extra
        )
        account = params["AccountSid"]
        status, answer = self.post_signed(webhook_url, params, account_sid=account, signature=signature)
        self.last_answer = answer
        self.last_params = params
        return status

    # --- a caller waiting in a queue (Programmable Voice) ------------------------------------------------------

    def voice_call_start(self, webhook_url: str, *, from_: str, to: str, queue: str = "support") -> dict[str, Any]:
        """A customer calls TO: report the call ringing to WEBHOOK_URL and return the call's state (plain data,
        to keep between requests), in the queue with no wait yet."""
        account = next(iter(self.auth_tokens))
        call: dict[str, Any] = {
            "sid": new_sid("CA"),
            "account_sid": account,
            "from": from_,
            "to": to,
            "url": webhook_url,
            "queue": queue,
            "queue_time": 0,
            "said": [],
            "heard": [],
            "gather": "",
            "ended": False,
            "status": 0,
        }
        self._voice_post(call, webhook_url + f"?{urlencode({'queue': queue})}", {"CallStatus": "ringing"})
        return call

    def voice_call_wait(self, call: dict[str, Any], seconds: int) -> dict[str, Any]:
        """The caller waits SECONDS more: request the queue's waitUrl as Twilio does and follow its TwiML."""
        call["queue_time"] += seconds
        wait_url = call["url"] + "?" + urlencode({"step": "wait", "queue": call["queue"]})
        fields = {
            "QueueSid": "QU" + hashlib.sha256(call["queue"].encode()).hexdigest()[:32],
            "QueueTime": str(call["queue_time"]),
            "QueuePosition": "1",
            "CurrentQueueSize": "1",
            "AvgQueueTime": str(call["queue_time"]),
            "CallStatus": "in-progress",
        }
        return self._voice_follow(call, self._voice_post(call, wait_url, fields))

    def voice_call_press(self, call: dict[str, Any], digits: str) -> dict[str, Any]:
        """The caller presses DIGITS at the <Gather> Tiski offered: post them to its action, follow the TwiML."""
        if not call["gather"]:
            raise ValueError("No <Gather> is waiting for digits.")
        action, call["gather"] = call["gather"], ""
        return self._voice_follow(call, self._voice_post(call, action, {"Digits": digits, "CallStatus": "in-progress"}))

    def voice_call_hang_up(self, call: dict[str, Any]) -> dict[str, Any]:
        """The call ends: post its ``completed`` status callback (nobody answered it)."""
        if not call["ended"]:
            call["ended"], call["gather"] = True, ""
            fields = {"CallStatus": "completed", "CallDuration": str(call["queue_time"])}
            self._voice_post(call, call["url"], fields)
        return call

    def _voice_post(self, call: dict[str, Any], url: str, fields: Mapping[str, str]) -> bytes:
        params = {
            "CallSid": call["sid"],
            "AccountSid": call["account_sid"],
            "From": call["from"],
            "To": call["to"],
            "Direction": "inbound",
            "ApiVersion": API_VERSION,
            "Timestamp": formatdate(usegmt=True),
            **fields,
        }
        call["status"], answer = self.post_signed(url, params, account_sid=call["account_sid"])
        return answer

    def _voice_follow(self, call: dict[str, Any], twiml: bytes) -> dict[str, Any]:
        """Do what TwiML tells, as far as a waiting caller notices: hear <Say>, be asked by <Gather>, be hung up."""
        try:
            root = ElementTree.fromstring(twiml)  # noqa: S314  (Tiski's own answer over loopback, in the demo)
        except ElementTree.ParseError:
            call["said"].append(f"(not TwiML: HTTP {call['status']})")
            return call
        call["heard"] = []  # what this answer says (said: everything said on the call)
        for verb in root.iter():
            if verb.tag == "Say" and verb.text:
                call["said"].append(verb.text.strip())
                call["heard"].append(verb.text.strip())
            elif verb.tag == "Gather":
                call["gather"] = verb.get("action", "")
        if root.find("Hangup") is not None:
            self.voice_call_hang_up(call)
        return call

    # --- the REST API -------------------------------------------------------------------------------------

    def _authorized(self, header: str, account_sid: str) -> bool:
        token = self.auth_tokens.get(account_sid)
        if not header.startswith("Basic ") or token is None:
            return False
        try:
            user, _sep, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, account_sid) and hmac.compare_digest(password, token)

    def _message_create(self, account_sid: str, auth: str, form: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if not self._authorized(auth, account_sid):
            return 401, _error(20003, "Authentication Error - invalid username", 401)
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure == 429:
            return 429, _error(20429, "Too Many Requests", 429)
        if failure is not None:
            return failure, _error(20500, "An internal server error has occurred", failure)

        def one(name: str) -> str:
            return form.get(name, [""])[-1]

        to, from_, service, body = one("To"), one("From"), one("MessagingServiceSid"), one("Body")
        if not to:
            return 400, _error(21604, "A 'To' phone number is required.", 400)
        if not E164.match(to) or to in self.invalid:
            return 400, _error(21211, f"Invalid 'To' Phone Number: {to}", 400)
        if not (from_ or service):
            return 400, _error(21603, "A 'From' phone number is required.", 400)
        if not body and not form.get("MediaUrl"):
            return 400, _error(21602, "Message body is required.", 400)
        if len(body) > MAX_BODY:
            return 400, _error(21617, "The concatenated message body exceeds the 1600 character limit.", 400)
        if to in self.unsubscribed:
            return 400, _error(21610, "Attempt to send to unsubscribed recipient", 400)
        if to.startswith(self.blocked_prefixes) and self.blocked_prefixes:
            return 400, _error(
                21408,
                f"Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}",
                400,
            )
        sid = new_sid("SM")
        message = SentMessage(
            sid=sid,
            account_sid=account_sid,
            to=to,
            from_=from_,
            body=body,
            status_callback=one("StatusCallback"),
            messaging_service_sid=service,
            params={name: values[-1] for name, values in form.items()},
        )
        self.messages.append(message)
        now = formatdate(usegmt=True)
        resource: dict[str, Any] = {
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_ or None,
            "messaging_service_sid": service or None,
            "num_media": "0",
            "num_segments": "1" if len(body) <= 160 else str(-(-len(body) // 153)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service and not from_ else "queued",
            "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Media.json"},
            "to": to,
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
        }
        if message.status_callback:
            thread = threading.Thread(target=self._callbacks_send, args=(message,), daemon=True)
            self._callback_threads.append(thread)
            thread.start()
        return 201, resource

    def _callbacks_send(self, message: SentMessage) -> None:
        self._release.wait(timeout=60)
        time.sleep(self.callback_delay)
        statuses: list[dict[str, str]] = [{"MessageStatus": "sent"}]
        if self.outcome == "undelivered":
            statuses.append({"MessageStatus": "undelivered", "ErrorCode": "30003"})
        elif self.outcome == "failed":
            statuses.append({"MessageStatus": "failed", "ErrorCode": "30008"})
        else:
            statuses.append({"MessageStatus": "delivered"})
        for status in statuses:
            params = {
                "SmsSid": message.sid,
                "SmsStatus": status["MessageStatus"],
                "MessageStatus": status["MessageStatus"],
                "To": message.to,
                "MessageSid": message.sid,
                "AccountSid": message.account_sid,
                "From": message.from_,
                "ApiVersion": API_VERSION,
                **{name: value for name, value in status.items() if name != "MessageStatus"},
            }
            if message.messaging_service_sid:
                params["MessagingServiceSid"] = message.messaging_service_sid
            try:
                answer, _body = self.post_signed(message.status_callback, params, account_sid=message.account_sid)
            except OSError as error:  # the application is down: Twilio gives up on a callback, too
                logger.warning("status callback to %s failed: %s", message.status_callback, error)
                answer = 0
            self.callbacks.append(Callback(url=message.status_callback, params=params, status=answer))

    def _call_create(self, account_sid: str, auth: str, form: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if not self._authorized(auth, account_sid):
            return 401, _error(20003, "Authentication Error - invalid username", 401)
        to, from_ = form.get("To", [""])[-1], form.get("From", [""])[-1]
        if not E164.match(to) or to in self.invalid:
            return 400, _error(21211, f"Invalid 'To' Phone Number: {to}", 400)
        if not from_:
            return 400, _error(21212, "Invalid 'From' Phone Number", 400)
        if not (form.get("Twiml") or form.get("Url")):
            return 400, _error(21205, "Url or Twiml is required", 400)
        call = {
            "sid": new_sid("CA"),
            "account_sid": account_sid,
            "to": to,
            "from": from_,
            "status": "queued",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "form": {name: values if len(values) > 1 else values[-1] for name, values in form.items()},
        }
        with self._lock:
            self.calls.append(call)
        callback = form.get("StatusCallback", [""])[-1]
        if self.answer_calls_after is not None and callback:
            threading.Thread(target=self._call_progress, args=(call, callback), daemon=True).start()
        return 201, {key: value for key, value in call.items() if key != "form"}

    def _call_progress(self, call: dict[str, Any], callback: str) -> None:
        """Play an outbound call through (the demo's): it rings, the customer answers, they talk, it ends — each
        step a signed status callback, as Twilio sends them."""
        answer_after, talk = self.answer_calls_after or 0.0, self.talk_s
        steps = [
            (0.5, "ringing", {}),
            (answer_after, "in-progress", {}),
            (talk, "completed", {"CallDuration": str(int(talk))}),
        ]
        for delay, status, extra in steps:
            time.sleep(delay)
            params = {
                "CallSid": call["sid"],
                "AccountSid": call["account_sid"],
                "From": call["from"],
                "To": call["to"],
                "Direction": "outbound-api",
                "CallStatus": status,
                "ApiVersion": API_VERSION,
                "Timestamp": formatdate(usegmt=True),
                **extra,
            }
            try:
                answer, _body = self.post_signed(callback, params, account_sid=call["account_sid"])
            except OSError as error:
                logger.warning("call status callback to %s failed: %s", callback, error)
                return
            self.callbacks.append(Callback(url=callback, params=params, status=answer))

    def _media_get(self, media_id: str, auth: str) -> tuple[int, str, bytes]:
        media = self._media.get(media_id)
        if media is None:
            return (
                404,
                "application/json",
                json.dumps(_error(20404, "The requested resource was not found", 404)).encode(),
            )
        if not self._authorized(auth, media.account_sid):
            return 401, "application/json", json.dumps(_error(20003, "Authenticate", 401)).encode()
        return 200, media.content_type, media.content


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    """Return an error body as Twilio's REST API sends it."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _handler_for(simulator: TwilioSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "TwilioSimulator/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("twilio simulator: " + format, *args)

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            simulator.requests.append(("POST", self.path))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            auth = self.headers.get("Authorization", "")
            if match := MESSAGES_PATH.match(path):
                status, resource = simulator._message_create(match["account"], auth, form)
            elif match := CALLS_PATH.match(path):
                status, resource = simulator._call_create(match["account"], auth, form)
            else:
                self._answer(404, "application/json", json.dumps(_error(20404, "Not found", 404)).encode())
                return
            self._answer(status, "application/json", json.dumps(resource).encode())

        def do_GET(self) -> None:
            simulator.requests.append(("GET", self.path))
            match = MEDIA_PATH.match(self.path.split("?", 1)[0])
            if match is None:
                self._answer(404, "application/json", json.dumps(_error(20404, "Not found", 404)).encode())
                return
            status, content_type, body = simulator._media_get(match["media"], self.headers.get("Authorization", ""))
            self._answer(status, content_type, body)

    return Handler
