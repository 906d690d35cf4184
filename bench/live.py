"""Live benchmark: how soon an article dropped into a watched folder can be asked about.

    pip install '.[bench]'
    python bench/live.py                       # 100k and 1M sentences (about 20 minutes)
    python bench/live.py --sizes 100k --drops 10

For each size, on the Reuters-made collection of bench/corpus.py (made once, shared
with bench/scale.py), with its index built by a full rebuild:

* `newsbot index watch` runs as its own process (the real command);
* idle: its CPU use over --idle seconds while nothing changes;
* landing: --drops times, one new article (with a word found nowhere else) is
  written into the folder, and the time from the write to the moment a question
  with that word is answered from it is taken (answers asked every 20 ms, each on a
  fresh snapshot, as `newsbot ask` would);
* burst: --burst new articles copied in at once; the time until every one is in
  the index, and in how many transactions (the watcher's log lines).

Targets (issue 13): landing p95 <= 2 s at 100k and 1M; a burst of 1,000 in <= 30 s
at 1M; idle CPU near zero. Writes live.json and live.md to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import load_reuters, make_collection  # noqa: E402
from bench.scale import SIZES, newsbot, percentile, run_measured  # noqa: E402
from bot.ranking.answer import answer  # noqa: E402
from index.search import Index  # noqa: E402

STORY = (
    " date 2031-05-{day:02d} Live Story {n}\n\nTraders in the port said the {word} shipment of cocoa "
    "arrived on Monday, a day late.\n\nOfficials expect exports to rise next year.\n"
)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def answered(index: Index, word: str) -> bool:
    return any(word in p.sentence for p in answer(index, word, top=1).passages)


def article_count(index: Index) -> int:
    with index.snapshot() as snap:
        return snap.article_count()


def start_watcher(corpus: Path, index_path: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "NEWSBOT_LOG_LEVEL": "INFO", "NEWSBOT_RECONCILE_MINUTES": "1440"}
    handle = log.open("w")
    process = subprocess.Popen(
        newsbot("index", "watch", "--articles", str(corpus), "--index", str(index_path)),
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 600
    while "Watching " not in log.read_text():  # the first full check is done: events are watched
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"the watcher did not start (exit {process.poll()}):\n{log.read_text()}")
        time.sleep(0.2)
    return process


def bench_size(label: str, size: int, out: Path, sources, drops: int, burst: int, idle: float) -> dict:
    corpus = out / f"corpus-{label}"
    if not corpus.exists():
        print(f"[{label}] writing collection …", flush=True)
        make_collection(sources, size, corpus)
    index_path = out / f"live-{label}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index_path}{suffix}").unlink(missing_ok=True)
    incoming = corpus / "live"
    shutil.rmtree(incoming, ignore_errors=True)
    print(f"[{label}] full rebuild …", flush=True)
    built = run_measured(newsbot("index", "rebuild", "--full", "--articles", str(corpus), "--index", str(index_path)))
    index = Index(index_path)
    meta = index.meta()
    result = {"label": label, "sentences": meta.documents, "articles": meta.articles, "rebuild_s": built["seconds"]}
    log = out / f"live-{label}.log"
    started = time.perf_counter()
    watcher = start_watcher(corpus, index_path, log)
    result["watch_start_s"] = time.perf_counter() - started
    try:
        print(f"[{label}] idle {idle:.0f} s …", flush=True)
        before = cpu_seconds(watcher.pid)
        time.sleep(idle)
        result["idle_cpu_percent"] = 100 * (cpu_seconds(watcher.pid) - before) / idle

        print(f"[{label}] {drops} single articles …", flush=True)
        incoming.mkdir()
        landings = []
        for n in range(drops):
            word = f"zqx{label.lower()}drop{n}"
            landed = time.perf_counter()
            (incoming / f"drop{n}.txt").write_text(STORY.format(day=n % 28 + 1, n=n, word=word), encoding="utf-8")
            while not answered(index, word):
                if time.perf_counter() - landed > 60:
                    raise SystemExit(f"article {n} not answerable after 60 s:\n{log.read_text()[-2000:]}")
                time.sleep(0.02)
            landings.append(time.perf_counter() - landed)
            time.sleep(0.5)
        result.update(
            landing_s_median=percentile(landings, 50),
            landing_s_p95=percentile(landings, 95),
            landing_s_max=max(landings),
        )

        print(f"[{label}] burst of {burst} …", flush=True)
        expected = article_count(index) + burst
        batches_before = log.read_text().count("applied ")
        staging = out / f"burst-{label}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for n in range(burst):
            (staging / f"burst{n}.txt").write_text(
                STORY.format(day=n % 28 + 1, n=10_000 + n, word=f"zqxburst{n}"), encoding="utf-8"
            )
        landed = time.perf_counter()
        shutil.copytree(staging, incoming / "burst")  # an rsync or cp -r of 1,000 files
        while article_count(index) < expected:
            if time.perf_counter() - landed > 300:
                raise SystemExit(f"burst not applied after 300 s:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        result["burst_s"] = time.perf_counter() - landed
        time.sleep(1.0)
        result["burst_transactions"] = log.read_text().count("applied ") - batches_before
        result["burst_all_answerable"] = all(
            answered(index, f"zqxburst{n}") for n in range(0, burst, max(burst // 20, 1))
        )
        shutil.rmtree(staging)
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(30)
        shutil.rmtree(incoming, ignore_errors=True)
    return result


def markdown(results: list[dict], machine: str, command: str) -> str:
    lines = [
        f"Machine: {machine}. Command: `{command}`.",
        "",
        "| sentences | articles | watcher start s | idle CPU % | landing median s | landing p95 s | "
        "landing max s | burst articles s | burst transactions |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['sentences']:,} | {r['articles']:,} | {r['watch_start_s']:.1f} | "
            f"{r['idle_cpu_percent']:.2f} | {r['landing_s_median']:.2f} | {r['landing_s_p95']:.2f} | "
            f"{r['landing_s_max']:.2f} | {r['burst_s']:.1f} | {r['burst_transactions']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1M")
    parser.add_argument("--drops", type=int, default=20)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    archive = args.shared / "data" / "reuters-21578.tar.gz"
    if not archive.exists():
        raise SystemExit(f"needs {archive}")
    args.out.mkdir(parents=True, exist_ok=True)
    sources = load_reuters(archive)
    results = [
        bench_size(label, SIZES[label], args.out, sources, args.drops, args.burst, args.idle)
        for label in args.sizes.split(",")
    ]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    command = "python bench/live.py " + " ".join(sys.argv[1:])
    (args.out / "live.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    (args.out / "live.md").write_text(markdown(results, machine, command))
    print(markdown(results, machine, command))


if __name__ == "__main__":
    main()
