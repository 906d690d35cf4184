"""The one answer path: a question in, quoted passages with title and date out.

`answer()` is pure: it reads the index and returns an `Answer`; it knows nothing
of Telegram or terminals. Every face (console, `newsbot ask`, Telegram) renders
the same `Answer`.

Ranking is article, then sentence (the document-then-passage pattern):

1. every article holding a question word is scored by the article model over the
   features of `bot.ranking.features` (its BM25 as a whole, its headline, its date against
   the question's time frame and the day it is asked);
2. the sentences of the best articles are scored by the passage model, with their
   article's score as one feature; the costlier text features only for the best;
3. the best are quoted, at most two per article, a sentence carried by several
   articles once, and a passage far weaker than the first is left out.

When the question names when ("this week", "on Tuesday", "in August 2024"), an
article's distance from that window is a feature with a strong fitted weight: a
week outside it costs about as much as the whole headline matching.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from dataclasses import dataclass, field, replace
from itertools import chain

import numpy as np

from index.search import ArticleRow, Index, SentenceRow, Snapshot, idf
from index.terms import AUTO, detect_language

from . import features as F
from .cues import answer_type, measure_words
from .model import BM25_ALONE, RankingModel, default_model
from .quotes import build_quote, wanted_neighbours
from .silence import default_silence, signal_values, top_of
from .stories import WINDOW_DAYS, Story, Window, is_topicless, main_stories
from .timeframe import TimeFrame, read_timeframe

MAX_QUESTION_CHARS = 2000
MAX_QUERY_TERMS = 64
PER_ARTICLE = 2
NO_WORDS = "no searchable words"
NO_MATCH = "no match"
SILENT = "The articles don't mention that."
NO_STORIES = "no articles in those days"
EPOCH = dt.date(1970, 1, 1).toordinal()
SWITCHES = ("cut", "quotes")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_WORDS = re.compile(r"[\w'’-]+")


@dataclass(frozen=True)
class Ranking:
    """How to rank: the model (None: the fitted one shipped), features switched off, two switches that
    `--without` can turn off: `cut` (no passage far weaker than the first) and `quotes` (a quote takes in
    the neighbour that matches the question better), and `hard_window`: take answers only from inside a
    window the question names ("this week"), unless it holds none. Off by default: the fitted penalty on
    the distance from the window measured better (README, "Answer quality"). `silence`: say the articles
    do not mention it when the fitted silence model (`bot.ranking.silence`) judges the best passage does
    not answer."""

    model: RankingModel | None = None
    off: frozenset[str] = frozenset()
    hard_window: bool = False
    silence: bool = True

    @classmethod
    def techniques(cls) -> list[str]:
        return [*F.ARTICLE_FEATURES, *F.PASSAGE_FEATURES, *SWITCHES]

    def without(self, names: list[str]) -> Ranking:
        unknown = set(names) - set(self.techniques())
        if unknown:
            raise ValueError(f"unknown feature {sorted(unknown)[0]!r}; choose from {', '.join(self.techniques())}")
        return replace(self, off=self.off | frozenset(names))

    def uses(self, switch: str) -> bool:
        return switch not in self.off

    @property
    def ranking_model(self) -> RankingModel:
        return self.model or default_model()

    def describe(self) -> str:
        source = (self.ranking_model.source or "fitted") + (" with hard window" if self.hard_window else "")
        source += "" if self.silence else ", never silent"
        return source if not self.off else f"{source} without " + ", ".join(sorted(self.off))


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
    explain: tuple[tuple[str, float, float], ...] = ()  # (feature, value, contribution), for --explain
    typical: tuple[float, ...] = ()  # for --explain: each explain feature's typical value, which contributes 0

    def as_json(self) -> dict:
        """The stable JSON shape documented in README."""
        return {
            "sentence": self.sentence,
            "quote": self.quote,
            "title": self.title,
            "date": self.date,
            "source": self.source,
            "url": self.url or None,
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
    frame: TimeFrame = TimeFrame()
    outside: int = 0  # with --since/--until/--as-of: matching articles outside those dates
    since: str | None = None
    until: str | None = None
    answers_at: float = math.inf  # the fitted score from which a passage answers (standing questions)
    silent: bool = False  # the articles do not answer it: no passages, the notice says so
    nearest: Passage | None = None  # when silent: the best passage found, whose story is named
    window: Window | None = None  # a question without a topic: the days whose main stories these are
    stories: tuple[Story, ...] = ()  # ... and those stories, one per passage (its lead)

    def as_json(self, id_=None) -> dict:
        """The stable JSON shape documented in README ("The JSON contract"). Every answer with no passages
        says so the one way, `"silent": true` with the `"nearest"` story (null when nothing came close),
        whether the model judged the passages found not to answer or nothing matched at all (no words in
        common, none to search for, none within the dates given)."""
        data = {
            "id": id_,
            "question": self.question,
            "took_ms": round(self.took_ms, 3),
            "passages": [p.as_json() for p in self.passages],
        }
        if self.silent or not self.passages:
            story = self.nearest
            data["silent"] = True
            data["nearest"] = {"title": story.title, "date": story.date, "url": story.url or None} if story else None
        if self.outside and (self.since or self.until):
            data["outside"] = self.outside
        if self.window:
            data["stories"] = {
                "start": self.window.start,
                "end": self.window.end,
                "sizes": [{"articles": s.articles, "sources": s.sources} for s in self.stories],
            }
        return data


def clean_question(question: str) -> str:
    """Bound the work and drop control and direction characters (and lone surrogates, which cannot be
    written out)."""
    text = question[:MAX_QUESTION_CHARS].encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return " ".join(_CONTROL.sub(" ", text).split())


def _day(date: str | dt.date) -> int:
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    return date.toordinal() - EPOCH


def _iso(day: int) -> str:
    return dt.date.fromordinal(int(day) + EPOCH).isoformat()


def reference_day(as_of: str | None) -> int:
    """The day answers are as of: as_of when given, else today.

    An archive whose newest article is old is not answered as of that article's day: its dates then
    carry no recency preference at all (measured: anchoring at the newest article moved the Wikipedia
    sets, whose dates are made up, by up to two points of article@1).
    """
    return _day(as_of) if as_of else _day(dt.date.today())


def read_question(snap: Snapshot, text: str, terms: list[str], day: int) -> F.Question:
    distinct = tuple(sorted(set(terms)))
    counts = np.array([terms.count(t) for t in distinct], dtype=np.float64)
    postings = snap.postings(terms)
    article_postings = snap.article_postings(terms)
    sentence_df = np.array([postings[t].df if t in postings else 0 for t in distinct])
    article_df = np.array([article_postings[t].df if t in article_postings else 0 for t in distinct])
    # A term the collection lacks is its rarest (the most a term can weigh), not a term that does not count:
    # coverage without it would call "When will the tram line open?" covered by "The library opened".
    sentence_idf = F.lucene_idf(snap.stats.documents, sentence_df)
    article_idf = F.lucene_idf(snap.article_stats.documents, article_df)
    # Except the word naming the measure asked for ("How hot did it get?"): an answer gives a number, seldom
    # that word, so a collection without it says nothing about whether the topic is there.
    measures = {t for word in measure_words(text) for t in snap.analyzer.terms(word)}
    unknown_measure = np.array([t in measures for t in distinct]) & (sentence_df == 0)
    sentence_idf[unknown_measure] = article_idf[unknown_measure] = 0.0
    frame = read_timeframe(text, dt.date.fromordinal(day + EPOCH)) if day > -EPOCH else TimeFrame()
    return F.Question(
        text=text,
        terms=distinct,
        counts=counts,
        sentence_idf=sentence_idf,
        article_idf=article_idf,
        kind=answer_type(text),
        frame=frame,
        day=day,
        words=frozenset(w.casefold() for w in _WORDS.findall(text)),
    )


@dataclass(frozen=True)
class Prepared:
    """A question made ready for ranking: read against the index, its dates as days since 1970-01-01."""

    question: F.Question
    terms: tuple[str, ...]  # its analysed terms in question order (at most MAX_QUERY_TERMS, repeats kept)
    since_day: int | None
    latest: str | None  # the last date an answer may have: the earlier of until and as_of
    latest_day: int | None


def prepare_question(
    snap: Snapshot, question: str, since: str | None = None, until: str | None = None, as_of: str | None = None
) -> Prepared | None:
    """The one set-up of a question for `rank` (`answer` and the fitting script both use it): cleaned,
    analysed, read against the index as of `as_of` (else today); None when it has no searchable words."""
    text = clean_question(question)
    terms = question_terms(snap, text)
    if not terms:
        return None
    latest = min((d for d in (until, as_of) if d), default=None)
    latest_day = _day(latest) if latest else None
    since_day = _day(since) if since else None
    return Prepared(read_question(snap, text, terms, reference_day(as_of)), tuple(terms), since_day, latest, latest_day)


def question_terms(snap: Snapshot, question: str) -> list[str]:
    """The terms a question is searched by: a passage can match it only through one of them."""
    return snap.analyzer.terms(clean_question(question))[:MAX_QUERY_TERMS]


def question_language(snap: Snapshot, text: str) -> str:
    """The index's language, or with `auto` the one whose script the question is written in."""
    language = snap.analyzer.language
    return detect_language(text) if language == AUTO else language


def model_for(snap: Snapshot, ranking: Ranking, text: str) -> RankingModel:
    """The ranking model, with the passage model fitted for the question's language."""
    return ranking.ranking_model.for_language(question_language(snap, text))


def _holds(ids: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """For each of ids: is it in the ascending array sorted_ids?"""
    if not len(sorted_ids):
        return np.zeros(len(ids), dtype=bool)
    where = np.searchsorted(sorted_ids, ids.astype(sorted_ids.dtype))
    where[where >= len(sorted_ids)] = len(sorted_ids) - 1
    return sorted_ids[where] == ids


def article_pool(
    snap: Snapshot,
    q: F.Question,
    since_day: int | None,
    latest_day: int | None,
    only: np.ndarray | None = None,
    term_matrices: bool = True,
) -> tuple[F.ArticlePool, int]:
    """Every article holding a question term within the dates (and among `only`, if given), with what
    the article features need (`term_matrices=False`: without which terms each headline holds, see
    `best_articles`); also how many matching articles the dates left out."""
    candidates = snap.article_candidates(list(q.terms))
    ids, bm25 = candidates.ids.astype(np.int64), candidates.scores
    days = snap.article_days[ids].astype(np.int64)
    keep = F.within_days(days, since_day, latest_day)
    outside = int((~keep).sum())
    if only is not None:
        keep &= np.isin(ids, only)
    ids, bm25, days = ids[keep], bm25[keep], days[keep]
    order = np.argsort(ids, kind="stable")
    ids, bm25, days = ids[order], bm25[order], days[order]
    article_postings = snap.article_postings(list(q.terms))
    bound = sum(
        q.counts[column] * max(idf(snap.params, snap.article_stats, article_postings[term].df), 0.0)
        for column, term in enumerate(q.terms)
        if term in article_postings
    )
    frame_days = (_day(q.frame.start), _day(q.frame.end)) if q.frame.start and q.frame.end else None
    empty = np.zeros((len(ids), len(q.terms)), dtype=bool)
    pool = F.ArticlePool(
        ids,
        bm25,
        bound * (snap.params.k1 + 1),
        empty,
        empty,
        days,
        frame_days,
        bm25_best=float(bm25.max()) if len(bm25) else 0.0,
        held=_held_terms(snap, q, ids, article_postings),
    )
    return (with_terms(snap, q, pool, np.arange(len(ids))) if term_matrices else pool), outside


def _held_terms(snap: Snapshot, q: F.Question, ids: np.ndarray, article_postings: dict) -> np.ndarray:
    """The question terms each of these articles holds, as bits (bit j: term j; at most MAX_QUERY_TERMS),
    from one pass over the terms' article postings."""
    width = next(size for size in (1, 2, 4, 8) if len(q.terms) <= 8 * size)
    bits = np.zeros(snap.max_article_id + 1, dtype=f"<u{width}")
    for column, term in enumerate(q.terms):
        if term in article_postings:
            bits[article_postings[term].ids] |= bits.dtype.type(1 << column)
    return bits[ids]


def with_terms(snap: Snapshot, q: F.Question, pool: F.ArticlePool, rows: np.ndarray) -> F.ArticlePool:
    """These rows of the pool (ascending), with which question terms each article and its headline hold."""
    ids = pool.ids[rows]
    postings = snap.postings(list(q.terms))
    titles = snap.article_first[ids].astype(np.int64) if len(ids) else ids
    held = pool.held[rows]
    holds = np.unpackbits(held.view(np.uint8).reshape(len(rows), held.itemsize), axis=1, bitorder="little")
    in_title = np.zeros((len(ids), len(q.terms)), dtype=bool)
    for column, term in enumerate(q.terms):
        if term in postings:
            in_title[:, column] = _holds(titles, postings[term].ids)
    return with_terms_of(pool, rows, holds[:, : len(q.terms)].astype(bool), in_title)


def with_terms_of(pool: F.ArticlePool, rows: np.ndarray, holds: np.ndarray, in_title: np.ndarray) -> F.ArticlePool:
    """These rows of the pool with the given term matrices (one row each)."""
    return F.ArticlePool(
        pool.ids[rows],
        pool.bm25[rows],
        pool.bm25_bound,
        holds,
        in_title,
        pool.days[rows],
        pool.frame_days,
        bm25_best=pool.bm25_best,
        held=None if pool.held is None else pool.held[rows],
    )


PRUNE_FROM = 1024  # from this many candidate articles on, the "terms" features are computed only where needed
PRUNE_CHUNK = 1024
MAX_SCORED_ARTICLES = 4096  # the cap on work per question: at most this many articles are scored in full


@dataclass(frozen=True)
class ScoredArticles:
    """Candidate articles with their feature values and the article model's scores (one entry per row)."""

    pool: F.ArticlePool
    values: dict[str, np.ndarray]
    scores: np.ndarray


def scored_articles(q: F.Question, pool: F.ArticlePool, model: RankingModel, off: frozenset[str]) -> ScoredArticles:
    """Every candidate of the pool (with its term matrices) scored."""
    values = feature_values(F.ARTICLE_FEATURES, q, pool)
    return ScoredArticles(pool, values, model.article.score(values, off))


def best_articles(
    snap: Snapshot, q: F.Question, pool: F.ArticlePool, model: RankingModel, off: frozenset[str], need: int
) -> ScoredArticles:
    """The candidates that can be among the `need` best, with their term matrices and scores: exactly the
    articles a full scoring would rank first, without the per-term look-ups for the rest.

    Every feature but the "terms" ones is computed for every candidate; each of those lies between 0 and
    its `bound`, so each candidate's best possible score is known. Candidates are scored exactly in the
    order of that bound, a chunk at a time, until the next bound falls below the `need`-th best exact
    score, or MAX_SCORED_ARTICLES have been scored: past that the ranking is no longer guaranteed exact
    (measured on every question set: the same answers, see CONTRIBUTING "Speed at scale")."""
    cheap = feature_values(F.ARTICLE_FEATURES, q, pool, "postings")
    upper = model.article.score(cheap, off)
    # That counts the "terms" features as absent (contribution 0); each adds at most its larger
    # contribution at the ends of [0, bound] (the model is linear).
    for name, f in F.ARTICLE_FEATURES.items():
        if f.stage == "terms":
            ends = [model.article.score({name: value}, off) for value in (np.zeros(len(upper)), f.bound(q, pool))]
            upper += np.maximum(*ends)
    order = np.arange(len(upper))
    if len(upper) > MAX_SCORED_ARTICLES:  # only the best bounds can be scored: no need to sort the rest
        order = np.argpartition(-upper, MAX_SCORED_ARTICLES - 1)[:MAX_SCORED_ARTICLES]
    order = order[np.argsort(-upper[order], kind="stable")]
    parts: list[tuple[np.ndarray, ScoredArticles]] = []
    kth = -math.inf
    for start in range(0, min(len(order), MAX_SCORED_ARTICLES), PRUNE_CHUNK):
        rows = order[start : start + PRUNE_CHUNK]
        if upper[rows[0]] < kth - 1e-9:
            break
        rows = np.sort(rows)
        part = with_terms(snap, q, pool, rows)
        terms = feature_values(F.ARTICLE_FEATURES, q, part, "terms")  # the rest as computed for every candidate
        values = {name: terms[name] if name in terms else cheap[name][rows] for name in F.ARTICLE_FEATURES}
        parts.append((rows, ScoredArticles(part, values, model.article.score(values, off))))
        scores = np.concatenate([p.scores for _, p in parts])
        if len(scores) >= need:
            kth = float(np.partition(scores, len(scores) - need)[len(scores) - need])
    return _joined_parts(pool, parts)


def _joined_parts(pool: F.ArticlePool, parts: list[tuple[np.ndarray, ScoredArticles]]) -> ScoredArticles:
    """The scored chunks (pool rows, scored) as one in ascending id order, their term matrices as computed."""
    if not parts:
        none = np.zeros(0, dtype=np.int64)
        return ScoredArticles(with_terms_of(pool, none, pool.holds[:0], pool.in_title[:0]), {}, np.zeros(0))
    rows = np.concatenate([r for r, _ in parts])
    by_row = np.argsort(rows, kind="stable")
    holds = np.concatenate([p.pool.holds for _, p in parts])[by_row]
    in_title = np.concatenate([p.pool.in_title for _, p in parts])[by_row]
    values = {name: np.concatenate([p.values[name] for _, p in parts])[by_row] for name in parts[0][1].values}
    scores = np.concatenate([p.scores for _, p in parts])[by_row]
    return ScoredArticles(with_terms_of(pool, rows[by_row], holds, in_title), values, scores)


def feature_values(registry: dict, q: F.Question, pool, stage: str | None = None) -> dict[str, np.ndarray]:
    return {name: f.compute(q, pool) for name, f in registry.items() if stage is None or f.stage == stage}


@dataclass(frozen=True)
class Candidate:
    """A passage candidate read in full: its sentence, its article, and the quote that would show it."""

    sentence: SentenceRow
    article: ArticleRow
    quote: str
    quoted: frozenset[int]  # the positions of the sentences in the quote
    quote_terms: tuple[str, ...] = ()  # the index terms of the quote, as stored for its sentences


@dataclass(frozen=True)
class Ranked:
    """One question's ranking, before passages are picked (also what the fitting script reads)."""

    question: F.Question
    articles: F.ArticlePool
    article_values: dict[str, np.ndarray]
    article_scores: np.ndarray
    top_articles: np.ndarray  # article pool rows, best first
    rows: tuple[Candidate, ...] = ()  # passage candidates read in full, best first
    passage_values: dict[str, np.ndarray] = field(default_factory=dict)
    passage_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    window_decided: bool = False
    outside: int = 0


def rank(
    snap: Snapshot,
    q: F.Question,
    ranking: Ranking,
    since_day: int | None,
    latest_day: int | None,
    wanted: int,
    only_articles: np.ndarray | None = None,
    read_all: bool = False,
) -> Ranked:
    """Score the articles, then the sentences of the best ones (`read_all`: text features for every
    candidate sentence, as the fitting script needs)."""
    model = model_for(snap, ranking, q.text)
    need = max(model.articles_read, wanted)
    prune = not (read_all or ranking.hard_window)
    articles, outside = article_pool(snap, q, since_day, latest_day, only_articles, term_matrices=not prune)
    if prune and len(articles.ids) >= PRUNE_FROM:
        scored = best_articles(snap, q, articles, model, ranking.off, need)
    else:
        pool = with_terms(snap, q, articles, np.arange(len(articles.ids))) if prune else articles
        scored = scored_articles(q, pool, model, ranking.off)
    articles, values, scores = scored.pool, scored.values, scored.scores
    order = np.lexsort((articles.ids, -scores))
    decided = False
    if ranking.hard_window and q.frame.decisive and articles.frame_days and len(order):
        inside = values["in_window"][order] > 0 if "in_window" in values else np.zeros(len(order), bool)
        if inside.any():
            order, decided = order[inside], True
    top = order[:need]
    passages = (
        _rank_passages(snap, q, articles, scores[top], top, model, ranking, wanted, read_all)
        if len(top)
        else ((), {}, np.zeros(0))
    )
    return Ranked(q, articles, values, scores, top, *passages, window_decided=decided, outside=outside)


def _rank_passages(
    snap: Snapshot,
    q: F.Question,
    articles: F.ArticlePool,
    top_scores: np.ndarray,
    top: np.ndarray,
    model: RankingModel,
    ranking: Ranking,
    wanted: int,
    read_all: bool,
) -> tuple[tuple[Candidate, ...], dict[str, np.ndarray], np.ndarray]:
    """The candidate sentences of the top articles (pool rows `top`, scored `top_scores`), best first, with
    their feature values and scores."""
    article_ids = articles.ids[top]
    firsts = snap.article_first[article_ids].astype(np.int64)
    by_first = np.argsort(firsts, kind="stable")  # the matrix rows come in sentence id order
    firsts, sizes = firsts[by_first], snap.article_size[article_ids[by_first]].astype(np.int64)
    ranges = list(zip(firsts.tolist(), (firsts + sizes).tolist()))
    matrix = snap.sentence_matrix(list(q.terms), ranges, extra=(firsts + 1)[sizes > 1].tolist())  # + the leads
    which = np.searchsorted(firsts, matrix.ids, side="right") - 1  # the article (by first id) of each row
    rank_of_row = by_first[which]
    position = matrix.ids - firsts[which]
    size_of_row = sizes[which]
    holds = matrix.tfs > 0
    row_coverage = F.coverage(holds, q.sentence_idf)

    def coverage_at(ids: np.ndarray) -> np.ndarray:
        rows = matrix.row_of(ids)
        return np.where(rows >= 0, row_coverage[np.maximum(rows, 0)], 0.0)

    before = np.where(position > 1, coverage_at(matrix.ids - 1), 0.0)
    after = np.where(position + 1 < size_of_row, coverage_at(matrix.ids + 1), 0.0)
    candidate = (position >= 1) & (holds.any(axis=1) | (position == 1))
    rows = np.flatnonzero(candidate)
    pool = F.PassagePool(
        ids=matrix.ids[rows],
        article_score=top_scores[rank_of_row[rows]],
        article_rank=rank_of_row[rows].astype(np.float64),
        position=position[rows].astype(np.float64),
        tfs=matrix.tfs[rows],
        lengths=matrix.lengths[rows].astype(np.float64),
        avg_length=snap.stats.avgdl,
    )
    cheap = feature_values(F.PASSAGE_FEATURES, q, pool, "postings")
    partial = model.passage.score(cheap, ranking.off)
    keep = np.lexsort((pool.ids, -partial))
    if not read_all:
        keep = keep[: max(model.passages_read, wanted * 4)]
    pool = _subset(pool, keep)
    cheap = {name: values[keep] for name, values in cheap.items()}
    ids = [int(i) for i in article_ids]
    titles = snap.article_first[article_ids].tolist()  # the headlines, for their stored terms
    sentences = snap.sentences(sorted({int(i) + d for i in pool.ids for d in (-1, 0, 1)}.union(titles)))
    article_rows = snap.articles_of(ids)
    candidates = tuple(
        [
            _candidate(sentences, article_rows, sentences[i], b, a, ranking)
            for i, b, a in zip(pool.ids.tolist(), before[rows][keep], after[rows][keep])
        ]
    )
    headlines = _headlines(snap, q, dict(zip(ids, titles)), top_scores, sentences, candidates)
    text_pool = F.TextPassagePool(
        **vars(pool),
        texts=tuple([c.sentence.text for c in candidates]),
        quotes=tuple([c.quote for c in candidates]),
        terms=F.term_incidence(
            q,
            [c.sentence.terms for c in candidates],
            [c.quote_terms for c in candidates],
            headlines.terms,
            headlines.weights,
            headlines.rows,
            headlines.idf,
        ),
        article_weight=headlines.weights[headlines.rows],
        article_ids=np.array([c.sentence.article_id for c in candidates], dtype=np.int64),
    )
    values = {**cheap, **feature_values(F.PASSAGE_FEATURES, q, text_pool, "text")}
    scores = model.passage.score(values, ranking.off)
    order = np.lexsort((text_pool.ids, -scores))
    return tuple(candidates[i] for i in order), {name: v[order] for name, v in values.items()}, scores[order]


def _candidate(
    sentences: dict[int, SentenceRow],
    articles: dict[int, ArticleRow],
    row: SentenceRow,
    before: float,
    after: float,
    ranking: Ranking,
) -> Candidate:
    """The sentence with its article and its quote: the body neighbours it takes in (`before`, `after`:
    how well those match the question)."""
    near = {
        n.position: n
        for n in (sentences.get(row.id - 1), sentences.get(row.id + 1))
        if n is not None and n.article_id == row.article_id and n.position >= 1
    }
    order = wanted_neighbours(row.text, row.position, before, after, ranking.uses("quotes"))
    quote, quoted = build_quote(row.text, row.position, {p: n.text for p, n in near.items()}, order)
    # The quote is its sentences in order, joined by spaces, so its terms are theirs in that order.
    quote_terms = tuple(chain.from_iterable(row.terms if p == row.position else near[p].terms for p in sorted(quoted)))
    return Candidate(row, articles[row.article_id], quote, quoted, quote_terms)


@dataclass(frozen=True)
class Headlines:
    """The best articles' headlines, as the text features weigh them: each one's terms beyond the question
    (as stored with its title sentence), its probability (the softmax of the article scores), and the terms'
    IDF over sentences; `rows`: each candidate's article, as an index into them."""

    terms: tuple[frozenset[str], ...]
    weights: np.ndarray
    idf: dict[str, float]
    rows: np.ndarray


def _headlines(
    snap: Snapshot,
    q: F.Question,
    titles: dict[int, int],
    scores: np.ndarray,
    sentences: dict[int, SentenceRow],
    candidates: tuple[Candidate, ...],
) -> Headlines:
    """The headlines of the best articles (`titles`: article id -> title sentence id, scored `scores`)."""
    terms = tuple(frozenset(sentences[t].terms if t in sentences else ()).difference(q.terms) for t in titles.values())
    weights = np.exp(scores - scores.max())
    weights /= weights.sum()
    vocabulary = sorted(frozenset().union(*terms))
    df = snap.document_frequencies(vocabulary) if vocabulary else {}
    idf = dict(zip(df, F.lucene_idf(snap.stats.documents, np.array(list(df.values()))).tolist())) if df else {}
    row_of = {article_id: row for row, article_id in enumerate(titles)}
    rows = np.array([row_of[c.sentence.article_id] for c in candidates], dtype=np.int64)
    return Headlines(terms, weights, idf, rows)


def _subset(pool: F.PassagePool, keep: np.ndarray) -> F.PassagePool:
    return F.PassagePool(
        pool.ids[keep],
        pool.article_score[keep],
        pool.article_rank[keep],
        pool.position[keep],
        pool.tfs[keep],
        pool.lengths[keep],
        pool.avg_length,
    )


def _text_key(text: str) -> str:
    """What makes two sentences "the same sentence": case and spacing aside."""
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class Pick:
    """A passage to show: `row` of the ranking, carried by `copies` articles, the earliest of them that of
    row `shown` (whose title, date and source are shown)."""

    row: int
    copies: int = 1
    shown: int = 0


def pick(ranked: Ranked, wanted: int, cut: float) -> list[Pick]:
    """The passages to show, best first: at most PER_ARTICLE per article, whose quotes do not overlap; a
    sentence carried by several articles once, with the earliest date; none scoring more than `cut` below
    the first."""
    picked: list[list[int]] = []  # [row, copies, shown]
    by_text: dict[str, int] = {}
    by_article: dict[int, list[int]] = {}
    scores = ranked.passage_scores
    rows = ranked.rows
    for i, row in enumerate(rows):
        article_id = row.sentence.article_id
        key = _text_key(row.sentence.text)
        if key in by_text:
            entry = picked[by_text[key]]
            if rows[entry[0]].sentence.article_id != article_id:
                entry[1] += 1
                if row.article.date < rows[entry[2]].article.date:
                    entry[2] = i
            continue
        if picked and scores[i] < scores[picked[0][0]] - cut:
            break
        same_article = by_article.setdefault(article_id, [])
        if len(same_article) >= PER_ARTICLE or len(picked) >= wanted:
            continue
        if any(row.quoted & rows[j].quoted for j in same_article):
            continue  # two neighbouring sentences would each be quoted with the other: show that text once
        same_article.append(i)
        by_text[key] = len(picked)
        picked.append([i, 1, i])
    return [Pick(i, copies, shown) for i, copies, shown in picked]


def answer(
    index: Index,
    question: str,
    top: int = 3,
    since: str | None = None,
    until: str | None = None,
    as_of: str | None = None,
    offset: int = 0,
    ranking: Ranking = Ranking(),
    explain: bool = False,
    only_articles: list[int] | None = None,
) -> Answer:
    """Answer a question from the index: up to `top` passages after the first `offset`
    (`only_articles`: from those article ids alone, as a standing question asks new articles)."""
    started = time.perf_counter()
    with index.snapshot() as snap:
        prepared = prepare_question(snap, question, since, until, as_of)
        if prepared is None:
            return Answer(question, took_ms=_ms(started), notice=NO_WORDS)
        q = prepared.question
        wanted = offset + top
        if only_articles is None and is_topicless(snap, prepared.terms):
            return _stories_answer(snap, question, prepared, top, offset, started)
        only = np.asarray(only_articles, dtype=np.int64) if only_articles is not None else None
        ranked = rank(snap, q, ranking, prepared.since_day, prepared.latest_day, wanted + 1, only)
        model = model_for(snap, ranking, q.text)
        cut = model.cut if ranking.uses("cut") else math.inf
        picked = pick(ranked, wanted + 1, cut)
        silent = bool(picked) and ranking.silence and not _answers(snap, ranked, model, prepared, only)
        nearest = _passage(snap, ranked, picked[0], False, model, ranking) if silent else None
        passages = [] if silent else [_passage(snap, ranked, p, explain, model, ranking) for p in picked[offset:wanted]]
    if silent:
        return replace(
            Answer(question, (), _ms(started), prepared.terms, SILENT, False, q.frame, ranked.outside),
            since=since,
            until=prepared.latest,
            silent=True,
            nearest=nearest,
        )
    notice = "" if passages else NO_MATCH
    return Answer(
        question,
        tuple(passages),
        _ms(started),
        prepared.terms,
        notice,
        len(picked) > wanted,
        q.frame,
        ranked.outside,
        since,
        prepared.latest,
        model.answers_at,
    )


def story_window(prepared: Prepared) -> Window:
    """The days a question without a topic asks about: those it names, else the WINDOW_DAYS up to the
    day asked (or the last day allowed)."""
    frame = prepared.question.frame
    last = prepared.question.day if prepared.latest_day is None else min(prepared.question.day, prepared.latest_day)
    if frame.start and frame.end:
        return Window(frame.start, min(frame.end, _iso(last)))
    first = last - WINDOW_DAYS + 1 if prepared.since_day is None else max(prepared.since_day, last - WINDOW_DAYS + 1)
    return Window(_iso(first), _iso(last))


def _stories_answer(snap: Snapshot, question: str, prepared: Prepared, top: int, offset: int, started: float) -> Answer:
    """The main stories of the window, each shown by its lead (`bot.ranking.stories`)."""
    window = story_window(prepared)
    stories = main_stories(snap, window, offset + top + 1)
    shown = stories[offset : offset + top]
    passages = tuple(
        Passage(s.lead, s.lead, s.title, s.date, s.source, float(s.sources), url=s.url, copies=1) for s in shown
    )
    return Answer(
        question,
        passages,
        _ms(started),
        prepared.terms,
        "" if passages else NO_STORIES,
        len(stories) > offset + top,
        prepared.question.frame,
        window=window,
        stories=shown,
    )


def _answers(snap: Snapshot, ranked: Ranked, model: RankingModel, prepared: Prepared, only: np.ndarray | None) -> bool:
    """Does the best passage answer, by the fitted silence model (always, when none is shipped)?"""
    silence = default_silence()
    top = top_of(snap, ranked, model, prepared.latest_day, prepared.since_day, only)
    return silence is None or top is None or silence.answers(signal_values(top))


def _passage(
    snap: Snapshot, ranked: Ranked, picked: Pick, explain: bool, model: RankingModel, ranking: Ranking
) -> Passage:
    i = picked.row
    row = ranked.rows[i]
    shown = ranked.rows[picked.shown].article
    quote = row.quote
    terms = set(ranked.question.terms)
    highlights = tuple((a, b) for a, b, term in snap.analyzer.spans(quote) if term in terms)
    details: tuple = ()
    typical: tuple = ()
    if explain:
        details, typical = _explain(ranked, i, model, ranking)
    return Passage(
        sentence=row.sentence.text,
        quote=quote,
        title=shown.title,
        date=shown.date,
        source=shown.source,
        score=float(ranked.passage_scores[i]),
        url=shown.url or "",
        highlights=highlights,
        article_id=row.sentence.article_id,
        sentence_id=row.sentence.id,
        copies=picked.copies,
        explain=details,
        typical=typical,
    )


def _explain(ranked: Ranked, i: int, model: RankingModel, ranking: Ranking) -> tuple[tuple, tuple]:
    """Each feature's value and contribution to this passage's score, and its article's; and each one's
    typical value (the model's mean, from which contributions are measured)."""
    values = {name: v[i : i + 1] for name, v in ranked.passage_values.items()}
    contributions = model.passage.terms(values, ranking.off)[0]
    out = [
        (f"passage.{name}", float(values[name][0]), float(c))
        for name, c in zip(model.passage.names, contributions)
        if name in values
    ]
    typical = [float(m) for name, m in zip(model.passage.names, model.passage.means) if name in values]
    row_in_pool = int(np.searchsorted(ranked.articles.ids, ranked.rows[i].sentence.article_id))
    article_values = {name: v[row_in_pool : row_in_pool + 1] for name, v in ranked.article_values.items()}
    article_contributions = model.article.terms(article_values, ranking.off)[0]
    out += [
        (f"article.{name}", float(article_values[name][0]), float(c))
        for name, c in zip(model.article.names, article_contributions)
        if name in article_values
    ]
    typical += [float(m) for name, m in zip(model.article.names, model.article.means) if name in article_values]
    return tuple(out), tuple(typical)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


PLAIN_BM25 = Ranking(model=BM25_ALONE)
