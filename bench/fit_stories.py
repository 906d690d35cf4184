"""Fit when an article joins a story (bot/ranking/stories.json), and measure the main stories.

    python bench/fit_stories.py              # fit join_at on realtimeqa-dev, measure, write the file
    python bench/fit_stories.py --check-only # fit on 2023's quiz weeks, measure on 2024's, and the reverse

Pairs of articles from realtimeqa-dev: two gold articles of one question (the articles of its 10 days
that hold its answer) are one story; gold articles of two questions of the same quiz week are two. The
cosine of their TF-IDF vectors (title and lead, as `bot.ranking.stories` computes them) tells them apart;
`join_at` is the cosine with the best F1 over the training pairs. The measure: for each quiz week, the
main stories of the 7 days up to its date; the share of its questions with a gold article in the top 10.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.fit_ranking import year_of  # noqa: E402
from bot.ranking.evaluate import Question, file_of, load_questions  # noqa: E402
from bot.ranking.stories import WINDOW_DAYS, Window, article_leads, main_stories, tfidf_vectors  # noqa: E402
from index.rebuild import rebuild  # noqa: E402
from index.search import Index  # noqa: E402


def pairs(snap, questions: list[Question], files: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Cosines and labels (1: one story) of the gold-article pairs of these questions."""
    gold = {q.id: [files[f] for f in q.gold_files if f in files] for q in questions}
    ids = sorted({i for g in gold.values() for i in g})
    articles = snap.articles(ids)
    leads = article_leads(snap, articles)
    vectors = tfidf_vectors(snap, {i: f"{articles[i].title}\n{leads[i]}" for i in ids})

    def cosine(a: int, b: int) -> float:
        va, vb = vectors[a], vectors[b]
        return sum(x * vb.get(t, 0.0) for t, x in va.items())

    cosines, labels = [], []
    by_week = defaultdict(list)
    for q in questions:
        by_week[q.question_date].append(q)
        for a, b in itertools.combinations(gold[q.id], 2):
            cosines.append(cosine(a, b))
            labels.append(1)
    for week in by_week.values():
        for q1, q2 in itertools.combinations(week, 2):
            for a in gold[q1.id][:3]:
                for b in gold[q2.id][:3]:
                    if a != b:
                        cosines.append(cosine(a, b))
                        labels.append(0)
    return np.array(cosines), np.array(labels)


def best_join_at(cosines: np.ndarray, labels: np.ndarray) -> float:
    """The cosine threshold with the best F1 for "one story" over the pairs."""
    best, best_f1 = 1.0, -1.0
    for threshold in np.unique(np.round(cosines, 3)):
        joined = cosines >= threshold
        tp = float((joined & (labels > 0)).sum())
        f1 = 2 * tp / (joined.sum() + (labels > 0).sum())
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return best


def top10_share(snap, questions: list[Question], files: dict[str, int], threshold: float) -> float:
    """The share of questions with a gold article among the top 10 stories of the 7 days up to their date."""
    hits = 0
    by_week = defaultdict(list)
    for q in questions:
        by_week[q.question_date].append(q)
    for day, week in by_week.items():
        end = np.datetime64(day, "D")
        window = Window(str(end - np.timedelta64(WINDOW_DAYS - 1, "D")), str(end))
        shown = {i for s in main_stories(snap, window, 10, threshold) for i in s.article_ids}
        hits += sum(any(files.get(f) in shown for f in q.gold_files) for q in week)
    return hits / max(len(questions), 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--index", type=Path, default=HERE / "out" / "realtimeqa-dev.db")
    parser.add_argument("--out", type=Path, default=ROOT / "bot" / "ranking" / "stories.json")
    parser.add_argument("--check-only", action="store_true")
    args = parser.parse_args(argv)
    dataset = args.data / "realtimeqa-dev"
    if not (dataset / "corpus").is_dir():
        print(f"missing {dataset / 'corpus'}", file=sys.stderr)
        return 1
    rebuild(dataset / "corpus", args.index, language="en")
    questions = load_questions(dataset / "questions.jsonl")
    with Index(args.index).snapshot() as snap:
        files = {file_of(a.source): a.id for a in snap.each_article()}
        print("| fitted on | measured on | join_at | gold article in the top 10 stories |\n| --- | --- | ---: | ---: |")
        for train, test in (("2023", "2024"), ("2024", "2023")):
            threshold = best_join_at(*pairs(snap, [q for q in questions if year_of(q) == train], files))
            share = top10_share(snap, [q for q in questions if year_of(q) == test], files, threshold)
            print(f"| {train} | {test} | {threshold:.3f} | {share:.3f} |")
        if args.check_only:
            return 0
        threshold = best_join_at(*pairs(snap, questions, files))
        print(f"all: join_at {threshold:.3f}, top-10 share {top10_share(snap, questions, files, threshold):.3f}")
    data = {
        "fitted_on": ["realtimeqa-dev/questions.jsonl"],
        "method": "best-F1 cosine over gold pairs (bench/fit_stories.py)",
        "join_at": round(threshold, 6),
    }
    args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
