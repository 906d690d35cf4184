"""The one answer path: a question in, quoted passages with title and date out.

`answer()` is pure: it reads the index and returns an `Answer`; it knows nothing
of Telegram or terminals. Every face (console, `newsbot ask`, Telegram) renders
the same `Answer`.

Ranking: BM25 over single sentences picks a pool of candidates; each is then
re-scored with evidence around it (see `Ranking`), and the best are quoted, at
most two per article, identical sentences once.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from dataclasses import dataclass, fields, replace

from index.search import Candidates, Index, Snapshot

from .cues import DateWindow, answer_type, carries, date_window

MAX_QUESTION_CHARS = 2000
MAX_QUERY_TERMS = 64
PER_ARTICLE = 2
MAX_QUOTE_CHARS = 350
NEAR_PREFIX = 4  # truncation to four letters: the usual choice for prefix stemming across languages
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
class Ranking:
    """Answer-quality techniques, all on by default; `newsbot eval --without` measures each."""

    sentence_bm25: bool = True  # re-score the pool with k1=0.9, b=0.4, kinder to long sentences
    coverage: bool = True  # a sentence holding more of the question's distinct (IDF-weighted) words wins
    context: bool = True  # a sentence whose neighbours match the question too is lifted
    article: bool = True  # the article's title and its other matching sentences lift a sentence
    lead: bool = True  # news leads restate the headline: a matching headline lifts the lead sentence most
    proximity: bool = True  # question words side by side, in order (names, phrases)
    cues: bool = True  # the sentence holds what the question asks for: a number, date, name, place
    dates: bool = True  # dates in the question favour articles from then; "latest" favours recent ones
    quotes: bool = True  # the quote takes in a neighbour that matches the question too
    pool: int = 30  # BM25 candidates re-scored (at least; ten per passage asked for)

    @classmethod
    def techniques(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.type in ("bool", bool)]

    def without(self, names: list[str]) -> Ranking:
        unknown = set(names) - set(self.techniques())
        if unknown:
            raise ValueError(f"unknown technique {sorted(unknown)[0]!r}; choose from {', '.join(self.techniques())}")
        return replace(self, **{name: False for name in names})

    def describe(self) -> str:
        off = [name for name in self.techniques() if not getattr(self, name)]
        return "all techniques" if not off else "without " + ", ".join(off)


PLAIN_BM25 = Ranking(**{name: False for name in Ranking.techniques()})


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
    copies: int = 1  # articles carrying this same sentence (date is the earliest)

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
    ranking: Ranking = Ranking(),
) -> Answer:
    """Answer a question from the index: up to `top` passages after the first `offset`."""
    started = time.perf_counter()
    text = clean_question(question)
    with index.snapshot() as snap:
        terms = snap.analyzer.terms(text)[:MAX_QUERY_TERMS]
        if not terms:
            return Answer(question, took_ms=_ms(started), notice=NO_WORDS)
        latest = min((d for d in (until, as_of) if d), default=None)
        wanted = offset + top
        size = max(ranking.pool, wanted * 10)
        # Without a date filter only the best sentences are needed, and MaxScore can skip work. Ask for
        # four times the pool at once: asking again later (copies, two-per-article) costs more.
        prune = not (since or latest)
        candidates = snap.candidates(terms, k=size * 4 if prune else None)
        if not len(candidates):
            return Answer(question, took_ms=_ms(started), terms=tuple(terms), notice=NO_MATCH)
        today = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
        window = date_window(text, today) if ranking.dates else DateWindow()
        context = _Context(snap, candidates, terms, answer_type(text) if ranking.cues else None, window, today,
                           ranking)
        while True:
            pool = context.pool(size, since, latest)
            picked = context.pick(context.rescore(pool), wanted + 1)
            if len(picked) > wanted or (context.candidates.complete and size >= len(context.candidates)):
                break
            size *= 8
            if not context.candidates.complete and size > len(context.candidates):
                context.candidates = snap.candidates(terms, k=size * 4)
                context.quotes.clear()  # quotes look at the neighbours' scores in the candidates
        passages = [replace(context.passage(row, score), copies=copies) for row, score, copies in picked[offset:wanted]]
    notice = "" if passages else NO_MATCH
    return Answer(question, tuple(passages), _ms(started), tuple(terms), notice, len(picked) > wanted)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _text_key(text: str) -> str:
    """What makes two sentences "the same sentence": case and spacing aside."""
    return " ".join(text.lower().split())


def _neighbour_ids(row: dict) -> tuple[int, int]:
    """Ids of the sentences before and after within the article's body (-1 where there is none)."""
    before = row["id"] - 1 if row["position"] > 1 else -1
    after = row["id"] + 1 if row["position"] < row["article_sentences"] else -1
    return before, after


class _Context:
    """Everything one question's ranking needs, within one index snapshot."""

    def __init__(self, snap: Snapshot, candidates: Candidates, terms: list[str], kind: str | None,
                 window: DateWindow, today: dt.date, ranking: Ranking):
        self.snap, self.candidates, self.kind, self.window, self.today = snap, candidates, kind, window, today
        self.terms = set(terms)
        self.bigrams = {(a, b) for a, b in zip(terms, terms[1:]) if a != b}
        self.ranking = ranking
        self.query_counts = {t: terms.count(t) for t in self.terms}
        postings, n = snap.last_postings, snap.stats.documents
        # Re-scoring uses Lucene's IDF, which stays positive even for words in most sentences
        # (Okapi's goes negative there, and on tiny collections even its epsilon floor does).
        self.idf = {t: math.log(1 + (n - p.df + 0.5) / (p.df + 0.5)) for t, p in postings.items() if t in self.terms}
        self.idf_total = sum(self.idf.values()) or 1.0
        self.quotes: dict[int, tuple[str, frozenset[int]]] = {}

    def pool(self, size: int, since: str | None, until: str | None) -> list[tuple[dict, float]]:
        """The best BM25 sentences within the dates, titles replaced by their article's lead sentence."""
        ranked = self.candidates.top(size)
        rows = self.snap.sentences([sid for sid, _ in ranked])
        out, leads = [], []
        for sid, score in ranked:
            row = rows.get(sid)
            if row is None or (since and row["date"] < since) or (until and row["date"] > until):
                continue
            if row["is_title"]:
                leads.append(sid + 1)  # a title match is quoted by the article's lead sentence
                continue
            out.append((row, score))
        have = {row["id"] for row, _ in out}
        lead_ids = [sid for sid in dict.fromkeys(leads) if sid not in have]
        if lead_ids:
            lead_rows = self.snap.sentences(lead_ids)
            scores = self.candidates.lookup(lead_ids) + self.candidates.shift
            for sid, lead_score in zip(lead_ids, scores):
                row = lead_rows.get(sid)
                if row is not None and not row["is_title"] and row["position"] == 1:
                    out.append((row, float(lead_score)))
        return out

    def rescore(self, pool: list[tuple[dict, float]]) -> list[tuple[dict, float]]:
        """BM25 plus the evidence around each sentence, best first."""
        r = self.ranking
        if not pool:
            return []
        ids = [row["id"] for row, _ in pool]
        lookup = self.candidates.lookup
        neighbour = titles = None
        if r.context:
            prev_ids, next_ids = zip(*(_neighbour_ids(row) for row, _ in pool))
            neighbour = [max(p, n, 0.0) for p, n in zip(lookup(prev_ids), lookup(next_ids))]
        if r.article:
            titles = [max(t, 0.0) for t in lookup([i - row["position"] for (row, _), i in zip(pool, ids)])]
            by_article: dict[int, list[float]] = {}
            for row, score in pool:
                by_article.setdefault(row["article_id"], []).append(max(score, 0.0))
            support = {a: sum(sorted(s, reverse=True)[:3]) for a, s in by_article.items()}
        scored = []
        seen: dict[str, float] = {}
        for i, (row, score) in enumerate(pool):
            key = _text_key(row["text"])
            if key in seen:  # the same sentence in another article (wire copy): same evidence, no new work
                scored.append((row, seen[key]))
                continue
            sentence_terms = self.snap.analyzer.terms(row["text"])
            value = self._bm25_04(sentence_terms) if r.sentence_bm25 else max(score, 0.0)
            if neighbour is not None:
                value += 0.25 * neighbour[i]
            if titles is not None:
                others = support[row["article_id"]] - max(score, 0.0)
                # News leads restate the headline: a headline that matches lifts the lead most.
                value += (0.8 if r.lead and row["position"] == 1 else 0.3) * titles[i] + 0.2 * others
            factor = 1.0
            if r.coverage:
                factor += sum(self.idf.get(t, 0.0) for t in self._covered(sentence_terms)) / self.idf_total
            if r.proximity and self.bigrams:
                factor += 0.05 * min(len(self.bigrams.intersection(zip(sentence_terms, sentence_terms[1:]))), 3)
            if self.kind and carries(row["text"], self.kind):
                factor += 0.2
            if r.dates:
                factor *= self._date_factor(row["date"])
            seen[key] = value * factor
            scored.append((row, value * factor))
        scored.sort(key=lambda item: (-item[1], item[0]["id"]))
        return scored

    def _covered(self, sentence_terms: list[str]) -> set[str]:
        """The question's terms in the sentence, exactly or as a variant the stemmer missed: a sentence
        term that shares its first NEAR_PREFIX letters (merger / merg, Russian and Arabic inflections)."""
        covered = self.terms.intersection(sentence_terms)
        rest = [t for t in self.terms - covered if len(t) >= NEAR_PREFIX]
        if rest:
            prefixes = {w[:NEAR_PREFIX] for w in sentence_terms if len(w) >= NEAR_PREFIX}
            covered.update(t for t in rest if t[:NEAR_PREFIX] in prefixes)
        return covered

    def _bm25_04(self, sentence_terms: list[str]) -> float:
        """Okapi BM25 with Anserini's k1=0.9, b=0.4 (the index's IDF): long sentences are not punished."""
        norm = 0.6 + 0.4 * len(sentence_terms) / (self.snap.stats.avgdl or 1.0)
        total = 0.0
        for term, weight in self.idf.items():
            tf = sentence_terms.count(term)
            if tf:
                total += self.query_counts[term] * weight * tf * 1.9 / (tf + 0.9 * norm)
        return total

    def _date_factor(self, date: str) -> float:
        window = self.window
        if window.start and window.end:
            return 1.5 if window.start <= date <= window.end else 1.0
        if window.recent:
            age = (self.today - dt.date.fromisoformat(date)).days
            return 1.0 + 0.3 * max(0.0, 1.0 - max(age, 0) / 365)
        return 1.0

    def pick(self, scored: list[tuple[dict, float]], wanted: int) -> list[tuple[dict, float, int]]:
        """At most PER_ARTICLE per article, whose quotes do not overlap; a sentence carried by several
        articles once, with the earliest date."""
        picked: list[list] = []
        by_text: dict[str, int] = {}
        by_article: dict[int, list[dict]] = {}
        for row, score in scored:
            key = _text_key(row["text"])
            if key in by_text:
                entry = picked[by_text[key]]
                if entry[0]["article_id"] != row["article_id"]:
                    entry[2] += 1
                    if row["date"] < entry[0]["date"]:
                        entry[0] = {**entry[0], "date": row["date"], "title": row["title"],
                                    "source": row["source"], "url": row["url"]}
                continue
            same_article = by_article.setdefault(row["article_id"], [])
            if len(same_article) >= PER_ARTICLE or len(picked) >= wanted:
                continue
            # Two neighbouring sentences would each be quoted with the other: show that text once.
            if same_article and any(self._quoted(row)[1] & self._quoted(other)[1] for other in same_article):
                continue
            same_article.append(row)
            by_text[key] = len(picked)
            picked.append([row, score, 1])
        return [tuple(entry) for entry in picked]

    def passage(self, row: dict, score: float) -> Passage:
        quote = self._quoted(row)[0]
        highlights = tuple((a, b) for a, b, term in self.snap.analyzer.spans(quote) if term in self.terms)
        return Passage(sentence=row["text"], quote=quote, title=row["title"], date=row["date"],
                       source=row["source"], score=score, url=row["url"] or "", highlights=highlights,
                       article_id=row["article_id"], sentence_id=row["id"])

    def _quoted(self, row: dict) -> tuple[str, frozenset[int]]:
        """The quote for a sentence and the positions of the sentences in it (computed once per sentence)."""
        if row["id"] not in self.quotes:
            self.quotes[row["id"]] = self._quote(row)
        return self.quotes[row["id"]]

    def _quote(self, row: dict) -> tuple[str, frozenset[int]]:
        """The sentence, with the neighbours it leans on or that match the question too, within MAX_QUOTE_CHARS."""
        text, position = row["text"], row["position"]
        order: list[int] = []
        if position > 1 and (_LEANS_BACK.match(text) or len(text) < 60):
            order.append(position - 1)
        if self.ranking.quotes:
            prev_score, next_score = self.candidates.lookup(_neighbour_ids(row))  # 0 where there is none
            options = [(prev_score, position - 1), (next_score, position + 1)]
            order += [pos for score, pos in sorted(options, reverse=True) if score > 0 and pos not in order]
        if not order:
            return text, frozenset([position])
        found = self.snap.article_sentences(row["article_id"], order)
        before, after, length, positions = [], [], len(text), {position}
        for pos in order:
            neighbour = found.get(pos)
            if not neighbour or neighbour["paragraph"] < 1 or length + len(neighbour["text"]) + 1 > MAX_QUOTE_CHARS:
                continue
            length += len(neighbour["text"]) + 1
            positions.add(pos)
            (before if pos < position else after).append(neighbour["text"])
        return " ".join([*before, text, *after]), frozenset(positions)
