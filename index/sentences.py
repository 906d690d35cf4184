"""Step 2: split paragraphs into sentences.

A rule-based splitter tuned for news prose, paragraph by paragraph: candidate
boundaries are runs of ``. ! ? … ؟`` (with closing quotes and brackets) followed
by white space, and each candidate is kept or dropped by a few rules about what
stands before and after it (abbreviations, initials, numbers, lower-case
continuations, ellipses). Numbered and bulleted list paragraphs are split at
their markers first. Scripts without letter case (Arabic) split at every
end mark followed by space.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .articles import Article
from .segments import article_segments, is_cue, strip_byline, strip_dateline

# Abbreviations that stand before a name or a number: never a sentence end.
PREPOSITIVE = frozenset(
    """mr mrs ms dr prof st mt ft gen sen rep gov lt col capt cpt sgt cmdr adm maj brig
    rev hon pres supt insp det messrs mme mlle mssrs fr sr sra no nos nr vol vols p pp
    fig figs art ch chap sec sect para op ed eds no. n° nº tel approx ca cf vs v
    г гг т тт ул пр им ст проф акад""".split()
)
# Abbreviations that can end a sentence (followed by a capital, they do).
POSITIVE = frozenset(
    """co corp inc ltd llc plc bros jr etc al esp jan feb mar apr jun jul aug sep sept
    oct nov dec mon tue tues wed thu thur thurs fri sat sun dept univ assn est min max
    govt int'l intl natl av ave blvd rd hwy sq ft yr yrs hr hrs mins secs km kg mg mm cm
    млн млрд тыс руб коп др пр""".split()
)
# Company and name suffixes ("Warner Bros. Discovery", "Martin Luther King Jr. Day"): they end a sentence
# only when a word that usually opens one follows, as "U.S." does.
SUFFIXES = frozenset("co corp inc ltd llc plc bros jr".split())
# Words that usually open a sentence: after "U.S." they mean a new one began.
STARTERS = frozenset(
    """a an the this that these those it its he she we they i you his her their our my
    there here how what when where why who which but and or so yet if in on at as by
    for from after before while since although though however meanwhile also still
    then now today yesterday tomorrow last next one two some many most all each both
    no not nor such other another""".split()
)

_CANDIDATE = re.compile(
    r"(?P<mark>\.(?:[ \u00a0]?\.)+|[.!?…؟‼⁇⁈⁉。]+)"  # end marks, ellipses spaced or not
    r"(?P<close>[\"'”’»)\]}]*)"
    r"(?=\s|$)"
)
# A quotation's speaker after its "?" or "!": '"Is the tram late again?" Ana Ruiz asked.' is one
# sentence, not a question followed by a fragment.
_SPEAKER = re.compile(
    r"(?:[A-Z][\w.'’-]*\s){1,3}(?:said|says|asked|asks|added|wrote|writes|told|tweeted|posted|joked|quipped|"
    r"shouted|yelled|exclaimed|replied|recalled|wondered|explained|noted|insisted|declared|chanted|screamed)\b"
)
_NEXT = re.compile(r"\S")  # the first character after the white space that follows a candidate
_FIRST_WORD = re.compile(r"[\"'“‘«(]*([^\W_]+)")
_MULTI_DOT_ABBR = re.compile(r"^(?:[^\W\d_]{1,2}\.)+[^\W\d_]{1,2}$")
_LIST_MARKER = re.compile(r"(?:(?<=\s)|^)(?P<bullet>[•⁃◦▪‣·-]\s?)?(?P<label>\d{1,3}|[a-z])(?P<suffix>\.\)|\)|\.)(?=\s)")
_BULLETS = "•⁃◦▪‣"
MAX_SENTENCE_CHARS = 1000


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article; position 0 is the title."""

    position: int
    paragraph: int
    text: str
    is_title: bool = False


def _is_boundary(text: str, start: int, end: int, mark: str, close: str) -> bool:
    """Is the end mark at text[start:end] a sentence boundary? Looks only at the word before it and the
    characters after it, so splitting a paragraph stays linear in its length."""
    after = _NEXT.search(text, end)
    if after is None:
        return True
    nxt = after.group()
    begin = start
    while begin > 0 and not text[begin - 1].isspace():  # the word before the mark
        begin -= 1
    before = text[begin:start]
    word = before.lstrip("\"'“‘«([{").lower()
    if nxt.islower():
        return False
    if nxt in "([{,;:" or (nxt in "-–—" and not close):
        return False
    if mark in "!?" or mark[0] in "!?…؟‼⁇⁈⁉。":
        return not (close and mark[0] in "!?" and _SPEAKER.match(text, after.start()))
    dots = mark.count(".")
    if dots >= 3:
        if " " in mark or "\u00a0" in mark:
            # ". . ." spaced: four dots (a period and an ellipsis) end a sentence.
            return dots >= 4
        return dots >= 3
    if close:
        return True
    # From here on: a single "." right after `word`, followed by a non-lower-case char.
    if not word:
        return True
    if word in PREPOSITIVE:
        return False
    if nxt.isdigit():
        return not (len(word) <= 2 or word in POSITIVE)
    if len(word) == 1 and word.isalpha():
        # An initial ("Jonas E. Smith"), except the pronoun "I" after a lower-case word.
        if word == "i" and before == "I":
            prev = _word_ending_at(text, begin)
            return bool(prev) and prev[:1].islower()
        return not before[:1].isupper()
    if _MULTI_DOT_ABBR.match(word) or word in SUFFIXES:
        # "U.S. Government" stays; "the U.S. How about you?" splits.
        return _first_word(text, after.start()).lower() in STARTERS
    return True


def _word_ending_at(text: str, position: int) -> str:
    """The word before `position`, skipping the white space just before it."""
    end = position
    while end > 0 and text[end - 1].isspace():
        end -= 1
    begin = end
    while begin > 0 and not text[begin - 1].isspace():
        begin -= 1
    return text[begin:end]


def _first_word(text: str, position: int = 0) -> str:
    match = _FIRST_WORD.match(text, position)
    return match.group(1) if match else ""


def _split_plain(text: str) -> Iterator[str]:
    start = 0
    for match in _CANDIDATE.finditer(text):
        mark, close = match.group("mark"), match.group("close")
        m_start, m_end = match.start(), match.end()
        if len(mark) > 1 and mark[1] in " \u00a0" and m_start > 0 and not text[m_start - 1].isspace():
            # "compounds. . . . The": the period ends the sentence, the ellipsis opens the next.
            if _NEXT.search(text, m_end) and _is_boundary(text, m_start, m_end, mark, close):
                piece = text[start : m_start + 1].strip()
                if piece:
                    yield piece
                start = m_start + 1
            continue
        if _is_boundary(text, m_start, m_end, mark, close):
            piece = text[start:m_end].strip()
            if piece:
                yield piece
            start = m_end
    tail = text[start:].strip()
    if tail:
        yield tail


def _successor(label: str) -> str:
    return str(int(label) + 1) if label.isdigit() else chr(ord(label) + 1)


def _list_items(text: str) -> list[str] | None:
    """Split a paragraph that is a numbered or bulleted list, else None."""
    if text[0] in _BULLETS:
        parts = [p.strip() for p in re.split(r"\s(?=[" + _BULLETS + "])", text)]
        return parts if len(parts) > 1 else None
    first = _LIST_MARKER.match(text)
    if not first or first.group("bullet"):
        return None
    suffix, label = first.group("suffix"), first.group("label")
    cuts = []
    for match in _LIST_MARKER.finditer(text, first.end()):
        if match.group("suffix") == suffix and match.group("label") == _successor(label):
            cuts.append(match.start())
            label = match.group("label")
    if not cuts:
        return None
    bounds = [0, *cuts, len(text)]
    return [text[a:b].strip() for a, b in zip(bounds, bounds[1:])]


def _cap(pieces: list[str]) -> list[str]:
    """Cut run-on text (no end marks for pages) into quotable chunks at spaces."""
    out: list[str] = []
    for piece in pieces:
        while len(piece) > MAX_SENTENCE_CHARS:
            cut = piece.rfind(" ", MAX_SENTENCE_CHARS // 2, MAX_SENTENCE_CHARS)
            cut = cut if cut > 0 else MAX_SENTENCE_CHARS
            out.append(piece[:cut].strip())
            piece = piece[cut:].strip()
        if piece:
            out.append(piece)
    return out


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences (never raises, never drops text)."""
    text = " ".join(paragraph.split())
    if not text:
        return []
    items = _list_items(text)
    if items is None:
        return _cap(list(_split_plain(text)))
    out: list[str] = []
    for item in items:
        marker = _LIST_MARKER.match(item)
        head = marker.end() if marker else 0
        pieces = list(_split_plain(item[head:])) or [""]
        pieces[0] = (item[:head] + " " + pieces[0]).strip() if head else pieces[0]
        out.extend(p for p in pieces if p)
    return _cap(out)


def article_sentences(article: Article, furniture: frozenset[int] | set[int] = frozenset()) -> list[Sentence]:
    """The title (position 0) and every sentence of the body's prose, in order: furniture lines
    (`index.segments`; with `furniture`, the keys of lines the folder repeats) and sentences that are notes
    to readers are left out, datelines and a live blog's bylines cut."""
    out = [Sentence(0, 0, article.title, is_title=True)]
    for number, segments in enumerate(article_segments(article.paragraphs, furniture), start=1):
        for segment in segments:
            if not segment.is_prose:
                continue
            for text in split_sentences(segment.text):
                text = strip_byline(strip_dateline(text))
                if text and not is_cue(text):
                    out.append(Sentence(len(out), number, text))
    return out
