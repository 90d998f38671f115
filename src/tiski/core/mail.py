"""An email backend that keeps mail on this machine, one .eml file per message (used by `tiski demo`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class LocalMailboxBackend(BaseEmailBackend):
    """Write each message to TISKI_LOCAL_MAIL_DIR as <UTC timestamp>-<uuid>.eml; the console lists them."""

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.directory = Path(settings.TISKI_LOCAL_MAIL_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        """Write the messages and return the number written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S%f")
            path = self.directory / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
            path.write_bytes(message.message().as_bytes())
            sent += 1
        return sent
