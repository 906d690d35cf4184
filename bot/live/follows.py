"""Standing questions: a chat leaves a question, and passages of new articles that answer it are sent.

State lives in its own SQLite file (`NEWSBOT_STATE`, default `<index>.state.db`),
never in the index: a full rebuild keeps everyone's questions, and following never
waits behind a rebuild's transaction.

What is new comes from the index's change log, not from a watcher: a face's push loop
(bot/live/runner.py) reads the changes after its cursor, finds the passages that answer
its standing questions, and records them as pending pushes together with the new cursor,
in one transaction of this file; then it sends them, one at a time: `sending` is committed
before a push is sent and `sent` after. A passage is known by its text (`passage_key`),
recorded once per chat, so a moved or renamed file, or a second question of the chat it
also answers, never brings it again.

Delivery is at most once. After a crash or a kill at any moment: changes not yet recorded
are read again from the cursor, pending pushes are sent, and only a push found `sending`
is not sent again (it may have arrived): the crash costs at most that one push (one
message; a long one goes as a few). A send that timed out is not repeated either. We chose
this side because a standing question is a stream of news: a missed alert is followed by
the next one, and a duplicate is noise the reader cannot tell from news.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.ranking.answer import Passage, Ranking, answer, clean_question, question_terms
from index.search import Index, Snapshot
from index.store import NO_DAY

READ_FOR_PUSH = 10  # the best passages of the whole index among which a new article's must be
# Standing questions follow the news: only articles dated within this many days of today are pushed, so
# that a folder back-filled with an archive (or a story found years late) does not flood the followers.
NEWS_DAYS = 7
UNIX_EPOCH = dt.date(1970, 1, 1)
MAX_QUESTION = 500  # characters a standing question may have (longer ones are refused, saying so)
BUSY_TIMEOUT_MS = 10_000  # how long a write waits for another process's lock on the state file
MAX_FOLLOW_ID = 2**63 - 1  # SQLite's largest integer: a forged button's larger number is no question

logger = logging.getLogger(__name__)

SCHEMA = """
create table if not exists follow (
    follow_id integer primary key autoincrement,
    chat_id integer not null,
    created_by integer not null,
    question text not null,
    created_at real not null,
    active integer not null default 1,
    inactive_reason text,
    unique (chat_id, question)
);
create table if not exists delivered (
    chat_id integer not null,
    passage_key text not null,
    push_id integer not null,
    created_at real not null,
    primary key (chat_id, passage_key)
);
create table if not exists outbox (
    push_id integer primary key autoincrement,
    chat_id integer not null,
    follow_id integer not null,
    passages text not null,
    state text not null check (state in ('pending', 'sending', 'sent', 'failed', 'unknown', 'dropped')),
    created_at real not null,
    sent_at real,
    error text
);
create index if not exists outbox_state on outbox (state, push_id);
create table if not exists push_cursor (
    face text primary key,
    index_id text not null,
    seq integer not null,
    at real not null
);
"""
# delivered: each passage (by its text) recorded once per chat, when its push is recorded: never sent twice.
# outbox: each push, recorded `pending` before anything is sent; `sending` while it is sent, then `sent`;
#   `failed` (Telegram refused it), `unknown` (a timeout, or a crash or stop while sending: it may have
#   arrived, and is not sent again), `dropped` (its question ended before it was sent).
# push_cursor: per face, how far into which index's change log (`Snapshot.changes_after`) it has read.
# (Files from before the change log also hold a `delivery` table, no longer read.)
FORGET_DAYS = 30  # finished pushes and the passages delivered are kept this long (pushes are news of 7 days)


CONSOLE_CHAT = 0  # the console's standing questions (Telegram chat ids are never 0)


class FollowError(ValueError):
    """A standing question that cannot be added; the message is a reply for the user."""


class StateUnavailable(Exception):
    """The state file cannot be used (damaged, read-only, locked too long): standing questions are off."""


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
    push_id: int = 0  # its row in the outbox, once recorded


@dataclass(frozen=True)
class Cursor:
    """How far one face has read an index's change log: the changes up to `seq` of the index `index_id`."""

    face: str
    index_id: str
    seq: int


def passage_key(passage: Passage) -> str:
    """What makes a passage "the same" for a chat: its words (Unicode-normalised, case-folded, spaced once),
    whatever file holds them. A file moved, renamed or copied, or an article edited elsewhere, brings no
    passage twice."""
    text = " ".join(unicodedata.normalize("NFKC", passage.sentence).casefold().split())
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_PASSAGE_FIELDS = (
    "sentence",
    "quote",
    "title",
    "date",
    "source",
    "score",
    "url",
    "article_id",
    "sentence_id",
    "copies",
)


def _passages_json(passages: Iterable[Passage]) -> str:
    """What a push shows, as recorded in the outbox."""
    return json.dumps(
        [{**{name: getattr(p, name) for name in _PASSAGE_FIELDS}, "highlights": p.highlights} for p in passages],
        ensure_ascii=False,
    )


def _passages_of(text: str) -> tuple[Passage, ...]:
    return tuple(
        Passage(**{name: row[name] for name in _PASSAGE_FIELDS}, highlights=tuple(map(tuple, row["highlights"])))
        for row in json.loads(text)
    )


class FollowStore:
    """The standing questions and what was sent for them; safe to share between threads."""

    def __init__(self, path: Path | str, max_per_chat: int = 20, max_total: int = 1000):
        self.path = Path(path)
        self.max_per_chat = max_per_chat
        self.max_total = max_total  # active standing questions across every chat: the cost of a batch
        self._lock = threading.Lock()
        # A file that cannot be used (damaged, a folder, read-only) does not stop the bot: standing
        # questions are off, `problem` says why in one line for the face to show, and every question
        # is still answered.
        self.problem: str | None = None
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = self._open()
        except (sqlite3.Error, OSError) as error:
            self.problem = _unusable(self.path, error)

    def _open(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a folder")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise PermissionError(errno.EACCES, "it is read-only")
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("pragma journal_mode = wal")
            conn.execute(f"pragma busy_timeout = {int(BUSY_TIMEOUT_MS)}")
            conn.executescript(SCHEMA)
            _never_reuse_follow_ids(conn)
            conn.execute("delete from follow where active = 0 and inactive_reason = 'unfollowed'")  # older files'
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock. A state file that fails now (locked by another process for
        longer than BUSY_TIMEOUT_MS, made read-only, full disk) is one log line and StateUnavailable."""
        if self._conn is None:
            raise StateUnavailable(self.problem)
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as error:
                logger.warning("The standing questions' file %s failed: %s", self.path, error)
                raise StateUnavailable(str(error)) from error

    def close(self) -> None:
        if self._conn is not None:
            with self._lock:
                self._conn.close()

    def _rows(self, sql: str, args: Iterable = ()) -> list[tuple]:
        with self._using() as conn:
            return conn.execute(sql, list(args)).fetchall()

    def add(self, chat_id: int, user_id: int, question: str) -> Follow:
        question = " ".join(question.split())
        if not question:
            raise FollowError("Tell me what to follow, for example: /follow When will the tram line open?")
        if len(question) > MAX_QUESTION:
            raise FollowError(
                f"A question to follow can have at most {MAX_QUESTION} characters, and this one has "
                f"{len(question):,}; please shorten it."
            )
        with self._using() as conn:
            (count,) = conn.execute(
                "select count(*) from follow where chat_id = ? and active = 1", [chat_id]
            ).fetchone()
            existing = conn.execute(
                "select follow_id, active from follow where chat_id = ? and question = ?", [chat_id, question]
            ).fetchone()
            if existing and existing[1]:
                raise FollowError("I'm already following that question here.")
            if count >= self.max_per_chat:
                raise FollowError(f"This chat already follows {count} questions, the most I keep; /unfollow one first.")
            if conn.execute("select count(*) from follow where active = 1").fetchone()[0] >= self.max_total:
                raise FollowError("I'm following as many questions as I can for everyone; please try again later.")
            if existing:
                conn.execute("update follow set active = 1, inactive_reason = null where follow_id = ?", [existing[0]])
                return Follow(existing[0], chat_id, question)
            cursor = conn.execute(
                "insert into follow (chat_id, created_by, question, created_at) values (?, ?, ?, ?)",
                [chat_id, user_id, question, time.time()],
            )
            return Follow(cursor.lastrowid, chat_id, question)

    def of_chat(self, chat_id: int) -> list[Follow]:
        """The chat's standing questions, active and paused, oldest first (the numbers /following shows)."""
        rows = self._rows(
            "select follow_id, chat_id, question, active from follow where chat_id = ? "
            "and (active = 1 or inactive_reason is not null and inactive_reason != 'unfollowed') "
            "order by follow_id",
            [chat_id],
        )
        return [Follow(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def active(self) -> list[Follow]:
        """Every active standing question; none while the state file cannot be used (the watcher goes on)."""
        try:
            rows = self._rows("select follow_id, chat_id, question from follow where active = 1 order by follow_id")
        except StateUnavailable:
            return []
        return [Follow(r[0], r[1], r[2]) for r in rows]

    def remove(self, chat_id: int, follow_id: int) -> Follow | None:
        """End one standing question of this chat, active or paused (None if it has no such one). Its row
        is deleted, so the file does not grow with ended questions; ids are never reused (AUTOINCREMENT),
        so an old Stop button cannot end a newer question."""
        if not 0 < follow_id <= MAX_FOLLOW_ID:
            return None
        with self._using() as conn:
            row = conn.execute(
                "select question from follow where follow_id = ? and chat_id = ? "
                "and (active = 1 or inactive_reason is not null and inactive_reason != 'unfollowed')",
                [follow_id, chat_id],
            ).fetchone()
            if row is None:
                return None
            conn.execute("delete from follow where follow_id = ?", [follow_id])
            return Follow(follow_id, chat_id, row[0], False)

    def pause_chat(self, chat_id: int, reason: str) -> int:
        """Stop pushing to a chat that blocked the bot or is gone; returns how many questions paused."""
        with self._using() as conn:
            return conn.execute(
                "update follow set active = 0, inactive_reason = ? where chat_id = ? and active = 1", [reason, chat_id]
            ).rowcount

    # --- pushes: recorded before they are sent (the outbox) ---------------------------------------

    def cursor(self, face: str) -> Cursor | None:
        """How far this face has read the index's change log (None: never; StateUnavailable: who knows)."""
        rows = self._rows("select index_id, seq from push_cursor where face = ?", [face])
        return Cursor(face, rows[0][0], rows[0][1]) if rows else None

    def push_states(self, serves: Callable[[int], bool] = lambda chat_id: True) -> dict[str, int]:
        """How many pushes to these chats the outbox holds in each state (pending, sending, sent, ...)."""
        counts: dict[str, int] = {}
        for chat, state, count in self._rows("select chat_id, state, count(*) from outbox group by chat_id, state"):
            if serves(chat):
                counts[state] = counts.get(state, 0) + count
        return counts

    def record(
        self, pushes: Iterable[Push], since: Cursor | None = None, until: Cursor | None = None
    ) -> list[Push] | None:
        """Record these pushes as pending, keeping only the passages never recorded for their chat before
        (the same passage for two questions of one chat: once), and with `until` move the face's cursor
        there, all in one transaction. Returns the pushes recorded, or None when the cursor is no longer
        at `since` (another loop of the face read those changes first: nothing is recorded)."""
        now = time.time()
        recorded = []
        with self._using() as conn:
            conn.execute("begin immediate")
            try:
                if until is not None:
                    row = conn.execute("select index_id, seq from push_cursor where face = ?", [until.face]).fetchone()
                    if row != (None if since is None else (since.index_id, since.seq)):
                        conn.execute("rollback")
                        return None
                    conn.execute(
                        "insert or replace into push_cursor (face, index_id, seq, at) values (?, ?, ?, ?)",
                        [until.face, until.index_id, until.seq, now],
                    )
                for push in pushes:
                    chat = push.follow.chat_id
                    fresh = [
                        (p, k)
                        for p, k in zip(push.passages, push.keys)
                        if conn.execute(
                            "select 1 from delivered where chat_id = ? and passage_key = ?", [chat, k]
                        ).fetchone()
                        is None
                    ]
                    fresh = list({k: (p, k) for p, k in fresh}.values())
                    if not fresh:
                        continue
                    passages = tuple(p for p, _ in fresh)
                    push_id = conn.execute(
                        "insert into outbox (chat_id, follow_id, passages, state, created_at) "
                        "values (?, ?, ?, 'pending', ?)",
                        [chat, push.follow.follow_id, _passages_json(passages), now],
                    ).lastrowid
                    conn.executemany(
                        "insert into delivered (chat_id, passage_key, push_id, created_at) values (?, ?, ?, ?)",
                        [(chat, k, push_id, now) for _, k in fresh],
                    )
                    recorded.append(Push(push.follow, passages, tuple(k for _, k in fresh), push_id))
                conn.execute("commit")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("rollback")
                raise
        return recorded

    def pending(self, serves: Callable[[int], bool] = lambda chat_id: True) -> list[Push]:
        """The recorded pushes to these chats not yet begun, oldest first. Those whose question has ended
        or is paused meanwhile are dropped, not sent."""
        try:
            rows = self._rows(
                "select o.push_id, o.chat_id, o.follow_id, o.passages, f.question, f.active from outbox o "
                "left join follow f on f.follow_id = o.follow_id where o.state = 'pending' order by o.push_id"
            )
        except StateUnavailable:
            return []
        pushes, dropped = [], []
        for push_id, chat, follow_id, passages, question, active in rows:
            if not serves(chat):
                continue
            if not active:
                dropped.append(push_id)
                continue
            shown = _passages_of(passages)
            pushes.append(Push(Follow(follow_id, chat, question), shown, tuple(map(passage_key, shown)), push_id))
        if dropped:
            self._finish(dropped, "dropped", "pending", "the question ended or was paused before it was sent")
        return pushes

    def begin(self, push_id: int) -> bool:
        """Mark a pending push as being sent (committed before the send); False if it is not pending (begun
        by another loop, or dropped)."""
        return self._finish([push_id], "sending", "pending") == 1

    def finish(self, push_id: int, state: str = "sent", error: str | None = None) -> None:
        """A push that was being sent: `sent`, `failed` (refused) or `unknown` (it may have arrived)."""
        self._finish([push_id], state, "sending", error)

    def _finish(self, push_ids: list[int], state: str, was: str, error: str | None = None) -> int:
        with self._using() as conn:
            return conn.executemany(
                "update outbox set state = ?, sent_at = ?, error = ? where push_id = ? and state = ?",
                [(state, time.time(), error, push_id, was) for push_id in push_ids],
            ).rowcount

    def interrupted(self, serves: Callable[[int], bool] = lambda chat_id: True) -> int:
        """At the start of a face's push loop: pushes to its chats left `sending` by a crash become `unknown`
        (they may have arrived, and are not sent again: at most once); what finished over FORGET_DAYS ago
        is forgotten. Returns how many were interrupted."""
        try:
            rows = self._rows("select push_id, chat_id from outbox where state = 'sending'")
            cut = time.time() - FORGET_DAYS * 86400
            with self._using() as conn:
                conn.execute("delete from outbox where state not in ('pending', 'sending') and created_at < ?", [cut])
                conn.execute("delete from delivered where created_at < ?", [cut])
        except StateUnavailable:
            return 0
        ids = [push_id for push_id, chat in rows if serves(chat)]
        if ids:
            self._finish(ids, "unknown", "sending", "interrupted while sending (a crash or a stop): not repeated")
        return len(ids)


def _unusable(path: Path, error: BaseException) -> str:
    """The one line a face shows when the state file cannot be opened: the file, why, and what to do."""
    why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    if isinstance(error, PermissionError) or "readonly" in str(error):
        advice = "make it writable for the user newsbot runs as"
    elif "locked" in str(error):
        advice = "stop the other program that holds it"
    else:
        advice = "move it aside (a new one is then started, with no standing questions)"
    return (
        f"Standing questions are off: the state file {path} cannot be used ({why}); {advice} and restart. "
        "Questions are still answered."
    )


def _never_reuse_follow_ids(conn: sqlite3.Connection) -> None:
    """Files from before ended questions were deleted have a follow table without AUTOINCREMENT, where a
    deleted last id would be given again: copy it into one with it (once)."""
    (sql,) = conn.execute("select sql from sqlite_master where type = 'table' and name = 'follow'").fetchone()
    if "autoincrement" in sql.lower():
        return
    new = re.sub(r"^create table (if not exists )?\"?follow\"?", "create table follow_new", sql, count=1, flags=re.I)
    new = re.sub(r"integer primary key", "integer primary key autoincrement", new, count=1, flags=re.I)
    conn.execute("begin immediate")
    try:
        conn.execute(new)
        conn.execute("insert into follow_new select * from follow")
        conn.execute("drop table follow")
        conn.execute("alter table follow_new rename to follow")
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise


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
    """`each_answer` for these articles and standing questions (default: every active one), recorded in the
    outbox as pending: the pushes of the passages no chat had recorded before, none twice."""
    pushes = list(each_answer(index, article_ids, store.active() if follows is None else follows, ranking, top, today))
    return store.record(pushes) or []


def each_answer(
    index: Index,
    article_ids: list[int],
    follows: Iterable[Follow],
    ranking: Ranking = Ranking(),
    top: int = 3,
    today: dt.date | None = None,
) -> Iterator[Push]:
    """For these standing questions, the passages of these (new or changed) articles that answer them well,
    one push at a time, as each is worked out (nothing recorded: `FollowStore.record` decides what is new to
    each chat). Only articles that are news (`is_pushable` as of `today`, default the real today) are
    candidates.

    A passage answers when the bot, asked the question now, would quote it among its best and it clears
    the fitted answer threshold: the ranking runs over the whole index (features such as agreement with
    other articles and recency among close matches depend on it), without the cut, since an older
    article that answers better must not hide the news. The cost is bounded by what can match: a question
    that shares no term with the new articles is never asked (it cannot match them: `matching`), a question
    several chats follow is asked once, and the others are asked once each, of the whole index (no first
    check against the new articles alone: it would pass ~3 questions in 4 and cost ~half an answer)."""
    if not article_ids:
        return
    today = today or dt.date.today()
    with index.snapshot() as snap:
        days = snap.article_days  # days since 1970-01-01, NO_DAY for an id that holds no article
        wanted = [
            i
            for i in sorted(set(article_ids))
            if i < len(days) and days[i] != NO_DAY and is_pushable(UNIX_EPOCH + dt.timedelta(days=int(days[i])), today)
        ]
        if not wanted:
            return
        asked = matching(snap, wanted, follows)
    whole = ranking.without(["cut"]) if ranking.uses("cut") else ranking
    new = set(wanted)
    for question, askers in asked.items():
        result = answer(index, question, top=READ_FOR_PUSH, ranking=whole)
        good = [p for p in result.passages if p.article_id in new and p.score >= result.answers_at][:top]
        if good:
            keys = tuple(passage_key(p) for p in good)
            yield from (Push(follow, tuple(good), keys) for follow in askers)


def matching(snap: Snapshot, article_ids: list[int], follows: Iterable[Follow]) -> dict[str, list[Follow]]:
    """The standing questions that can match these articles (they share a term with them: a passage matches
    a question only through its terms), each question once (its cleaned text) with the follows that ask it."""
    held = snap.terms_of_articles(article_ids)
    asked: dict[str, list[Follow]] = {}
    can_match: dict[str, bool] = {}
    for follow in follows:
        question = clean_question(follow.question)  # what answer() asks: the same text, the same answer
        if question not in can_match:
            can_match[question] = not held.isdisjoint(question_terms(snap, question))
        if can_match[question]:
            asked.setdefault(question, []).append(follow)
    return asked
