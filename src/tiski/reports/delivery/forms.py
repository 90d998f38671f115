"""The form a team lead subscribes to a report with."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from tiski.reports.delivery.models import ReportSubscription
from tiski.reports.figures import BY_LABELS, FIGURES
from tiski.reports.filters import MAX_DAYS

WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]
PERIODS = [1, 7, 14, 28, 30, 90, 365]


def period_choices(extra: int | None = None) -> list[tuple[int, Any]]:
    days = sorted({*PERIODS, *([extra] if extra else [])})
    return [(n, _("the day before") if n == 1 else _("the last %(n)d days") % {"n": n}) for n in days]


class SubscriptionForm(forms.Form):
    figure = forms.ChoiceField(label=_("Figure"))
    by = forms.ChoiceField(label=_("Grouped by"))
    days = forms.TypedChoiceField(label=_("Period"), coerce=int)
    query = forms.CharField(widget=forms.HiddenInput, required=False, max_length=1000)
    frequency = forms.ChoiceField(
        label=_("How often"), choices=ReportSubscription.Frequency.choices, initial=ReportSubscription.Frequency.WEEKLY
    )
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=WEEKDAYS, coerce=int, initial=1)
    hour = forms.TypedChoiceField(label=_("At"), choices=[(h, f"{h:02d}:00") for h in range(24)], coerce=int, initial=7)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    recipient = forms.ModelChoiceField(label=_("Send to"), queryset=User.objects.none(), required=False)

    def __init__(self, *args: Any, recipients: Any = None, days: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["figure"]).choices = [(name, spec.title) for name, spec in FIGURES.items()]
        groupings = {by for spec in FIGURES.values() for by in spec.groupings}
        cast(forms.ChoiceField, self.fields["by"]).choices = [("", _("the figure's default"))] + [
            (by, BY_LABELS.get(by, by.replace("_", " "))) for by in sorted(groupings)
        ]
        cast(forms.ChoiceField, self.fields["days"]).choices = period_choices(days)
        if recipients is None:
            del self.fields["recipient"]
        else:
            recipient = cast(forms.ModelChoiceField, self.fields["recipient"])
            recipient.queryset = recipients
            recipient.empty_label = _("me")

    def clean_days(self) -> int:
        days = int(self.cleaned_data["days"])
        if not 1 <= days <= MAX_DAYS:
            raise forms.ValidationError(_("Choose a period from 1 to %(n)d days.") % {"n": MAX_DAYS})
        return days

    def filter_query(self) -> QueryDict:
        """The filter to keep: the dimensions of the figure page's query, the period chosen here."""
        query = QueryDict(self.cleaned_data.get("query") or "", mutable=True)
        for key in ("from", "to", "days", "by", "figure"):
            query.pop(key, None)
        query["days"] = str(self.cleaned_data["days"])
        return query
