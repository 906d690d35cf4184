"""The fitted ranking: one linear model per level over the named features of `bot.ranking.features`.

A model is `score = sum(weight * (value - mean) / scale)` over its features, with
the weights fitted by `bench/fit_ranking.py` (listwise logistic regression) and
shipped in `bot/ranking/ranking.json`. Switching a feature off (`--without`) puts its
value at the mean, so its contribution is zero. `calibration` turns a passage
score into the probability that the passage answers the question (fitted on the
same questions), and `cut` is how far below the first passage another may score
and still be shown.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TypeVar

import numpy as np

from .features import ARTICLE_FEATURES, PASSAGE_FEATURES

T = TypeVar("T")


class ModelError(ValueError):
    """A ranking file that cannot be used; the message says why."""


@dataclass(frozen=True)
class LinearModel:
    names: tuple[str, ...]
    weights: np.ndarray
    means: np.ndarray
    scales: np.ndarray

    def terms(self, values: dict[str, np.ndarray], without: frozenset[str] = frozenset()) -> np.ndarray:
        """Each feature's contribution [candidate, feature] (zero for features switched off)."""
        n = len(next(iter(values.values()))) if values else 0
        out = np.zeros((n, len(self.names)))
        for j, name in enumerate(self.names):
            if name in without or name not in values:
                continue
            out[:, j] = self.weights[j] * (values[name] - self.means[j]) / self.scales[j]
        return out

    def score(self, values: dict[str, np.ndarray], without: frozenset[str] = frozenset()) -> np.ndarray:
        """The sum of `terms` over the features, without making their matrix (the cost of a pool of 100k
        articles is then one pass per feature)."""
        n = len(next(iter(values.values()))) if values else 0
        total, offset = np.zeros(n), 0.0
        for j, name in enumerate(self.names):
            if name in without or name not in values:
                continue
            total += (self.weights[j] / self.scales[j]) * values[name]
            offset -= self.weights[j] * self.means[j] / self.scales[j]
        return total + offset

    def as_json(self) -> dict:
        return {
            name: {"weight": round(float(w), 6), "mean": round(float(m), 6), "scale": round(float(s), 6)}
            for name, w, m, s in zip(self.names, self.weights, self.means, self.scales)
        }

    @classmethod
    def from_json(cls, data: dict, registry: dict) -> LinearModel:
        unknown = set(data) - set(registry)
        if unknown:
            raise ModelError(f"the ranking file names an unknown feature {sorted(unknown)[0]!r}")
        names = tuple(data)
        return cls(
            names,
            np.array([data[n]["weight"] for n in names], dtype=np.float64),
            np.array([data[n].get("mean", 0.0) for n in names], dtype=np.float64),
            np.array([data[n].get("scale", 1.0) or 1.0 for n in names], dtype=np.float64),
        )


@dataclass(frozen=True)
class RankingModel:
    article: LinearModel
    passage: LinearModel
    calibration: tuple[float, float] = (1.0, 0.0)  # P(answers) = sigmoid(a * score + b)
    cut: float = math.inf  # later passages scoring more than this below the first are not shown
    answers_at: float = math.inf  # a passage scoring this much answers the question (standing questions)
    articles_read: int = 10  # the best articles whose sentences are ranked
    passages_read: int = 40  # the best sentences by postings features whose text features are computed
    source: str = ""
    languages: tuple[tuple[str, RankingModel], ...] = ()  # passage models fitted for other languages

    def for_language(self, language: str) -> RankingModel:
        """The model with the passage model, calibration and cut fitted for that language, if there is one
        (the article model is shared)."""
        for name, model in self.languages:
            if name == language:
                return replace(
                    self,
                    passage=model.passage,
                    calibration=model.calibration,
                    cut=model.cut,
                    answers_at=model.answers_at,
                    languages=(),
                )
        return self

    def probability(self, score: float) -> float:
        a, b = self.calibration
        z = a * score + b
        return 1 / (1 + math.exp(-z)) if z > -700 else 0.0

    def as_json(self) -> dict:
        data = {
            "article": self.article.as_json(),
            **self._passage_json(),
            "articles_read": self.articles_read,
            "passages_read": self.passages_read,
        }
        if self.languages:
            data["languages"] = {name: model._passage_json() for name, model in self.languages}
        return data

    def _passage_json(self) -> dict:
        return {
            "passage": self.passage.as_json(),
            "calibration": {"a": round(self.calibration[0], 6), "b": round(self.calibration[1], 6)},
            "cut": None if math.isinf(self.cut) else round(self.cut, 6),
            "answers_at": None if math.isinf(self.answers_at) else round(self.answers_at, 6),
        }

    @classmethod
    def from_json(cls, data: dict, source: str = "") -> RankingModel:
        try:
            article = LinearModel.from_json(data["article"], ARTICLE_FEATURES)
            passage, calibration, cut, answers_at = cls._passage_parts(data)
            model = cls(
                article,
                passage,
                calibration,
                cut,
                answers_at,
                articles_read=int(data.get("articles_read", 10)),
                passages_read=int(data.get("passages_read", 40)),
                source=source,
            )
            languages = tuple(
                (
                    name,
                    replace(
                        model, **dict(zip(("passage", "calibration", "cut", "answers_at"), cls._passage_parts(part)))
                    ),
                )
                for name, part in sorted((data.get("languages") or {}).items())
            )
            return replace(model, languages=languages)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, ModelError):
                raise
            raise ModelError(f"the ranking file {source or ''} is not a newsbot ranking ({error})") from None

    @staticmethod
    def _passage_parts(data: dict) -> tuple[LinearModel, tuple[float, float], float, float]:
        calibration = data.get("calibration") or {}
        cut, answers_at = data.get("cut"), data.get("answers_at")
        return (
            LinearModel.from_json(data["passage"], PASSAGE_FEATURES),
            (float(calibration.get("a", 1.0)), float(calibration.get("b", 0.0))),
            math.inf if cut is None else float(cut),
            math.inf if answers_at is None else float(answers_at),
        )

    @classmethod
    def load(cls, path: Path | str) -> RankingModel:
        return load_model_file(path, "ranking", cls.from_json)


def load_model_file(path: Path | str, what: str, from_json: Callable[[dict, str], T]) -> T:
    """A fitted model's JSON file read by `from_json`; one ModelError naming the file if it cannot be."""
    try:
        return from_json(json.loads(Path(path).read_text(encoding="utf-8")), str(path))
    except (OSError, ValueError) as error:
        if isinstance(error, ModelError):
            raise
        raise ModelError(f"cannot read the {what} file {path}: {error}") from None


def _uniform(registry: dict, weights: dict[str, float]) -> LinearModel:
    names = tuple(registry)
    return LinearModel(names, np.array([weights.get(n, 0.0) for n in names]), np.zeros(len(names)), np.ones(len(names)))


# Hand-set weights on the raw feature values, in the spirit of the constants the ranking had before it
# was fitted (BM25 first, coverage and context on top, a mild preference for recent articles). They
# are the baseline the fitted weights are measured against (`newsbot eval --weights hand-set`).
HAND_SET = RankingModel(
    _uniform(
        ARTICLE_FEATURES,
        {
            "article_bm25": 4.0,
            "article_coverage": 2.0,
            "title_coverage": 1.0,
            "recent_10_days": 1.0,
            "recent_60_days": 0.5,
            "in_window": 1.5,
        },
    ),
    _uniform(
        PASSAGE_FEATURES,
        {
            "article_score": 0.3,
            "sentence_bm25": 3.0,
            "near_coverage": 1.0,
            "answer_cue": 0.3,
            "quote_coverage": 0.5,
        },
    ),
    source="hand-set",
)


# BM25 alone, for comparison: articles by their BM25 (rank-bm25's definition), then their sentences by the
# index's own sentence BM25 (k1 = 1.5, b = 0.75) and their article's score.
BM25_ALONE = RankingModel(
    _uniform(ARTICLE_FEATURES, {"article_bm25": 1.0}),
    _uniform(PASSAGE_FEATURES, {"sentence_okapi": 1.0, "article_score": 0.1}),
    source="BM25 alone",
)


def shipped_json(name: str) -> dict | None:
    """A fitted file shipped with newsbot in bot/ranking (None when the package lacks it)."""
    try:
        return json.loads(resources.files("bot.ranking").joinpath(name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


@cache
def default_model() -> RankingModel:
    """The fitted ranking shipped with newsbot (bot/ranking/ranking.json)."""
    data = shipped_json("ranking.json")
    return HAND_SET if data is None else RankingModel.from_json(data, "bot/ranking/ranking.json")


def model_named(name: str | None) -> RankingModel:
    """'hand-set', 'bm25', a path to a ranking file, or None for the shipped one."""
    if name is None:
        return default_model()
    if name == "hand-set":
        return HAND_SET
    if name == "bm25":
        return BM25_ALONE
    return RankingModel.load(name)
