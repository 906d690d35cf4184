"""Hostile folders, measured: what a rebuild does with files other programs leave in a news folder.

    python bench/hostile.py [--shared ../shared] [--feed-mb 200] [--interrupts 10]

Each line is one attack and what came of it: a FIFO, a device file, a sparse 3 GB
file, a name that is not UTF-8, one paragraph of 10 MB, a JSONL feed of --feed-mb
(peak memory of the whole rebuild, then the cost of one appended line), and a loop
of Ctrl-C / SIGTERM sent to parallel rebuilds (time to exit, exit code, lock
released, index unchanged). Every rebuild runs as `newsbot index rebuild` in its
own process; peak memory is that of the process tree.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.kill_rebuilds import fingerprint  # noqa: E402
from bench.scale import tree_rss_mb  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def rebuild(folder: Path, index: Path, *extra: str, timeout: float = 3600) -> dict:
    """`newsbot index rebuild` in a process: seconds, peak MB of its process tree, exit code, output."""
    command = [
        sys.executable,
        "-m",
        "bot",
        "index",
        "rebuild",
        "--articles",
        str(folder),
        "--index",
        str(index),
        *extra,
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    stop = threading.Event()

    def watch():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss_mb(process.pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = process.communicate(timeout=timeout)
    stop.set()
    watcher.join()
    return {
        "seconds": time.perf_counter() - started,
        "peak_mb": peak,
        "code": process.returncode,
        "out": out,
        "err": err.strip(),
    }


def reuters_texts(archive: Path) -> list[tuple[str, str, str]]:
    """(date, title, body) of every Reuters-21578 article."""
    out = []
    with tarfile.open(archive) as tar:
        for member in tar:
            if not (member.isfile() and member.name.endswith(".txt")):
                continue
            text = tar.extractfile(member).read().decode("utf-8", "replace")
            first, _, body = text.lstrip().partition("\n")
            parts = first.split(None, 2)
            if len(parts) == 3 and parts[0] == "date":
                out.append((parts[1], parts[2], body.strip()))
    return out


def small_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tram.txt").write_text(" date 2025-03-04 Tram Line Approved\n\nThe tram line opens in 2028.\n")


def attack(name: str, make, base: Path) -> str:
    folder = base / name.replace(" ", "_")
    small_folder(folder)
    try:
        make(folder)
    except (OSError, PermissionError) as error:
        return f"| {name} | not possible here ({error.strerror or error}) | |"
    run = rebuild(folder, base / f"{folder.name}.db", timeout=120)
    lines = [line for line in run["out"].splitlines() if line.startswith("skipped")]
    return (
        f"| {name} | exit {run['code']}, {run['seconds']:.1f} s, peak {run['peak_mb']:.0f} MB | "
        f"{'; '.join(lines) or run['err']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--feed-mb", type=int, default=200)
    parser.add_argument("--interrupts", type=int, default=10)
    args = parser.parse_args()
    archive = args.shared / "data" / "reuters-21578.tar.gz"
    articles = reuters_texts(archive)
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        rows = ["| attack | result | what the summary says |", "| --- | --- | --- |"]
        rows.append(attack("FIFO named pipe.txt", lambda f: os.mkfifo(f / "pipe.txt"), base))
        rows.append(
            attack(
                "device file zero.txt (/dev/zero's numbers)",
                lambda f: os.mknod(f / "zero.txt", 0o600 | 0o020000, os.makedev(1, 5)),
                base,
            )
        )

        def sparse(folder):
            with open(folder / "huge.txt", "wb") as handle:
                handle.truncate(3 << 30)

        rows.append(attack("sparse 3 GB huge.txt", sparse, base))
        rows.append(
            attack(
                "name with undecodable bytes",
                lambda f: open(os.fsencode(f) + b"/bad\xff\xfename.txt", "w").write(
                    " date 2025-01-01 Bad\n\nBad name.\n"
                ),
                base,
            )
        )

        def long_paragraph(folder):
            body = " ".join(body.replace("\n", " ") for _, _, body in articles)
            while len(body) < 10 << 20:
                body += " " + body
            (folder / "transcript.txt").write_text(" date 2025-01-01 Transcript\n\n" + body[: (10 << 20) - 100])

        rows.append(attack("one paragraph of 10 MB", long_paragraph, base))
        print("\n".join(rows), flush=True)

        # A JSONL feed of --feed-mb, from Reuters articles repeated with new dates and titles.
        feed = base / "feed"
        feed.mkdir()
        rng = random.Random(5)
        count = 0
        with open(feed / "feed.jsonl", "w", encoding="utf-8") as handle:
            while handle.tell() < args.feed_mb << 20:
                date, title, body = articles[count % len(articles)]
                year = 1990 + rng.randrange(30)
                handle.write(
                    json.dumps({"date": f"{year}{date[4:]}", "title": f"{title} ({count})", "text": body}) + "\n"
                )
                count += 1
        size = (feed / "feed.jsonl").stat().st_size / 2**20
        first = rebuild(feed, base / "feed.db")
        with open(feed / "feed.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"date": "2031-01-01", "title": "Appended", "text": "One more line."}) + "\n")
        appended = rebuild(feed, base / "feed.db")
        print(
            f"\nJSONL feed of {size:.0f} MB, {count:,} lines: full rebuild {first['seconds']:.0f} s, "
            f"peak {first['peak_mb']:.0f} MB (exit {first['code']}); one appended line: "
            f"{appended['seconds']:.1f} s, peak {appended['peak_mb']:.0f} MB ({appended['out'].splitlines()[0]})",
            flush=True,
        )

        # Ctrl-C and SIGTERM at random moments of parallel rebuilds of 3,000 Reuters files.
        many = base / "many"
        many.mkdir()
        for number, (date, title, body) in enumerate(articles[:3000]):
            (many / f"{number:05d}.txt").write_text(f" date {date} {title}\n\n{body}\n")
        index = base / "many.db"
        subprocess.run(
            [sys.executable, "-m", "bot", "index", "rebuild", "--articles", str(many), "--index", str(index)],
            env=ENV,
            check=True,
            capture_output=True,
        )
        before = fingerprint(index)
        exits, codes, lines, unchanged = [], [], [], 0
        for number in range(args.interrupts):
            for path in many.glob("0000*.txt"):  # something to do: touch a few files
                path.write_text(path.read_text() + f"\n\nUpdate {number}.\n")
            sig = signal.SIGINT if number % 2 == 0 else signal.SIGTERM
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "index",
                    "rebuild",
                    "--full",
                    "--articles",
                    str(many),
                    "--index",
                    str(index),
                ],
                env=ENV,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            time.sleep(rng.uniform(0.5, 2.5))
            os.killpg(process.pid, sig) if sig == signal.SIGINT else process.send_signal(sig)
            started = time.perf_counter()
            _, err = process.communicate(timeout=60)
            exits.append(time.perf_counter() - started)
            codes.append(process.returncode)
            lines.append(len(err.strip().splitlines()))
            now = fingerprint(index)
            unchanged += now == before or process.returncode == 0
            before = now
        locked = subprocess.run(
            [sys.executable, "-m", "bot", "index", "rebuild", "--articles", str(many), "--index", str(index)],
            env=ENV,
            capture_output=True,
            text=True,
        )
        print(
            f"\nCtrl-C / SIGTERM during {args.interrupts} parallel full rebuilds (3,000 files): slowest exit "
            f"{max(exits):.2f} s, exit codes {sorted(set(codes))}, stderr lines {sorted(set(lines))}, index "
            f"intact and unchanged (or rebuilt) {unchanged}/{args.interrupts}, next rebuild "
            f"{'ran' if locked.returncode == 0 else 'failed: ' + locked.stderr.strip()}"
        )


if __name__ == "__main__":
    main()
