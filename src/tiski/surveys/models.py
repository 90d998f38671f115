"""Customer-satisfaction surveys: CSAT (1–5) and NPS (0–10), sent after a case is solved, answered by a signed link.

Three tables. SurveySettings: one row per kind, the administrator's choices (on or off, delay after solving,
sampling, one survey per customer per period, how long a link works, anonymous or not, the channels that send).
SurveyInvitation: one per case and kind, what was decided and sent (scheduled → sent → answered, or skipped with
its reason, or expired). SurveyResponse: the answer, with the case, agent, team, channel kind and customer copied
onto it, so reports count and group responses without joining through the invitation; an anonymous survey's
response keeps only the team and the channel kind.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    CSAT = "csat", _("Customer satisfaction (CSAT, 1–5)")
    NPS = "nps", _("Net Promoter Score (NPS, 0–10)")


SCALE: dict[str, tuple[int, int]] = {Kind.CSAT: (1, 5), Kind.NPS: (0, 10)}
NEGATIVE_AT_MOST: dict[str, int] = {Kind.CSAT: 2, Kind.NPS: 6}  # CSAT 1–2, NPS detractors 0–6
POSITIVE_AT_LEAST: dict[str, int] = {Kind.CSAT: 4, Kind.NPS: 9}  # CSAT 4–5, NPS promoters 9–10
SURVEY_CHANNEL_KINDS = ("email", "webform", "chat", "sms", "whatsapp", "messenger", "phone")


def score_error(kind: str, score: object) -> str:
    """Return why SCORE is not an answer to a survey of KIND (in the active language), or ""."""
    if kind not in SCALE:
        return str(_("Unknown survey kind “%(kind)s”: csat or nps.") % {"kind": kind})
    low, high = SCALE[kind]
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        return str(
            _("A %(kind)s score is a whole number from %(low)d to %(high)d.")
            % {"kind": kind.upper(), "low": low, "high": high}
        )
    return ""


def is_negative(kind: str, score: int) -> bool:
    return score <= NEGATIVE_AT_MOST[kind]


def band_of(kind: str, score: int) -> str:
    """Return "negative", "neutral" or "positive" (NPS: detractor, passive, promoter)."""
    if score <= NEGATIVE_AT_MOST[kind]:
        return "negative"
    return "positive" if score >= POSITIVE_AT_LEAST[kind] else "neutral"


class SurveySettings(models.Model):
    """How surveys of one kind are sent; one row per kind (created by migration, changed in the console)."""

    EDITABLE = (  # what the settings page, the service and the admin change
        "enabled",
        "delay_minutes",
        "sample_percent",
        "throttle_days",
        "link_valid_days",
        "anonymous",
        "channel_kinds",
    )

    kind = models.CharField(_("survey"), max_length=8, choices=Kind.choices, unique=True)
    enabled = models.BooleanField(_("send automatically"), default=False)
    delay_minutes = models.PositiveIntegerField(
        _("delay after solving (minutes)"),
        default=60,
        help_text=_("Chats get their end card at once, while the customer may still have the chat open."),
    )
    sample_percent = models.PositiveSmallIntegerField(
        _("sampling (percent of solved cases)"), default=100, help_text=_("100: every solved case; 25: one in four")
    )
    throttle_days = models.PositiveSmallIntegerField(
        _("at most one per customer in (days)"), default=7, help_text=_("0: no limit")
    )
    link_valid_days = models.PositiveSmallIntegerField(_("link valid for (days)"), default=14)
    anonymous = models.BooleanField(
        _("anonymous"),
        default=False,
        help_text=_("Responses keep only the team and the channel: no customer, case or agent; no follow-up is made."),
    )
    channel_kinds = models.JSONField(
        _("channels that send"),
        default=list,
        blank=True,
        help_text=_("Cases on these channels are surveyed; empty: none"),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["kind"]
        verbose_name = _("survey settings")
        verbose_name_plural = _("survey settings")

    def __str__(self) -> str:
        return str(self.get_kind_display())

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.sample_percent > 100:
            errors["sample_percent"] = str(_("Sampling is a percentage from 0 to 100."))
        if not 1 <= self.link_valid_days <= 365:
            errors["link_valid_days"] = str(_("A link is valid for 1 to 365 days."))
        if self.delay_minutes > 60 * 24 * 30:
            errors["delay_minutes"] = str(_("The delay is at most 30 days (43,200 minutes)."))
        unknown = set(self.channel_kinds or []) - set(SURVEY_CHANNEL_KINDS)
        if unknown:
            errors["channel_kinds"] = str(_("Unknown channel: %(kinds)s.") % {"kinds": ", ".join(sorted(unknown))})
        if errors:
            raise ValidationError(errors)


class SurveyInvitation(models.Model):
    """One survey of one kind for one solved case: when it is due, how it went out, and whether it was answered."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENT = "sent", _("Sent")
        ANSWERED = "answered", _("Answered")
        EXPIRED = "expired", _("Expired")
        SKIPPED = "skipped", _("Skipped")

    class Skip(models.TextChoices):
        DISABLED = "disabled", _("Surveys of this kind are off")
        CHANNEL = "channel", _("Not sent on this channel")
        SAMPLING = "sampling", _("Not in the sample")
        THROTTLED = "throttled", _("The customer had a survey recently")
        REOPENED = "reopened", _("The case was reopened")
        NO_ADDRESS = "no_address", _("No way to reach the customer")
        ERASED = "erased", _("The customer was erased")
        WINDOW = "window", _("The channel does not allow a message now")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="survey_invitations")
    kind = models.CharField(_("survey"), max_length=8, choices=Kind.choices)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="survey_invitations", verbose_name=_("customer")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("agent"),
        help_text=_("The case's owner when it was solved"),
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("team")
    )
    channel = models.ForeignKey(
        "tiski_channels.Channel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("sent on"),
    )
    channel_kind = models.CharField(_("case channel"), max_length=16, blank=True)
    via = models.CharField(_("delivered as"), max_length=16, blank=True, help_text="email, sms, whatsapp, chat …")
    language = models.CharField(_("language"), max_length=8, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    skip_reason = models.CharField(_("skipped because"), max_length=12, choices=Skip.choices, blank=True)
    solved_at = models.DateTimeField(_("solved"))
    due_at = models.DateTimeField(_("due"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    expires_at = models.DateTimeField(_("link expires"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    message = models.ForeignKey(
        "cases.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("message")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="surveyinvitation_one_per_case")]
        indexes = [
            models.Index(fields=["status", "due_at"], name="surveyinvitation_due"),
            models.Index(fields=["customer", "kind", "sent_at"], name="surveyinvitation_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.case_id}: {self.status}"


class SurveyResponse(models.Model):
    """One answer: the score, the comment and whom it is about (copied here for reports)."""

    class Source(models.TextChoices):
        LINK = "link", _("Survey page")
        CHAT = "chat", _("Chat end card")
        IMPORT = "import", _("Imported")

    kind = models.CharField(_("survey"), max_length=8, choices=Kind.choices)
    score = models.SmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    negative = models.BooleanField(_("negative"), default=False, help_text=_("CSAT 1–2, NPS 0–6"))
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.LINK)
    external_id = models.CharField(  # noqa: DJ001  (NULL: not imported, not unique)
        _("external id"), max_length=200, null=True, blank=True
    )
    invitation = models.OneToOneField(
        SurveyInvitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="response"
    )
    anonymous_key = models.CharField(  # noqa: DJ001  an anonymous response found again by its link, not joined
        max_length=64, null=True, blank=True, editable=False
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
        verbose_name=_("case"),
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
        verbose_name=_("customer"),
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
        verbose_name=_("agent"),
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("team")
    )
    channel_kind = models.CharField(_("channel"), max_length=16, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    answered_at = models.DateTimeField(_("answered"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-answered_at", "-pk"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=models.Q(external_id__isnull=False), name="surveyresponse_external_id"
            ),
            models.UniqueConstraint(
                fields=["anonymous_key"],
                condition=models.Q(anonymous_key__isnull=False),
                name="surveyresponse_anonymous_key",
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="csat", score__gte=1, score__lte=5))
                | (models.Q(kind="nps", score__gte=0, score__lte=10)),
                name="surveyresponse_score_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "-answered_at"], name="surveyresponse_kind"),
            models.Index(fields=["agent", "-answered_at"], name="surveyresponse_agent"),
            models.Index(fields=["team", "-answered_at"], name="surveyresponse_team"),
            models.Index(fields=["case", "-answered_at"], name="surveyresponse_case"),
            models.Index(fields=["customer", "-answered_at"], name="surveyresponse_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score}"

    @property
    def band(self) -> str:
        return band_of(self.kind, self.score)

    @property
    def scale_max(self) -> int:
        return SCALE[self.kind][1]

    def clean(self) -> None:
        problem = score_error(self.kind, self.score)
        if problem:
            raise ValidationError({"score": problem})
