from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

CHANNEL_MODEL = "tiski_channels.Channel"


class Category(models.Model):
    """What a case is about (orders, returns, billing…); the web form's topics come from here."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_fi = models.CharField(_("name in Finnish"), max_length=100, blank=True)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("team"))
    public = models.BooleanField(_("offered on the web form"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    def label(self, language: str) -> str:
        return self.name_fi if language.startswith("fi") and self.name_fi else self.name


class Tag(models.Model):
    name = models.SlugField(_("name"), max_length=50, unique=True, allow_unicode=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING = "pending", pgettext_lazy("case status", "Pending")  # waiting on the customer
        ON_HOLD = "on_hold", _("On hold")
        SOLVED = "solved", _("Solved")
        CLOSED = "closed", _("Closed")

    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    class Type(models.TextChoices):
        QUESTION = "question", _("Question")
        INCIDENT = "incident", _("Incident")
        PROBLEM = "problem", _("Problem")
        TASK = "task", _("Task")
        COMPLAINT = "complaint", _("Complaint")

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)

    subject = models.CharField(_("subject"), max_length=300)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    type = models.CharField(_("type"), max_length=16, choices=Type.choices, default=Type.QUESTION)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("category"))
    tags = models.ManyToManyField(Tag, blank=True, related_name="cases", verbose_name=_("tags"))
    product = models.CharField(
        _("product"), max_length=100, blank=True, help_text=_("The product or service the case is about, for reports")
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="cases", verbose_name=_("customer")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_cases",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("team"))
    channel = models.ForeignKey(
        CHANNEL_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("channel"),
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        verbose_name=_("parent case"),
    )
    related = models.ManyToManyField("self", blank=True, verbose_name=_("related cases"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    solved_at = models.DateTimeField(_("solved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    sla_due_at = models.DateTimeField(
        _("next service level due"), null=True, blank=True, help_text=_("The earliest due time of its running targets")
    )

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        permissions = [
            ("work_case", "Can work on cases: see the inbox, reply, add notes, change status"),
            ("assign_any", "Can assign cases to other agents and teams"),
        ]
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="case_updated"),
            models.Index(fields=["status", "-updated_at", "-id"], name="case_status_updated"),
            models.Index(fields=["owner", "status", "-updated_at"], name="case_owner_status"),
            models.Index(fields=["team", "status", "-updated_at"], name="case_team_status"),
            models.Index(fields=["channel", "-updated_at"], name="case_channel_updated"),
            models.Index(fields=["priority", "-updated_at"], name="case_priority_updated"),
            models.Index(fields=["customer", "-created_at"], name="case_customer_created"),
            models.Index(fields=["sla_due_at", "id"], name="case_sla_due"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        """Return the human-readable reference, e.g. TSK-1042."""
        return f"{settings.TISKI_CASE_PREFIX}-{self.pk + settings.TISKI_CASE_NUMBER_OFFSET}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Message(models.Model):
    class Direction(models.TextChoices):
        IN = "in", _("Inbound")
        OUT = "out", _("Outbound")

    class Author(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("System")

    class Delivery(models.TextChoices):
        RECEIVED = "received", _("Received")
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        RETRYING = "retrying", _("Retrying")
        FAILED = "failed", _("Failed")
        BOUNCED = "bounced", _("Bounced")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    channel = models.ForeignKey(CHANNEL_MODEL, on_delete=models.PROTECT, related_name="messages")
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    author = models.CharField(_("author"), max_length=16, choices=Author.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    identity = models.ForeignKey(
        "customers.Identity", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    sender_name = models.CharField(_("sender name"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body_text = models.TextField(_("text"), blank=True)
    body_html = models.TextField(_("HTML (sanitised)"), blank=True)
    full_text = models.TextField(
        _("full text"), blank=True, help_text=_("With quoted history and signature, when the text shows the reply only")
    )
    auto_submitted = models.BooleanField(_("automatic"), default=False, help_text=_("An auto-reply or bulk mail"))
    external_id = models.CharField(_("external id"), max_length=500, null=True, blank=True)  # noqa: DJ001  (NULL: not unique)
    delivery_status = models.CharField(
        _("delivery status"), max_length=16, choices=Delivery.choices, default=Delivery.RECEIVED
    )
    delivery_error = models.TextField(_("delivery error"), blank=True)
    raw = models.BinaryField(_("raw source"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="message_unique_channel_external_id",
            )
        ]
        indexes = [models.Index(fields=["case", "created_at"], name="message_case_created")]

    def __str__(self) -> str:
        return f"{self.direction} {self.channel_id}:{self.external_id or self.pk}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}/{filename}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=500)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64, db_index=True)
    content_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class Note(models.Model):
    """An internal note: seen by agents only, never sent to the customer."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")

    def __str__(self) -> str:
        return self.body[:50]


class CaseEvent(models.Model):
    """One entry of a case's timeline and audit trail (the two are the same data)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Case created")
        MESSAGE_RECEIVED = "message_received", _("Message received")
        REPLY_QUEUED = "reply_queued", _("Reply queued")
        REPLY_SENT = "reply_sent", _("Reply sent")
        DELIVERY_FAILED = "delivery_failed", _("Delivery failed")
        NOTE_ADDED = "note_added", _("Internal note added")
        STATUS_CHANGED = "status_changed", _("Status changed")
        PRIORITY_CHANGED = "priority_changed", _("Priority changed")
        ASSIGNED = "assigned", _("Owner changed")
        TEAM_CHANGED = "team_changed", _("Team changed")
        UPDATED = "updated", _("Case updated")
        REOPENED = "reopened", _("Reopened")
        SPLIT = "split", _("Message moved to a new case")
        QUEUED = "queued", _("Queued for an agent")
        TRANSFERRED = "transferred", _("Transferred")
        RETURNED = "returned", _("Returned to the queue")
        ESCALATED_TO_CALL = "escalated_to_call", _("Escalated to a call")
        CALL_ENDED = "call_ended", _("Call ended")
        CALL_MISSED = "call_missed", _("Missed call")
        CALL_RECORDED = "call_recorded", _("Call recording")
        CALLBACK_REQUESTED = "callback_requested", _("Callback requested")
        CALLBACK_ATTEMPTED = "callback_attempted", _("Callback attempt")
        CALLBACK_CLOSED = "callback_closed", _("Callback request closed")
        SLA_WARNING = "sla_warning", _("Service level at risk")
        SLA_BREACHED = "sla_breached", _("Service level missed")
        SURVEY_SENT = "survey_sent", _("Survey sent")
        SURVEY_ANSWERED = "survey_answered", _("Survey answered")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="caseevent_case_created"),
            # The reports' transfers figure: a few rows among millions of timeline entries.
            models.Index(fields=["created_at"], condition=models.Q(kind="transferred"), name="caseevent_transferred"),
        ]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class CannedReply(models.Model):
    """A ready answer agents insert into a reply and edit; {{customer.first_name}} and {{agent.first_name}} are
    filled in when it is inserted."""

    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"))
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Leave empty for a reply that suits any language"),
    )
    shortcut = models.SlugField(
        _("shortcut"), max_length=40, blank=True, allow_unicode=True, help_text=_("Typed after “/” in the reply box")
    )
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.title
