"""Business calendars in the admin (weekly hours and special days inline, with the next public holidays shown) and
the automatic replies to new cases."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from tiski.sla.calendar import Calendar
from tiski.sla.models import AutoReply, BusinessCalendar, OpeningHours, SpecialDay


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class SpecialDayInline(admin.TabularInline):
    model = SpecialDay
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "country", "is_default"]
    inlines = [OpeningHoursInline, SpecialDayInline]
    readonly_fields = ["upcoming_holidays"]

    @admin.display(description=_("next public holidays"))
    def upcoming_holidays(self, calendar: BusinessCalendar) -> str:
        if calendar.pk is None or not calendar.country:
            return "–"
        today = timezone.localdate()
        cal = Calendar.of(calendar)
        days = [today + timedelta(days=n) for n in range(200)]
        found = [(day, cal.holiday(day)) for day in days if cal.holiday(day)][:6]
        return format_html_join(", ", "{} {}", ((f"{day:%d.%m.%Y}", name) for day, name in found)) or "–"


@admin.register(AutoReply)
class AutoReplyAdmin(admin.ModelAdmin):
    list_display = ["channel_kind", "channel", "language", "enabled"]
    list_filter = ["channel_kind", "language", "enabled"]
    list_editable = ["enabled"]
    fieldsets = [
        (None, {"fields": ["channel_kind", "channel", "language", "enabled"]}),
        (
            _("Texts"),
            {
                "fields": ["text_open", "text_closed"],
                "description": _(
                    "Sent once to the first message of a new case, never to automatic mail or no-reply senders, at "
                    "most a few an hour to one sender. Outside opening hours means the business calendar of the "
                    "case's service level policy is closed when the message arrives. A mailbox's own "
                    "acknowledgement text for the language (in its settings) wins over these."
                ),
            },
        ),
    ]
