"""Answer-quality table and ablation: `newsbot eval` on every data set, for the fitted ranking (alone, and
with its silence model), the hand-set weights, BM25 alone, the hard time window, and with each feature or
switch off in turn.

    python bench/ablation.py [--data ../shared/data] [--out bench/out] [--indexes DIR] [--sets xquad-en,...]

Writes quality.json and quality.md to --out (and the data sets' indexes, unless --indexes names another
folder: `--out bench/results --indexes bench/out` keeps them out of the shipped results): absolute figures
for the whole rankings and, for each `without …` row, the change from the fitted ranking (negative: the
feature helps). Features switched off keep the fitted weights of the others (their value is set to the
training mean), so a row says what the feature adds inside this model, not what a re-fit without it
would reach.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.ranking import features as F  # noqa: E402
from bot.ranking.answer import PLAIN_BM25, SWITCHES, Ranking  # noqa: E402
from bot.ranking.evaluate import evaluate  # noqa: E402
from bot.ranking.model import HAND_SET, default_model  # noqa: E402

SETS = [  # (label, folder, questions file, language, answered as of the question's date)
    ("realtimeqa-dev", "realtimeqa-dev", None, "english", True),
    ("realtimeqa-dev archive", "realtimeqa-dev", "archive.jsonl", "english", True),
    ("xquad-en", "xquad-en", None, "english", False),
    ("xquad-ru", "xquad-ru", None, "russian", False),
    ("xquad-ar", "xquad-ar", None, "arabic", False),
]
METRICS = [
    "sentence_hit@1",
    "sentence_hit@3",
    "quote_hit@1",
    "quote_hit@3",
    "mrr@10",
    "article@1",
    "mean_quote_chars",
    "took_ms_median",
]


def rankings() -> dict[str, Ranking]:
    """Every ranking never silent (the ranking alone, as `newsbot eval --no-silence`), and the shipped one
    with its silence model, where a silent question counts as a miss."""
    fitted = Ranking(model=default_model(), silence=False)
    runs = {
        "fitted (bot/ranking/ranking.json)": fitted,
        "fitted, with silence (shipped)": replace(fitted, silence=True),
        "hand-set weights, same features": Ranking(model=HAND_SET, silence=False),
        "BM25 alone (articles, then their sentences)": replace(PLAIN_BM25, silence=False),
        "hard time window": replace(fitted, hard_window=True),
    }
    runs |= {
        f"without {name}": fitted.without([name]) for name in [*SWITCHES, *F.ARTICLE_FEATURES, *F.PASSAGE_FEATURES]
    }
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--indexes", type=Path, help="folder for the data sets' indexes (default: --out)")
    parser.add_argument("--sets", help="comma-separated data set labels (default: all)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    indexes = args.indexes or args.out
    indexes.mkdir(parents=True, exist_ok=True)
    wanted = set(args.sets.split(",")) if args.sets else None
    results: dict[str, dict[str, dict]] = {}
    for label, folder, questions, language, as_of in SETS:
        if wanted and label not in wanted:
            continue
        dataset = args.data / folder
        index = indexes / f"{folder}.db"
        results[label] = {}
        for name, ranking in rankings().items():
            report = evaluate(
                dataset, language, as_of=as_of, ranking=ranking, index_path=index, questions_file=questions
            )
            results[label][name] = report.as_json()
        print(label, json.dumps(results[label]["fitted (bot/ranking/ranking.json)"]), flush=True)
    (args.out / "quality.json").write_text(json.dumps(results, indent=1))
    lines = ["| data set | ranking | " + " | ".join(METRICS) + " |", "| --- | --- |" + " ---: |" * len(METRICS)]
    for label, runs in results.items():
        base = runs["fitted (bot/ranking/ranking.json)"]
        for name, data in runs.items():
            cells = []
            for metric in METRICS:
                value = data[metric]
                if metric in ("mean_quote_chars", "took_ms_median"):
                    cells.append(f"{value:.0f}" if metric == "mean_quote_chars" else f"{value:.1f}")
                elif name.startswith("without"):
                    cells.append(f"{value - base[metric]:+.3f}")
                else:
                    cells.append(f"{value:.3f}")
            lines.append(f"| {label} | {name} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    (args.out / "quality.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
