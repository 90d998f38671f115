"""Crash safety: kill -9 the web server and the worker while 1,000 messages come in and while a bulk macro's
replies go out; after restarts every message is stored once and every reply reached its provider once.

Real processes (`tiski serve`, `tiski worker`) on a data directory of their own; real providers on loopback:
the Twilio and Meta simulators (signed webhooks in, their REST APIs and status callbacks out), Mailgun's
inbound webhook (signed, with the MIME) and an SMTP relay (aiosmtpd). Every provider sender retries a call
that failed (connection refused or reset, 5xx) with the same message id, as Twilio, Meta and Mailgun do.

What "once" means at the providers (docs/security.md, "Crash safety"): SMS and WhatsApp replies are created
exactly once, since a status callback naming the reply (StatusCallback's ?reference=, WhatsApp's
biz_opaque_callback_data) confirms a delivery the killed worker left in doubt; email over SMTP is at least
once with a stable Message-ID: the relay may get an in-doubt mail twice (at most once per kill), one
Message-ID each, which mailboxes collapse.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller

from tests.core.processes import free_port, tiski_command, tiski_env, wait_for
from tiski.simulators.meta import MetaSimulator
from tiski.simulators.twilio import TwilioSimulator

pytestmark = [pytest.mark.slow, pytest.mark.crash]

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "AC" + "c7" * 16
TWILIO_TOKEN = "crash-twilio-token-0123456789abcd"
APP_SECRET = "crash-meta-app-secret-0123456789"
META_TOKEN = "EAAG-crash-access-token"
MAILGUN_KEY = "key-crash-mailgun-signing"
MAILBOX = "tuki@crash.example"
OUR_NUMBER = "+358451112222"
PHONE_NUMBER_ID = "106540352242922"

MESSAGES = {"sms": 400, "whatsapp": 300, "email": 300}  # 1,000 in all
SENDERS = {"sms": 40, "whatsapp": 30}  # conversations: each number's messages continue its case
THREADS = 8
SETTLE_S = float(os.environ.get("TISKI_CRASH_SETTLE_S") or 300)  # the worker's backlog, on a slow machine


class SmtpSink:
    """An SMTP relay that keeps every mail it took (aiosmtpd's handler interface)."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = cast(EmailMessage, message_from_bytes(envelope.content, policy=policy.default))
        with self.lock:
            self.mails.append(mail)
        return "250 OK"


class Service:
    """One `tiski` process that the test kills with SIGKILL and starts again."""

    def __init__(self, name: str, args: list[str], *, data_dir: Path, env: dict[str, str], ready: Callable[[], bool]):
        self.name, self.args, self.data_dir, self.env, self.ready = name, args, data_dir, env, ready
        self.log = (data_dir / f"{name}.log").open("ab")
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            tiski_command("--data-dir", str(self.data_dir), *self.args),
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.ready, timeout=60, what=f"{self.name} to start")

    def kill(self) -> None:
        assert self.process is not None and self.process.poll() is None, f"{self.name} died by itself"
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def retried(call: Callable[[], int], *, what: str) -> int:
    """Make CALL until it answers 200, retrying (same message id) while the server is down or failing; return
    how many tries it took."""
    deadline = time.monotonic() + 120
    tries = 0
    while True:
        tries += 1
        try:
            status = call()
        except (OSError, http.client.HTTPException):
            status = 0
        if status == 200:
            return tries
        if status not in (0, 500, 502, 503, 504) or time.monotonic() > deadline:
            raise AssertionError(f"{what}: answered {status} after {tries} tries")
        time.sleep(0.05)


def twilio_post(twilio: TwilioSimulator, url: str, params: dict[str, str]) -> int:
    return twilio.post_signed(url, params, account_sid=ACCOUNT)[0]


def meta_post(meta: MetaSimulator, url: str, payload: dict[str, Any]) -> int:
    return meta.post(url, payload).status


def reached(counter: Counter[str], at: int) -> bool:
    return counter["messages"] >= at


def out_count(sink: SmtpSink, twilio: TwilioSimulator, meta: MetaSimulator) -> int:
    """Return how many messages the providers took: mails, SMS and WhatsApp messages."""
    return len(sink.mails) + len(twilio.messages) + len(meta.sent)


def out_reached(sink: SmtpSink, twilio: TwilioSimulator, meta: MetaSimulator, target: int) -> bool:
    return out_count(sink, twilio, meta) >= target


def mailgun_post(url: str, raw: bytes) -> int:
    stamp, token = str(int(time.time())), uuid.uuid4().hex
    signature = hmac.new(MAILGUN_KEY.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
    fields = [("recipient", MAILBOX.encode()), ("timestamp", stamp.encode()), ("token", token.encode())]
    fields += [("signature", signature.encode()), ("body-mime", raw)]
    boundary = f"crash-{uuid.uuid4().hex}"
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
            for name, value in fields
        )
        + f"--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (loopback)
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def customer_mail(number: int) -> tuple[str, bytes]:
    message_id = f"<crash-{number}-{uuid.uuid4().hex[:8]}@asiakas.example>"
    mail = EmailMessage()
    mail["From"] = f"Asiakas {number} <asiakas{number}@asiakas.example>"
    mail["To"] = MAILBOX
    mail["Subject"] = f"Kysymys {number}"
    mail["Message-ID"] = message_id
    mail.set_content(f"Hei, tämä on viesti numero {number}.")
    return message_id, mail.as_bytes()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="tiski-crash-"))
    yield path
    if not os.environ.get("TISKI_CRASH_KEEP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def database() -> Iterator[dict[str, str]]:
    """The processes' database: SQLite in the data directory, or, when the tests run on PostgreSQL
    (DATABASE_URL), a database of this test's own on that server, dropped afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield {}
        return
    import psycopg

    name = f"{os.environ.get('TISKI_TEST_DB_NAME') or 'test_tiski'}_crash"
    parts = urlsplit(url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    yield {"DATABASE_URL": parts._replace(path=f"/{name}").geturl()}
    if os.environ.get("TISKI_CRASH_KEEP"):
        return
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_kill9_of_web_server_and_worker_loses_and_duplicates_nothing(data_dir: Path, database: dict[str, str]) -> None:
    seed = int(os.environ.get("TISKI_CRASH_SEED") or random.randrange(1_000_000))
    rng = random.Random(seed)
    print(f"crash test seed {seed} (rerun with TISKI_CRASH_SEED={seed})")
    web_port, smtp_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
    sink = SmtpSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    twilio = TwilioSimulator(auth_tokens={ACCOUNT: TWILIO_TOKEN}, callback_delay=0.05).start()
    meta = MetaSimulator(
        app_secret=APP_SECRET, access_tokens=[META_TOKEN], phone_number_id=PHONE_NUMBER_ID, callback_delay=0.05
    ).start()
    env = tiski_env(
        TISKI_SMTP_HOST="127.0.0.1",
        TISKI_SMTP_PORT=str(smtp_port),
        TISKI_TWILIO_API_URL=twilio.url,
        TISKI_META_GRAPH_URL=meta.url,
        TISKI_WEBHOOK_BASE_URL=base,
        TISKI_MAILGUN_WEBHOOK_SIGNING_KEY=MAILGUN_KEY,
        TISKI_OUTBOX_BACKOFF_S="1",
        TISKI_OUTBOX_STALE_CLAIM_S="3",
        CRASH_MAILBOX=MAILBOX,
        CRASH_SMS_NUMBER=OUR_NUMBER,
        CRASH_TWILIO_ACCOUNT=ACCOUNT,
        CRASH_TWILIO_TOKEN=TWILIO_TOKEN,
        CRASH_WA_PHONE_NUMBER_ID=PHONE_NUMBER_ID,
        CRASH_META_APP_SECRET=APP_SECRET,
        CRASH_META_TOKEN=META_TOKEN,
        **database,
    )

    def shell(function: str) -> dict[str, Any]:
        code = f"from tests.crash import django_side; django_side.{function}()"
        result = subprocess.run(
            tiski_command("--data-dir", str(data_dir), "shell", "-c", code),
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))

    migrate = subprocess.run(
        tiski_command("--data-dir", str(data_dir), "migrate", "-v0"),
        env=env,
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr.decode()
    channels = shell("setup")
    hooks = {kind: f"{base}/hooks/{kind}/{channels[kind]}/" for kind in ("sms", "whatsapp")}
    meta.webhooks = {"whatsapp": hooks["whatsapp"]}
    mailgun_url = f"{base}/email/webhooks/mailgun/inbound_mime/"

    web = Service(
        "web", ["serve", "--port", str(web_port)], data_dir=data_dir, env=env, ready=lambda: port_open(web_port)
    )
    worker = Service(
        "worker", ["worker", "--interval", "0.1", "-v", "1"], data_dir=data_dir, env=env, ready=lambda: True
    )
    services = [web, worker]
    try:
        web.start()
        worker.start()

        # --- 1,000 inbound messages from THREADS senders, the web server and the worker killed in between ---
        sent_ids: Counter[tuple[str, str]] = Counter()
        jobs: list[Callable[[], int]] = []
        for n in range(MESSAGES["sms"]):
            sid = "SM" + uuid.uuid4().hex
            number = f"+3584010{n % SENDERS['sms']:05d}"
            params = twilio.inbound_params(from_=number, to=OUR_NUMBER, body=f"Tekstiviesti {n}", message_sid=sid)
            sent_ids["sms", sid] += 1
            jobs.append(partial(twilio_post, twilio, hooks["sms"], params))
        for n in range(MESSAGES["whatsapp"]):
            number = f"35850{n % SENDERS['whatsapp']:07d}"
            payload = meta.whatsapp_body(from_=number, text=f"WhatsApp-viesti {n}")
            wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
            sent_ids["whatsapp", wamid] += 1
            meta.wrote_at(number, time.time())
            jobs.append(partial(meta_post, meta, hooks["whatsapp"], payload))
        for n in range(MESSAGES["email"]):
            message_id, raw = customer_mail(n)
            sent_ids["email", message_id] += 1
            jobs.append(partial(mailgun_post, mailgun_url, raw))
        rng.shuffle(jobs)

        done = Counter[str]()
        tries = Counter[str]()
        lock = threading.Lock()

        def run(job: Callable[[], int]) -> None:
            attempts = retried(job, what="an inbound message")
            with lock:
                done["messages"] += 1
                tries["retried"] += attempts > 1

        total = sum(MESSAGES.values())
        kills = sorted(rng.sample(range(int(total * 0.1), int(total * 0.8)), 4))
        plan = [(at, web if i % 2 == 0 else worker) for i, at in enumerate(kills)]
        started = time.monotonic()
        with ThreadPoolExecutor(THREADS) as pool:
            futures = [pool.submit(run, job) for job in jobs]
            for at, service in plan:
                wait_for(partial(reached, done, at), timeout=120, what=f"{at} messages in")
                time.sleep(rng.uniform(0, 0.3))
                service.kill()
                service.start()
            for future in futures:
                future.result()
        print(f"ingest: {time.monotonic() - started:.1f} s, {tries['retried']} messages retried")
        assert tries["retried"] > 0, "no sender had to retry: the kills hit nothing"

        # --- a bulk macro replying on every open case; the worker killed while its replies go out ---
        out_before = out_count(sink, twilio, meta)
        bulk = shell("bulk_start")
        print(f"bulk run over {bulk['cases']} cases started at {time.monotonic() - started:.1f} s")
        assert bulk["cases"] >= 150
        for fraction in sorted(rng.uniform(0.1, 0.8) for _ in range(3)):
            target = out_before + int(bulk["cases"] * fraction)
            wait_for(partial(out_reached, sink, twilio, meta, target), timeout=120, what="replies going out")
            time.sleep(rng.uniform(0, 0.05))
            worker.kill()
            worker.start()

        progress: dict[str, Any] = {}

        def settled() -> bool:
            state = shell("report")
            progress["runs"] = [run["status"] for run in state["runs"]]
            progress["deliveries"] = Counter(delivery["status"] for delivery in state["outbound"])
            return all(run["status"] == "done" for run in state["runs"]) and all(
                delivery["status"] == "sent" for delivery in state["outbound"]
            )

        print(f"worker killed 3 times during the run at {time.monotonic() - started:.1f} s")
        try:
            wait_for(settled, timeout=SETTLE_S, what="every reply to be sent")
        except AssertionError as error:
            raise AssertionError(f"{error}; last seen: {progress}") from None
        print(f"settled at {time.monotonic() - started:.1f} s")
        time.sleep(1)  # the last status callbacks
        twilio.wait_callbacks(timeout=10)
        meta.wait_callbacks(timeout=10)
        state = shell("report")
    finally:
        for service in services:
            service.stop()
        twilio.stop()
        meta.stop()
        smtp.stop()
    print(f"kills: web {web.kills}, worker {worker.kills}")

    # --- every inbound message stored exactly once ---
    stored = Counter((kind, external_id) for kind, external_id in state["inbound"])
    assert stored == sent_ids
    assert sum(stored.values()) == total

    # --- the bulk run applied once per case, and every reply reached its provider ---
    [run_state] = state["runs"]
    assert run_state["total"] == run_state["done_count"] == bulk["cases"]
    outbound = state["outbound"]
    assert all(delivery["status"] == "sent" for delivery in outbound)
    replies_per_case = Counter(delivery["case"] for delivery in outbound)
    assert len(replies_per_case) >= bulk["cases"]

    by_kind: dict[str, list[dict[str, Any]]] = {}
    for delivery in outbound:
        by_kind.setdefault(delivery["kind"], []).append(delivery)

    # SMS: exactly once at Twilio, counted by the reference each reply's StatusCallback carries.
    sms_refs = Counter(parse_qs(urlsplit(m.status_callback).query)["reference"][0] for m in twilio.messages)
    sids = {parse_qs(urlsplit(m.status_callback).query)["reference"][0]: m.sid for m in twilio.messages}
    assert sms_refs == Counter(f"tiski-message-{d['pk']}" for d in by_kind["sms"])
    assert all(sids[f"tiski-message-{d['pk']}"] == d["external_id"] for d in by_kind["sms"])

    # WhatsApp: exactly once at Meta, counted by biz_opaque_callback_data.
    wa_refs = Counter(sent.payload["biz_opaque_callback_data"] for sent in meta.sent)
    wamids = {sent.payload["biz_opaque_callback_data"]: sent.message_id for sent in meta.sent}
    assert wa_refs == Counter(f"tiski-message-{d['pk']}" for d in by_kind["whatsapp"])
    assert all(wamids[f"tiski-message-{d['pk']}"] == d["external_id"] for d in by_kind["whatsapp"])

    # Email: once per Message-ID; the relay may have got an in-doubt mail again, at most once per worker kill.
    mail_ids = Counter(str(mail["Message-ID"]) for mail in sink.mails)
    assert set(mail_ids) == {d["external_id"] for d in by_kind["email"]}
    assert len(mail_ids) == len(by_kind["email"])
    copies = sum(mail_ids.values()) - len(mail_ids)
    print(f"email copies sent again after a kill: {copies}")
    assert copies <= worker.kills
