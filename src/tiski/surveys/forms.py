"""The console's survey settings form: one per kind, prefixed with the kind."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tiski.channels.models import ChannelKind
from tiski.surveys.models import SURVEY_CHANNEL_KINDS, SurveySettings


class SurveySettingsForm(forms.ModelForm):
    channel_kinds = forms.MultipleChoiceField(
        label=_("Channels that send"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(kind, ChannelKind(kind).label) for kind in SURVEY_CHANNEL_KINDS],
        help_text=_("A phone case is surveyed by SMS (else email); a chat by its end card (else email)."),
    )

    class Meta:
        model = SurveySettings
        fields = list(SurveySettings.EDITABLE)
        widgets = {
            "delay_minutes": forms.NumberInput(attrs={"min": 0, "max": 43200}),
            "sample_percent": forms.NumberInput(attrs={"min": 0, "max": 100}),
            "throttle_days": forms.NumberInput(attrs={"min": 0, "max": 365}),
            "link_valid_days": forms.NumberInput(attrs={"min": 1, "max": 365}),
        }
