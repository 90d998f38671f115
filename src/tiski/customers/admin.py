from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tiski.customers.exceptions import SignalRuleInvalidError
from tiski.customers.models import (
    Customer,
    CustomerEvent,
    ExternalRecord,
    FieldPrecedence,
    Identity,
    MatchSuggestion,
    Organization,
    SignalRule,
    SourceSystem,
)
from tiski.customers.records import status_normalize
from tiski.customers.signal_rules import OPS, validate_conditions

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_TEMPLATE_FIELDS = ("external_id", "kind", "source")
_SOURCE = re.compile(r"^[a-z]+(:([a-z0-9_-]+\*?|\*))?$")


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "tier", "language", "created_at"]
    list_filter = ["tier", "language"]
    search_fields = ["name", "identities__value"]
    inlines = [IdentityInline]
    raw_id_fields = ["organization"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "domain"]
    search_fields = ["name", "domain"]


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "customer", "verified"]
    list_filter = ["kind", "verified"]
    search_fields = ["value"]
    raw_id_fields = ["customer"]


# --- external records ------------------------------------------------------------------------------------------


class SourceSystemForm(forms.ModelForm):
    class Meta:
        model = SourceSystem
        fields = ["slug", "name", "url_template"]

    def clean_url_template(self) -> str:
        template: str = self.cleaned_data["url_template"].strip()
        if not template:
            return template
        if not template.lower().startswith(("https://", "http://")):
            raise forms.ValidationError(_("The link must start with https:// or http://."))
        unknown = [name for name in _PLACEHOLDER.findall(template) if name not in _TEMPLATE_FIELDS]
        if unknown:
            raise forms.ValidationError(
                _("Unknown placeholder %(names)s; use {external_id}, {kind} or {source}."),
                params={"names": ", ".join("{" + name + "}" for name in unknown)},
            )
        return template


@admin.register(SourceSystem)
class SourceSystemAdmin(admin.ModelAdmin):
    form = SourceSystemForm
    list_display = ["name", "slug", "url_template"]
    search_fields = ["name", "slug"]


class ExternalRecordForm(forms.ModelForm):
    class Meta:
        model = ExternalRecord
        fields = [
            "kind",
            "source",
            "external_id",
            "customer",
            "organization",
            "title",
            "status",
            "date",
            "due_date",
            "renewal_date",
            "amount",
            "currency",
            "attributes",
        ]

    def clean_status(self) -> str:
        return status_normalize(self.cleaned_data["status"])

    def clean_currency(self) -> str:
        currency: str = self.cleaned_data["currency"].strip().upper()
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):
            raise forms.ValidationError(_("A three-letter code such as EUR."))
        return currency

    def clean_attributes(self) -> Any:
        attributes = self.cleaned_data["attributes"]
        if attributes is None:
            return {}
        if not isinstance(attributes, dict):
            raise forms.ValidationError(_('Attributes are a JSON object: {"key": "value"}.'))
        return attributes

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if cleaned is not None and not cleaned.get("customer") and not cleaned.get("organization"):
            raise forms.ValidationError(_("A record belongs to a customer, an organisation or both."))
        return cleaned


@admin.register(ExternalRecord)
class ExternalRecordAdmin(admin.ModelAdmin):
    form = ExternalRecordForm
    list_display = ["kind", "source", "external_id", "title", "status", "customer", "organization", "date"]
    list_filter = ["kind", "source", "status"]
    search_fields = ["external_id", "title"]
    raw_id_fields = ["customer", "organization"]
    date_hierarchy = "date"
    readonly_fields = ["created_at", "updated_at"]
    list_select_related = ["customer", "organization"]


# --- signal rules ----------------------------------------------------------------------------------------------

CONDITIONS_HELP = _(
    'A list of conditions that must all hold, each {"field": …, "op": …, "value": …}, e.g. '
    '[{"field": "status", "op": "eq", "value": "in_collection"}]. Operators: %(ops)s. Fields are those of '
    'what the rule is tested on; for records also "attributes.<key>". within_days and older_than_days take '
    "a number of days; overdue, is_set and is_not_set take no value."
)


class SignalRuleForm(forms.ModelForm):
    class Meta:
        model = SignalRule
        fields = [
            "label",
            "label_fi",
            "level",
            "subject",
            "record_kind",
            "latest_only",
            "conditions",
            "enabled",
            "position",
        ]
        widgets = {"conditions": forms.Textarea(attrs={"rows": 8, "cols": 80})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["conditions"].help_text = CONDITIONS_HELP % {"ops": ", ".join(OPS)}

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if cleaned is None or self.errors:
            return cleaned
        subject = cleaned.get("subject", "")
        if cleaned.get("latest_only") and subject != SignalRule.Subject.RECORD:
            self.add_error("latest_only", _("Choose “only the latest record” only for rules tested on records."))
        if cleaned.get("record_kind") and subject != SignalRule.Subject.RECORD:
            self.add_error("record_kind", _("A record kind applies only to rules tested on records."))
            return cleaned
        if cleaned.get("conditions") is None:
            cleaned["conditions"] = []
        try:
            validate_conditions(
                subject=subject, record_kind=cleaned.get("record_kind", ""), conditions=cleaned["conditions"]
            )
        except SignalRuleInvalidError as exc:
            self.add_error("conditions", str(exc))
        return cleaned


@admin.register(SignalRule)
class SignalRuleAdmin(admin.ModelAdmin):
    form = SignalRuleForm
    list_display = ["label", "level", "subject", "record_kind", "conditions_text", "enabled", "position"]
    list_editable = ["enabled", "position"]
    list_filter = ["level", "subject", "enabled"]
    ordering = ["position", "pk"]

    @admin.display(description=_("conditions"))
    def conditions_text(self, rule: SignalRule) -> str:
        return json.dumps(rule.conditions, ensure_ascii=False)


# --- master data and audit -------------------------------------------------------------------------------------


class FieldPrecedenceForm(forms.ModelForm):
    class Meta:
        model = FieldPrecedence
        fields = ["field", "sources"]
        widgets = {"sources": forms.Textarea(attrs={"rows": 8, "cols": 40})}

    def clean_sources(self) -> str:
        lines = [line.strip() for line in self.cleaned_data["sources"].splitlines() if line.strip()]
        if not lines:
            raise forms.ValidationError(_("Name at least one source."))
        bad = [line for line in lines if not _SOURCE.match(line)]
        if bad:
            raise forms.ValidationError(
                _('Not a source: %(lines)s. Write "agent", "channel:email", "import:erp", "api:crm" or "import:*".'),
                params={"lines": ", ".join(bad)},
            )
        repeated = sorted({line for line in lines if lines.count(line) > 1})
        if repeated:
            raise forms.ValidationError(_("Listed twice: %(lines)s."), params={"lines": ", ".join(repeated)})
        return "\n".join(lines)


@admin.register(FieldPrecedence)
class FieldPrecedenceAdmin(admin.ModelAdmin):
    form = FieldPrecedenceForm
    list_display = ["field", "sources_text"]

    @admin.display(description=_("sources, highest first"))
    def sources_text(self, rule: FieldPrecedence) -> str:
        return " > ".join(rule.source_list())


class ReadOnlyAdmin(admin.ModelAdmin):
    """An audit or derived table: shown, never written from the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MatchSuggestion)
class MatchSuggestionAdmin(ReadOnlyAdmin):
    list_display = ["customer", "candidate", "score", "status", "decided_by", "decided_at", "created_at"]
    list_filter = ["status"]
    list_select_related = ["customer", "candidate", "decided_by"]


@admin.register(CustomerEvent)
class CustomerEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "kind", "actor"]
    list_filter = ["kind"]
    search_fields = ["customer__name"]
    list_select_related = ["customer", "actor"]
    date_hierarchy = "created_at"
