"""The ranking's evidence, as named features: one small function each, in a registry.

Two levels, each scored by its own fitted linear model (`bot.ranking.model`):

* article features rank whole articles (BM25 over the article, title words, dates);
* passage features rank sentences inside the best articles, with their article's
  score as one feature.

A feature is a function of the question and a pool of candidates that returns one
number per candidate, on a scale that does not depend on the other candidates (so
that a score means the same in any pool: a standing question's new articles are
judged like an answer's). `stage` says what it needs: "postings" features come from
the postings and the per-article arrays alone and are computed for every candidate;
"terms" article features need which question terms each article and its headline
hold (a look-up per term and article, the costly part with many candidates); they
are shares in [0, 1], so an article's best possible score is known without them,
and they are computed only for articles that can still reach the top;
"text" features read the sentences' text or stored terms and are computed only for
the best candidates by the postings features (a `TextPassagePool`, built whole for
them); those of terms are matrix products over one [candidate, term] incidence of
the candidates' stored terms (`TermIncidence`), never a loop per candidate.
A new idea is one function here and a re-fit (`python bench/fit_ranking.py`);
`newsbot eval --without NAME` measures each.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, repeat
from operator import itemgetter

import numpy as np

from .cues import carries, carries_new
from .timeframe import TimeFrame

NEAR_PREFIX = 4  # a shared four-letter start counts as the same word (the usual prefix-stemming length)
_NAME_START = r"(?<!^)(?<![.!?]\s)\b"  # past the sentence start, where a capital says "name"
_NAME_WORD = r"[A-Z][\w'’-]+"
_CAPITALISED = re.compile(rf"{_NAME_START}({_NAME_WORD}|\d[\d,.]*)")
_NAME_RUN = re.compile(rf"{_NAME_START}((?:{_NAME_WORD} +)*{_NAME_WORD}|\d[\d,.]*)")


@dataclass(frozen=True)
class Feature:
    name: str
    level: str  # "article" or "passage"
    stage: str  # "postings", "terms" (articles: needs the headlines' terms) or "text" (passages)
    compute: Callable
    doc: str
    bound: Callable | None = None  # "terms" features: the most each candidate's value can be, before it is known


ARTICLE_FEATURES: dict[str, Feature] = {}
PASSAGE_FEATURES: dict[str, Feature] = {}


def feature(level: str, stage: str = "postings", bound: Callable | None = None):
    """Register a feature function under its name; its docstring says what it measures."""

    def register(function):
        registry = ARTICLE_FEATURES if level == "article" else PASSAGE_FEATURES
        registry[function.__name__] = Feature(
            function.__name__, level, stage, function, (function.__doc__ or "").strip(), bound
        )
        return function

    return register


@dataclass(frozen=True)
class Question:
    """What the features need to know about the question."""

    text: str
    terms: tuple[str, ...]  # the distinct analysed terms: the columns of every term matrix below
    counts: np.ndarray  # how often each term occurs in the question
    sentence_idf: np.ndarray  # Lucene's IDF over sentences, per term (always positive)
    article_idf: np.ndarray  # the same over articles
    kind: str | None  # the answer type asked for (bot.ranking.cues)
    frame: TimeFrame
    day: int  # the day it is asked, in days since 1970-01-01 (answers as of then)
    words: frozenset[str]  # its words, case-folded: a sentence's *new* names are the answer's candidates


@dataclass(frozen=True)
class ArticlePool:
    """Candidate articles (every article holding a question term, within the dates asked)."""

    ids: np.ndarray
    bm25: np.ndarray  # the index's BM25 with the article as the document
    bm25_bound: float  # no article can score more: the sum of the terms' IDF x (k1 + 1)
    holds: np.ndarray  # [article, term]: the article holds the term
    in_title: np.ndarray  # [article, term]: its title holds the term
    days: np.ndarray
    frame_days: tuple[int, int] | None  # the question's window in days, if it has one
    bm25_best: float | None = None  # the best BM25 of every candidate (when these are only some of them)
    held: np.ndarray | None = None  # every candidate's terms as bits (bit j: term j); None: read `holds`

    @cached_property
    def shared(self) -> dict:
        """Values that several features compute alike from this pool (the recency), made once."""
        return {}


@dataclass(frozen=True)
class PassagePool:
    """Candidate sentences of the best articles (the title is not one: the lead stands for it), with what
    the "postings" features need."""

    ids: np.ndarray
    article_score: np.ndarray  # the article model's score of each sentence's article
    article_rank: np.ndarray  # that article's rank (0 = best)
    position: np.ndarray  # 1 = the lead sentence
    tfs: np.ndarray  # [sentence, term] counts
    lengths: np.ndarray
    avg_length: float


@dataclass(frozen=True)
class TermIncidence:
    """Which terms each candidate holds, over one question's small vocabulary: the question's terms (the
    columns of `sentence`, `quote` and `prefix`, in `Question.terms` order) and the best articles' headline
    terms beyond them (the columns of the `headline_*` matrices). Made by `term_incidence`; the term-based
    text features are matrix products over it, for every candidate at once."""

    sentence: np.ndarray  # [row, question term]: the sentence holds the term
    quote: np.ndarray  # [row, question term]: the quote shown holds it
    prefix: np.ndarray  # [row, question term]: the sentence holds a word with the term's first NEAR_PREFIX
    # letters (False for terms shorter than that)
    headline_words: np.ndarray  # [row, headline term]: the sentence holds it
    headline: np.ndarray  # [row, headline term]: the row's own headline holds it
    headline_others: np.ndarray  # [row, headline term]: the summed probability of the other best articles
    # whose headlines hold it
    headline_idf: np.ndarray  # [headline term]: Lucene IDF over sentences


@dataclass(frozen=True)
class TextPassagePool(PassagePool):
    """The best of a passage pool read in full: with what the "text" features need too (one entry per row)."""

    texts: tuple[str, ...] = ()
    quotes: tuple[str, ...] = ()  # what would be shown: the sentence with the neighbours it takes in
    terms: TermIncidence | None = None  # the terms of the sentences, their quotes and headlines
    names: tuple[frozenset[str], ...] = ()  # `names_in` of each sentence (read from `texts` when not given)
    article_weight: np.ndarray | None = None  # softmax of the article scores, per row's article
    article_ids: np.ndarray | None = None  # each row's article id

    def __post_init__(self):
        if len(self.names) != len(self.texts):  # read once here: two features use them
            object.__setattr__(self, "names", tuple(names_in(text) for text in self.texts))


def term_incidence(
    q: Question,
    sentence_terms: Sequence[Sequence[str]],
    quote_terms: Sequence[Sequence[str]],
    headlines: Sequence[Sequence[str] | frozenset[str]] = (),
    weights: np.ndarray | None = None,
    article_rows: np.ndarray | None = None,
    idf: Mapping[str, float] | None = None,
) -> TermIncidence:
    """The incidence of each candidate's stored terms (`sentence_terms`, and `quote_terms` of what is shown)
    on the question's terms and on the terms of the best articles' `headlines` (each article's, with its
    probability in `weights`; `article_rows`: each candidate's article, as an index into them; `idf`: the
    headline terms' Lucene IDF over sentences). Every term is looked up once in one small dictionary."""
    k = len(q.terms)
    vocabulary = sorted({t for terms in headlines for t in terms}.difference(q.terms))
    columns = {t: j for j, t in enumerate((*q.terms, *vocabulary))}
    words = _incidence(sentence_terms, columns)
    quoted = _incidence(quote_terms, dict(zip(q.terms, range(k))))
    prefixes = {p: j for j, p in enumerate(dict.fromkeys(t[:NEAR_PREFIX] for t in q.terms if len(t) >= NEAR_PREFIX))}
    absent = len(prefixes)  # a column no word fills, for the terms too short to have a prefix
    near = _incidence(sentence_terms, prefixes, absent + 1, key=itemgetter(slice(NEAR_PREFIX)))
    prefix = near[:, [prefixes[t[:NEAR_PREFIX]] if len(t) >= NEAR_PREFIX else absent for t in q.terms]]
    titles = _incidence(headlines, columns)[:, k:] if headlines else np.zeros((1, len(vocabulary)), dtype=bool)
    weights = np.zeros(len(titles)) if weights is None else np.asarray(weights, dtype=np.float64)
    # others[a, t]: the summed weights of the articles but a whose headlines hold t (weights, diagonal zeroed)
    others = (weights[None, :] * ~np.eye(len(weights), dtype=bool)) @ titles.astype(np.float64)
    rows = np.zeros(len(sentence_terms), dtype=np.int64) if article_rows is None else article_rows
    return TermIncidence(
        sentence=words[:, :k],
        quote=quoted,
        prefix=prefix.reshape(len(sentence_terms), k),
        headline_words=words[:, k:],
        headline=titles[rows],
        headline_others=others[rows],
        headline_idf=np.array([(idf or {}).get(t, 0.0) for t in vocabulary], dtype=np.float64),
    )


def _incidence(
    rows: Sequence[Sequence[str]], columns: Mapping[str, int], width: int | None = None, key: Callable | None = None
) -> np.ndarray:
    """[row, column]: does the row hold the column's term (`key` of a term, when given)? Terms without a
    column are passed over; the look-ups run in C (map over one flat list), not a Python loop per row."""
    sizes = [len(terms) for terms in rows]
    flat = chain.from_iterable(rows)
    codes = np.fromiter(map(columns.get, map(key, flat) if key else flat, repeat(-1)), dtype=np.int64, count=sum(sizes))
    which = np.repeat(np.arange(len(rows)), sizes)
    hit = codes >= 0
    out = np.zeros((len(rows), len(columns) if width is None else width), dtype=bool)
    out[which[hit], codes[hit]] = True
    return out


def lucene_idf(documents: int, df: np.ndarray) -> np.ndarray:
    """ln(1 + (N - df + 0.5) / (df + 0.5)): positive for any df, unlike Okapi's."""
    df = np.asarray(df, dtype=np.float64)
    return np.log1p((documents - df + 0.5) / (df + 0.5))


def coverage(holds: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """IDF-weighted share of the question's terms present, per row of a [row, term] matrix."""
    total = idf.sum()
    return (holds.astype(np.float64) @ idf) / total if total > 0 else np.zeros(len(holds))


def bit_coverage(held: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """`coverage` of rows given as bit patterns (bit j: the row holds term j): a look-up per byte of
    terms, not a pass per term, so a pool of 100k articles costs little more than reading it."""
    total = idf.sum()
    if total <= 0:
        return np.zeros(len(held))
    out = np.zeros(len(held))
    for start in range(0, len(idf), 8):
        weights = idf[start : start + 8]
        table = _BYTES[:, : len(weights)] @ weights  # the weight of each of the 256 patterns of 8 terms
        out += table[(held >> held.dtype.type(start)) & held.dtype.type(0xFF)]
    return out / total


_BYTES = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little").astype(np.float64)


def within_days(days: np.ndarray, since_day: int | None, latest_day: int | None) -> np.ndarray:
    """Which of these article days lie within [since_day, latest_day] (either end open when None)."""
    keep = np.ones(len(days), dtype=bool)
    if latest_day is not None:
        keep &= days <= latest_day
    if since_day is not None:
        keep &= days >= since_day
    return keep


def _age(q: Question, pool: ArticlePool) -> np.ndarray:
    """Each article's age in whole days on the day asked (0 for articles dated later)."""
    key = ("age", q.day)
    if key not in pool.shared:
        pool.shared[key] = np.maximum(q.day - pool.days, 0).astype(np.int64)
    return pool.shared[key]


def _recency(q: Question, pool: ArticlePool, days: float) -> np.ndarray:
    """exp(-age / days), or 0 for every article when the question names its dates (then recency says nothing)."""
    key = ("recency", days, q.day, q.frame.kind)
    if key not in pool.shared:
        age = _age(q, pool)
        oldest = int(age.max()) if len(age) else 0
        if q.frame.kind == "named" or not len(age):
            pool.shared[key] = np.zeros(len(age))
        elif oldest < len(age):  # ages are whole days: one exp per age up to the oldest, looked up
            pool.shared[key] = np.exp(-np.arange(oldest + 1, dtype=np.float64) / days)[age]
        else:
            pool.shared[key] = np.exp(-age.astype(np.float64) / days)
    return pool.shared[key]


# --- article level ------------------------------------------------------------------------


@feature("article")
def article_bm25(q: Question, pool: ArticlePool) -> np.ndarray:
    """BM25 of the whole article (rank-bm25's definition), as a share of the most any article could score."""
    return pool.bm25 / pool.bm25_bound if pool.bm25_bound > 0 else np.zeros(len(pool.ids))


@feature("article")
def article_coverage(q: Question, pool: ArticlePool) -> np.ndarray:
    """IDF-weighted share of the question's terms the article holds somewhere."""
    return _held_coverage(pool, q.article_idf)


def _held_coverage(pool: ArticlePool, idf: np.ndarray) -> np.ndarray:
    """`coverage` of the terms each article holds, from its bits when the pool has them."""
    return coverage(pool.holds, idf) if pool.held is None else bit_coverage(pool.held, idf)


def _title_bound(q: Question, pool: ArticlePool) -> np.ndarray:
    # The headline is part of its article: it holds no term the article lacks.
    return _held_coverage(pool, q.sentence_idf)


@feature("article", stage="terms", bound=_title_bound)
def title_coverage(q: Question, pool: ArticlePool) -> np.ndarray:
    """IDF-weighted share of the question's terms in the headline."""
    return coverage(pool.in_title, q.sentence_idf)


@feature("article")
def recent_3_days(q: Question, pool: ArticlePool) -> np.ndarray:
    """exp(-age / 3 days): news questions are mostly about the last days (0 when the question names a date)."""
    return _recency(q, pool, 3.0)


@feature("article")
def recent_10_days(q: Question, pool: ArticlePool) -> np.ndarray:
    """exp(-age / 10 days)."""
    return _recency(q, pool, 10.0)


@feature("article")
def recent_60_days(q: Question, pool: ArticlePool) -> np.ndarray:
    """exp(-age / 60 days): a weak preference that still tells a recent story from one of years ago."""
    return _recency(q, pool, 60.0)


@feature("article")
def recent_among_close(q: Question, pool: ArticlePool) -> np.ndarray:
    """exp(-age / 10 days) x (BM25 over the pool's best)^4: recency decides between articles that match
    about as well (several stories of one event), not against a much better match."""
    best = pool.bm25_best if pool.bm25_best is not None else (pool.bm25.max() if len(pool.bm25) else 0.0)
    closeness = pool.bm25 / best if best > 0 else np.zeros(len(pool.ids))
    squared = closeness * closeness  # not **4: numpy's pow costs ten times as much over 100k articles
    return _recency(q, pool, 10.0) * (squared * squared)


@feature("article")
def in_window(q: Question, pool: ArticlePool) -> np.ndarray:
    """The article is dated inside the days the question names ("this week", "on Tuesday", "in August 2024")."""
    if not (q.frame.decisive and pool.frame_days):
        return np.zeros(len(pool.ids))
    start, end = pool.frame_days
    return ((pool.days >= start) & (pool.days <= end)).astype(np.float64)


@feature("article")
def window_distance(q: Question, pool: ArticlePool) -> np.ndarray:
    """How far outside that window the article is dated: log(1 + days) / log(366), at most 1."""
    if not (q.frame.decisive and pool.frame_days):
        return np.zeros(len(pool.ids))
    start, end = pool.frame_days
    outside = np.maximum(start - pool.days, 0) + np.maximum(pool.days - end, 0)
    return np.minimum(np.log1p(outside) / math.log(366), 1.0)


# --- passage level ------------------------------------------------------------------------


@feature("passage")
def article_score(q: Question, pool: PassagePool) -> np.ndarray:
    """The article model's score of the sentence's article: the right article holds the answer."""
    return pool.article_score


@feature("passage")
def article_rank(q: Question, pool: PassagePool) -> np.ndarray:
    """log(1 + the article's rank): the best article first."""
    return np.log1p(pool.article_rank) / math.log(11)


def _sentence_bm25(q: Question, pool: PassagePool, k1: float, b: float) -> np.ndarray:
    """Okapi BM25 of each sentence with Lucene's IDF, as a share of the most a sentence could score."""
    weight = q.counts * q.sentence_idf
    bound = weight.sum() * (k1 + 1)
    if bound <= 0:
        return np.zeros(len(pool.ids))
    norm = 1 - b + b * pool.lengths / (pool.avg_length or 1.0)
    tf = pool.tfs.astype(np.float64)
    return ((tf * (k1 + 1) / (tf + k1 * norm[:, None])) @ weight) / bound


@feature("passage")
def sentence_bm25(q: Question, pool: PassagePool) -> np.ndarray:
    """BM25 of the sentence with k1 = 0.9, b = 0.4 (Anserini's), as a share of its maximum: long
    answering sentences are not punished as with b = 0.75."""
    return _sentence_bm25(q, pool, 0.9, 0.4)


@feature("passage")
def sentence_okapi(q: Question, pool: PassagePool) -> np.ndarray:
    """BM25 of the sentence with rank-bm25's k1 = 1.5, b = 0.75: short sentences dense in question words."""
    return _sentence_bm25(q, pool, 1.5, 0.75)


def _share_of_article_best(values: np.ndarray, article_rank: np.ndarray) -> np.ndarray:
    """Each value over the largest value among the candidates of the same article."""
    best = np.zeros(int(article_rank.max()) + 1 if len(article_rank) else 0)
    ranks = article_rank.astype(np.int64)
    np.maximum.at(best, ranks, values)
    top = best[ranks]
    return np.divide(values, top, out=np.zeros(len(values)), where=top > 0)


@feature("passage")
def bm25_in_article(q: Question, pool: PassagePool) -> np.ndarray:
    """The sentence's BM25 over the best in its article: which sentence of the article matches best."""
    return _share_of_article_best(sentence_bm25(q, pool), pool.article_rank)


@feature("passage")
def coverage_in_article(q: Question, pool: PassagePool) -> np.ndarray:
    """Its coverage of the question (the IDF-weighted share of the question's terms it holds) over the best
    in its article."""
    return _share_of_article_best(coverage(pool.tfs > 0, q.sentence_idf), pool.article_rank)


@feature("passage")
def position(q: Question, pool: PassagePool) -> np.ndarray:
    """log(position) / log(100), at most 1: the facts come early in a news story."""
    return np.minimum(np.log(np.maximum(pool.position, 1)) / math.log(100), 1.0)


@feature("passage", "text")
def near_coverage(q: Question, pool: TextPassagePool) -> np.ndarray:
    """IDF-weighted share of the question's terms the sentence misses exactly but holds as a variant
    the stemmer did not join (the same first four letters: merger / merge, Russian and Arabic inflections)."""
    terms = pool.terms
    return (~terms.sentence & terms.prefix).astype(np.float64) @ q.sentence_idf / (q.sentence_idf.sum() or 1.0)


@feature("passage", "text")
def answer_cue(q: Question, pool: TextPassagePool) -> np.ndarray:
    """The sentence holds what the question asks for: a number (how many), a date (when), a name (who,
    which team), a place (where), a country or a US state (which country, which state)."""
    if not q.kind:
        return np.zeros(len(pool.ids))
    return np.array([float(carries(text, q.kind)) for text in pool.texts])


@feature("passage", "text")
def answer_candidate(q: Question, pool: TextPassagePool) -> np.ndarray:
    """The quote holds something of the kind the question asks for that the question does not name
    (a country for "which country", a name for "which team", a number for "how many"): an answer's
    candidate, not the question's own words."""
    if not q.kind:
        return np.zeros(len(pool.ids))
    return np.array([float(carries_new(quote, q.kind, q.words)) for quote in pool.quotes])


@feature("passage", "text")
def new_names(q: Question, pool: TextPassagePool) -> np.ndarray:
    """Names and numbers in the sentence that the question does not have (up to three, as a share of three):
    an answer says something the question does not."""
    out = np.zeros(len(pool.ids))
    for i, names in enumerate(pool.names):
        found = names - q.words
        out[i] = min(len(found), 3) / 3
    return out


@feature("passage", "text")
def quote_coverage(q: Question, pool: TextPassagePool) -> np.ndarray:
    """IDF-weighted share of the question's terms in the quote shown (the sentence and the neighbours it takes)."""
    return coverage(pool.terms.quote, q.sentence_idf)


@feature("passage", "text")
def length(q: Question, pool: TextPassagePool) -> np.ndarray:
    """log(characters) / log(1000): very short sentences rarely hold an answer."""
    return np.array([min(math.log(max(len(t), 1)) / math.log(1000), 1.0) for t in pool.texts])


def _share(held: np.ndarray, weights: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """Per row: the IDF-weighted sum of `weights` over the terms held, over that sum over all terms (0 where
    the latter is)."""
    total = weights @ idf
    part = (weights * held) @ idf
    return np.divide(part, total, out=np.zeros(len(total)), where=total > 0)


@feature("passage", "text")
def title_echo(q: Question, pool: TextPassagePool) -> np.ndarray:
    """IDF-weighted share of its headline's other words (those not in the question) that the sentence
    repeats: headlines carry the news, and the answer with it."""
    terms = pool.terms
    return _share(terms.headline_words, terms.headline.astype(np.float64), terms.headline_idf)


@feature("passage", "text")
def redundancy(q: Question, pool: TextPassagePool) -> np.ndarray:
    """How much of what the other best articles' headlines say beyond the question the sentence says too
    (each headline weighted by its article's probability): other outlets' headlines on the same story
    repeat the answer."""
    terms = pool.terms
    return _share(terms.headline_words, terms.headline_others, terms.headline_idf)


def names_in(text: str) -> set[str]:
    """Capitalised words and numbers past the sentence start, case-folded: the likely answers."""
    return {m.casefold() for m in _CAPITALISED.findall(text)}


def name_runs(text: str) -> list[str]:
    """The same names whole: each run of capitalised words ("Stanley Cup", "Hunter Biden") and each number."""
    return _NAME_RUN.findall(text)


@feature("passage", "text")
def name_agreement(q: Question, pool: TextPassagePool) -> np.ndarray:
    """For the sentence's best new name (or number), the weight of the other articles whose candidate
    sentences carry it too: the answer is what several outlets agree on."""
    if pool.article_weight is None or not len(pool.ids):
        return np.zeros(len(pool.ids))
    names_of = [names - q.words for names in pool.names]
    weight_of = dict(zip(pool.article_ids.tolist(), pool.article_weight.tolist()))
    carried: dict[str, set[int]] = {}
    for names, article in zip(names_of, pool.article_ids.tolist()):
        for name in names:
            carried.setdefault(name, set()).add(article)
    out = np.zeros(len(pool.ids))
    for i, (names, article) in enumerate(zip(names_of, pool.article_ids.tolist())):
        out[i] = max((sum(weight_of[a] for a in carried[n] if a != article) for n in names), default=0.0)
    return out
