"""What a question asks for, read from its words alone (no model): its answer type.

Who / when / where / how many (English, Russian and Arabic question words), which
country or US state, and for any other "which …" a name; and whether a sentence
carries that kind of thing (a name, a date or time expression, a place phrase, a
number, a country), and whether it carries one the question does not already name.
The question's dates are read by `bot.ranking.timeframe`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from .timeframe import MONTHS

# Answer types by the question's head noun ("which country", "what state", "which singer").
_PERSON_HEADS = (
    "person|man|woman|actor|actress|singer|player|president|leader|politician|republican|democrat|senator|"
    "official|star|rapper|artist|musician|candidate|governor|ceo|celebrity|comedian|athlete|driver|coach"
)
_HEAD = re.compile(
    r"\b(?:which|what)\s+(?:[\w'’-]+\s+){0,2}?(?:(?P<country>country|nation)|(?P<state>state)|"
    rf"(?P<person>{_PERSON_HEADS}))s?\b",
    re.IGNORECASE,
)
# "How hot", "how tall": the word after "how" names the measure asked for, not the topic asked about.
_MEASURES = "many|much|long|far|old|big|large|tall|often|hot|cold|warm|high|low|deep|fast|heavy|wide|strong"
_MEASURE = re.compile(rf"\bhow ({_MEASURES})\b", re.IGNORECASE)
_TYPE_PATTERNS = [
    (
        "number",
        rf"\b(how ({_MEASURES})|what (percentage|percent|number|amount)|сколько|كم)\b",
    ),
    (
        "time",
        r"\b(when|what (year|month|day|date|time|century|decade)|in which (year|month)|"
        r"когда|в каком году|متى|في أي عام)\b",
    ),
    ("person", r"\b(who|whom|whose|кто|кого|кому|чей)\b|^\s*من\s"),
    ("place", r"\b(where|in which (city|region)|где|куда|откуда|أين)\b"),
    ("name", r"\bwhich\b"),  # any other "which …": a name (a film, a company, a team, a storm)
]
_DIGITS = re.compile(r"\d[\d,.]*")
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten hundred thousand million billion dozen half".split()
)
_TIME_WORDS = frozenset(MONTHS) | set(
    "monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow century decade week "
    "month year morning evening night soon ago since until during future later next earlier previously "
    "recently weekend season spring summer autumn fall winter".split()
)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_RUSSIAN_TIME = re.compile(
    r"\b(январ|феврал|март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|ноябр|декабр|год|век)", re.IGNORECASE
)
_WORD = re.compile(r"\w+")
_POSSESSIVE = re.compile(r"['’]s?$")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+|\b[A-ZА-Я][a-zа-я]+\s+[A-ZА-Я][a-zа-я]+")
_PLACE = re.compile(r"\b(?:in|at|near|from|to|в|во|на|из|في)\s+([A-ZА-Я\u0600-\u06ff][\w'’-]*)", re.UNICODE)
_TITLED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’-]{2,}|[\"“]([^\"”]{2,60})[\"”]")


class _Names:
    """A list of names (one to four capitalised words), found by looking up each run of capitalised words:
    one set look-up per word, where one regular expression of 200 alternatives costs ten times as much."""

    _RUN = re.compile(r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*")

    def __init__(self, names: str):
        self.names = frozenset(n.strip() for n in names.split(",") if n.strip())
        self.starts = frozenset(n.split()[0] for n in self.names)
        self.longest = max(len(n.split()) for n in self.names)

    def finditer(self, text: str) -> Iterator[str]:
        for run in self._RUN.finditer(text):
            words = [_POSSESSIVE.sub("", w.rstrip(".")) for w in run.group().split()]
            for start, word in enumerate(words):
                if word not in self.starts:
                    continue
                for size in range(min(self.longest, len(words) - start), 0, -1):
                    name = " ".join(words[start : start + size])
                    if name in self.names:
                        yield name


# The world's countries as English news names them (and the countries of the UK), and the US states:
# a "which country" answer is one of these.
_COUNTRY = _Names(
    "Afghanistan, Albania, Algeria, Andorra, Angola, Argentina, Armenia, Australia, Austria, Azerbaijan, "
    "Bahamas, Bahrain, Bangladesh, Barbados, Belarus, Belgium, Belize, Benin, Bhutan, Bolivia, Bosnia, "
    "Botswana, Brazil, Brunei, Bulgaria, Burkina Faso, Burundi, Cambodia, Cameroon, Canada, Chad, Chile, "
    "China, Colombia, Comoros, Congo, Costa Rica, Croatia, Cuba, Cyprus, Czech Republic, Czechia, Denmark, "
    "Djibouti, Dominica, Dominican Republic, Ecuador, Egypt, El Salvador, Eritrea, Estonia, Eswatini, "
    "Ethiopia, Fiji, Finland, France, Gabon, Gambia, Georgia, Germany, Ghana, Greece, Grenada, Guatemala, "
    "Guinea, Guyana, Haiti, Honduras, Hungary, Iceland, India, Indonesia, Iran, Iraq, Ireland, Israel, "
    "Italy, Ivory Coast, Jamaica, Japan, Jordan, Kazakhstan, Kenya, Kiribati, Kosovo, Kuwait, Kyrgyzstan, "
    "Laos, Latvia, Lebanon, Lesotho, Liberia, Libya, Liechtenstein, Lithuania, Luxembourg, Madagascar, "
    "Malawi, Malaysia, Maldives, Mali, Malta, Mauritania, Mauritius, Mexico, Micronesia, Moldova, Monaco, "
    "Mongolia, Montenegro, Morocco, Mozambique, Myanmar, Burma, Namibia, Nauru, Nepal, Netherlands, "
    "New Zealand, Nicaragua, Niger, Nigeria, North Korea, Norway, Oman, Pakistan, Palau, Palestine, Panama, "
    "Papua New Guinea, Paraguay, Peru, Philippines, Poland, Portugal, Qatar, Romania, Russia, Rwanda, Samoa, "
    "Saudi Arabia, Senegal, Serbia, Seychelles, Sierra Leone, Singapore, Slovakia, Slovenia, Somalia, "
    "South Africa, South Korea, South Sudan, Spain, Sri Lanka, Sudan, Suriname, Sweden, Switzerland, Syria, "
    "Taiwan, Tajikistan, Tanzania, Thailand, Togo, Tonga, Tunisia, Turkey, Türkiye, Turkmenistan, Tuvalu, "
    "Uganda, Ukraine, United Arab Emirates, United Kingdom, United States, Uruguay, Uzbekistan, Vanuatu, "
    "Vatican, Venezuela, Vietnam, Yemen, Zambia, Zimbabwe, Britain, England, Scotland, Wales, Greenland, "
    "Gaza, Hong Kong, Puerto Rico"
)
_STATE = _Names(
    "Alabama, Alaska, Arizona, Arkansas, California, Colorado, Connecticut, Delaware, Florida, Georgia, "
    "Hawaii, Idaho, Illinois, Indiana, Iowa, Kansas, Kentucky, Louisiana, Maine, Maryland, Massachusetts, "
    "Michigan, Minnesota, Mississippi, Missouri, Montana, Nebraska, Nevada, New Hampshire, New Jersey, "
    "New Mexico, New York, North Carolina, North Dakota, Ohio, Oklahoma, Oregon, Pennsylvania, "
    "Rhode Island, South Carolina, South Dakota, Tennessee, Texas, Utah, Vermont, Virginia, Washington, "
    "West Virginia, Wisconsin, Wyoming"
)


def _matches(pattern: re.Pattern) -> Callable[[str], Iterator[str]]:
    return lambda text: (m.group(m.lastindex or 0) for m in pattern.finditer(text))


def _numbers(text: str) -> Iterator[str]:
    yield from _DIGITS.findall(text)
    yield from (w for w in _WORD.findall(text.lower()) if w in _NUMBER_WORDS)


def _times(text: str) -> Iterator[str]:
    yield from (w for w in _WORD.findall(text.lower()) if w in _TIME_WORDS)
    yield from _YEAR.findall(text)
    yield from (m.group() for m in _RUSSIAN_TIME.finditer(text))


# What a sentence holds of each kind, lazily: the first new one is enough.
_FINDERS: dict[str, tuple[Callable[[str], Iterator[str]], ...]] = {
    "number": (_numbers,),
    "time": (_times,),
    "person": (_matches(_NAME),),
    "place": (_matches(_PLACE),),
    "country": (_COUNTRY.finditer,),
    "state": (_STATE.finditer,),
    "name": (_matches(_NAME), _matches(_TITLED)),
}


def answer_type(question: str) -> str | None:
    """'number', 'time', 'person', 'place', 'country', 'state', 'name' (any other "which …") or None."""
    head = _HEAD.search(question)
    if head:
        return head.lastgroup
    text = question.lower()
    for kind, pattern in _TYPE_PATTERNS:
        if re.search(pattern, text):
            return kind
    return None


def measure_words(question: str) -> tuple[str, ...]:
    """The words that name the measure a question asks for: "hot" of "How hot did it get?"."""
    return tuple(match.group(1) for match in _MEASURE.finditer(question))


def is_time_word(word: str) -> bool:
    """A month, a weekday, a year or another time word: what a question's time frame reads, not a name."""
    return word.casefold() in _TIME_WORDS or bool(_YEAR.fullmatch(word))


def carries(sentence: str, kind: str | None) -> bool:
    """Does the sentence hold the kind of thing the question asks for?"""
    return any(next(find(sentence), None) is not None for find in _FINDERS.get(kind, ()))


def carries_new(sentence: str, kind: str | None, question_words: frozenset[str]) -> bool:
    """Does it hold one the question does not name (a name none of whose words the question has)?"""
    return any(
        not all(word.casefold() in question_words for word in found.split())
        for find in _FINDERS.get(kind, ())
        for found in find(sentence)
    )
