"""Errors of the macros domain; the message is meant for the person who caused it."""

from __future__ import annotations


class MacroError(Exception):
    pass


class MacroNotFoundError(MacroError):
    """No such macro, or a personal macro of someone else (which is the same to the asker)."""


class MacroPermissionError(MacroError):
    pass


class MacroInvalidError(MacroError):
    """The macro cannot be saved as given; ERRORS lists every problem in words."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(" ".join(errors))
        self.errors = errors


class MacroNotApplicableError(MacroError):
    """The macro cannot run on this case (closed, no address on its channel, no permission …)."""
