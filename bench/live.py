"""Live benchmark: how soon an article dropped into a watched folder can be asked about.

    pip install '.[bench]'
    python bench/live.py                       # 100k and 1M sentences (about 20 minutes)
    python bench/live.py --sizes 100k --drops 10
    python bench/live.py --follows 1000,5000    # standing questions' cost (about 6 CPU minutes)

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

With --follows N,M (instead of the sizes): the cost of standing questions, in one process as a face runs
them (`Live` with its watcher thread and its push thread, as `newsbot console` does), on the 100k
collection. N varied questions (natural ones, article titles, five-word phrases; FOLLOWS_PER_CHAT a chat)
are registered in a fresh state file, NEWSBOT_MAX_FOLLOWS_TOTAL raised to N for it (the default cap is
1,000). Then --follow-batches times: --follow-batch-size new articles dated today (re-mixed Reuters
articles, as corpus.py makes them) are copied in at once; measured are the push loop's work for that batch
(`Live._record_changes`: the answers of every question, and their recording; wall and CPU seconds, and the
thread it ran in), and the landing time of one more article written while that work runs (write -> the
watcher's transaction committed), against the same landing with nothing to compute. Writes follows.json
and follows.md to --out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import bot.live.follows as follows  # noqa: E402
import bot.live.runner as runner  # noqa: E402
from bench.corpus import SEED, Source, _text, load_reuters, make_collection, make_questions, natural_questions  # noqa: E402
from bench.scale import SIZES, newsbot, percentile, run_measured  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.live.follows import FollowError, FollowStore  # noqa: E402
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


FOLLOWS_PER_CHAT = 10  # standing questions per chat in the --follows scenario (the per-chat cap is 20)


def follow_questions(sources: list[Source], shared: Path, count: int) -> list[str]:
    """`count` different questions: natural ones, then article titles and five-word phrases (corpus.py)."""
    rng = random.Random(SEED)
    found = dict.fromkeys(natural_questions(shared))
    each = count
    while len(found) < count:
        found.update(dict.fromkeys(make_questions(sources, rng, each=each // 2 + 1)))
        each *= 2
    questions = list(found)[:count]
    rng.shuffle(questions)
    return questions


def todays_articles(sources: list[Source], rng: random.Random, count: int, today: str) -> list[str]:
    """`count` new articles dated today: real articles' titles and paragraphs, each sentence kept with
    probability 1/2, otherwise another sentence of the archive (as corpus.py makes its later articles)."""
    pool = [s for src in sources for p in src.paragraphs for s in p]
    made = []
    for _ in range(count):
        template = rng.choice(sources)
        paragraphs = [[s if rng.random() < 0.5 else rng.choice(pool) for s in p] for p in template.paragraphs]
        made.append(_text(Source(template.title, today, paragraphs), today))
    return made


def wait_for(what, seconds: float, why: str, log=lambda: "") -> None:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            raise SystemExit(f"{why} after {seconds:.0f} s{log()}")
        time.sleep(0.02)


def bench_follows(count: int, out: Path, sources, shared: Path, batches: int, batch_size: int) -> dict:
    label = "100k"
    corpus = out / f"corpus-{label}"
    if not corpus.exists():
        print(f"[follows] writing collection {label} …", flush=True)
        make_collection(sources, SIZES[label], corpus)
    incoming = corpus / "follows"  # removed before the rebuild: every run starts from the same index
    shutil.rmtree(incoming, ignore_errors=True)
    index_path = out / f"follows-{label}.db"
    for path in (index_path, index_path.with_name(index_path.name + ".state.db")):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"[follows {count}] full rebuild …", flush=True)
    run_measured(newsbot("index", "rebuild", "--full", "--articles", str(corpus), "--index", str(index_path)))
    index = Index(index_path)
    meta = index.meta()

    environ = {
        **os.environ,
        "NEWSBOT_MAX_FOLLOWS_TOTAL": str(max(count, 1000)),  # the default cap (1,000) would refuse the rest
        "NEWSBOT_MAX_FOLLOWS": str(FOLLOWS_PER_CHAT),
        "NEWSBOT_WATCH": "1",
        "NEWSBOT_RECONCILE_MINUTES": "1440",
    }
    environ.pop("NEWSBOT_STATE", None)
    settings = load_settings(environ, env_file=out / "no.env")
    questions = follow_questions(sources, shared, count)
    print(f"[follows {count}] registering {count:,} standing questions …", flush=True)
    started = time.perf_counter()
    capped = FollowStore(settings.state_for(index_path), settings.max_follows, 1000)  # the default cap, once
    refused = 0
    for n, question in enumerate(questions):
        try:
            capped.add(1000 + n // FOLLOWS_PER_CHAT, 1, question)
        except FollowError:
            refused += 1
            break
    capped.close()
    store = FollowStore(settings.state_for(index_path), settings.max_follows, settings.max_follows_total)
    for n, question in enumerate(questions[1000:] if refused else [], start=1000):
        store.add(1000 + n // FOLLOWS_PER_CHAT, 1, question)
    registered = len(store.active())
    store.close()
    register_s = time.perf_counter() - started

    applied: list[tuple[float, list[str]]] = []  # (when, paths) of each batch the watcher committed
    works: list[dict] = []  # each run of the push loop's work (Live._record_changes)
    calls: list[dict] = []  # each `answers` call inside it
    delivered = [0]

    real_each_answer, real_matching = runner.each_answer, follows.matching

    def timed_answers(index, ids, asking, *args, **kwargs):
        call = {"ids": len(ids), "follows": len(asking), "pushes": 0, "start": time.perf_counter()}
        calls.append(call)
        for push in real_each_answer(index, ids, asking, *args, **kwargs):
            call["pushes"] += 1
            call.setdefault("first_push_s", time.perf_counter() - call["start"])
            yield push

    def counted_matching(snap, ids, asking):
        asked = real_matching(snap, ids, asking)
        if calls:
            calls[-1]["asked"] = len(asked)  # the distinct questions that pass the prefilter
        return asked

    live = runner.Live(
        settings,
        index,
        corpus,
        deliver=lambda pushes: delivered.__setitem__(0, delivered[0] + len(pushes)),
        watch=True,
        face="bench",
    )
    real_record = live._record_changes

    def timed_record(*args, **kwargs):
        work = {
            "thread": threading.current_thread().name,
            "start": time.perf_counter(),
            "thread_cpu0": time.thread_time(),
            "process_cpu0": time.process_time(),
            "calls": len(calls),
        }
        try:
            return real_record(*args, **kwargs)
        finally:
            work["end"] = time.perf_counter()
            work["thread_cpu_s"] = time.thread_time() - work.pop("thread_cpu0")
            work["process_cpu_s"] = time.process_time() - work.pop("process_cpu0")
            work["answers"] = calls[work.pop("calls") :]
            if work["answers"]:
                works.append(work)

    live._record_changes = timed_record
    runner.each_answer, follows.matching = timed_answers, counted_matching
    real_on_batch = live.watcher.on_batch
    live.watcher.on_batch = lambda batch: (
        applied.append((time.perf_counter(), list(batch.paths))),
        real_on_batch(batch),
    )
    watcher_thread = ""
    result = {"follows": count, "registered": registered, "refused_at_default_cap": refused, "register_s": register_s}
    result.update(sentences=meta.documents, articles=meta.articles, batch_size=batch_size)
    incoming.mkdir()
    try:
        live.start()
        wait_for(live.watcher.ready.is_set, 120, "the watcher did not start")
        watcher_thread = live.watcher._thread.name
        answer(index, "cocoa exports", top=3)  # warm: the first question loads what the index keeps in memory

        def land(name: str) -> tuple[float, float]:
            """Write one article (dated 2031: never news, so it asks no standing question) and return when it
            was written and how long until the watcher's transaction that held it committed."""
            path = incoming / f"{name}.txt"
            written = time.perf_counter()
            path.write_text(STORY.format(day=1, n=0, word=f"zqx{name}"), encoding="utf-8")
            wanted = f"{incoming.name}/{path.name}"

            def holds(paths: list[str]) -> bool:  # a batch names a new folder, not the files below it
                return any(wanted == p or wanted.startswith(p.rstrip("/") + "/") for p in paths)

            wait_for(
                lambda: any(holds(paths) for _, paths in applied), 120, f"{name} not applied", lambda: f" {applied}"
            )
            return written, next(when for when, paths in applied if holds(paths)) - written

        def idle() -> None:
            time.sleep(1.5)  # the push loop polls once a second
            wait_for(lambda: not live.store.push_states().get("pending"), 300, "pushes not delivered")

        print(f"[follows {count}] landing with nothing to compute …", flush=True)
        quiet = []
        for n in range(3):
            quiet.append(land(f"quiet{count}n{n}")[1])
            idle()
        result["quiet_landing_s"] = percentile(quiet, 50)

        rng = random.Random(SEED + count)
        today = dt.date.today().isoformat()
        rows = []
        for k in range(batches):
            print(f"[follows {count}] batch {k + 1} of {batches} ({batch_size} articles dated {today}) …", flush=True)
            staging = out / "follows-staging" / f"batch{k}"
            shutil.rmtree(staging.parent, ignore_errors=True)
            staging.mkdir(parents=True)
            for n, text in enumerate(todays_articles(sources, rng, batch_size, today)):
                (staging / f"new{n}.txt").write_text(text, encoding="utf-8")
            before, asked = len(works), len(calls)
            shutil.copytree(staging, incoming / f"{count}-batch{k}")
            # the watcher applied the batch and woke the push loop, whose work on it has begun
            wait_for(lambda asked=asked: any(c["ids"] for c in calls[asked:]), 120, "no work on the batch")
            time.sleep(0.3)
            written, landing = land(f"during{count}b{k}")
            wait_for(lambda before=before: len(works) > before, 600, "the batch's work did not end")
            work = works[before]
            rows.append(
                {
                    "compute_s": work["end"] - work["start"],
                    "thread_cpu_s": work["thread_cpu_s"],
                    "process_cpu_s": work["process_cpu_s"],
                    "thread": work["thread"],
                    "ids": sum(c["ids"] for c in work["answers"]),
                    "pushes": sum(c.get("pushes", 0) for c in work["answers"]),
                    "asked": sum(c.get("asked", 0) for c in work["answers"]),
                    "first_push_s": min(
                        (c["first_push_s"] for c in work["answers"] if "first_push_s" in c), default=None
                    ),
                    "drop_written_after_start_s": written - work["start"],
                    "drop_landing_s": landing,
                    "drop_landed_before_work_ended": written + landing < work["end"],
                }
            )
            idle()
        shutil.rmtree(staging.parent, ignore_errors=True)
    finally:
        runner.each_answer, follows.matching = real_each_answer, real_matching
        live.stop()
        shutil.rmtree(incoming, ignore_errors=True)
    computes = [r["compute_s"] for r in rows]
    result.update(
        batches=rows,
        compute_s_median=percentile(computes, 50),
        compute_s_max=max(computes),
        thread_cpu_s_median=percentile([r["thread_cpu_s"] for r in rows], 50),
        process_cpu_s_median=percentile([r["process_cpu_s"] for r in rows], 50),
        drop_landing_s_median=percentile([r["drop_landing_s"] for r in rows], 50),
        drop_landing_s_max=max(r["drop_landing_s"] for r in rows),
        drops_landed_during_work=sum(r["drop_landed_before_work_ended"] for r in rows),
        pushes_median=percentile([r["pushes"] for r in rows], 50),
        asked_median=percentile([r["asked"] for r in rows], 50),
        first_push_s_median=percentile([r["first_push_s"] for r in rows if r["first_push_s"] is not None] or [0], 50),
        work_threads=sorted({r["thread"] for r in rows}),
        watcher_thread=watcher_thread,
        delivered=delivered[0],
    )
    return result


def follows_markdown(results: list[dict], machine: str, command: str) -> str:
    lines = [
        f"Machine: {machine}. Command: `{command}`.",
        "",
        "| follows | sentences | batch articles | questions asked | pushes per batch | first push recorded s | "
        "push work median s | push work max s | CPU s (push thread) | CPU s (process) | landing, idle s | "
        "landing during work median s | landing during work max s | landed before work ended | work in thread |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {r['follows']:,} | {r['sentences']:,} | {r['batch_size']} | {r['asked_median']:.0f} | "
            f"{r['pushes_median']:.0f} | {r['first_push_s_median']:.2f} | "
            f"{r['compute_s_median']:.1f} | {r['compute_s_max']:.1f} | {r['thread_cpu_s_median']:.1f} | "
            f"{r['process_cpu_s_median']:.1f} | {r['quiet_landing_s']:.2f} | {r['drop_landing_s_median']:.2f} | "
            f"{r['drop_landing_s_max']:.2f} | {r['drops_landed_during_work']} of {len(r['batches'])} | "
            f"{', '.join(r['work_threads'])} (watcher: {r['watcher_thread']}) |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1M")
    parser.add_argument("--drops", type=int, default=20)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--follows", default="", help="standing questions' cost instead, e.g. 1000,5000")
    parser.add_argument("--follow-batches", type=int, default=3)
    parser.add_argument("--follow-batch-size", type=int, default=20)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    archive = args.shared / "data" / "reuters-21578.tar.gz"
    if not archive.exists():
        raise SystemExit(f"needs {archive}")
    args.out.mkdir(parents=True, exist_ok=True)
    sources = load_reuters(archive)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    command = "python bench/live.py " + " ".join(sys.argv[1:])
    if args.follows:
        found = [
            bench_follows(int(n), args.out, sources, args.shared, args.follow_batches, args.follow_batch_size)
            for n in args.follows.split(",")
        ]
        (args.out / "follows.json").write_text(json.dumps({"machine": machine, "results": found}, indent=2))
        (args.out / "follows.md").write_text(follows_markdown(found, machine, command))
        print(follows_markdown(found, machine, command))
        return
    results = [
        bench_size(label, SIZES[label], args.out, sources, args.drops, args.burst, args.idle)
        for label in args.sizes.split(",")
    ]
    (args.out / "live.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    (args.out / "live.md").write_text(markdown(results, machine, command))
    print(markdown(results, machine, command))


if __name__ == "__main__":
    main()
