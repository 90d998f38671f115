"""The `tiski` command: Django's manage.py with Tiski's settings, a global --data-dir and dashed command names."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tiski.simulators.environment import demo_environment

DEMO_EMAIL_BACKEND = "tiski.core.mail.LocalMailboxBackend"

OVERVIEW = """\
Usage: tiski [--data-dir DIR] COMMAND [options]      (tiski help COMMAND: the command's options)

Try it:
  demo             everything on 127.0.0.1 with demo data: database, worker, web server, local mailbox

Run it:
  migrate          create or update the database tables (run on every upgrade)
  createsuperuser  create the first administrator
  serve            the web server (uvicorn) for production, behind a reverse proxy
  worker           the background worker: sends replies, runs background tasks
  router           route work to agents in a process of its own (web servers with TISKI_ROUTER=off)
  smtpd            receive email over SMTP
  imap-poll        fetch email from IMAP mailboxes

Manage it:
  create-token     issue an API token for a user
  load-demo        load the demo company into the database
  seed-cases       bulk-create many cases for performance testing
  import-records   import orders, invoices, contracts … from a CSV or JSON file
  customer-export  everything about one customer as JSON (GDPR access request)
  customer-erase   anonymise one customer (GDPR erasure), statistics stay
  kb-reindex       rebuild the knowledge base's search index
  reports-export   write one day's figures as CSV and Parquet for a BI system
  reports-rebuild  recompute the facts the reports read, for every case

--data-dir DIR (or TISKI_DATA_DIR) holds the SQLite database, the secret key and uploaded files;
docs/configuration.md lists every setting.
"""


def _pop_option(args: list[str], name: str) -> tuple[str | None, list[str]]:
    """Return the value of option NAME (``--name X`` or ``--name=X``) and ARGS without it."""
    value: str | None = None
    rest: list[str] = []
    it = iter(range(len(args)))
    for i in it:
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg == name:
            if i + 1 >= len(args):
                raise SystemExit(f"tiski: {name} needs a value")
            value = args[i + 1]
            next(it, None)
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return value, rest


def _command_index(args: Sequence[str]) -> int | None:
    """Return the index of the subcommand in ARGS (the first argument that is not an option)."""
    return next((i for i, arg in enumerate(args) if not arg.startswith("-")), None)


def _demo_environment(args: Sequence[str]) -> None:
    """Set what `tiski demo` needs before the settings load, so the worker child inherits it too."""
    if not os.environ.get("TISKI_DATA_DIR"):
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        os.environ["TISKI_DATA_DIR"] = str(base / "tiski-demo")
    # The demo's customers are invented: their mail goes to a folder shown at /console/sent-mail/.
    os.environ["TISKI_EMAIL_BACKEND"] = DEMO_EMAIL_BACKEND
    port, rest = _pop_option(list(args), "--port")
    host, _rest = _pop_option(rest, "--host")
    host = host or "127.0.0.1"
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104  (only compared)
    shown = f"[{shown}]" if ":" in shown else shown
    os.environ["TISKI_BASE_URL"] = f"http://{shown}:{port or 8000}"
    demo_environment(int(port or 8000))  # the messaging providers' simulators


def main(argv: Sequence[str] | None = None) -> None:
    """Run one `tiski` command line (sys.argv when ARGV is None)."""
    args = list(sys.argv[1:] if argv is None else argv)
    data_dir, args = _pop_option(args, "--data-dir")
    if data_dir:
        os.environ["TISKI_DATA_DIR"] = str(Path(data_dir).expanduser().resolve())
    index = _command_index(args)
    if args in ([], ["help"]) or (index is None and ("-h" in args or "--help" in args)):
        sys.stdout.write(OVERVIEW + "\nEvery command, Django's own included:\n")
        sys.stdout.flush()
        args, index = ["help", "--commands"], None
    if index is not None:
        args[index] = args[index].replace("-", "_")
        if args[index] == "help" and index + 1 < len(args) and not args[index + 1].startswith("-"):
            args[index + 1] = args[index + 1].replace("-", "_")
    if index is not None and args[index] == "demo":
        _demo_environment(args[index + 1 :])
        if data_dir:  # let the demo show where its data lives
            args.extend(["--data-dir", os.environ["TISKI_DATA_DIR"]])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiski.settings")

    from django.core.management import execute_from_command_line

    execute_from_command_line(["tiski", *args])


if __name__ == "__main__":
    main()
