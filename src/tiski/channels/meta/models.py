"""WhatsApp message templates, the template a reply was sent with, and social keyword monitoring."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


class WhatsAppTemplate(models.Model):
    """A message template approved by Meta for one WhatsApp number: the only thing that may be sent to a
    customer outside WhatsApp's 24-hour customer-service window. Enter it as it was approved in WhatsApp
    Manager (name, language, body with {{1}}, {{2}} … placeholders)."""

    class Category(models.TextChoices):
        UTILITY = "UTILITY", _("Utility")
        MARKETING = "MARKETING", _("Marketing")
        AUTHENTICATION = "AUTHENTICATION", _("Authentication")

    class Status(models.TextChoices):
        APPROVED = "approved", _("Approved")
        PENDING = "pending", _("Pending")
        REJECTED = "rejected", _("Rejected")

    channel = models.ForeignKey(
        "tiski_channels.Channel",
        on_delete=models.CASCADE,
        related_name="whatsapp_templates",
        verbose_name=_("channel"),
        limit_choices_to={"kind": "whatsapp"},
    )
    name = models.CharField(
        _("name"), max_length=512, help_text=_("The template's name in WhatsApp Manager, e.g. order_update")
    )
    language = models.CharField(
        _("language"), max_length=16, default="fi", help_text=_("Language code, e.g. fi or en_US")
    )
    category = models.CharField(_("category"), max_length=16, choices=Category.choices, default=Category.UTILITY)
    body = models.TextField(_("body"), help_text=_("The approved text with {{1}}, {{2}} … where the parameters go"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["channel", "name", "language"]
        verbose_name = _("WhatsApp template")
        verbose_name_plural = _("WhatsApp templates")
        constraints = [
            models.UniqueConstraint(fields=["channel", "name", "language"], name="whatsapp_template_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    @property
    def parameter_count(self) -> int:
        """Return how many parameters the body takes (the highest placeholder number)."""
        return max((int(number) for number in PLACEHOLDER.findall(self.body)), default=0)

    def render(self, parameters: list[str]) -> str:
        """Return the body with PARAMETERS in place of {{1}}, {{2}} …"""
        return PLACEHOLDER.sub(lambda match: parameters[int(match.group(1)) - 1], self.body)

    def clean(self) -> None:
        numbers = sorted({int(number) for number in PLACEHOLDER.findall(self.body)})
        if numbers and numbers != list(range(1, len(numbers) + 1)):
            raise ValidationError({"body": _("Placeholders must be numbered {{1}}, {{2}} … without gaps.")})


class TemplateSend(models.Model):
    """The template and parameters an outbound WhatsApp message is sent with (the adapter sends type
    "template" for it instead of a text)."""

    message = models.OneToOneField("cases.Message", on_delete=models.CASCADE, related_name="whatsapp_template")
    template = models.ForeignKey(WhatsAppTemplate, on_delete=models.PROTECT, related_name="sends")
    parameters = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("template message")
        verbose_name_plural = _("template messages")

    def __str__(self) -> str:
        return f"{self.template} → message {self.message_id}"


class SocialKeyword(models.Model):
    """A word or hashtag watched in comments on the company's Instagram posts: a comment containing an active
    keyword becomes a case (comments without one do not). Mentions of the company always become cases."""

    keyword = models.CharField(
        _("keyword or hashtag"), max_length=100, unique=True, help_text=_("e.g. #broken or refund (case-insensitive)")
    )
    active = models.BooleanField(_("active"), default=True)
    category = models.ForeignKey(
        "cases.Category",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("category"),
        help_text=_(
            "Cases it opens get this category, and routing rules on the category choose their queue. "
            "Blank: the social media category (the Social queue)."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["keyword"]
        verbose_name = _("social keyword")
        verbose_name_plural = _("social keywords")

    def __str__(self) -> str:
        return self.keyword
