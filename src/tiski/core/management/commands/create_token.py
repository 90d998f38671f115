"""`tiski create-token USER [--name NAME]`: issue an API token and print it alone, for scripts to capture."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiski.accounts.services import api_token_issue


class Command(BaseCommand):
    help = "Create an API token for USER and print it; it is shown only this once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", metavar="USER", help="the username of an active user")
        parser.add_argument(
            "--name", default="", help='what the token is for, e.g. "CRM sync" (default: "Created with create-token")'
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}; create the user first (e.g. in the admin).")
        if not user.is_active:
            raise CommandError(f"The user {username!r} is inactive; tokens of inactive users do not work.")
        name = (options["name"] or "Created with create-token").strip()[:100]
        issued = api_token_issue(user=user, name=name)
        self.stdout.write(issued.raw)
        if options["verbosity"] > 1:
            self.stderr.write(
                f"Token {issued.token.prefix}… ({name}) for {username}; store it now, it is not shown again."
            )
