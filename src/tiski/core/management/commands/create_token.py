"""`tiski create-token USER --scope SCOPE … [--name NAME]`: issue an API token and print it alone, for scripts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tiski.accounts.exceptions import TokenScopeError
from tiski.accounts.services import api_token_issue
from tiski.accounts.token_scopes import ALL_SCOPES


class Command(BaseCommand):
    help = "Create an API token for USER and print it; it is shown only this once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", metavar="USER", help="the username of an active user")
        parser.add_argument(
            "--name", default="", help='what the token is for, e.g. "CRM sync" (default: "Created with create-token")'
        )
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            metavar="SCOPE",
            help=f"what the token may do; repeat for several, at least one; --scope all for every scope. "
            f"Scopes: {', '.join(ALL_SCOPES)}",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}; create the user first (e.g. in the admin).")
        if not user.is_active:
            raise CommandError(f"The user {username!r} is inactive; tokens of inactive users do not work.")
        scopes: list[str] = [part.strip() for given in options["scope"] for part in given.split(",") if part.strip()]
        if not scopes:
            raise CommandError(f"Give the token at least one --scope; choose from {', '.join(ALL_SCOPES)} (or all).")
        if "all" in scopes:
            scopes = list(ALL_SCOPES)
        name = (options["name"] or "Created with create-token").strip()[:100]
        try:
            issued = api_token_issue(user=user, name=name, scopes=scopes)
        except TokenScopeError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(issued.raw)
        if options["verbosity"] > 1:
            self.stderr.write(
                f"Token {issued.token.prefix}… ({name}) for {username} with {', '.join(issued.token.scopes)}; "
                "store it now, it is not shown again."
            )
