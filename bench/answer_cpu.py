"""CPU time of `answer()` over a question set, and where it goes by stage (cProfile).

    python bench/answer_cpu.py --index bench/out/realtimeqa-dev.db \
        --questions ../shared/data/realtimeqa-dev/questions.jsonl [--as-of] [--count 150] [--profile]

Prints one JSON object: the CPU seconds (`time.process_time`, not wall time: the machine is shared) of
answering the first `count` questions with `top=3` after one question to warm the caches; with `--passes N`
also the sum over the questions of each one's least CPU time over N passes through the set (steadier when
other jobs compete for the caches); with `--profile` the cumulative seconds of each stage of the answer
under cProfile and the top functions.
To compare two versions of the code, run it with PYTHONPATH pointing at each checkout in turn.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time
from pathlib import Path

from bot.ranking.answer import answer
from bot.ranking.evaluate import load_questions
from index.search import Index

STAGES = {  # (file ending, function): what the stage is called in the output
    ("answer.py", "prepare_question"): "question",
    ("answer.py", "article_pool"): "articles: pool",
    ("answer.py", "best_articles"): "articles: best",
    ("answer.py", "_rank_passages"): "passages",
    ("answer.py", "rank"): "rank (articles + passages)",
    ("answer.py", "answer"): "answer",
}


def ask_all(index: Index, questions: list, as_of: bool) -> list[float]:
    """Answer each question; the CPU seconds each one took."""
    took = []
    for q in questions:
        started = time.process_time()
        answer(index, q.question, top=3, as_of=q.question_date if as_of else None)
        took.append(time.process_time() - started)
    return took


def stage_seconds(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile).stats
    out = {}
    for (file, _, function), (_, _, _, cumulative, _) in stats.items():
        name = STAGES.get((Path(file).name, function))
        if name:
            out[name] = out.get(name, 0.0) + cumulative
    return dict(sorted(out.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--questions", required=True)
    parser.add_argument("--count", type=int, default=150)
    parser.add_argument("--as-of", action="store_true", help="ask each question as of its question_date")
    parser.add_argument("--passes", type=int, default=1, help="passes through the set, for the least time of each")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top-functions", type=int, default=25)
    args = parser.parse_args()
    index = Index(args.index)
    questions = load_questions(Path(args.questions))[: args.count]
    ask_all(index, questions[:1], args.as_of)  # warm: the per-article arrays, the model, the analyser
    result: dict = {"questions": len(questions), "index": args.index}
    passes = [ask_all(index, questions, args.as_of) for _ in range(max(args.passes, 1))]
    result["cpu_s"] = round(sum(passes[0]), 3)
    if args.passes > 1:
        result["least_cpu_s"] = round(sum(min(times) for times in zip(*passes)), 3)
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(ask_all, index, questions, args.as_of)
        result["profiled_stages_s"] = {k: round(v, 3) for k, v in stage_seconds(profile).items()}
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(args.top_functions)
        result["top_functions"] = text.getvalue().splitlines()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
