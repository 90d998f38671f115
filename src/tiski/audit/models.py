"""The audit log: append-only at the model, the queryset and the database (triggers, see migration 0002)."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tiski.audit.exceptions import AuditImmutableError

USER_AGENT_MAX = 300
LABEL_MAX = 200


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """Refuse bulk deletes and updates: entries leave only through `audit_prune`."""

    def delete(self) -> NoReturn:
        raise AuditImmutableError("audit entries cannot be deleted; use audit_prune for retention")

    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditImmutableError("audit entries cannot be changed")


class AuditEntry(models.Model):
    """One audited action: who (actor, or the label of a failed login), what (action), on what (target)."""

    at = models.DateTimeField(_("time"), default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=64)
    target_type = models.ForeignKey(ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(_("target"), max_length=LABEL_MAX, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=USER_AGENT_MAX, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["at"], name="audit_at_idx"),
            models.Index(fields=["actor", "at"], name="audit_actor_at_idx"),
            models.Index(fields=["action", "at"], name="audit_action_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label or '-'} {self.action} {self.target_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert the entry; refuse to save an entry that is already stored."""
        if not self._state.adding:
            raise AuditImmutableError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutableError("audit entries cannot be deleted")


class AuditPruneGate(models.Model):
    """The one row the delete trigger consults: entries older than `until` may be deleted while it is set.

    `audit_prune` (and the test-database `flush`) set it, delete, and clear it in one transaction;
    at any other time `until` is empty and every DELETE on the audit table fails in the database.
    """

    until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_prunegate_single_row")]

    def __str__(self) -> str:
        return f"prune gate: {self.until or 'closed'}"
