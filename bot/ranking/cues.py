"""What a question asks for, read from its words alone (no model): its answer type.

Who / when / where / how many (English, Russian and Arabic question words), and
whether a sentence carries that kind of thing (a name, a date or time expression,
a place phrase, a number). The question's dates are read by `bot.ranking.timeframe`.
"""

from __future__ import annotations

import re

from .timeframe import MONTHS

_TYPE_PATTERNS = [
    (
        "number",
        r"\b(how (many|much|long|far|old|big|large|tall|often)|what (percentage|percent|number|amount)|"
        r"сколько|كم)\b",
    ),
    (
        "time",
        r"\b(when|what (year|month|day|date|time|century|decade)|in which (year|month)|"
        r"когда|в каком году|متى|في أي عام)\b",
    ),
    ("person", r"\b(who|whom|whose|кто|кого|кому|чей)\b|^\s*من\s"),
    ("place", r"\b(where|in which (country|city|state|region)|где|куда|откуда|أين)\b"),
]
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|"
    r"dozen|half)\b",
    re.IGNORECASE,
)
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
