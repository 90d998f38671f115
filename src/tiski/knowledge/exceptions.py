"""Errors of the knowledge base's services; the message is meant for the person who caused it."""

from __future__ import annotations


class KnowledgeError(Exception):
    """Base of the knowledge base's errors."""


class ArticleNotFoundError(KnowledgeError):
    pass


class ArticleInvalidError(KnowledgeError):
    """The input cannot be saved as it is: an empty title, an unknown language or visibility …"""


class ArticlePermissionError(KnowledgeError):
    """The user may not make this change (e.g. publish without the publishing permission)."""


class ArticleTransitionError(KnowledgeError):
    """The status cannot move from where it is to where it was asked to go."""


class ArticleConflictError(KnowledgeError):
    """Someone else saved the language version since it was opened: saving would overwrite their text."""
