"""What a question asks for, read from its words alone (no model): answer type and dates.

* Answer type: who / when / where / how many (English, Russian, Arabic question
  words), and whether a sentence carries that kind of thing (a name, a date or
  time expression, a place phrase, a number).
* Dates: "in June 2025", "2024", "yesterday", "last week", "this month", and
  recency words ("latest", "recent", "now"), turned into a date window relative
  to `as_of` (or today).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}

_TYPE_PATTERNS = [
    ("number", r"\b(how (many|much|long|far|old|big|large|tall|often)|what (percentage|percent|number|amount)|"
               r"сколько|كم)\b"),
    ("time", r"\b(when|what (year|month|day|date|time|century|decade)|in which (year|month)|"
             r"когда|в каком году|متى|في أي عام)\b"),
    ("person", r"\b(who|whom|whose|кто|кого|кому|чей)\b|^\s*من\s"),
    ("place", r"\b(where|in which (country|city|state|region)|где|куда|откуда|أين)\b"),
]
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|"
                     r"dozen|half)\b", re.IGNORECASE)
_TIME = re.compile(
    r"\b(1[0-9]{3}|20[0-9]{2})\b|\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b|"
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|tomorrow|"
    r"century|decade|week|month|year|morning|evening|night|soon|ago|since|until|during|future|"
    r"later|next|earlier|previously|recently|weekend|season|spring|summer|autumn|fall|winter)\b|"
    r"\b(январ|феврал|март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|ноябр|декабр|год|век)",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+|\b[A-ZА-Я][a-zа-я]+\s+[A-ZА-Я][a-zа-я]+")
_PLACE = re.compile(r"\b(in|at|near|from|to|в|во|на|из|في)\s+[A-ZА-Я\u0600-\u06ff]", re.UNICODE)
_RECENT = re.compile(r"\b(latest|recent|recently|newest|now|currently|current|this week|today|новост|последн|"
                     r"сейчас|أخير|الآن)\w*", re.IGNORECASE)


def answer_type(question: str) -> str | None:
    """'number', 'time', 'person', 'place' or None."""
    text = question.lower()
    for kind, pattern in _TYPE_PATTERNS:
        if re.search(pattern, text):
            return kind
    return None


def carries(sentence: str, kind: str | None) -> bool:
    """Does the sentence hold the kind of thing the question asks for?"""
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "time":
        return bool(_TIME.search(sentence))
    if kind == "person":
        return bool(_NAME.search(sentence))
    if kind == "place":
        return bool(_PLACE.search(sentence))
    return False


@dataclass(frozen=True)
class DateWindow:
    """Articles the question points at: dated between start and end (ISO), or recent ones."""

    start: str | None = None
    end: str | None = None
    recent: bool = False


def date_window(question: str, today: dt.date) -> DateWindow:
    """Read explicit and relative dates in the question."""
    text = question.lower()
    match = re.search(r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+(19\d{2}|20\d{2})\b", text)
    if match:
        year, month = int(match.group(2)), MONTHS[match.group(1)]
        last = calendar.monthrange(year, month)[1]
        return DateWindow(dt.date(year, month, 1).isoformat(), dt.date(year, month, last).isoformat())
    day = dt.timedelta(days=1)
    relative = {  # computed only for the phrase found: near year 1 or 9999 some cannot be
        "yesterday": lambda: (today - day, today - day),
        "today": lambda: (today, today),
        "last week": lambda: (today - (today.weekday() + 7) * day, today - (today.weekday() + 1) * day),
        "this week": lambda: (today - today.weekday() * day, today),
        "last month": lambda: ((today.replace(day=1) - day).replace(day=1), today.replace(day=1) - day),
        "this month": lambda: (today.replace(day=1), today),
        "last year": lambda: (dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)),
        "this year": lambda: (dt.date(today.year, 1, 1), today),
    }
    for phrase, window in relative.items():
        if re.search(rf"\b{phrase}\b", text):
            try:
                start, end = window()
            except (OverflowError, ValueError):  # before 0001-01-01: no article is from then
                return DateWindow("0000-00-00", "0000-00-00", recent=True)
            return DateWindow(start.isoformat(), end.isoformat(), recent=True)
    match = re.search(r"\bin (19\d{2}|20\d{2})\b", text)
    if match:
        year = int(match.group(1))
        return DateWindow(f"{year}-01-01", f"{year}-12-31")
    return DateWindow(recent=bool(_RECENT.search(text)))
