"""Step 3: turn text into index terms.

One `Analyzer` serves indexing and querying, so a question is analysed exactly as
the sentences were: Unicode words, NFKC and case folding, script-specific
normalisation (Arabic diacritics and letter variants, Cyrillic ё), a stopword
list and a Snowball stemmer for the index language.

With the language `auto`, each word is analysed by the language of its script:
Cyrillic words as Russian, Arabic-script words as Arabic, all others as English.
A collection mixing the three then needs no setting, an English article quoting
a Russian name finds it, and a question is analysed exactly as the sentences were
without guessing its language first.
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
AUTO = "auto"
ALIASES = {name: name for name in LANGUAGES.values()} | LANGUAGES | {AUTO: AUTO}

# A word: letters/digits, with inner apostrophes ("don't") or number separators ("1,750.5").
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+(?:['’][^\W_]+)*")
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"})
_CACHE_LIMIT = 2_000_000
_CACHED_WORD_CHARS = 64  # longer "words" (runs of letters in junk text) are analysed each time, not kept
_CYRILLIC = re.compile("[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")


def language_name(code: str) -> str:
    """Map 'en' / 'english' (any case) to the stemmer's name, 'auto' to itself, or raise ValueError."""
    name = ALIASES.get(code.strip().lower())
    if not name:
        choices = ", ".join([*sorted(LANGUAGES), AUTO])
        raise ValueError(f"unknown language {code!r}; choose one of {choices}")
    return name


def script_language(word: str) -> str:
    """The language that analyses a word under `auto`: by its first Cyrillic or Arabic letter."""
    for ch in word:
        if _CYRILLIC.match(ch):
            return "russian"
        if _ARABIC.match(ch):
            return "arabic"
    return "english"


def detect_language(text: str) -> str:
    """The language whose script most letters of the text are in (Latin and other scripts: english)."""
    counts = {
        "russian": len(_CYRILLIC.findall(text)),
        "arabic": len(_ARABIC.findall(text)),
        "english": len(_LATIN.findall(text)),
    }
    best = max(counts, key=counts.get)
    return best if counts[best] else "english"


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
        self._cache: dict[str, str | None] = {}
        self._by_script: dict[str, Analyzer] = {}
        if self.language == AUTO:
            self._by_script = {name: Analyzer(name) for name in LANGUAGES.values()}
            self.stopwords = frozenset().union(*(a.stopwords for a in self._by_script.values()))
            return
        self.stopwords = BY_LANGUAGE[self.language]
        self._stemmer = Stemmer.Stemmer(self.language)
        self._stem_lock = threading.Lock()  # PyStemmer objects are not thread-safe

    def term(self, word: str) -> str | None:
        """The index term for one word, or None for a stopword."""
        cached = self._cache.get(word, "")
        if cached != "":
            return cached
        result = self._term(word)
        if len(word) > _CACHED_WORD_CHARS:
            return result
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = result
        return result

    def _term(self, word: str) -> str | None:
        if self._by_script:  # the result is cached here, so not in the script's analyzer too
            return self._by_script[script_language(word)]._term(word)
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
