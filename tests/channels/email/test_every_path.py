"""The same generated corpus through every way mail arrives: SMTP, IMAP, a provider's webhook, the MTA pipe.

Each path must store every mail once with the right subject, sender, visible text, attachments and case.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.channels.email.corpus import ADDRESS, corpus_assert_stored, corpus_generate
from tests.channels.email.dovecot import Dovecot, dovecot_server  # noqa: F401  (the "dovecot" fixture)
from tests.channels.email.test_imap import PASSWORD_ENV, imap_settings
from tests.channels.email.test_providers import SIGNING_KEY, WEBHOOK_SECRET, mailgun_mime_post
from tests.core.processes import free_port
from tiski.channels.email.imap import imap_poll_mailbox
from tiski.channels.email.pipe import ExitCode, pipe_ingest
from tiski.channels.email.smtpd import smtpd_start
from tiski.channels.models import Channel, ChannelKind

COUNT = 60


@pytest.fixture(scope="module")
def generated(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[bytes], list[dict]]:
    out = tmp_path_factory.mktemp("paths") / "mails"
    manifest = corpus_generate(corpus / "make_emails.py", out, count=COUNT, seed=23)
    return [(out / entry["file"]).read_bytes() for entry in manifest], manifest


def _mailbox(**config: Any) -> Channel:
    return Channel.objects.create(
        kind=ChannelKind.EMAIL, name="Support", address=ADDRESS, config={"acknowledge": False, **config}
    )


def by_smtp(request: pytest.FixtureRequest, mails: list[bytes]) -> None:
    _mailbox()
    receiver = smtpd_start(host="127.0.0.1", port=free_port())
    try:
        with smtplib.SMTP(receiver.host, receiver.port, timeout=20) as smtp:
            for raw in mails:
                assert smtp.sendmail("sender@example.net", [ADDRESS], raw) == {}
    finally:
        receiver.stop()


def by_imap(request: pytest.FixtureRequest, mails: list[bytes]) -> None:
    dovecot: Dovecot = request.getfixturevalue("dovecot")
    dovecot.empty()
    request.getfixturevalue("monkeypatch").setenv(PASSWORD_ENV, dovecot.password)
    mailbox = _mailbox(imap=imap_settings(dovecot))
    dovecot.append_many(mails)
    result = imap_poll_mailbox(mailbox)
    assert (result.fetched, result.stored) == (len(mails), len(mails))
    assert dovecot.count("INBOX") == 0


def by_webhook(request: pytest.FixtureRequest, mails: list[bytes]) -> None:
    live_server = request.getfixturevalue("live_server")
    settings = request.getfixturevalue("settings")
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "WEBHOOK_SECRET": WEBHOOK_SECRET}
    _mailbox()
    for raw in mails:
        assert mailgun_mime_post(live_server, raw, recipient=ADDRESS) == 200


def by_pipe(request: pytest.FixtureRequest, mails: list[bytes]) -> None:
    mailbox = _mailbox()
    for n, raw in enumerate(mails):
        result = pipe_ingest(name=f"mail {n}", read=lambda raw=raw: raw, mailbox=mailbox)
        assert result.exit_code is ExitCode.OK, result


@pytest.mark.django_db(transaction=True, reset_sequences=True)  # the corpus' tags expect case numbers from 1001
@pytest.mark.parametrize("deliver", [by_smtp, by_imap, by_webhook, by_pipe], ids=["smtp", "imap", "webhook", "pipe"])
def test_the_corpus_arrives_right_by_every_path(
    request: pytest.FixtureRequest, generated: tuple[list[bytes], list[dict]], deliver: Callable[..., None]
) -> None:
    mails, manifest = generated
    deliver(request, mails)
    corpus_assert_stored(manifest)
