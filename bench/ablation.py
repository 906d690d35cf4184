"""Answer-quality table and ablation: `newsbot eval` on each data set, with each technique off in turn.

    python bench/ablation.py [--data ../shared/data] [--out bench/out]

Writes quality.md: the full ranking, plain BM25, and the change in each metric
when one technique is switched off (negative: the technique helps).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.answer import PLAIN_BM25, Ranking  # noqa: E402
from bot.evaluate import evaluate  # noqa: E402
from index.rebuild import rebuild  # noqa: E402

SETS = [("xquad-en", "english"), ("xquad-ru", "russian"), ("xquad-ar", "arabic")]
METRICS = ["sentence_hit@1", "sentence_hit@3", "quote_hit@1", "quote_hit@3", "mrr@10", "article@1",
           "mean_quote_chars", "mean_sentence_chars"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, dict]] = {}
    for name, language in SETS:
        dataset = args.data / name
        with tempfile.TemporaryDirectory() as scratch:
            index = Path(scratch) / "eval.db"
            rebuild(dataset / "corpus", index, language=language)
            runs = {"all techniques": Ranking(), "plain BM25 (rank-bm25 definition)": PLAIN_BM25}
            runs |= {f"without {t}": Ranking().without([t]) for t in Ranking.techniques()}
            results[name] = {label: evaluate(dataset, language, ranking=ranking, index_path=index).as_json()
                             for label, ranking in runs.items()}
            print(name, json.dumps(results[name]["all techniques"]), flush=True)
    (args.out / "quality.json").write_text(json.dumps(results, indent=1))
    lines = ["| data set | ranking | " + " | ".join(METRICS) + " |", "| --- | --- |" + " ---: |" * len(METRICS)]
    for name, runs in results.items():
        base = runs["all techniques"]
        for label, data in runs.items():
            cells = []
            for metric in METRICS:
                value = data[metric]
                if label.startswith("without") and not metric.startswith("mean"):
                    cells.append(f"{value - base[metric]:+.3f}")
                elif metric.startswith("mean"):
                    cells.append(f"{value:.0f}")
                else:
                    cells.append(f"{value:.3f}")
            lines.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    (args.out / "quality.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
