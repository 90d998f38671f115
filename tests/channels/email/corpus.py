"""The generated mail corpus (../shared/corpus/make_emails.py) and what storing it right means."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tiski.cases.models import Case, Message

ADDRESS = "support@helpdesk.example"  # the generator's default To: address


def corpus_generate(script: Path, out: Path, *, count: int, seed: int = 11) -> list[dict]:
    """Write COUNT mails into OUT, numbered for Tiski's case references from TSK-1001; return the manifest."""
    subprocess.run(
        [sys.executable, str(script), str(out), "--count", str(count), "--seed", str(seed),
         "--tag-format", "[TSK-{id}]", "--first-id", "1001", "--attachment-kb", "8", "--queue-address", ADDRESS],
        check=True, capture_output=True,
    )  # fmt: skip
    return [json.loads(line) for line in Path(f"{out}.manifest.jsonl").read_text().splitlines()]


def corpus_assert_stored(manifest: list[dict]) -> None:
    """Assert that every mail of MANIFEST is stored once, right, on the right case (found by Message-ID)."""
    stored = {
        m.external_id: m for m in Message.objects.select_related("case", "identity").prefetch_related("attachments")
    }
    for entry in manifest:
        message = stored.get(entry["message_id"])
        assert message is not None, f"{entry['file']} was not stored"
        assert message.case.reference == f"TSK-{entry['expected_ticket_id']}", entry["file"]  # threading
        assert message.identity.value == entry["sender"], entry["file"]
        assert entry["probe"] in message.body_text, entry["file"]  # the new text, decoded, kept visible
        assert len(message.attachments.all()) == len(entry["attachments"]), entry["file"]
        assert message.auto_submitted == (entry["kind"] == "autoreply"), entry["file"]
        if entry["kind"] == "new":
            assert message.case.subject == entry["subject"], entry["file"]
    assert Message.objects.filter(direction=Message.Direction.IN).count() == len(manifest)
    assert Case.objects.count() == sum(entry["kind"] == "new" for entry in manifest)
