"""The standing questions' store (bot/live/follows.py): opening a file that cannot be used, limits, ending."""

from __future__ import annotations

import logging
import os
import sqlite3

import pytest

from bot.faces.follow_replies import UNAVAILABLE, follow_reply, following_reply, unfollow_reply
from bot.live import follows
from bot.live.follows import FollowError, FollowStore, StateUnavailable

# The follow table as files written before ended questions were deleted have it (ids could be reused).
OLD_FOLLOW_TABLE = """
create table follow (
    follow_id integer primary key,
    chat_id integer not null,
    created_by integer not null,
    question text not null,
    created_at real not null,
    active integer not null default 1,
    inactive_reason text,
    unique (chat_id, question)
);
"""


def damaged(tmp_path, kind: str):
    path = tmp_path / "state.db"
    if kind == "random bytes":
        path.write_bytes(os.urandom(8192))
    elif kind == "truncated":
        store = FollowStore(path)
        for chat in range(200):
            store.add(chat, chat, f"question number {chat} about the harbour tram line")
        store.close()
        path.write_bytes(path.read_bytes()[:6000])
    else:
        path.mkdir()
    return path


@pytest.mark.parametrize("kind", ["random bytes", "truncated", "a folder"])
def test_a_damaged_state_file_turns_standing_questions_off_in_one_line(tmp_path, kind, index):
    path = damaged(tmp_path, kind)
    store = FollowStore(path)  # no exception: the bot goes on answering
    assert store.problem and "\n" not in store.problem
    assert str(path) in store.problem and "move it aside" in store.problem
    assert store.active() == []  # the watcher asks no standing question
    with pytest.raises(StateUnavailable):
        store.add(1, 1, "tram")
    assert follow_reply(store, index, 1, 1, "tram") == (UNAVAILABLE, None)
    assert following_reply(store, 1) == UNAVAILABLE and unfollow_reply(store, 1, "1") == UNAVAILABLE
    store.close()


def test_a_state_file_locked_by_another_process_is_a_polite_reply_and_one_log_line(
    tmp_path, monkeypatch, caplog, index
):
    monkeypatch.setattr(follows, "BUSY_TIMEOUT_MS", 100)
    store = FollowStore(tmp_path / "state.db")
    other = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    other.execute("begin exclusive")
    with caplog.at_level(logging.WARNING, logger="bot.live.follows"):
        assert follow_reply(store, index, 1, 1, "tram") == (UNAVAILABLE, None)
    assert [r.getMessage() for r in caplog.records] == [
        f"The standing questions' file {tmp_path / 'state.db'} failed: database is locked"
    ]
    other.execute("rollback")
    assert follow_reply(store, index, 1, 1, "tram")[1] is not None  # works again once the lock is gone


def test_a_question_over_the_limit_is_refused_naming_the_limit(tmp_path):
    store = FollowStore(tmp_path / "s.db")
    with pytest.raises(FollowError, match=r"at most 500 characters, and this one has 10,000"):
        store.add(1, 1, "x" * 10_000)
    assert store.of_chat(1) == []
    assert store.add(1, 1, "y" * 500).question == "y" * 500


def test_all_chats_together_keep_at_most_max_total_questions(tmp_path):
    store = FollowStore(tmp_path / "s.db", max_per_chat=5, max_total=3)
    kept = [store.add(chat, chat, "tram") for chat in (1, 2, 3)]
    with pytest.raises(FollowError, match="as many questions as I can"):
        store.add(4, 4, "tram")
    store.remove(1, kept[0].follow_id)
    store.add(4, 4, "tram")


def test_a_paused_question_is_listed_as_paused_and_can_be_ended(tmp_path):
    store = FollowStore(tmp_path / "s.db")
    first, second = store.add(1, 1, "tram"), store.add(1, 1, "rates")
    assert store.pause_chat(1, "Forbidden") == 2
    listing = following_reply(store, 1)
    assert "1. tram (paused)" in listing and "2. rates (paused)" in listing
    assert unfollow_reply(store, 1, "2") == "Stopped following ‘rates’."
    assert store.remove(1, first.follow_id) == follows.Follow(first.follow_id, 1, "tram", False)
    assert store.of_chat(1) == [] and store.remove(1, second.follow_id) is None


def test_ended_questions_are_deleted_and_their_ids_never_given_again(tmp_path):
    store = FollowStore(tmp_path / "s.db")
    ended = store.add(1, 1, "tram")
    store.remove(1, ended.follow_id)
    again = store.add(1, 1, "tram")
    assert again.follow_id > ended.follow_id  # an old Stop button cannot end the new question
    store.remove(1, again.follow_id)
    assert sqlite3.connect(tmp_path / "s.db").execute("select count(*) from follow").fetchone() == (0,)


def test_an_older_file_keeps_its_questions_and_loses_its_ended_ones(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(OLD_FOLLOW_TABLE)
    old.executemany(
        "insert into follow values (?, ?, ?, ?, 0, ?, ?)",
        [(1, 5, 5, "tram", 1, None), (2, 5, 5, "rates", 0, "Forbidden"), (3, 5, 5, "storms", 0, "unfollowed")],
    )
    old.commit()
    old.close()
    store = FollowStore(path)
    assert store.problem is None
    assert [(f.question, f.active) for f in store.of_chat(5)] == [("tram", True), ("rates", False)]
    assert store.add(5, 5, "floods").follow_id == 4  # 3, the ended one, is never given again
    assert sqlite3.connect(path).execute("select count(*) from follow").fetchone() == (3,)


def test_a_forged_id_is_no_question(tmp_path):
    store = FollowStore(tmp_path / "s.db")
    assert store.remove(1, 10**40) is None and store.remove(1, -1) is None
