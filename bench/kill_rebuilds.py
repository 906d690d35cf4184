"""Kill rebuilds at random moments and check the index every time.

    python bench/kill_rebuilds.py --kills 100            # Reuters-21578, about 15 minutes
    python bench/kill_rebuilds.py --kills 5 --small      # the quick version

Two collections, A and B, differ (B drops a third of A's files, changes another
third and adds new ones). One articles folder is switched between them, and its
rebuilds (incremental, or with --full) alternate; each one is
SIGKILLed after a random delay (0 to 1.2 times a normal rebuild). After every
kill the index must open, pass `PRAGMA integrity_check`, hold exactly the
articles of A or exactly those of B (never a mix), and answer a question.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.store import fingerprint  # noqa: E402  (integrity_check, and the digest of the articles held)


def make_folders(base: Path, articles: list[tuple[str, str]]) -> tuple[Path, Path]:
    """Write folder A (all articles) and folder B (a third dropped, a third changed, some new)."""
    a, b = base / "A", base / "B"
    for folder in (a, b):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    for number, (name, text) in enumerate(articles):
        (a / name).write_text(text, encoding="utf-8")
        if number % 3 == 0:
            continue
        if number % 3 == 1:
            text = text.rstrip() + "\n\nThis article was updated with one more paragraph.\n"
        (b / name).write_text(text, encoding="utf-8")
    for number in range(len(articles) // 10):
        (b / f"new_{number:05d}.txt").write_text(
            f" date 2030-01-01 New Story {number}\n\nA new story, number {number}, about grain and oil.\n"
        )
    return a, b


def small_articles(count: int = 400) -> list[tuple[str, str]]:
    rng = random.Random(7)
    words = "wheat oil gold rates bank trade coffee cocoa sugar steel ships ports talks prices".split()
    out = []
    for i in range(count):
        body = "\n\n".join(" ".join(rng.choices(words, k=12)).capitalize() + "." for _ in range(6))
        out.append((f"{i:05d}.txt", f" date 2024-01-{i % 28 + 1:02d} Story {i}\n\n{body}\n"))
    return out


def reuters_articles(archive: Path) -> list[tuple[str, str]]:
    out = []
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".txt"):
                out.append((Path(member.name).name, tar.extractfile(member).read().decode("utf-8", "replace")))
    return sorted(out)


def switch_to(live: Path, source: Path) -> Path:
    """Make the articles folder `live` hold exactly the files of `source` (an index keeps its folder)."""
    shutil.rmtree(live, ignore_errors=True)
    shutil.copytree(source, live)
    return live


def rebuild_command(folder: Path, index: Path, full: bool = False) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bot",
        "index",
        "rebuild",
        "--articles",
        str(folder),
        "--index",
        str(index),
        *(["--full"] if full else []),
    ]


def run(a: Path, b: Path, index: Path, kills: int, seed: int = 1, full: bool = False) -> dict:
    """Kill rebuilds of one articles folder whose files are switched between collection A and B."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(seed)
    live = index.parent / "live-articles"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    prints = {}
    timings = []
    for name, folder in (("B", b), ("A", a)):
        started = time.perf_counter()
        subprocess.run(rebuild_command(switch_to(live, folder), index, full), env=env, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
        prints[fingerprint(index)[1]] = name
    typical = max(timings)
    result = {"kills": 0, "intact": 0, "killed_mid_rebuild": 0, "held": {"A": 0, "B": 0}, "failures": []}
    current = "A"
    for number in range(kills):
        target = b if current == "A" else a
        process = subprocess.Popen(
            rebuild_command(switch_to(live, target), index, full),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0, typical * 1.2))
        finished = process.poll() is not None
        if not finished:
            process.send_signal(signal.SIGKILL)
        process.wait()
        result["kills"] += 1
        result["killed_mid_rebuild"] += not finished
        check, digest = fingerprint(index)
        held = prints.get(digest)
        answered = subprocess.run(
            [sys.executable, "-m", "bot", "ask", "--json", "--index", str(index), "grain oil"],
            env=env,
            capture_output=True,
            text=True,
        )
        ok = check == "ok" and held is not None and answered.returncode == 0 and json.loads(answered.stdout)
        if ok:
            result["intact"] += 1
            result["held"][held] += 1
            current = held
        else:
            result["failures"].append(
                {"kill": number, "integrity": check, "held": held, "ask": answered.stderr.strip()[-300:]}
            )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--small", action="store_true", help="400 generated articles instead of Reuters")
    parser.add_argument("--full", action="store_true", help="kill full rebuilds (--full) instead of incremental ones")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    articles = small_articles() if args.small else reuters_articles(args.shared / "data" / "reuters-21578.tar.gz")
    with tempfile.TemporaryDirectory() as scratch:
        a, b = make_folders(Path(scratch), articles)
        result = run(a, b, Path(scratch) / "index.db", args.kills, full=args.full)
    print(json.dumps(result, indent=1))
    sys.exit(0 if result["intact"] == result["kills"] else 1)


if __name__ == "__main__":
    main()
