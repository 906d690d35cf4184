"""When a question is about, read from its words against the day it is asked (no model).

Relative phrases count back from `as_of` (the question's day): "this week" is the
7 days up to it, "last week" the 7 before those, "on Tuesday" the last Tuesday (and
the day after, when the news of it is dated), "yesterday", "last weekend", "this
month", "last month". Named months and days are read too: "in August 2024", "in
August" (the last August up to as_of), "on 3 March", "March 3, 2024". Years ("in
2019", "last year") are kept apart: quiz questions name years of the events they
ask about more often than the year of the news ("running for president in 2024").

A `TimeFrame` says which days the question points at and how sure that is:
`decisive` for phrases about when the news happened (answers are taken from inside
the window first), otherwise the window is only evidence for the ranking.
Dates after as_of are ignored: they name plans ("the policy expires on May 11"),
not the day of the news.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}  # the one table of month names
MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}  # and their abbreviations
_MONTHS = MONTHS | {"sept": 9}  # a date may also be written "Sept. 3"
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_WEEKDAY = "(" + "|".join(_WEEKDAYS) + ")"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(19\d{2}|20\d{2})"

_RECENT = re.compile(
    r"\b(latest|recent|recently|newest|new|newly|now|currently|current|just|so far|upcoming|"
    r"новост|последн|недавн|сейчас|أخير|مؤخرا|الآن)\w*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TimeFrame:
    """The days a question points at (ISO dates, inclusive), if any.

    `kind` names the phrase: "relative" (this week, yesterday, on Tuesday …),
    "named" (a month or a day by name), "year", or "" for none.
    """

    start: str | None = None
    end: str | None = None
    kind: str = ""
    decisive: bool = False
    recent_words: bool = False  # "latest", "recently", "new": the question wants the news of now


def _window(start: dt.date, end: dt.date, kind: str, decisive: bool, recent: bool) -> TimeFrame:
    return TimeFrame(start.isoformat(), end.isoformat(), kind, decisive, recent)


def _last_weekday(today: dt.date, weekday: int) -> dt.date:
    """The most recent such weekday up to today (today itself when it is one)."""
    return today - dt.timedelta(days=(today.weekday() - weekday) % 7)


def _named_day(year: int | None, month: int, day: int, today: dt.date) -> dt.date | None:
    """The day named, in the year given or else this year; None when impossible or still to come
    (a day ahead names a plan: "the policy expires on May 11")."""
    try:
        date = dt.date(year or today.year, month, day)
    except ValueError:
        return None
    return date if date <= today else None


def read_timeframe(question: str, today: dt.date) -> TimeFrame:
    """The time frame of a question asked on `today` (never raises, whatever the date)."""
    try:
        return _read(question.lower(), today)
    except (OverflowError, ValueError):  # near 0001-01-01 or 9999-12-31 a window cannot be computed
        return TimeFrame(recent_words=bool(_RECENT.search(question)))


def _read(text: str, today: dt.date) -> TimeFrame:
    recent = bool(_RECENT.search(text))
    day = dt.timedelta(days=1)

    def relative(start: dt.date, end: dt.date) -> TimeFrame:
        return _window(start, min(end, today), "relative", True, recent)

    if re.search(r"\b(this|the) (past )?week\b|\bpast (seven|7) days\b|\bthis past week\b", text) and not re.search(
        r"\b(this|the) week(end)? (of|before|after)\b", text
    ):
        return relative(today - 6 * day, today)
    if re.search(r"\blast week\b|\bweek before last\b", text):
        return relative(today - 13 * day, today - 7 * day)
    if re.search(r"\byesterday\b", text):
        return relative(today - day, today)
    if re.search(r"\b(today|tonight|this (morning|afternoon|evening))\b", text):
        return relative(today, today)
    if re.search(r"\b(this|last|past|the) weekend\b|\bover the weekend\b", text):
        saturday = _last_weekday(today, 5)
        if re.search(r"\blast weekend\b", text) and today.weekday() >= 5:
            saturday -= 7 * day
        return relative(saturday, saturday + 2 * day)
    if re.search(r"\bthis month\b", text):
        return relative(today.replace(day=1), today)
    if re.search(r"\blast month\b", text):
        end = today.replace(day=1) - day
        return relative(end.replace(day=1), end)
    named = _named(text, today, recent)
    if named:
        return named
    weekday = re.search(rf"\b(?:on |last |this past |this )?{_WEEKDAY}(?:'s|’s)?\b", text)
    if weekday:
        date = _last_weekday(today, _WEEKDAYS[weekday.group(1)])
        if weekday.group(0).startswith("last ") and date == today:
            date -= 7 * day
        return relative(date, date + day)
    if re.search(r"\bthis year\b", text):
        return _window(dt.date(today.year, 1, 1), today, "year", False, recent)
    if re.search(r"\blast year\b", text):
        return _window(dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31), "year", False, recent)
    year = re.search(rf"\b(?:in|during|of|since) {_YEAR}\b", text)
    if year and int(year.group(1)) <= today.year:
        y = int(year.group(1))
        return _window(dt.date(y, 1, 1), min(dt.date(y, 12, 31), today), "year", False, recent)
    return TimeFrame(recent_words=recent)


def _named(text: str, today: dt.date, recent: bool) -> TimeFrame | None:
    """A named day ("on 3 March", "March 3, 2024") or month ("in August 2024", "in August")."""
    day = dt.timedelta(days=1)
    for pattern, order in (
        (rf"\b{_MONTH} {_DAY}(?:,? {_YEAR})?\b", "mdy"),
        (rf"\b{_DAY} {_MONTH}(?:,? {_YEAR})?\b", "dmy"),
    ):
        for match in re.finditer(pattern, text):
            if order == "mdy":
                month, number, year = match.group(1), match.group(2), match.group(3)
            else:
                number, month, year = match.group(1), match.group(2), match.group(3)
            date = _named_day(int(year) if year else None, _MONTHS[month], int(number), today)
            if date is not None:
                return _window(date, min(date + day, today), "named", False, recent)
    match = re.search(rf"\b(?:in|during|of|since|from) (?:early |mid-|late )?{_MONTH}(?:,? {_YEAR})?\b", text)
    if match is None:
        match = re.search(rf"\b{_MONTH},? {_YEAR}\b", text)
    if match:
        month, year = _MONTHS[match.group(1)], match.group(2)
        y = int(year) if year else (today.year if month <= today.month else today.year - 1)
        start = dt.date(y, month, 1)
        if start > today:
            return None
        end = dt.date(y, month, calendar.monthrange(y, month)[1])
        return _window(start, min(end, today), "named", True, recent)
    return None
