"""The shared benchmark corpus through email_receive: subjects, senders, visible text, attachments, threading."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from django.core import mail

from tests.channels.email.corpus import ADDRESS, corpus_assert_stored, corpus_generate
from tiski.channels.email.inbound import Outcome, email_receive
from tiski.channels.models import Channel, ChannelKind


@pytest.fixture(scope="module")
def generated(corpus, tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("corpus") / "mails"
    return out, corpus_generate(corpus / "make_emails.py", out, count=240)


@pytest.mark.django_db(transaction=True, reset_sequences=True)  # the corpus' tags expect case numbers from 1001
def test_every_corpus_mail_is_stored_right_and_threaded(generated, run_tasks):
    out, manifest = generated
    mailbox = Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address=ADDRESS)
    for entry in manifest:
        result = email_receive(raw=(out / entry["file"]).read_bytes(), mailbox=mailbox, source="corpus")
        assert result.outcome is Outcome.STORED, entry["file"]
    corpus_assert_stored(manifest)

    # Every new case is acknowledged exactly once; replies and auto-replies never.
    run_tasks()
    run_tasks()
    new_per_sender = Counter(e["sender"] for e in manifest if e["kind"] == "new")
    expected = Counter({sender: min(n, 3) for sender, n in new_per_sender.items()})  # 3 per sender an hour
    assert Counter(m.to[0] for m in mail.outbox) == expected
    assert all("TSK-" in m.subject for m in mail.outbox)
