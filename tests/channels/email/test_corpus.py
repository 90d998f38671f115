"""The shared benchmark corpus through email_receive: subjects, senders, visible text, attachments, threading."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.core import mail

from tiski.cases.models import Case, Message
from tiski.channels.email.inbound import Outcome, email_receive
from tiski.channels.models import Channel, ChannelKind


@pytest.fixture(scope="module")
def generated(corpus, tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("corpus") / "mails"
    subprocess.run(
        [sys.executable, str(corpus / "make_emails.py"), str(out), "--count", "240", "--seed", "11",
         "--tag-format", "[TSK-{id}]", "--first-id", "1001", "--attachment-kb", "8"],
        check=True, capture_output=True,
    )  # fmt: skip
    manifest = [json.loads(line) for line in Path(f"{out}.manifest.jsonl").read_text().splitlines()]
    return out, manifest


@pytest.mark.django_db(transaction=True, reset_sequences=True)  # the corpus' tags expect case numbers from 1001
def test_every_corpus_mail_is_stored_right_and_threaded(generated, run_tasks):
    out, manifest = generated
    mailbox = Channel.objects.create(kind=ChannelKind.EMAIL, name="Support", address="support@example.com")
    receipts = {}
    for entry in manifest:
        result = email_receive(raw=(out / entry["file"]).read_bytes(), mailbox=mailbox, source="corpus")
        assert result.outcome is Outcome.STORED, entry["file"]
        receipts[entry["file"]] = result.receipt

    for entry in manifest:
        receipt = receipts[entry["file"]]
        message = receipt.message
        assert receipt.case.reference == f"TSK-{entry['expected_ticket_id']}", entry["file"]
        assert message.identity.value == entry["sender"]
        assert entry["probe"] in message.body_text, entry["file"]  # the new text, decoded, kept visible
        assert message.attachments.count() == len(entry["attachments"]), entry["file"]
        assert message.auto_submitted == (entry["kind"] == "autoreply"), entry["file"]
        if entry["kind"] == "new":
            assert receipt.case.subject == entry["subject"]

    new_cases = sum(entry["kind"] == "new" for entry in manifest)
    assert Case.objects.count() == new_cases
    assert Message.objects.count() == len(manifest)

    # Every new case is acknowledged exactly once; replies and auto-replies never.
    run_tasks()
    run_tasks()
    new_per_sender = Counter(e["sender"] for e in manifest if e["kind"] == "new")
    expected = Counter({sender: min(n, 3) for sender, n in new_per_sender.items()})  # 3 per sender an hour
    assert Counter(m.to[0] for m in mail.outbox) == expected
    assert all("TSK-" in m.subject for m in mail.outbox)
