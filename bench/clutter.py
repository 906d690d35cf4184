"""Page clutter in the quotes a reader is shown: the share of 300 first quotes labelled cluttered.

    python bench/clutter.py ../shared/data/realtimeqa-dev --index bench/out/realtimeqa-dev.db [--show]
    python bench/clutter.py ... --held-out 100    # 100 of the questions the 300 leave out
    python bench/clutter.py ... --held-out 100 --skip 100    # the next 100 of them
    python bench/clutter.py ... --questions archive.jsonl    # the archive variant's first quotes

Draws 300 realtimeqa-dev questions (seeded), answers each as of its date (as `newsbot eval --as-of`
does) and looks up the first quote's label in bench/clutter/labels.jsonl, keyed by question id,
article file and a hash of the quote (the labels hold no article text: the data is not ours); the same quote
labelled for another question keeps that label. The
labels were made by reading each quote: "clean", or the kind of clutter it shows (see KINDS). A quote
that changed gets a new key, so a run after a change in ingest lists the quotes still to be read;
`--show` prints their text (from the index, i.e. from ../shared) to label them. Prints the cluttered
share over the labelled quotes and the count of each kind. The rules of index/segments.py were written
while reading the first draw's quotes from the code before them, so `--held-out` measures on questions
whose quotes were not read while writing them. The held-out draw keeps its order as it grows (the first
100 of `--held-out 200` are those of `--held-out 100`), so `--skip N` names a later, unread part of it.
`--show-cluttered` prints the quotes labelled with a kind of clutter.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.ranking.answer import answer  # noqa: E402
from bot.ranking.evaluate import file_of, load_questions  # noqa: E402
from index.rebuild import rebuild  # noqa: E402
from index.search import Index  # noqa: E402

LABELS = ROOT / "bench" / "clutter" / "labels.jsonl"
SAMPLE = 300
SEED = 21
KINDS = ("link/cue", "heading glued", "dateline", "boilerplate", "caption", "truncated at abbreviation", "glued words")


def quote_key(question_id: str, source: str, quote: str) -> tuple[str, str, str]:
    """How a label names its quote: question, article file, and the quote's hash (not its text)."""
    return question_id, file_of(source), hashlib.sha256(quote.encode("utf-8")).hexdigest()[:16]


def load_labels(path: Path) -> dict[tuple[str, str, str], str]:
    labels = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                labels[(row["id"], row["file"], row["quote"])] = row["label"]
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--index", type=Path, required=True, help="the data set's index (built if missing)")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--show", action="store_true", help="print the text of the quotes not labelled yet")
    parser.add_argument("--quote-chars", action="store_true", help="also print the drawn quotes' mean length")
    parser.add_argument("--held-out", type=int, metavar="N", help="draw N of the questions the 300 leave out")
    parser.add_argument("--skip", type=int, default=0, metavar="N", help="with --held-out: after the first N of them")
    parser.add_argument("--show-cluttered", action="store_true", help="print the quotes labelled cluttered")
    parser.add_argument(
        "--questions", default="questions.jsonl", help="the data set's questions file (archive.jsonl: other quotes)"
    )
    args = parser.parse_args()
    if not args.index.exists():
        rebuild(args.dataset / "corpus", args.index, language="en")
    index = Index(args.index)
    questions = load_questions(args.dataset / args.questions)
    drawn = random.Random(SEED).sample(questions, SAMPLE)
    if args.held_out:
        rest = [q for q in questions if q not in drawn]
        drawn = random.Random(SEED).sample(rest, min(args.skip + args.held_out, len(rest)))[args.skip :]
    labels = load_labels(args.labels)
    read_before = {key[1:]: label for key, label in labels.items()}  # a label is the quote's, not the question's
    counts: collections.Counter = collections.Counter()
    chars = []
    for question in drawn:
        result = answer(index, question.question, top=3, as_of=question.question_date)
        if not result.passages:
            counts["no passage"] += 1
            continue
        first = result.passages[0]
        chars.append(len(first.quote))
        key = quote_key(question.id, first.source, first.quote)
        label = labels.get(key)
        if label is None and key[1:] in read_before:  # the same quote, read for another question
            label = read_before[key[1:]]
            counts["read for another question"] += 1
        counts[label or "unlabelled"] += 1
        if (label is None and args.show) or (label in KINDS and args.show_cluttered):
            print(json.dumps({"id": key[0], "file": key[1], "quote": key[2], "label": label or "?"}))
            print("   ", first.quote, "\n")
    labelled = sum(n for kind, n in counts.items() if kind in KINDS or kind == "clean")
    cluttered = sum(counts[kind] for kind in KINDS)
    print(f"{len(drawn)} quotes drawn (seed {SEED}); labelled {labelled}, unlabelled {counts['unlabelled']}")
    print(f"cluttered: {cluttered}/{labelled} = {cluttered / max(labelled, 1):.1%}")
    for kind in KINDS:
        if counts[kind]:
            print(f"  {kind}: {counts[kind]}")
    if counts["read for another question"]:
        print(f"({counts['read for another question']} of the labels were made for the same quote of another question)")
    if args.quote_chars and chars:
        print(f"mean first-quote chars: {sum(chars) / len(chars):.0f}")


if __name__ == "__main__":
    main()
