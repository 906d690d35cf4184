"""Step 3: turn text into index terms.

One `Analyzer` serves indexing and querying, so a question is analysed exactly as
the sentences were: Unicode words, NFKC and case folding, script-specific
normalisation (Arabic diacritics and letter variants, Cyrillic ё), a stopword
list and a Snowball stemmer for the index language.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import Stemmer

from .stopwords import BY_LANGUAGE

LANGUAGES = {"en": "english", "ru": "russian", "ar": "arabic"}
ALIASES = {name: name for name in LANGUAGES.values()} | LANGUAGES

# A word: letters/digits, with inner apostrophes ("don't") or number separators ("1,750.5").
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+(?:['’][^\W_]+)*")
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})
_CACHE_LIMIT = 2_000_000


def language_name(code: str) -> str:
    """Map 'en' / 'english' (any case) to the stemmer's name, or raise ValueError."""
    name = ALIASES.get(code.strip().lower())
    if not name:
        choices = ", ".join(sorted(LANGUAGES))
        raise ValueError(f"unknown language {code!r}; choose one of {choices}")
    return name


def fold(word: str) -> str:
    """NFKC, case folding, ё -> е, Arabic diacritics and tatweel removed."""
    word = unicodedata.normalize("NFKC", word).casefold().replace("’", "'")
    if "ё" in word:
        word = word.replace("ё", "е")
    if any("\u0600" <= ch <= "\u06ff" for ch in word):
        word = _ARABIC_MARKS.sub("", word)
    return word


def normalise(word: str) -> str:
    """`fold`, then Arabic letter variants unified (hamza forms of alif, alif maqsura, taa marbuta)."""
    word = fold(word)
    if any("\u0600" <= ch <= "\u06ff" for ch in word):
        word = word.translate(_ARABIC_LETTERS)
    return word


class Analyzer:
    """Text to terms for one language."""

    def __init__(self, language: str = "english"):
        self.language = language_name(language)
        self.stopwords = BY_LANGUAGE[self.language]
        self._stemmer = Stemmer.Stemmer(self.language)
        self._stem_lock = threading.Lock()  # PyStemmer objects are not thread-safe
        self._cache: dict[str, str | None] = {}

    def term(self, word: str) -> str | None:
        """The index term for one word, or None for a stopword."""
        cached = self._cache.get(word, "")
        if cached != "":
            return cached
        result = self._term(word)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = result
        return result

    def _term(self, word: str) -> str | None:
        # Stopwords are matched before letter variants are unified, so that the
        # Arabic "على" (on) is dropped while the name "علي" (Ali) is kept.
        folded = fold(word)
        if folded[:1].isdigit():
            return folded.replace(",", "")
        if folded.endswith("'s"):
            folded = folded[:-2]
        if not folded or folded in self.stopwords:
            return None
        norm = normalise(folded)
        with self._stem_lock:
            stem = self._stemmer.stemWord(norm)
        return stem or None

    def terms(self, text: str) -> list[str]:
        """Terms of a text, in order, repeats kept (BM25 counts them)."""
        term = self.term
        return [t for t in map(term, _WORD.findall(text)) if t is not None]

    def spans(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, term) for each word of text that is not a stopword."""
        for match in _WORD.finditer(text):
            term = self.term(match.group())
            if term is not None:
                yield match.start(), match.end(), term


@lru_cache(maxsize=8)
def analyzer_for(language: str) -> Analyzer:
    """A shared analyzer per language."""
    return Analyzer(language)
