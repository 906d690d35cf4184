"""Scale benchmark: newsbot beside rank-bm25, bm25s (numpy and numba) and SQLite FTS5.

    pip install '.[bench]'
    python bench/scale.py                      # 10k, 100k and 1M sentences (about 15 minutes)
    python bench/scale.py --sizes 10k          # the quick version
    python bench/scale.py --sizes 10M --inputs txt,jsonl   # ten million sentences (about 90 minutes)
    python bench/scale.py --sizes 10M --rebuilds-only      # the rebuild and update rows alone

Collections are made from ../shared/data/reuters-21578.tar.gz (see bench/corpus.py).
For each size it runs, each in a fresh process: newsbot's full rebuild (time, peak
memory of the whole process tree, index size), an incremental rebuild adding 10
articles and one removing them (`newsbot index rebuild`, which walks the folder, and
a watcher's batch, `rebuild(only=[...])`, which reads the paths it is told of),
`newsbot ask` (start to first answer, peak RSS, took_ms), and every engine on the
same sentences and questions (bench/peers.py). Writes scale.json, scale.md and
scale.png to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import load_reuters, make_collection, natural_questions  # noqa: E402
from index.search import Index  # noqa: E402
from index.terms import Analyzer  # noqa: E402

SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000, "10M": 10_000_000}
ENGINES = ["newsbot", "newsbot-answer", "rank-bm25", "bm25s", "bm25s-numba", "fts5"]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0) / 1024
            with open(f"/proc/{current}/task/{current}/children") as children:
                stack += [int(c) for c in children.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run_measured(cmd: list[str], stdin: str | None = None, env=None) -> dict:
    """Run a command; wall seconds, peak RSS of its process tree, stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    streams: dict[str, str] = {}
    reader = threading.Thread(target=lambda: streams.update(zip(("out", "err"), process.communicate(stdin))))
    reader.start()
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, tree_rss_mb(process.pid))
        time.sleep(0.02)
    reader.join()
    out, err = streams["out"], streams["err"]
    if process.returncode:
        raise RuntimeError(f"{cmd} failed: {err[-2000:]}")
    return {"seconds": time.perf_counter() - started, "peak_mb": peak, "stdout": out}


def newsbot(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]


def export_tokens(index_path: Path, out: Path) -> None:
    """The index's documents as our analyser's tokens, for the peers."""
    analyzer = Analyzer("en")
    with Index(index_path).snapshot() as snap:
        rows = [(row.id, row.text) for row in snap.each_sentence()]
    vocab: dict[str, int] = {}
    flat, offsets = [], [0]
    for _, text in rows:
        flat.extend(vocab.setdefault(t, len(vocab)) for t in analyzer.terms(text))
        offsets.append(len(flat))
    np.savez(
        out,
        ids=np.array([r[0] for r in rows], np.int64),
        flat=np.array(flat, np.int32),
        offsets=np.array(offsets, np.int64),
        vocab=np.array(list(vocab), dtype=object).astype(str),
    )


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def start_to_first_answer(index_path: Path, question: str, runs: int = 5) -> float:
    """Median wall time of `newsbot ask`, from a process start to its answer. The modules' bytecode is
    cached first, as `pip install .` compiles it: with PYTHONDONTWRITEBYTECODE set (as on some machines)
    every run would compile the sources again, some 0.3 s no installed user pays."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = newsbot("ask", "--json", "--index", str(index_path), question)
    times = []
    with tempfile.TemporaryDirectory() as cache:
        env["PYTHONPYCACHEPREFIX"] = cache
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True, env=env)  # writes the bytecode
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(command, cwd=ROOT, capture_output=True, check=True, env=env)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def exactness(ours: list, reference: list) -> float:
    """Share of questions whose top 10 equals rank-bm25's, ties aside."""
    same = 0
    for a, b in zip(ours, reference):
        a = [x for x in a if x[1] > 1e-12]  # rank-bm25 ranks every sentence; compare the matching ones
        b = [x for x in b if x[1] > 1e-12]
        scores_a, scores_b = [s for _, s in a], [s for _, s in b[: len(a)]]
        if len(scores_a) != len(scores_b) or not np.allclose(scores_a, scores_b, rtol=1e-5, atol=1e-9):
            continue
        cut = scores_a[-1] if scores_a else 0
        strict_a = {i for i, s in a if not np.isclose(s, cut, rtol=1e-5)}
        strict_b = {i for i, s in b[: len(a)] if not np.isclose(s, cut, rtol=1e-5)}
        same += strict_a == strict_b
    return same / max(len(ours), 1)


def engines_for(size: int, asked: str) -> list[str]:
    if asked != "auto":
        return asked.split(",")
    # At 10M rank-bm25 would hold some 10 GB of per-document dicts and take 10 s a question; bm25s's numpy
    # backend and FTS5 take hours over 400 questions. bm25s-numba is the peer that matters there.
    return ["newsbot", "newsbot-answer", "bm25s-numba"] if size > 1_000_000 else ENGINES


WATCH_BATCH = "from index.rebuild import rebuild; import sys; rebuild(sys.argv[1], sys.argv[2], only=['incoming'])"


def bench_size(
    label: str,
    size: int,
    out: Path,
    sources,
    engines: list[str],
    inputs: list[str],
    natural: Path,
    rebuilds_only: bool = False,
) -> dict:
    index_path = out / f"index-{label}.db"
    result = {"label": label, "builds": {}}
    for fmt in inputs:
        corpus = out / (f"corpus-{label}" if fmt == "txt" else f"corpus-{label}-{fmt}")
        if not corpus.exists():
            print(f"[{label}] writing collection as {fmt} …", flush=True)
            make_collection(sources, size, corpus, fmt)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{index_path}{suffix}").unlink(missing_ok=True)
        print(f"[{label}] full rebuild from {fmt} …", flush=True)
        full = run_measured(
            newsbot("index", "rebuild", "--full", "--articles", str(corpus), "--index", str(index_path))
        )
        result["builds"][fmt] = {
            "rebuild_s": full["seconds"],
            "rebuild_peak_mb": full["peak_mb"],
            "index_mb": sum(os.path.getsize(p) for p in out.glob(f"index-{label}.db*") if p.is_file()) / 2**20,
        }
    meta = Index(index_path).meta()
    result.update(sentences=meta.documents, articles=meta.articles, terms=meta.vocabulary)
    incoming = corpus / "incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir()
    for i in range(10):
        (incoming / f"new{i}.txt").write_text(
            f" date 2030-01-{i + 1:02d} Incoming Story {i}\n\nA new story number {i} about cocoa and coffee prices. "
            "Traders said stocks were low.\n\nOfficials said exports would rise next year.\n"
        )
    inc = run_measured(newsbot("index", "rebuild", "--articles", str(corpus), "--index", str(index_path)))
    result["incremental_add10_s"] = inc["seconds"]
    moved = corpus.with_name(corpus.name + "-incoming")
    shutil.rmtree(moved, ignore_errors=True)
    incoming.rename(moved)
    dele = run_measured(newsbot("index", "rebuild", "--articles", str(corpus), "--index", str(index_path)))
    result["incremental_remove10_s"] = dele["seconds"]
    watch_batch = [sys.executable, "-c", WATCH_BATCH, str(corpus), str(index_path)]
    moved.rename(incoming)
    result["watch_add10_s"] = run_measured(watch_batch)["seconds"]
    shutil.rmtree(incoming)
    result["watch_remove10_s"] = run_measured(watch_batch)["seconds"]
    result["answers"], result["engines"] = {}, {}
    if rebuilds_only:
        return result

    question_files = {"made": out / f"corpus-{label}.questions.jsonl", "natural": natural}
    question_files = {name: path for name, path in question_files.items() if path.exists()}
    print(f"[{label}] serving …", flush=True)
    first = json.loads(next(iter(question_files.values())).open().readline())["question"]
    result["start_to_first_answer_s"] = start_to_first_answer(index_path, first)
    for name, path in question_files.items():
        batch = run_measured(newsbot("ask", "--json", "--index", str(index_path)), stdin=path.read_text())
        took = [json.loads(line)["took_ms"] for line in batch["stdout"].splitlines()]
        result["answers"][name] = {
            "ask_peak_mb": batch["peak_mb"],
            "took_ms_median": statistics.median(took),
            "took_ms_p99": percentile(took, 99),
            "questions": len(took),
        }

    tokens = out / f"tokens-{label}.npz"
    if any(e != "newsbot" for e in engines):  # always anew: a file left by an older index has other sentences
        print(f"[{label}] exporting tokens for the peers …", flush=True)
        export_tokens(index_path, tokens)
    for engine in engines:
        limit = 50 if engine == "rank-bm25" and size >= 1_000_000 else 0  # about 1 s a question at 1M
        print(f"[{label}] {engine} …", flush=True)
        run = run_measured(
            [
                sys.executable,
                str(HERE / "peers.py"),
                engine,
                "--index",
                str(index_path),
                "--tokens",
                str(tokens),
                "--questions",
                *map(str, question_files.values()),
                "--limit",
                str(limit),
            ],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        data = json.loads(run["stdout"])
        result["engines"][engine] = {
            "build_s": data["build_s"],
            "rss_added_mb": data["rss_added_mb"],
            "sets": {
                name: {
                    "median_ms": statistics.median(part["times_ms"]),
                    "p99_ms": percentile(part["times_ms"], 99),
                    "questions": len(part["times_ms"]),
                    "tops": part["tops"],
                }
                for name, part in zip(question_files, data["sets"])
            },
        }
    engines_out = result["engines"]
    if "rank-bm25" in engines_out and "newsbot" in engines_out:
        ours, reference = engines_out["newsbot"]["sets"], engines_out["rank-bm25"]["sets"]
        result["exact_top10_vs_rank_bm25"] = {
            name: [
                exactness(ours[name]["tops"][: reference[name]["questions"]], reference[name]["tops"]),
                reference[name]["questions"],
            ]
            for name in reference
        }
    for data in engines_out.values():
        for part in data["sets"].values():
            del part["tops"]
    return result


def ratio(result: dict, engine: str, peer: str, name: str, field: str = "median_ms") -> float:
    engines = result["engines"]
    if engine not in engines or peer not in engines or name not in engines[peer]["sets"]:
        return float("nan")
    return engines[engine]["sets"][name][field] / engines[peer]["sets"][name][field]


def markdown(results: list[dict], machine: str, command: str) -> str:
    lines = [
        f"Machine: {machine}. Command: `{command}`.",
        "",
        "Search only, top 10, one question at a time (`made`: headlines and five-word phrases of the "
        "collection; `natural`: 200 xquad-en and 200 realtimeqa-dev questions):",
        "",
        "| sentences | questions | engine | build s | memory added MB | median ms | p99 ms | "
        "median ÷ bm25s-numba | p99 ÷ bm25s-numba |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        for engine, d in r["engines"].items():
            for name, part in d["sets"].items():
                lines.append(
                    f"| {r['sentences']:,} | {name} | {engine} | {d['build_s']:.1f} | {d['rss_added_mb']:.0f} | "
                    f"{part['median_ms']:.2f} | {part['p99_ms']:.2f} | "
                    f"{ratio(r, engine, 'bm25s-numba', name):.2f} | "
                    f"{ratio(r, engine, 'bm25s-numba', name, 'p99_ms'):.2f} |"
                )
    lines += [
        "",
        "The whole answer beside bare search (`newsbot-answer`: `answer()` with the fitted ranking, top 10, "
        "timed like the searches; took_ms: `newsbot ask`'s own timing of the same questions, top 3):",
        "",
        "| sentences | questions | search median / p99 ms | answer median / p99 ms | took_ms median / p99 | "
        "answer ÷ bm25s (numpy) | answer ÷ bm25s-numba | rank-bm25 ÷ answer |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        engines = r["engines"]
        for name, a in r["answers"].items():
            if "newsbot-answer" not in engines or "newsbot" not in engines:
                continue
            search, whole = engines["newsbot"]["sets"][name], engines["newsbot-answer"]["sets"][name]
            lines.append(
                f"| {r['sentences']:,} | {name} | {search['median_ms']:.2f} / {search['p99_ms']:.2f} | "
                f"{whole['median_ms']:.2f} / {whole['p99_ms']:.2f} | "
                f"{a['took_ms_median']:.2f} / {a['took_ms_p99']:.2f} | "
                f"{ratio(r, 'newsbot-answer', 'bm25s', name):.2f} | "
                f"{ratio(r, 'newsbot-answer', 'bm25s-numba', name):.2f} | "
                f"{1 / ratio(r, 'newsbot-answer', 'rank-bm25', name):.1f} |"
            )
    lines += [
        "",
        "Rebuilds:",
        "",
        "| sentences | input | full rebuild s | peak MB, all processes | index MB |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    for r in results:
        for fmt, b in r["builds"].items():
            lines.append(
                f"| {r['sentences']:,} | {fmt} | {b['rebuild_s']:.1f} | {b['rebuild_peak_mb']:.0f} | "
                f"{b['index_mb']:.0f} |"
            )
    lines += [
        "",
        "Answers (`newsbot ask`, the whole `answer()` with the fitted ranking):",
        "",
        "| sentences | terms | start → first answer s | questions | "
        "`ask` peak RSS MB | took_ms median | took_ms p99 | top-10 = rank-bm25 |",
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        for name, a in r["answers"].items():
            exact = (r.get("exact_top10_vs_rank_bm25") or {}).get(name)
            lines.append(
                f"| {r['sentences']:,} | {r['terms']:,} | {r['start_to_first_answer_s']:.2f} | {name} | "
                f"{a['ask_peak_mb']:.0f} | {a['took_ms_median']:.2f} | {a['took_ms_p99']:.2f} | "
                f"{'' if exact is None else f'{exact[0]:.1%} of {exact[1]}'} |"
            )
    lines += [
        "",
        "Updates: 10 new articles added, then removed (`newsbot index rebuild`, which walks the whole folder; "
        'a watcher\'s batch, `rebuild(only=["incoming"])`, which reads only the paths it is told of):',
        "",
        "| sentences | add 10, rebuild s | remove 10, rebuild s | add 10, watcher batch s | "
        "remove 10, watcher batch s |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['sentences']:,} | {r['incremental_add10_s']:.2f} | {r['incremental_remove10_s']:.2f} | "
            f"{r['watch_add10_s']:.2f} | {r['watch_remove10_s']:.2f} |"
        )
    return "\n".join(_without_empty_tables(lines)) + "\n"


def _without_empty_tables(lines: list[str]) -> list[str]:
    """Each table is a blank line, its caption, a blank line, a header and a separator, then its rows:
    drop those with no rows (a --rebuilds-only run has no searches or answers)."""
    out: list[str] = []
    for at, line in enumerate(lines):
        out.append(line)
        if line.startswith("| ---") and (at + 1 == len(lines) or lines[at + 1] == ""):
            del out[-5:]
    return out


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for engine in ENGINES:
        points = [
            (r["sentences"], r["engines"][engine]["sets"]["made"]["median_ms"])
            for r in results
            if engine in r["engines"] and "made" in r["engines"][engine]["sets"]
        ]
        if points:
            ax.plot(*zip(*points), marker="o", label=engine)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sentences in the collection")
    ax.set_ylabel("median search time per question (ms)")
    ax.set_title("Search time against collection size (one question at a time)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument(
        "--engines", default="auto", help="comma-separated, or auto (all; at 10M newsbot and bm25s-numba)"
    )
    parser.add_argument(
        "--inputs",
        default="txt",
        help="txt, jsonl or txt,jsonl: the collection as .txt folders and/or JSONL feed files, each rebuilt in full",
    )
    parser.add_argument(
        "--rebuilds-only", action="store_true", help="the full rebuild and the updates, no questions or peers"
    )
    args = parser.parse_args()
    archive = args.shared / "data" / "reuters-21578.tar.gz"
    if not archive.exists():
        sys.exit(f"error: {archive} not found (pass --shared)")
    args.out.mkdir(parents=True, exist_ok=True)
    sources = load_reuters(archive)
    natural = args.out / "natural.questions.jsonl"
    natural.write_text(
        "".join(json.dumps({"id": i, "question": q}) + "\n" for i, q in enumerate(natural_questions(args.shared))),
        encoding="utf-8",
    )
    results = []
    for label in args.sizes.split(","):
        results.append(
            bench_size(
                label,
                SIZES[label],
                args.out,
                sources,
                engines_for(SIZES[label], args.engines),
                args.inputs.split(","),
                natural,
                args.rebuilds_only,
            )
        )
        (args.out / "scale.json").write_text(json.dumps(results, indent=1))
    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    command = "python bench/scale.py " + " ".join(sys.argv[1:])
    table = markdown(results, machine, command.strip())
    (args.out / "scale.md").write_text(table)
    if not args.rebuilds_only:
        plot(results, args.out / "scale.png")
    print(table)


if __name__ == "__main__":
    main()
