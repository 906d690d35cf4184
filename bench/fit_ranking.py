"""Fit the ranking's weights (bot/ranking/ranking.json) on dated news questions, and check them on unseen ones.

    pip install -e '.[bench]'
    python bench/fit_ranking.py                   # fit on ../shared/data, check 2023 <-> 2024, write the file
    python bench/fit_ranking.py --check-only      # the year checks alone, nothing written

What it does, on realtimeqa-dev's questions and its archive questions (answered as
of their question date) and on XQuAD's English, Russian and Arabic questions (no
date; weighted down, see ARTICLE_WIKIPEDIA_SHARE: they keep the fit from forgetting
plain lexical matching, and keep those sets' figures where they were):

1. builds (or reuses) an index of each corpus in --work;
2. for every question, computes the article features (`bot.ranking.features`) of the
   candidate articles, labelled by whether the article is one of the question's
   gold articles, and fits the article model;
3. with that article model, computes the passage features of the sentences of the
   best articles, labelled by whether the sentence holds an answer string, and fits
   a passage model per language (English on the news and XQuAD-en; Russian and
   Arabic on their XQuAD sets);
4. fits the calibration (the probability that a passage answers, from its score)
   and the cut (how far below the first passage another may score and be shown);
5. checks the whole on news questions the fit did not see: fit on 2023's quizzes
   (and XQuAD), measure on 2024's, and the reverse (an archive question goes with
   its quiz's year).

Each model is a listwise logistic regression: for each question, the softmax of the
candidates' scores is fitted to the uniform distribution over its positives, with an
L2 penalty, on features standardised over the training rows; Newton's method with a
line search from zero weights, so the same data always give the same file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bot.ranking import features as F  # noqa: E402
from bot.ranking.answer import Ranking, article_pool, feature_values, prepare_question, rank  # noqa: E402
from bot.ranking.evaluate import Question, contains_answer, file_of, load_questions, score_questions  # noqa: E402
from bot.ranking.model import HAND_SET, LinearModel, RankingModel  # noqa: E402
from index.rebuild import rebuild  # noqa: E402
from index.search import Index  # noqa: E402

L2 = 1.0  # on standardised features; the same for both models
ARTICLE_SAMPLE = 400  # negatives per question kept for the article fit (the best by the hand-set weights)
# How much the questions without a date (XQuAD's Wikipedia sets) weigh, against the dated news questions:
# a quarter for the article model (news decides which article), as much for the passage model (picking
# the sentence that holds the answer is the same job in both).
ARTICLE_WIKIPEDIA_SHARE = 0.25
PASSAGE_WIKIPEDIA_SHARE = 1.0
CUT_GRID = [0.5 * i for i in range(1, 21)]


@dataclass(frozen=True)
class Dataset:
    name: str
    corpus: Path
    questions: tuple[Path, ...]
    language: str = "en"
    as_of: bool = True


@dataclass
class Group:
    """One question's candidates: feature matrix and labels."""

    question: Question
    x: np.ndarray
    y: np.ndarray
    weight: float = 1.0


def year_of(q: Question) -> str:
    """The quiz year: archive questions keep their quiz's id (`20230106_0-archive`)."""
    return q.id[:4] if q.id[:4].isdigit() else (q.question_date or "")[:4]


# --- the fit ------------------------------------------------------------------------------


def _objective(w: np.ndarray, groups: list[Group], l2: float) -> float:
    total = -0.5 * l2 * float(w @ w)
    for g in groups:
        s = g.x @ w
        top = s.max()
        total += g.weight * (float((g.y / g.y.sum()) @ s) - (top + math.log(np.exp(s - top).sum())))
    return total


def fit_listwise(groups: list[Group], l2: float = L2, iterations: int = 100) -> np.ndarray:
    """Weights maximising the listwise log-likelihood minus the L2 penalty (concave: Newton converges)."""
    groups = [g for g in groups if g.y.any() and len(g.y) > 1]
    d = groups[0].x.shape[1]
    w = np.zeros(d)
    value = _objective(w, groups, l2)
    for _ in range(iterations):
        gradient, hessian = -l2 * w, -l2 * np.eye(d)
        for g in groups:
            s = g.x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            mean = p @ g.x
            gradient += g.weight * ((g.y / g.y.sum()) @ g.x - mean)
            hessian -= g.weight * ((g.x.T * p) @ g.x - np.outer(mean, mean))
        step = np.linalg.solve(hessian, -gradient)
        size = 1.0
        while size > 1e-8:
            new_value = _objective(w + size * step, groups, l2)
            if new_value >= value - 1e-12:
                break
            size /= 2
        w = w + size * step
        if abs(new_value - value) < 1e-10 and np.abs(size * step).max() < 1e-9:
            break
        value = new_value
    return w


def standardise(groups: list[Group]) -> tuple[np.ndarray, np.ndarray]:
    rows = np.concatenate([g.x for g in groups])
    means, scales = rows.mean(axis=0), rows.std(axis=0)
    scales[scales < 1e-9] = 1.0
    return means, scales


def fit_model(groups: list[Group], names: list[str]) -> LinearModel:
    means, scales = standardise(groups)
    scaled = [replace(g, x=(g.x - means) / scales) for g in groups]
    weights = fit_listwise(scaled)
    return LinearModel(tuple(names), weights, means, scales)


def fit_answer_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The passage score from which a passage is taken to answer its question: the one that best tells
    the passages holding an answer from those that do not (F1, over every candidate of the fit). A
    standing question sends only passages above it."""
    order = np.argsort(-scores, kind="stable")
    ranked, positives = labels[order] > 0, float((labels > 0).sum())
    if not positives:
        return math.inf
    true_positives = np.cumsum(ranked)
    f1 = 2 * true_positives / (np.arange(1, len(ranked) + 1) + positives)
    return float(scores[order][int(np.argmax(f1))])


def fit_calibration(scores: np.ndarray, labels: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """Pointwise logistic regression of 'the passage answers' on its score: P = sigmoid(a * score + b)."""
    x = np.c_[scores, np.ones(len(scores))]
    w = np.zeros(2)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (labels - p) - 1e-6 * w
        hessian = -(x.T * (p * (1 - p))) @ x - 1e-6 * np.eye(2)
        step = np.linalg.solve(hessian, -gradient)
        w = w + step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


# --- collecting features ------------------------------------------------------------------


def _prepared(snap, question: Question, as_of: bool):
    """The question set up as `answer` sets it up (as of its date, with `as_of`); None without words."""
    return prepare_question(snap, question.question, as_of=question.question_date if as_of else None)


def collect_articles(index: Index, questions: list[Question], as_of: bool) -> list[Group]:
    names = list(F.ARTICLE_FEATURES)
    groups = []
    with index.snapshot() as snap:
        sources = {article.id: article.source for article in snap.each_article()}
        for question in questions:
            prepared = _prepared(snap, question, as_of)
            if prepared is None:
                continue
            q = prepared.question
            pool, _ = article_pool(snap, q, None, prepared.latest_day)
            if not len(pool.ids):
                continue
            values = feature_values(F.ARTICLE_FEATURES, q, pool)
            labels = np.array([file_of(sources[int(i)]) in question.gold_files for i in pool.ids])
            hint = HAND_SET.article.score(values)
            keep = np.argsort(-hint, kind="stable")[:ARTICLE_SAMPLE]
            keep = np.union1d(keep, np.flatnonzero(labels))
            x = np.column_stack([values[n][keep] for n in names])
            groups.append(Group(question, x, labels[keep].astype(np.float64)))
    return groups


def collect_passages(index: Index, questions: list[Question], as_of: bool, model: RankingModel) -> list[Group]:
    names = list(F.PASSAGE_FEATURES)
    ranking = Ranking(model=model)
    groups = []
    with index.snapshot() as snap:
        for question in questions:
            prepared = _prepared(snap, question, as_of)
            if prepared is None:
                continue
            ranked = rank(snap, prepared.question, ranking, None, prepared.latest_day, 4, read_all=True)
            if not ranked.rows:
                continue
            # A sentence holding an answer string, from one of the question's gold articles (the news of
            # that week), is a positive; answer strings also turn up in old articles by chance
            # ("California"), which only count when no gold article's sentence has one. The sentence, not
            # the quote: the sentence shown first should be the one that answers.
            labels = np.array(
                [contains_answer(r.sentence.text, question.answers) for r in ranked.rows], dtype=np.float64
            )
            gold = np.array([file_of(r.article.source) in question.gold_files for r in ranked.rows])
            if (labels * gold).any():
                labels = labels * gold
            x = np.column_stack([ranked.passage_values[n] for n in names])
            groups.append(Group(question, x, labels))
    return groups


def fit_cut(index_groups: list[tuple[Index, list[Question], bool]], model: RankingModel) -> float:
    """The gap below the first passage beyond which later passages are left out: the one that best tells
    later passages that hold an answer from those that do not (F1), on the training questions."""
    gaps, answers = [], []
    ranking = Ranking(model=model).without(["cut"])
    for index, questions, as_of in index_groups:
        for question in questions:
            result = _answer(index, question, as_of, ranking, 3)
            if len(result.passages) < 2:
                continue
            first = result.passages[0].score
            for p in result.passages[1:3]:
                gaps.append(first - p.score)
                answers.append(contains_answer(p.quote, question.answers))
    gaps, answers = np.array(gaps), np.array(answers, dtype=bool)
    best, best_f1 = math.inf, -1.0
    for cut in CUT_GRID:
        shown = gaps <= cut
        tp = (shown & answers).sum()
        f1 = 2 * tp / (shown.sum() + answers.sum()) if (shown.sum() + answers.sum()) else 0.0
        if f1 > best_f1 + 1e-12:
            best, best_f1 = cut, f1
    return best


def _answer(index, question, as_of, ranking, top):
    from bot.ranking.answer import answer

    return answer(index, question.question, top=top, as_of=question.question_date if as_of else None, ranking=ranking)


def _weighted(parts: list[tuple[list[Group], bool]], share: float) -> list[Group]:
    """All groups, those without a question date (the Wikipedia sets) weighted to WIKIPEDIA_SHARE of the
    dated news questions' total: news is what newsbot answers, the others guard against over-fitting it."""
    news = sum(len(groups) for groups, dated in parts if dated)
    other = sum(len(groups) for groups, dated in parts if not dated)
    weight = share * news / other if other and news else 1.0
    return [g if dated else replace(g, weight=weight) for groups, dated in parts for g in groups]


def language_of(index: Index) -> str:
    language = index.meta().language or "english"
    return "english" if language == "auto" else language


def fit_all(parts: list[tuple[Index, list[Question], bool]], log=print) -> RankingModel:
    """Fit the article model on every question, then a passage model, calibration and cut per language
    (English: the dated news and XQuAD-en; Russian and Arabic: their XQuAD sets, the only data there is)."""
    started = time.perf_counter()
    article_groups = _weighted(
        [(collect_articles(index, qs, as_of), as_of) for index, qs, as_of in parts], ARTICLE_WIKIPEDIA_SHARE
    )
    article_model = fit_model(article_groups, list(F.ARTICLE_FEATURES))
    log(
        f"  article model: {len(article_groups)} questions, {sum(len(g.y) for g in article_groups)} candidates "
        f"({time.perf_counter() - started:.0f} s)"
    )
    staged = replace(HAND_SET, article=article_model, source="fitted")
    by_language: dict[str, list[tuple[Index, list[Question], bool]]] = {}
    for part in parts:
        by_language.setdefault(language_of(part[0]), []).append(part)
    fitted = {
        language: _fit_passages(staged, language_parts, log, started)
        for language, language_parts in sorted(by_language.items())
    }
    main = fitted.get("english") or next(iter(fitted.values()))
    others = tuple((language, model) for language, model in fitted.items() if model is not main)
    return replace(main, languages=others)


def _fit_passages(staged: RankingModel, parts, log, started) -> RankingModel:
    passage_groups = _weighted(
        [(collect_passages(index, qs, as_of, staged), as_of) for index, qs, as_of in parts], PASSAGE_WIKIPEDIA_SHARE
    )
    passage_model = fit_model(passage_groups, list(F.PASSAGE_FEATURES))
    scores = np.concatenate(
        [passage_model.score({n: g.x[:, j] for j, n in enumerate(passage_model.names)}) for g in passage_groups]
    )
    labels = np.concatenate([g.y for g in passage_groups])
    model = replace(
        staged,
        passage=passage_model,
        calibration=fit_calibration(scores, labels),
        answers_at=fit_answer_threshold(scores, labels),
    )
    model = replace(model, cut=fit_cut(parts, model))
    log(
        f"  {language_of(parts[0][0])} passage model: {len(passage_groups)} questions, "
        f"{sum(len(g.y) for g in passage_groups)} candidates, calibration a={model.calibration[0]:.3f} "
        f"b={model.calibration[1]:.3f}, cut {model.cut}, answers at {model.answers_at:.2f} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    return model


# --- data sets ----------------------------------------------------------------------------


def datasets(data: Path, with_xquad: bool) -> list[Dataset]:
    rtqa = data / "realtimeqa-dev"
    out = [Dataset("realtimeqa-dev", rtqa / "corpus", (rtqa / "questions.jsonl", rtqa / "archive.jsonl"))]
    if with_xquad:
        for language in ("en", "ru", "ar"):
            name = f"xquad-{language}"
            out.append(Dataset(name, data / name / "corpus", (data / name / "questions.jsonl",), language, as_of=False))
    return out


def built_index(dataset: Dataset, work: Path) -> Index:
    path = work / f"{dataset.name}.db"
    summary = rebuild(dataset.corpus, path, language=dataset.language)
    if summary.added or summary.updated or summary.removed:
        print(f"  indexed {dataset.name}: {summary.lines()[1]}")
    return Index(path)


def report_line(label: str, report) -> str:
    return (
        f"| {label} | {report.questions} | {report.quote_hit_at_1:.3f} | {report.quote_hit_at_3:.3f} | "
        f"{report.article_at_1:.3f} | {report.mean_quote_chars:.0f} |"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=HERE / "out" / "fit")
    parser.add_argument("--out", type=Path, default=ROOT / "bot" / "ranking" / "ranking.json")
    parser.add_argument("--news-only", action="store_true", help="fit on realtimeqa-dev alone (not on XQuAD)")
    parser.add_argument("--check-only", action="store_true", help="the 2023 <-> 2024 checks, nothing written")
    parser.add_argument("--no-check", action="store_true", help="skip the 2023 <-> 2024 checks")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    parts = []
    for dataset in datasets(args.data, not args.news_only):
        if not dataset.corpus.is_dir():
            print(f"missing {dataset.corpus}", file=sys.stderr)
            return 1
        index = built_index(dataset, args.work)
        for path in dataset.questions:
            parts.append((dataset, path.stem, index, load_questions(path)))

    if not args.no_check:
        print("| fitted on | measured on | questions | quote_hit@1 | quote_hit@3 | article@1 | mean_quote_chars |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for train_year, test_year in (("2023", "2024"), ("2024", "2023")):
            train = [
                (index, [q for q in qs if year_of(q) == train_year or d.name != "realtimeqa-dev"], d.as_of)
                for d, _, index, qs in parts
            ]
            model = fit_all(train, log=lambda line: print(line, file=sys.stderr))
            for d, stem, index, qs in parts:
                if d.name != "realtimeqa-dev":
                    continue
                test = [q for q in qs if year_of(q) == test_year]
                report = score_questions(index, test, as_of=d.as_of, ranking=Ranking(model=model, silence=False))
                print(report_line(f"{train_year} | {test_year} {stem}", report))
    if args.check_only:
        return 0
    model = fit_all([(index, qs, d.as_of) for d, _, index, qs in parts])
    fitted_on = sorted({f"{d.name}/{stem}.jsonl" for d, stem, _, _ in parts})
    data = {
        "fitted_on": fitted_on,
        "method": "listwise logistic regression, L2 = 1 on standardised features (bench/fit_ranking.py)",
        **model.as_json(),
    }
    args.out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
