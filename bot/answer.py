"""The one answer path: a question in, quoted passages with title and date out.

`answer()` is pure: it reads the index and returns an `Answer`; it knows nothing
of Telegram or terminals. Every face (console, `newsbot ask`, Telegram) renders
the same `Answer`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from index.search import Index, Snapshot

MAX_QUESTION_CHARS = 2000
MAX_QUERY_TERMS = 64
PER_ARTICLE = 2
MAX_QUOTE_CHARS = 400
NO_WORDS = "no searchable words"
NO_MATCH = "no match"

# A sentence that opens with one of these leans on the one before it.
_LEANS_BACK = re.compile(
    r"^[\"“‘']?(it|this|that|these|those|he|she|they|his|her|their|its|there|but|however|"
    r"also|meanwhile|still|yet|so|then|such|both|the two|the move|the decision|the visit|"
    r"the deal|the agreement|the statement)\b",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Passage:
    """One quoted passage and where it comes from."""

    sentence: str
    quote: str
    title: str
    date: str
    source: str
    score: float
    url: str = ""
    highlights: tuple[tuple[int, int], ...] = ()  # character spans of matched words in `quote`
    article_id: int = 0
    sentence_id: int = 0

    def as_json(self) -> dict:
        """The stable JSON shape documented in README."""
        return {
            "sentence": self.sentence,
            "quote": self.quote,
            "title": self.title,
            "date": self.date,
            "source": self.source,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class Answer:
    """Passages for one question, best first, or a notice saying why there are none."""

    question: str
    passages: tuple[Passage, ...] = ()
    took_ms: float = 0.0
    terms: tuple[str, ...] = ()
    notice: str = ""
    more: bool = False  # more passages exist beyond these

    def as_json(self, id_=None) -> dict:
        return {
            "id": id_,
            "question": self.question,
            "took_ms": round(self.took_ms, 3),
            "passages": [p.as_json() for p in self.passages],
        }


@dataclass
class _Picked:
    sentence_id: int
    score: float
    row: dict
    quote_rows: list = field(default_factory=list)


def clean_question(question: str) -> str:
    """Bound the work and drop control and direction characters."""
    return " ".join(_CONTROL.sub(" ", question[:MAX_QUESTION_CHARS]).split())


def answer(
    index: Index,
    question: str,
    top: int = 3,
    since: str | None = None,
    until: str | None = None,
    as_of: str | None = None,
    offset: int = 0,
) -> Answer:
    """Answer a question from the index: up to `top` passages after the first `offset`."""
    started = time.perf_counter()
    text = clean_question(question)
    with index.snapshot() as snap:
        terms = snap.analyzer.terms(text)[:MAX_QUERY_TERMS]
        if not terms:
            return Answer(question, took_ms=_ms(started), notice=NO_WORDS)
        candidates = snap.candidates(terms)
        if not len(candidates):
            return Answer(question, took_ms=_ms(started), terms=tuple(terms), notice=NO_MATCH)
        latest = min((d for d in (until, as_of) if d), default=None)
        picked, more = _pick(snap, candidates, offset + top, since, latest)
        passages = [_passage(snap, p, set(terms)) for p in picked[offset:]]
    notice = "" if passages else NO_MATCH
    return Answer(question, tuple(passages), _ms(started), tuple(terms), notice, more)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _pick(snap: Snapshot, candidates, wanted: int, since: str | None, until: str | None):
    """Best sentences, at most PER_ARTICLE per article, identical texts collapsed."""
    picked: list[_Picked] = []
    per_article: dict[int, int] = {}
    seen_texts: set[str] = set()
    seen_ids: set[int] = set()
    k, done = max(50, wanted * 10), 0
    while True:
        ranked = candidates.top(k)
        batch = ranked[done:]
        rows = snap.sentences([sid for sid, _ in batch])
        leads = _leads(snap, [rows[sid] for sid, _ in batch if sid in rows and rows[sid]["is_title"]])
        for sid, sc in batch:
            row = rows.get(sid)
            if row is None or (since and row["date"] < since) or (until and row["date"] > until):
                continue
            if row["is_title"]:
                # A title match is quoted by the article's lead sentence.
                row = leads.get(row["article_id"])
                if row is None:
                    continue
            key = " ".join(row["text"].lower().split())
            if row["id"] in seen_ids or key in seen_texts or per_article.get(row["article_id"], 0) >= PER_ARTICLE:
                continue
            if len(picked) == wanted:
                return picked, True
            seen_ids.add(row["id"])
            seen_texts.add(key)
            per_article[row["article_id"]] = per_article.get(row["article_id"], 0) + 1
            picked.append(_Picked(row["id"], sc, row))
        done = len(ranked)
        if done >= len(candidates):
            return picked, False
        k *= 8


def _leads(snap: Snapshot, title_rows: list[dict]) -> dict[int, dict]:
    out = {}
    for title in title_rows:
        lead = snap.article_sentences(title["article_id"], [1]).get(1)
        if lead:
            out[title["article_id"]] = {**title, **lead}
    return out


def _passage(snap: Snapshot, picked: _Picked, terms: set[str]) -> Passage:
    row = picked.row
    quote = row["text"]
    if row["position"] > 1 and (_LEANS_BACK.match(quote) or len(quote) < 60):
        before = snap.article_sentences(row["article_id"], [row["position"] - 1]).get(row["position"] - 1)
        if before and before["paragraph"] >= 1 and len(before["text"]) + len(quote) < MAX_QUOTE_CHARS:
            quote = before["text"] + " " + quote
    highlights = tuple((a, b) for a, b, term in snap.analyzer.spans(quote) if term in terms)
    return Passage(
        sentence=row["text"],
        quote=quote,
        title=row["title"],
        date=row["date"],
        source=row["source"],
        score=picked.score,
        url=row["url"] or "",
        highlights=highlights,
        article_id=row["article_id"],
        sentence_id=row["id"],
    )
