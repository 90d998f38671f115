"""Business-time arithmetic: when a calendar is open, and what a number of business seconds from a moment is.

Every computation is done on aware datetimes converted to UTC: opening hours are local wall-clock times, and a
day with a daylight-saving change has 23 or 25 hours (aware datetimes that share a tzinfo compare by wall time
in Python, so local times are never compared with each other). A wall time that does not exist that day
(inside the spring-forward gap) is read as PEP 495 says, with the offset before the jump: 03:30 on the night
the clocks go from 03:00 to 04:00 is 04:30; a time that happens twice (the autumn night) is its first time.

    cal = Calendar.of(business_calendar)        # or Calendar.always() for round-the-clock targets
    cal.add(received_at, seconds=4 * 3600)      # due time of a 4-business-hour target
    cal.seconds_between(start, end)             # business seconds elapsed
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tiski.sla.models import MIDNIGHT, BusinessCalendar

Span = tuple[time, time]  # opens, closes (closes 00:00 = midnight at the end of the day)
SEARCH_DAYS = 800  # how far ahead an open moment is looked for before the calendar is declared never open


class CalendarNeverOpenError(ValueError):
    """The calendar has no opening hours in the time looked at: no business time can be counted."""


@dataclass(frozen=True)
class Calendar:
    """A business calendar as plain data (built once per calendar version; cheap to query)."""

    zone: ZoneInfo
    weekly: Mapping[int, Sequence[Span]] = field(default_factory=dict)  # weekday (Monday 0) → spans
    special: Mapping[date, Sequence[Span]] = field(default_factory=dict)  # date → spans; () = closed all day
    country: str = ""
    subdivision: str = ""
    round_the_clock: bool = False

    @classmethod
    def always(cls, zone: str = "UTC") -> Calendar:
        """Open every second: targets counted in plain elapsed time."""
        return cls(zone=ZoneInfo(zone), round_the_clock=True)

    @classmethod
    def of(cls, calendar: BusinessCalendar) -> Calendar:
        """Return CALENDAR's hours, holidays and special days (cached per calendar and its last change)."""
        return _calendar_cached(calendar.pk, calendar.updated_at)

    # --- what a day looks like ---------------------------------------------------------------------------------

    def holiday(self, day: date) -> str | None:
        """Return the name of the public holiday on DAY, or None."""
        if not self.country:
            return None
        return _holidays(self.country, self.subdivision, day.year).get(day)

    def spans_on(self, day: date) -> Sequence[Span]:
        """Return the local spans the calendar is open on DAY (a special day first, then holidays, then weekday)."""
        if day in self.special:
            return self.special[day]
        if self.holiday(day) is not None:
            return ()
        return self.weekly.get(day.weekday(), ())

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """Return DAY's open intervals as UTC datetimes."""
        if self.round_the_clock:
            return [(self._utc(day, MIDNIGHT), self._utc(day + timedelta(days=1), MIDNIGHT))]
        intervals = []
        for opens, closes in self.spans_on(day):
            start = self._utc(day, opens)
            end = self._utc(day + timedelta(days=1), MIDNIGHT) if closes == MIDNIGHT else self._utc(day, closes)
            if end > start:
                intervals.append((start, end))
        return sorted(intervals)

    def _utc(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)

    def _intervals_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Yield the open intervals that end after MOMENT, in order, starting on MOMENT's local day."""
        day = moment.astimezone(self.zone).date() - timedelta(days=1)  # a span past midnight of the day before
        for _n in range(SEARCH_DAYS):
            for start, end in self.intervals_on(day):
                if end > moment:
                    yield max(start, moment), end
            day += timedelta(days=1)
        raise CalendarNeverOpenError("The calendar has no opening hours in the next two years.")

    # --- questions ---------------------------------------------------------------------------------------------

    def is_open(self, moment: datetime) -> bool:
        moment = moment.astimezone(UTC)
        day = moment.astimezone(self.zone).date()
        return any(start <= moment < end for d in (day - timedelta(days=1), day) for start, end in self.intervals_on(d))

    def next_open(self, moment: datetime) -> datetime:
        """Return MOMENT if the calendar is open then, else when it next opens (UTC)."""
        start, _end = next(self._intervals_from(moment.astimezone(UTC)))
        return start

    def add(self, moment: datetime, *, seconds: float) -> datetime:
        """Return the moment (UTC) SECONDS of business time after MOMENT."""
        moment = moment.astimezone(UTC)
        if self.round_the_clock:
            return moment + timedelta(seconds=seconds)
        left = timedelta(seconds=max(seconds, 0))
        for start, end in self._intervals_from(moment):
            if end - start >= left:
                return start + left
            left -= end - start
        raise CalendarNeverOpenError  # unreachable: _intervals_from raises first

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Return the business seconds from START to END (0 when END is not after START)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return 0.0
        if self.round_the_clock:
            return (end - start).total_seconds()
        total = 0.0
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        while day <= last:
            for opens, closes in self.intervals_on(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > timedelta(0):
                    total += overlap.total_seconds()
            day += timedelta(days=1)
        return total


@functools.lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str, year: int) -> Mapping[date, str]:
    import holidays

    return dict(holidays.country_holidays(country, subdiv=subdivision or None, years=year).items())


@functools.lru_cache(maxsize=64)
def _calendar_cached(pk: int, _version: datetime) -> Calendar:
    calendar = BusinessCalendar.objects.prefetch_related("hours", "special_days").get(pk=pk)
    weekly: dict[int, list[Span]] = {}
    for hours in calendar.hours.all():
        weekly.setdefault(hours.weekday, []).append((hours.opens, hours.closes))
    special: dict[date, list[Span]] = {}
    for day in calendar.special_days.all():
        spans = special.setdefault(day.date, [])
        if day.opens is not None and day.closes is not None:
            spans.append((day.opens, day.closes))
    return Calendar(
        zone=ZoneInfo(calendar.time_zone),
        weekly={k: tuple(v) for k, v in weekly.items()},
        special={k: tuple(v) for k, v in special.items()},
        country=calendar.country,
        subdivision=calendar.subdivision,
    )
