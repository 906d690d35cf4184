"""Where the first passage misses: the right article with the answer in another sentence, or another article.

    python bench/misses.py ../shared/data/realtimeqa-dev --index bench/out/realtimeqa-dev.db [--questions archive.jsonl]

Answers every question as of its date (as `newsbot eval --as-of` does) and sorts the
first passages that do not quote an answer: from a gold article that holds the
answer in another sentence, from a gold article without the answer string, or from
another article (and whether that one holds the answer elsewhere). Prints the
counts and three examples of each.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.ranking.answer import answer  # noqa: E402
from bot.ranking.evaluate import contains_answer, file_of, load_questions  # noqa: E402
from index.rebuild import rebuild  # noqa: E402
from index.search import Index  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--index", type=Path, required=True, help="the data set's index (built if missing)")
    parser.add_argument("--questions", default="questions.jsonl")
    args = parser.parse_args()
    if not args.index.exists():
        rebuild(args.dataset / "corpus", args.index, language="en")
    index = Index(args.index)
    counts: collections.Counter = collections.Counter()
    examples = collections.defaultdict(list)
    for question in load_questions(args.dataset / args.questions):
        result = answer(index, question.question, top=3, as_of=question.question_date)
        if not result.passages:
            counts["no passage"] += 1
            continue
        first = result.passages[0]
        if contains_answer(first.quote, question.answers):
            counts["hit"] += 1
            continue
        with index.snapshot() as snap:
            start = int(snap.article_first[first.article_id])
            texts = [
                r.text for r in snap.sentences(range(start, start + int(snap.article_size[first.article_id]))).values()
            ]
        holds = any(contains_answer(t, question.answers) for t in texts)
        if file_of(first.source) in question.gold_files:
            kind = "gold article, answer in another sentence" if holds else "gold article, no answer string"
        else:
            kind = "another article" + (", answer in another sentence" if holds else "")
        counts[kind] += 1
        examples[kind].append((question.question, question.answers, first.quote))
    for kind, count in counts.most_common():
        print(f"{count:5d}  {kind}")
    for kind, found in examples.items():
        print(f"\n== {kind}")
        for text, answers, quote in found[:3]:
            print(f"  Q: {text}\n  A: {', '.join(answers)}\n  quoted: {quote[:200]}")


if __name__ == "__main__":
    main()
