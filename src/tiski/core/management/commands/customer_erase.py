"""`tiski customer-erase ID --yes [--user NAME]`: anonymise a customer for good (GDPR)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiski.core.management.commands.customer_export import command_actor, command_customer
from tiski.customers.exceptions import CustomerErasedError
from tiski.customers.gdpr import customer_erase
from tiski.customers.selectors import CustomerPermissionError


class Command(BaseCommand):
    help = (
        "Erase customer ID's personal data: name, contact details, message texts, attachments, notes. "
        "Cases and their statistics stay. Cannot be undone; needs --yes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("customer_id", metavar="ID", help="the customer's id")
        parser.add_argument("--yes", action="store_true", help="confirm: erasure cannot be undone")
        parser.add_argument(
            "--user", metavar="NAME", help="act as this user (needs the erase permission); recorded as the eraser"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        customer = command_customer(options["customer_id"])
        if not options["yes"]:
            raise CommandError(
                f"Erasing customer {customer.pk} cannot be undone; run again with --yes to erase "
                f"(export first with `tiski customer-export {customer.pk} -o FILE` if the data is wanted)."
            )
        try:
            customer_erase(customer=customer, actor=command_actor(options["user"]))
        except (CustomerErasedError, CustomerPermissionError) as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] > 0:
            self.stdout.write(f"Customer {customer.pk}: personal data erased.")
