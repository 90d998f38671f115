"""Agents following customers, organisations and cases, and the notifications that following brings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Follow(models.Model):
    """An agent follows exactly one customer, organisation or case."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="followers"
    )
    organization = models.ForeignKey(
        "customers.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="followers"
    )
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("follow")
        verbose_name_plural = _("follows")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(customer__isnull=False, organization__isnull=True, case__isnull=True)
                    | Q(customer__isnull=True, organization__isnull=False, case__isnull=True)
                    | Q(customer__isnull=True, organization__isnull=True, case__isnull=False)
                ),
                name="follow_exactly_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "customer"], condition=Q(customer__isnull=False), name="follow_unique_customer"
            ),
            models.UniqueConstraint(
                fields=["user", "organization"],
                condition=Q(organization__isnull=False),
                name="follow_unique_organization",
            ),
            models.UniqueConstraint(
                fields=["user", "case"], condition=Q(case__isnull=False), name="follow_unique_case"
            ),
        ]

    def __str__(self) -> str:
        target = (self.case_id and f"case {self.case_id}") or (self.customer_id and f"customer {self.customer_id}")
        return f"{self.user_id} follows {target or f'organisation {self.organization_id}'}"


class Notification(models.Model):
    """Something an agent follows happened: shown in the console, optionally mailed."""

    class Kind(models.TextChoices):
        CONTACT = "contact", _("Customer made contact")
        CASE_CHANGED = "case_changed", _("Case changed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.CharField(_("text"), max_length=300)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.text
