"""Standing questions: a chat leaves a question, and passages of new articles that answer it are sent.

State lives in its own SQLite file (`NEWSBOT_STATE`, default `<index>.state.db`),
never in the index: a full rebuild keeps everyone's questions, and following never
waits behind a rebuild's transaction.

Delivery is at most once: the passages about to be sent are recorded first, in a
committed transaction, then sent. A crash (or a send that timed out) between the
two loses that message rather than repeating it; a restart never sends a passage
twice to a chat. We chose this side because a standing question is a stream of
news: a missed alert is followed by the next one, and a duplicate is noise the
reader cannot tell from news.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.ranking.answer import Passage, Ranking, answer
from index.search import Index
from index.store import NO_DAY

READ_FOR_PUSH = 10  # the best passages of the whole index among which a new article's must be
# Standing questions follow the news: only articles dated within this many days of today are pushed, so
# that a folder back-filled with an archive (or a story found years late) does not flood the followers.
NEWS_DAYS = 7
UNIX_EPOCH = dt.date(1970, 1, 1)

SCHEMA = """
create table if not exists follow (
    follow_id integer primary key,
    chat_id integer not null,
    created_by integer not null,
    question text not null,
    created_at real not null,
    active integer not null default 1,
    inactive_reason text,
    unique (chat_id, question)
);
create table if not exists delivery (
    chat_id integer not null,
    passage_key text not null,
    follow_id integer not null,
    state text not null check (state in ('sending', 'sent')),
    created_at real not null,
    sent_at real,
    primary key (chat_id, passage_key)
);
"""


CONSOLE_CHAT = 0  # the console's standing questions (Telegram chat ids are never 0)


class FollowError(ValueError):
    """A standing question that cannot be added; the message is a reply for the user."""


@dataclass(frozen=True)
class Follow:
    follow_id: int
    chat_id: int
    question: str
    active: bool = True


@dataclass(frozen=True)
class Push:
    """New passages for one standing question, to send as one message."""

    follow: Follow
    passages: tuple[Passage, ...]
    keys: tuple[str, ...]


def passage_key(passage: Passage) -> str:
    """What makes a passage "the same" for a chat: its article's file and its words."""
    return hashlib.sha256(f"{passage.source}\x1e{' '.join(passage.sentence.split())}".encode()).hexdigest()[:32]


class FollowStore:
    """The standing questions and what was sent for them; safe to share between threads."""

    def __init__(self, path: Path | str, max_per_chat: int = 20):
        self.path = Path(path)
        self.max_per_chat = max_per_chat
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("pragma journal_mode = wal")
        self._conn.execute("pragma busy_timeout = 10000")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _rows(self, sql: str, args: Iterable = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, list(args)).fetchall()

    def add(self, chat_id: int, user_id: int, question: str) -> Follow:
        question = " ".join(question.split())[:500]
        if not question:
            raise FollowError("Tell me what to follow, for example: /follow When will the tram line open?")
        with self._lock:
            count = self._conn.execute(
                "select count(*) from follow where chat_id = ? and active = 1", [chat_id]
            ).fetchone()[0]
            existing = self._conn.execute(
                "select follow_id, active from follow where chat_id = ? and question = ?", [chat_id, question]
            ).fetchone()
            if existing and existing[1]:
                raise FollowError("I'm already following that question here.")
            if count >= self.max_per_chat:
                raise FollowError(f"This chat already follows {count} questions, the most I keep; /unfollow one first.")
            if existing:
                self._conn.execute(
                    "update follow set active = 1, inactive_reason = null where follow_id = ?", [existing[0]]
                )
                return Follow(existing[0], chat_id, question)
            cursor = self._conn.execute(
                "insert into follow (chat_id, created_by, question, created_at) values (?, ?, ?, ?)",
                [chat_id, user_id, question, time.time()],
            )
            return Follow(cursor.lastrowid, chat_id, question)

    def of_chat(self, chat_id: int) -> list[Follow]:
        """The chat's standing questions, oldest first (the numbers /following shows)."""
        rows = self._rows(
            "select follow_id, chat_id, question, active from follow where chat_id = ? "
            "and (active = 1 or inactive_reason is not null and inactive_reason != 'unfollowed') "
            "order by follow_id",
            [chat_id],
        )
        return [Follow(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def active(self) -> list[Follow]:
        return [
            Follow(r[0], r[1], r[2])
            for r in self._rows("select follow_id, chat_id, question from follow where active = 1 order by follow_id")
        ]

    def remove(self, chat_id: int, follow_id: int) -> Follow | None:
        """End one standing question of this chat (None if it has no such one)."""
        with self._lock:
            row = self._conn.execute(
                "select question from follow where follow_id = ? and chat_id = ? and active = 1", [follow_id, chat_id]
            ).fetchone()
            if row is None:
                return None
            self._conn.execute(
                "update follow set active = 0, inactive_reason = 'unfollowed' where follow_id = ?", [follow_id]
            )
            return Follow(follow_id, chat_id, row[0], False)

    def pause_chat(self, chat_id: int, reason: str) -> int:
        """Stop pushing to a chat that blocked the bot or is gone; returns how many questions paused."""
        with self._lock:
            return self._conn.execute(
                "update follow set active = 0, inactive_reason = ? where chat_id = ? and active = 1", [reason, chat_id]
            ).rowcount

    def claim(self, chat_id: int, follow_id: int, keys: list[str]) -> set[str]:
        """Record these passages as being sent to the chat, and return those never sent (or begun) before."""
        now = time.time()
        with self._lock:
            self._conn.execute("begin immediate")
            try:
                fresh = set()
                for key in keys:
                    cursor = self._conn.execute(
                        "insert or ignore into delivery (chat_id, passage_key, follow_id, state, created_at) "
                        "values (?, ?, ?, 'sending', ?)",
                        [chat_id, key, follow_id, now],
                    )
                    if cursor.rowcount:
                        fresh.add(key)
                self._conn.execute("commit")
            except BaseException:
                self._conn.execute("rollback")
                raise
            return fresh

    def mark_sent(self, chat_id: int, keys: Iterable[str]) -> None:
        with self._lock:
            self._conn.executemany(
                "update delivery set state = 'sent', sent_at = ? where chat_id = ? and passage_key = ?",
                [(time.time(), chat_id, key) for key in keys],
            )


def is_pushable(article_date: dt.date | str, today: dt.date) -> bool:
    """Is an article news for standing questions: dated within the last NEWS_DAYS days up to today (or
    tomorrow, which is already today where the article was written)? Older articles that are merely
    added to the folder are archive, not news, and are never pushed."""
    if isinstance(article_date, str):
        article_date = dt.date.fromisoformat(article_date)
    return -1 <= (today - article_date).days < NEWS_DAYS


def new_answers(
    index: Index,
    store: FollowStore,
    article_ids: list[int],
    ranking: Ranking = Ranking(),
    top: int = 3,
    follows: list[Follow] | None = None,
    today: dt.date | None = None,
) -> list[Push]:
    """For every standing question, the passages of these (new or changed) articles that answer it well,
    claimed so that none is sent twice. Only articles that are news (`is_pushable` as of `today`, default
    the real today) are candidates.

    A passage answers when the bot, asked the question now, would quote it among its best and it clears
    the fitted answer threshold: the ranking runs over the whole index (features such as agreement with
    other articles and recency among close matches depend on it), without the cut, since an older
    article that answers better must not hide the news. Questions none of the new articles matches at
    all are skipped cheaply first. `follows`: the standing questions to ask (default: every active one)."""
    if not article_ids:
        return []
    today = today or dt.date.today()
    wanted = sorted(set(article_ids))
    with index.snapshot() as snap:
        days = snap.article_days  # days since 1970-01-01, NO_DAY for an id that holds no article
    wanted = [
        i
        for i in wanted
        if i < len(days) and days[i] != NO_DAY and is_pushable(UNIX_EPOCH + dt.timedelta(days=int(days[i])), today)
    ]
    if not wanted:
        return []
    pushes = []
    whole = ranking.without(["cut"]) if ranking.uses("cut") else ranking
    for follow in store.active() if follows is None else follows:
        if not answer(index, follow.question, top=1, only_articles=wanted, ranking=ranking).passages:
            continue
        result = answer(index, follow.question, top=READ_FOR_PUSH, ranking=whole)
        good = [p for p in result.passages if p.article_id in set(wanted) and p.score >= result.answers_at][:top]
        if not good:
            continue
        keys = [passage_key(p) for p in good]
        fresh = store.claim(follow.chat_id, follow.follow_id, keys)
        chosen = [(p, k) for p, k in zip(good, keys) if k in fresh]
        if chosen:
            pushes.append(Push(follow, tuple(p for p, _ in chosen), tuple(k for _, k in chosen)))
    return pushes
