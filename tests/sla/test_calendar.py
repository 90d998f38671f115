"""Business-time arithmetic: weekends, Finland's public holidays, special days, split and midnight hours, and
the nights the clocks change (Europe/Helsinki: 29 March 2026 has 23 hours, 25 October 2026 has 25)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tiski.sla.calendar import Calendar, CalendarNeverOpenError
from tiski.sla.models import BusinessCalendar, OpeningHours, SpecialDay

HKI = ZoneInfo("Europe/Helsinki")
HOUR = 3600
OFFICE = {day: ((time(8), time(16)),) for day in range(5)}  # Monday–Friday 8–16


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=HKI)  # type: ignore[misc]


def office(**extra: object) -> Calendar:
    return Calendar(zone=HKI, weekly=OFFICE, country="FI", **extra)  # type: ignore[arg-type]


def test_friday_afternoon_plus_two_hours_is_monday_morning() -> None:
    assert office().add(at(2026, 11, 20, 15, 0), seconds=2 * HOUR) == at(2026, 11, 23, 9, 0)
    assert office().seconds_between(at(2026, 11, 20, 15, 0), at(2026, 11, 23, 9, 0)) == 2 * HOUR


def test_a_contact_at_night_starts_counting_when_the_office_opens() -> None:
    assert office().add(at(2026, 11, 24, 22, 30), seconds=30 * 60) == at(2026, 11, 25, 8, 30)
    assert office().next_open(at(2026, 11, 24, 22, 30)) == at(2026, 11, 25, 8, 0)
    assert office().next_open(at(2026, 11, 25, 9, 15)) == at(2026, 11, 25, 9, 15)


def test_finlands_public_holidays_are_closed_days() -> None:
    cal = office()
    assert cal.holiday(date(2026, 12, 24)) == "Christmas Eve"
    assert cal.holiday(date(2026, 6, 19)) == "Midsummer Eve"
    # Wednesday 23 December 15:00 + 2 h: Christmas Eve, Christmas Day, the weekend, then Monday 28 December.
    assert cal.add(at(2026, 12, 23, 15, 0), seconds=2 * HOUR) == at(2026, 12, 28, 9, 0)
    assert cal.seconds_between(at(2026, 12, 23, 8, 0), at(2026, 12, 29, 8, 0)) == 2 * 8 * HOUR
    assert not cal.is_open(at(2026, 12, 24, 10, 0)) and cal.is_open(at(2026, 12, 23, 10, 0))


def test_without_a_country_holidays_are_working_days() -> None:
    cal = Calendar(zone=HKI, weekly=OFFICE)
    assert cal.add(at(2026, 12, 23, 15, 0), seconds=2 * HOUR) == at(2026, 12, 24, 9, 0)


def test_special_days_shorten_open_or_close_a_day() -> None:
    cal = office(
        special={
            date(2026, 12, 24): ((time(9), time(12)),),  # open in the morning although a holiday
            date(2026, 11, 25): (),  # training day: closed
        }
    )
    assert cal.add(at(2026, 12, 23, 15, 0), seconds=2 * HOUR) == at(2026, 12, 24, 10, 0)
    assert cal.add(at(2026, 11, 24, 15, 0), seconds=2 * HOUR) == at(2026, 11, 26, 9, 0)


def test_split_hours_and_hours_that_close_at_midnight() -> None:
    split = Calendar(zone=HKI, weekly={0: ((time(8), time(12)), (time(13), time(16)))})
    assert split.add(at(2026, 11, 23, 11, 0), seconds=2 * HOUR) == at(2026, 11, 23, 14, 0)
    assert split.seconds_between(at(2026, 11, 23, 0, 0), at(2026, 11, 24, 0, 0)) == 7 * HOUR
    evenings = Calendar(zone=HKI, weekly={0: ((time(20), time(0)),)})  # Mondays 20–24
    assert evenings.add(at(2026, 11, 23, 23, 0), seconds=90 * 60) == at(2026, 11, 30, 20, 30)
    assert evenings.is_open(at(2026, 11, 23, 23, 59)) and not evenings.is_open(at(2026, 11, 24, 0, 0))


def test_office_hours_ignore_the_clock_change() -> None:
    cal = office()  # Friday 27 March (UTC+2) to Monday 30 March (UTC+3)
    assert cal.add(at(2026, 3, 27, 15, 0), seconds=2 * HOUR) == at(2026, 3, 30, 9, 0)
    assert cal.seconds_between(at(2026, 3, 27, 8, 0), at(2026, 3, 30, 16, 0)) == 16 * HOUR
    assert cal.add(at(2026, 10, 23, 15, 0), seconds=2 * HOUR) == at(2026, 10, 26, 9, 0)


def test_round_the_clock_days_have_23_and_25_hours_when_the_clocks_change() -> None:
    all_day = Calendar(zone=HKI, weekly={day: ((time(0), time(0)),) for day in range(7)})
    assert all_day.seconds_between(at(2026, 3, 29, 0, 0), at(2026, 3, 30, 0, 0)) == 23 * HOUR
    assert all_day.seconds_between(at(2026, 10, 25, 0, 0), at(2026, 10, 26, 0, 0)) == 25 * HOUR
    # 24 hours of business time from Saturday noon is Sunday 13:00 on the wall clock (an hour was skipped).
    assert all_day.add(at(2026, 3, 28, 12, 0), seconds=24 * HOUR) == at(2026, 3, 29, 13, 0)
    assert Calendar.always("Europe/Helsinki").add(at(2026, 3, 28, 12, 0), seconds=24 * HOUR) == at(2026, 3, 29, 13, 0)


def test_an_opening_time_inside_the_spring_forward_gap_is_read_after_the_jump() -> None:
    cal = Calendar(zone=HKI, special={date(2026, 3, 29): ((time(3, 30), time(5, 0)),)})
    start, end = cal.intervals_on(date(2026, 3, 29))[0]
    assert (start, end) == (at(2026, 3, 29, 4, 30).astimezone(UTC), at(2026, 3, 29, 5, 0).astimezone(UTC))


def test_a_calendar_that_never_opens_says_so() -> None:
    with pytest.raises(CalendarNeverOpenError):
        Calendar(zone=HKI).add(at(2026, 11, 23, 9, 0), seconds=60)
    assert Calendar(zone=HKI).seconds_between(at(2026, 11, 23, 9, 0), at(2026, 11, 30, 9, 0)) == 0


def test_results_are_utc_and_arguments_may_be_in_any_zone() -> None:
    due = office().add(datetime(2026, 11, 20, 13, 0, tzinfo=UTC), seconds=HOUR)  # 15:00 in Helsinki
    assert due.tzinfo is UTC and due == at(2026, 11, 20, 16, 0)
    assert office().add(at(2026, 11, 20, 10, 0), seconds=-5) == at(2026, 11, 20, 10, 0)


@pytest.mark.django_db
def test_a_stored_calendar_is_read_once_per_change() -> None:
    stored = BusinessCalendar.objects.create(name="Asiakaspalvelu", time_zone="Europe/Helsinki", country="FI")
    for weekday in range(5):
        OpeningHours.objects.create(calendar=stored, weekday=weekday, opens=time(8), closes=time(16))
    SpecialDay.objects.create(calendar=stored, date=date(2026, 11, 25), name="Koulutuspäivä")
    cal = Calendar.of(stored)
    assert Calendar.of(stored) is cal
    assert cal.add(at(2026, 11, 24, 15, 0), seconds=2 * HOUR) == at(2026, 11, 26, 9, 0)
    SpecialDay.objects.all().delete()
    stored.save()  # a change bumps updated_at: the next read sees it
    assert Calendar.of(stored).add(at(2026, 11, 24, 15, 0), seconds=2 * HOUR) == at(2026, 11, 25, 9, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"time_zone": "Europe/Hesa"}, "is not a time zone"),
        ({"country": "XX"}, "is not a country"),
    ],
)
def test_bad_calendar_settings_are_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BusinessCalendar(name="x", **fields).full_clean()


@pytest.mark.django_db
def test_hours_must_close_after_they_open() -> None:
    stored = BusinessCalendar.objects.create(name="x")
    with pytest.raises(ValidationError, match="must come after"):
        OpeningHours(calendar=stored, weekday=0, opens=time(16), closes=time(8)).full_clean()
    OpeningHours(calendar=stored, weekday=0, opens=time(20), closes=time(0)).full_clean()  # to midnight
    with pytest.raises(ValidationError, match="both"):
        SpecialDay(calendar=stored, date=date(2026, 12, 24), opens=time(9)).full_clean()
    if not BusinessCalendar.objects.filter(is_default=True).exists():
        BusinessCalendar.objects.create(name="y", is_default=True)
    with pytest.raises(IntegrityError), transaction.atomic():  # one default calendar
        BusinessCalendar.objects.create(name="z", is_default=True)
