from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Organization(models.Model):
    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("email domain"), max_length=200, blank=True, db_index=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    class Tier(models.TextChoices):
        STANDARD = "standard", _("Standard")
        SILVER = "silver", _("Silver")
        GOLD = "gold", _("Gold")
        VIP = "vip", _("VIP")

    name = models.CharField(_("name"), max_length=200, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    language = models.CharField(_("language"), max_length=8, blank=True)
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    notes = models.TextField(_("notes"), blank=True)
    address = models.TextField(_("address"), blank=True)
    interests = models.TextField(
        _("interests"), blank=True, help_text=_("What the customer is looking at or cares about, for proactive service")
    )
    provisional = models.BooleanField(
        _("provisional"), default=False, help_text=_("Created by a contact from an unknown handle, not confirmed yet")
    )
    field_sources = models.JSONField(
        _("field sources"),
        default=dict,
        blank=True,
        help_text=_('Where each field\'s value came from: {"address": "import:erp"}'),
    )
    name_key = models.CharField(max_length=200, blank=True, editable=False, help_text="The name folded for matching")
    marketing_suppressed = models.BooleanField(_("do not market"), default=False)
    last_survey_score = models.SmallIntegerField(_("last survey score"), null=True, blank=True, editable=False)
    last_survey_negative = models.BooleanField(
        _("last survey negative"), default=False, editable=False, help_text=_("CSAT 1–2 or NPS 0–6")
    )
    last_survey_at = models.DateTimeField(_("last survey answered"), null=True, blank=True, editable=False)
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [models.Index(fields=["name"]), models.Index(fields=["name_key"], name="customer_name_key")]
        permissions = [
            ("merge_customer", "Can merge customers and split identities"),
            ("export_customer", "Can export all data about a customer"),
            ("erase_customer", "Can erase a customer's personal data"),
        ]

    def __str__(self) -> str:
        if self.erased_at:
            return gettext("Erased customer #%(id)s") % {"id": self.pk}
        return self.name or f"#{self.pk}"


class Identity(models.Model):
    """A handle by which a customer reaches us: an email address, a phone number, a messaging id."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        CHAT = "chat", _("Chat session")
        SMS = "sms", _("SMS")
        WHATSAPP = "whatsapp", _("WhatsApp")
        MESSENGER = "messenger", _("Messenger")
        INSTAGRAM = "instagram", _("Instagram")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=320, help_text=_("Stored normalised"))
    verified = models.BooleanField(_("verified"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_kind_value")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class MatchSuggestion(models.Model):
    """A likely match between a provisional customer (created by a contact) and a known one, for an agent to confirm."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Linked")
        REJECTED = "rejected", _("Rejected")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="match_suggestions")
    candidate = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("candidate"))
    score = models.PositiveSmallIntegerField(_("score"), help_text=_("0–100"))
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "pk"]
        verbose_name = _("match suggestion")
        verbose_name_plural = _("match suggestions")
        constraints = [
            models.UniqueConstraint(fields=["customer", "candidate"], name="matchsuggestion_unique_pair"),
            models.CheckConstraint(
                condition=~models.Q(customer=models.F("candidate")), name="matchsuggestion_not_self"
            ),
        ]
        indexes = [models.Index(fields=["customer", "status", "-score"], name="matchsuggestion_open")]

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.candidate_id} ({self.score} %)"


class CustomerEvent(models.Model):
    """One entry of a customer's own history and audit trail: merges, links, splits, field changes, exports."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Customer created")
        UPDATED = "updated", _("Details changed")
        IDENTITY_ADDED = "identity_added", _("Contact detail added")
        IDENTITY_REMOVED = "identity_removed", _("Contact detail removed")
        LINKED = "linked", _("Linked to a known customer")
        SUGGESTION_REJECTED = "suggestion_rejected", _("Suggested match rejected")
        MERGED = "merged", _("Customers merged")
        SPLIT = "split", _("Contact detail split off")
        EXPORTED = "exported", _("Data exported")
        ERASED = "erased", _("Personal data erased")
        MARKETING = "marketing", _("Marketing suppression changed")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("customer event")
        verbose_name_plural = _("customer events")
        indexes = [models.Index(fields=["customer", "created_at"], name="customerevent_customer_created")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind}"


class FieldPrecedence(models.Model):
    """Which sources may overwrite a customer field: a source may overwrite a value set by itself or by a lower one.

    Sources are written "agent", "channel:<kind>", "import:<system>", "api:<system>"; a line may end in "*"
    ("import:*"). Sources not listed rank below every listed one. The row for field "*" applies to fields
    without their own row.
    """

    class FieldName(models.TextChoices):
        DEFAULT = "*", _("Every other field")
        NAME = "name", _("Name")
        LANGUAGE = "language", _("Language")
        TIER = "tier", _("Tier")
        ORGANIZATION = "organization", _("Organisation")
        ADDRESS = "address", _("Address")
        INTERESTS = "interests", _("Interests")
        NOTES = "notes", _("Notes")

    field = models.CharField(_("field"), max_length=32, choices=FieldName.choices, unique=True)
    sources = models.TextField(
        _("sources, highest first"), help_text=_('One per line, e.g. "import:erp", "agent", "channel:*".')
    )

    class Meta:
        ordering = ["field"]
        verbose_name = _("master-data rule")
        verbose_name_plural = _("master-data rules")

    def __str__(self) -> str:
        return self.field

    def source_list(self) -> list[str]:
        return [line.strip() for line in self.sources.splitlines() if line.strip()]


class SourceSystem(models.Model):
    """A system that external records come from (ERP, billing, CRM), with the link to open a record there."""

    slug = models.SlugField(_("id"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    url_template = models.CharField(
        _("link template"),
        max_length=500,
        blank=True,
        help_text=_("Address of a record in that system, e.g. https://erp.example.com/{kind}/{external_id}"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("source system")
        verbose_name_plural = _("source systems")

    def __str__(self) -> str:
        return self.name


class ExternalRecord(models.Model):
    """An order, invoice, offer, contract, asset, service visit … from another system, linked to a customer."""

    class Kind(models.TextChoices):
        ORDER = "order", _("Order")
        INVOICE = "invoice", _("Invoice")
        OFFER = "offer", _("Offer")
        CONTRACT = "contract", _("Contract")
        ASSET = "asset", _("Product / asset")
        VISIT = "visit", _("Service visit")
        SURVEY = "survey", _("Survey answer")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    source = models.SlugField(_("source system"), max_length=50)
    external_id = models.CharField(_("external id"), max_length=200)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="records", verbose_name=_("customer")
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="records"
    )
    title = models.CharField(_("title"), max_length=300, blank=True)
    status = models.CharField(
        _("status"),
        max_length=50,
        blank=True,
        help_text=_("As the source system says: open, delivered, paid, in_collection …"),
    )
    date = models.DateField(_("date"), null=True, blank=True, help_text=_("Ordered, issued, signed or visited on"))
    due_date = models.DateField(
        _("due"), null=True, blank=True, help_text=_("Delivery promised, payment due, offer valid until, contract ends")
    )
    renewal_date = models.DateField(_("renewal"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-date", "-pk"]
        verbose_name = _("external record")
        verbose_name_plural = _("external records")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="externalrecord_unique_source_id"),
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False) | models.Q(organization__isnull=False),
                name="externalrecord_has_owner",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "kind", "-date"], name="externalrecord_customer"),
            models.Index(fields=["organization", "kind", "-date"], name="externalrecord_organization"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source}:{self.external_id}"


class SignalRule(models.Model):
    """A traffic light shown on the case, the inbox and the 360° view when its conditions hold for a customer.

    ``conditions`` is a list of {"field": …, "op": …, "value": …}; all must hold. SUBJECT says what they are
    tested on: the customer, any of the customer's open cases, or any of the customer's (and their
    organisation's) external records of RECORD_KIND (only the latest one when LATEST_ONLY).
    """

    class Level(models.TextChoices):
        GREEN = "green", _("Green")
        AMBER = "amber", _("Amber")
        RED = "red", _("Red")

    class Subject(models.TextChoices):
        CUSTOMER = "customer", _("The customer")
        OPEN_CASE = "open_case", _("An open case of the customer")
        RECORD = "record", _("An external record of the customer")

    label = models.CharField(_("label"), max_length=100)
    label_fi = models.CharField(_("label in Finnish"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=8, choices=Level.choices, default=Level.AMBER)
    subject = models.CharField(_("tested on"), max_length=16, choices=Subject.choices)
    record_kind = models.CharField(_("record kind"), max_length=16, choices=ExternalRecord.Kind.choices, blank=True)
    latest_only = models.BooleanField(_("only the latest record"), default=False)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("signal rule")
        verbose_name_plural = _("signal rules")

    def __str__(self) -> str:
        return self.label


class CustomerMatchKey(models.Model):
    """A word of a customer's folded name ("n:anssi") or an email local part ("l:anssi.asiakas"), indexed.

    Finding the customers a new contact probably is reads this table by key, never all customers; the
    customer services keep it in step with the name and the email identities (customers.matching).
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="match_keys")
    key = models.CharField(max_length=100)

    class Meta:
        verbose_name = _("match key")
        verbose_name_plural = _("match keys")
        constraints = [models.UniqueConstraint(fields=["customer", "key"], name="customermatchkey_unique")]
        indexes = [models.Index(fields=["key", "customer"], name="customermatchkey_key")]

    def __str__(self) -> str:
        return self.key
