"""`tiski customer-export ID [-o FILE] [--user NAME]`: everything about a customer as JSON (GDPR)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from tiski.customers.gdpr import customer_export
from tiski.customers.models import Customer
from tiski.customers.selectors import CustomerPermissionError


def command_customer(raw: str) -> Customer:
    """Return the customer with id RAW; raise CommandError naming what is wrong."""
    try:
        customer_id = int(raw)
    except ValueError:
        raise CommandError(f"A customer id is a number, not {raw!r}.") from None
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise CommandError(f"No customer {customer_id}.")
    return customer


def command_actor(username: str | None) -> User | None:
    """Return the user the command acts for (recorded on the customer's history), or None for the operator."""
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active user {username!r}.")
    return user


class Command(BaseCommand):
    help = "Export everything Tiski holds about customer ID as JSON (to standard output, or to FILE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer_id", metavar="ID", help="the customer's id")
        parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (mode 0600) instead of stdout")
        parser.add_argument(
            "--user", metavar="NAME", help="act as this user (needs the export permission); recorded as the exporter"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        customer = command_customer(options["customer_id"])
        try:
            data = customer_export(customer=customer, actor=command_actor(options["user"]))
        except CustomerPermissionError as exc:
            raise CommandError(str(exc)) from exc
        text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2) + "\n"
        output = options["output"]
        if not output:
            self.stdout.write(text, ending="")
            return
        path = Path(output).expanduser()
        try:
            # Personal data: readable by the owner only, whatever the umask says.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
        if options["verbosity"] > 0:
            self.stderr.write(f"Customer {customer.pk}: {len(data['cases'])} cases exported to {path}.")
