"""Knowing when not to answer: does the best passage hold what the question is about?

The ranking always has a first passage; whether it answers is a separate decision, made from a
few signals of the ranked result (`SIGNALS`): the IDF-weighted share of the question that the quote
and its title cover, whether its article holds the question's rarest words and its names, the fitted
passage score, and its date against the days the question names. All but the passage score are on a
scale that does not depend on the collection; that one runs higher in a folder of a few articles than
in the news the model is fitted on, so silence is rarer there. A logistic model over them
(`SilenceModel`, fitted with its threshold by `bench/fit_silence.py`, shipped in
`bot/ranking/silence.json`) says whether to answer; below the threshold the answer is silent and names
the nearest story.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.search import Snapshot

from . import features as F
from .cues import is_time_word
from .model import LinearModel, ModelError, RankingModel, load_model_file, shipped_json

if TYPE_CHECKING:
    from .answer import Ranked

RAREST = 2  # the question's rarest terms whose presence is a signal of its own


@dataclass(frozen=True)
class Top:
    """What the signals read of one ranked result: the question, the best passage and its article."""

    question: F.Question
    passage_values: dict[str, float]  # the passage features of the best passage
    article_values: dict[str, float]  # the article features of its article
    idf: np.ndarray  # [term]: Lucene's IDF over sentences, the most a term can have for one the collection lacks
    article_holds: np.ndarray  # [term]: its article holds the question's term
    quote_terms: frozenset[str]  # the analysed terms of what is shown: the quote and its title
    name_terms: frozenset[str]  # the question's terms that come from its names and numbers
    best_score: float  # the fitted score of the best passage, its article's recency at its typical value
    behind: int = 0  # days from its article's date to the newest article that may answer
    names_unknown: float = 0.0  # share of the question's names that no article it may be answered from holds


SIGNALS: dict[str, Callable[[Top], float]] = {}


def signal(function: Callable[[Top], float]) -> Callable[[Top], float]:
    """Register a signal under its name."""
    SIGNALS[function.__name__] = function
    return function


def _rarest(top: Top) -> np.ndarray:
    """The columns of the question's rarest terms (the highest IDF: a term the collection lacks first)."""
    return np.argsort(-top.idf, kind="stable")[:RAREST]


@signal
def quote_coverage(top: Top) -> float:
    """IDF-weighted share of the question's terms in what is shown: the quote and its article's title."""
    holds = np.array([t in top.quote_terms for t in top.question.terms])
    return float(F.coverage(holds[None, :], top.idf)[0])


@signal
def rare_in_article(top: Top) -> float:
    """Share of the question's rarest terms that article holds."""
    return float(top.article_holds[_rarest(top)].mean()) if len(top.article_holds) else 0.0


@signal
def names_in_article(top: Top) -> float:
    """Share of the question's names and numbers that article holds (1 when the question has none)."""
    columns = [i for i, t in enumerate(top.question.terms) if t in top.name_terms]
    return float(top.article_holds[columns].mean()) if columns else 1.0


@signal
def names_unknown(top: Top) -> float:
    """Share of the question's names (runs of capitalised words, and numbers) that no article it may be
    answered from (within its dates, among the articles asked) holds whole, every word of it in one
    article (0 when the question has none): the articles cannot be about a person, a place or a trophy
    they never name, and a folder that names the National Cup does not name the Stanley Cup."""
    return top.names_unknown


@signal
def passage_score(top: Top) -> float:
    """The fitted passage score of the best passage, with its article's recency features at their typical
    values: how well it matches the question, not how new it is (in a folder of this week's news every
    article is recent, and its best passage scored high whatever was asked)."""
    return top.best_score


@signal
def window_distance(top: Top) -> float:
    """How far outside the days the question names its article is dated (0 when it names none)."""
    return top.article_values.get("window_distance", 0.0)


@signal
def stale_for_recent(top: Top) -> float:
    """For a question that asks for the latest news ("recently", "new", "latest") without naming days: how
    far that article's date lies behind the newest article the collection has (up to the day asked),
    log(1 + days) / log(366), at most 1; 0 for other questions. From the newest article, not from today,
    so an archive that stopped a year ago still answers; only for these questions, so a question about
    an older story still does (for every question without days, measured: a quarter of the questions
    about stories a year old went silent, see CONTRIBUTING)."""
    frame = top.question.frame
    if frame.decisive or not frame.recent_words:
        return 0.0
    return min(math.log1p(max(top.behind, 0)) / math.log(366), 1.0)


def signal_values(top: Top) -> dict[str, float]:
    return {name: float(function(top)) for name, function in SIGNALS.items()}


def question_names(snap: Snapshot, q: F.Question) -> tuple[frozenset[str], ...]:
    """The question's names as sets of its terms: each run of capitalised words past the sentence start
    ("Stanley Cup", "Hunter Biden") and each number, without its time words ("in March 2025" is the
    question's time frame, which the articles need not spell out)."""
    found = []
    for run in F.name_runs(q.text):
        words = [w for w in run.split() if not is_time_word(w)]
        terms = frozenset(snap.analyzer.terms(" ".join(words))) & frozenset(q.terms)
        if terms and terms not in found:
            found.append(terms)
    return tuple(found)


def newest_day(snap: Snapshot, latest_day: int) -> int:
    """The date (days since 1970-01-01) of the newest article dated up to latest_day."""
    days = snap.article_days
    days = days[days <= latest_day]
    return int(days.max()) if len(days) else latest_day


def unknown_share(
    snap: Snapshot,
    q: F.Question,
    names: tuple[frozenset[str], ...],
    since_day: int | None,
    latest_day: int | None,
    only: np.ndarray | None,
) -> float:
    """Share of the question's `names` (sets of its terms) that no article dated within [since_day,
    latest_day] (and among `only`) holds whole. Their postings are read with all of the question's terms,
    as the ranking read them: the snapshot still holds those."""
    if not names:
        return 0.0
    postings = snap.article_postings(list(q.terms))
    unknown = 0
    for name in names:
        ids = None
        for term in sorted(name):
            held = postings[term].ids if term in postings else np.zeros(0, dtype=np.int64)
            ids = held if ids is None else np.intersect1d(ids, held, assume_unique=True)
        keep = F.within_days(snap.article_days[ids], since_day, latest_day)
        if only is not None:
            keep &= np.isin(ids, only)
        unknown += not keep.any()
    return unknown / len(names)


def score_without_recency(
    model: RankingModel, passage_values: dict[str, float], article_values: dict[str, float]
) -> float:
    """The passage model's score of one passage, its article's score taken with the recency features
    (`recent_*`) switched off."""
    recency = frozenset(name for name in model.article.names if name.startswith("recent_"))
    article_score = model.article.score({k: np.array([v]) for k, v in article_values.items()}, recency)[0]
    values = {k: np.array([v]) for k, v in passage_values.items()}
    values["article_score"] = np.array([article_score])
    return float(model.passage.score(values)[0])


def top_of(
    snap: Snapshot,
    ranked: Ranked,
    model: RankingModel,
    latest_day: int | None = None,
    since_day: int | None = None,
    only: np.ndarray | None = None,
) -> Top | None:
    """What the signals read of a ranking: its best passage (None when it has none); `latest_day`: the
    last date an answer may have (default: the day asked); `since_day` and `only`: the first date and
    the articles it may come from, as the ranking was asked; `model`: the ranking model that ranked it."""
    if not ranked.rows:
        return None
    best = ranked.rows[0]
    row = int(np.searchsorted(ranked.articles.ids, best.sentence.article_id))
    q = ranked.question
    last = q.day if latest_day is None else latest_day
    names = question_names(snap, q)
    titles = snap.sentences([int(snap.article_first[best.sentence.article_id])])  # its stored terms
    passage_values = {name: float(v[0]) for name, v in ranked.passage_values.items()}
    article_values = {name: float(v[row]) for name, v in ranked.article_values.items()}
    return Top(
        question=q,
        idf=q.sentence_idf,
        passage_values=passage_values,
        article_values=article_values,
        article_holds=ranked.articles.holds[row],
        quote_terms=frozenset(best.quote_terms).union(*(t.terms for t in titles.values())),
        name_terms=frozenset().union(*names),
        best_score=score_without_recency(model, passage_values, article_values),
        behind=newest_day(snap, last) - int(ranked.articles.days[row]),
        names_unknown=unknown_share(snap, q, names, since_day, last, only),
    )


@dataclass(frozen=True)
class SilenceModel:
    """P(the articles answer) = sigmoid(bias + linear model over the signals); silent below `threshold`."""

    model: LinearModel
    bias: float
    threshold: float
    source: str = ""

    def probability(self, values: dict[str, float]) -> float:
        z = self.bias + float(self.model.score({k: np.array([v]) for k, v in values.items()})[0])
        return 1 / (1 + math.exp(-z)) if z > -700 else 0.0

    def answers(self, values: dict[str, float]) -> bool:
        return self.probability(values) >= self.threshold

    def as_json(self) -> dict:
        return {
            "signals": self.model.as_json(),
            "bias": round(self.bias, 6),
            "threshold": round(self.threshold, 6),
        }

    @classmethod
    def from_json(cls, data: dict, source: str = "") -> SilenceModel:
        try:
            return cls(
                LinearModel.from_json(data["signals"], SIGNALS), float(data["bias"]), float(data["threshold"]), source
            )
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, ModelError):
                raise
            raise ModelError(f"the silence file {source} is not a newsbot silence model ({error})") from None

    @classmethod
    def load(cls, path: Path | str) -> SilenceModel:
        return load_model_file(path, "silence", cls.from_json)


@cache
def default_silence() -> SilenceModel | None:
    """The fitted silence model shipped with newsbot (bot/ranking/silence.json); None if there is none."""
    data = shipped_json("silence.json")
    return None if data is None else SilenceModel.from_json(data, "bot/ranking/silence.json")
