from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Partner(models.Model):
    """An outside company that runs part of the service (say chat and social) with its own agents.

    Its agents see and work only the cases of the channels and queues granted here, and of its own teams.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    channels = models.ManyToManyField(
        "tiski_channels.Channel", blank=True, related_name="partners", verbose_name=_("channels granted")
    )
    queues = models.ManyToManyField(
        "routing.Queue", blank=True, related_name="partners", verbose_name=_("queues granted")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    email = models.EmailField(_("email"), blank=True)
    partner = models.ForeignKey(
        Partner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="teams",
        verbose_name=_("partner"),
        help_text=_("Set for a partner's own team: cases handed to it become visible to the partner's agents"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """What Tiski knows of a user who works in the console, beside Django's user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    teams = models.ManyToManyField(Team, blank=True, related_name="members", verbose_name=_("teams"))
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    signature = models.TextField(_("signature"), blank=True)
    partner = models.ForeignKey(
        Partner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agents",
        verbose_name=_("partner"),
        help_text=_("Set for a partner's agent: sees only what is granted to the partner"),
    )
    notify_by_email = models.BooleanField(
        _("email me about what I follow"), default=False, help_text=_("Besides the console's notifications")
    )

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")
        permissions = [
            ("manage_tokens", "Can create and revoke API tokens for any user"),
            ("view_sent_mail", "Can read the local demo mailbox"),
        ]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class ApiToken(models.Model):
    """A bearer token for integrators. Only a SHA-256 digest is stored; the token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(
        _("scopes"), default=list, blank=True, help_text=_("What the token may do, within its user's permissions")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
