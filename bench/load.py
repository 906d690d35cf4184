"""Telegram load and faults: many users at once against the fake Bot API server.

    python bench/load.py                          # 10,000 updates from 1,000 users, faults on
    python bench/load.py --updates 2000 --users 200 --concurrency 32,1

Every update is a private question pushed at once into the fake server's queue.
With --faults (default) Bot API calls fail at random: 5% HTTP 429 with
retry_after=1, 2% HTTP 502, 1% time out (the message is delivered, but the reply
comes after the client gave up, so it must not be sent again), and 1% of the users
have blocked the bot (every send to them is a 403). Checks: every question of the other users answered exactly once,
the error handler saw each failure to a blocked user once, retries stayed bounded.
Reports answers per second and the 50th/95th percentile time to answer, for each
concurrency setting (1 = one update after another).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fake_bot_api import Fault  # noqa: E402
from bench.telegram_harness import running_bot  # noqa: E402
from bot.config import sample_articles_dir  # noqa: E402
from index.rebuild import rebuild  # noqa: E402

QUESTIONS = [
    "When will the trams run?",
    "How hot did it get?",
    "Who won the cup?",
    "interest rate cut",
    "satellite launch delay",
    "election turnout",
    "plant closure jobs",
    "wildfire evacuation",
    "Who is the mayor?",
    "What did the union say?",
]


class Counter(logging.Handler):
    """Counts the error handler's log lines by kind."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.blocked = 0
        self.failed = 0

    def emit(self, record):
        message = record.getMessage()
        if message.startswith("Not delivered"):
            self.blocked += 1
        elif message.startswith("Failed to handle"):
            self.failed += 1


def run_once(index: Path, updates: int, users: int, concurrency: int, faults: bool, seed: int = 1) -> dict:
    rng = random.Random(seed)
    blocked = set(rng.sample(range(10_000, 10_000 + users), max(1, users // 100))) if faults else set()
    lock = threading.Lock()

    def random_fault(method: str, params: dict) -> Fault | None:
        if method == "sendMessage" and params.get("chat_id") in blocked:
            return Fault(403, "Forbidden: bot was blocked by the user")
        if not faults or method not in ("sendMessage", "sendChatAction"):
            return None
        with lock:
            roll = rng.random()
        if roll < 0.05:
            return Fault(429, "Too Many Requests: retry after 1", retry_after=1)
        if roll < 0.07:
            return Fault(502, "Bad Gateway")
        if roll < 0.08:
            # Slower than the client's 5 s read timeout, and then delivered all the same: a send that timed
            # out must not be sent again (that gave one question four answers).
            return Fault(0, "", delay=6.0)
        return None

    counter = Counter()
    log = logging.getLogger("bot.faces.telegram.app")
    log.addHandler(counter)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        with running_bot(index, sample_articles_dir(), questions_per_minute=10_000, concurrent_updates=concurrency) as (
            fake,
            app,
        ):
            fake.wait_for(lambda calls: fake.calls_to("setMyCommands"))
            fake.random_fault = random_fault
            per_user = max(1, updates // users)
            started = time.monotonic()
            for round_ in range(per_user):
                for user in range(10_000, 10_000 + users):
                    fake.send_text(QUESTIONS[(user + round_) % len(QUESTIONS)], user_id=user)
            expected = {u: per_user for u in range(10_000, 10_000 + users) if u not in blocked}

            def done(calls):
                delivered = {}
                for call in calls:
                    if call.method == "sendMessage":
                        chat = call.params.get("chat_id")
                        delivered[chat] = delivered.get(chat, 0) + 1
                return all(delivered.get(u, 0) >= n for u, n in expected.items()) and delivered

            delivered = fake.wait_for(done, timeout=3600)
            finished = time.monotonic()
            time.sleep(1.0)  # anything sent twice would show up now
            times = sorted(c.at - started for c in fake.calls_to("sendMessage"))
            delivered = done(fake.calls)
            duplicates = {u: n for u, n in delivered.items() if n != expected.get(u)}
            failures = {}
            for method, status in fake.failed:
                failures[f"{method} {status}"] = failures.get(f"{method} {status}", 0) + 1
    finally:
        log.removeHandler(counter)
        log.propagate = True
    answered = sum(expected.values())
    return {
        "concurrency": concurrency,
        "updates": per_user * users,
        "users": users,
        "answered": sum(min(delivered.get(u, 0), n) for u, n in expected.items()),
        "expected": answered,
        "not_exactly_once": duplicates,
        "blocked_users": len(blocked),
        "error_handler_blocked": counter.blocked,
        "error_handler_other": counter.failed,
        "injected_failures": failures,
        "seconds": finished - started,
        "answers_per_second": answered / (finished - started),
        "p50_s": times[len(times) // 2] if times else None,
        "p95_s": times[int(len(times) * 0.95)] if times else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--concurrency", default="32,1")
    parser.add_argument("--no-faults", dest="faults", action="store_false")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        index = Path(scratch) / "samples.db"
        rebuild(sample_articles_dir(), index)
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            result = run_once(index, args.updates, args.users, concurrency, args.faults)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
