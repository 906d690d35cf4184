"""Live news: the folder watcher, and standing questions pushed through the real PTB Application."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from bench.telegram_harness import running_bot
from bot.config import Settings
from bot.live.follows import FollowStore, new_answers
from bot.live.runner import Live
from index import watch as watch_module
from index.rebuild import rebuild
from index.search import Index
from index.watch import FolderWatcher, wanted

from .conftest import write
from .support.polling import titles, until

SAMPLES = Path(__file__).resolve().parents[1] / "bot" / "samples"

# News, dated yesterday: standing questions push only recent articles (follows.is_pushable).
NEWS_DATE = (dt.date.today() - dt.timedelta(days=1)).isoformat()
ZEPPELIN = (
    f" date {NEWS_DATE} Zeppelin Lands in Oslo\n\nA zeppelin from Hamburg landed in Oslo on Friday after a "
    "two-day flight, the airline said.\n"
)
TRAM_DATE = (
    f" date {NEWS_DATE} Lakeshore Tram Line to Open in March 2028\n\nThe Lakeshore tram line will open "
    "on 14 March 2028, the council said on Saturday, ending months of doubt about the date.\n\n"
    "The first trams will run between the central station and the harbour district.\n"
)


@pytest.fixture
def newsroom(tmp_path, articles_dir) -> tuple[Path, Path]:
    """The fixture articles with the bundled samples: scores of a tiny folder sit far below those of a
    newsroom's archive (a word in two of six articles says little), and the answer threshold is fitted
    on an archive."""
    for sample in sorted(SAMPLES.glob("*.txt")):
        shutil.copy(sample, articles_dir / sample.name)
    index_path = tmp_path / "newsroom.db"
    rebuild(articles_dir, index_path)
    return articles_dir, index_path


@pytest.fixture
def watching_bot(tmp_path, newsroom):
    """(fake server, bot state, articles folder): the bot running on the newsroom, watching
    its folder, with the first full check done."""
    articles_dir, index_path = newsroom
    with running_bot(index_path, articles_dir, watch=True, state_path=tmp_path / "state.db") as (fake, app):
        state = app.bot_data["state"]
        assert state.live.watcher.ready.wait(20)
        yield fake, state, articles_dir


@pytest.fixture
def watched(tmp_path, articles_dir):
    batches = []
    watcher = FolderWatcher(articles_dir, tmp_path / "w.db", on_batch=batches.append, stable_seconds=0.3).start()
    assert watcher.ready.wait(20)
    yield articles_dir, tmp_path / "w.db", batches, watcher
    watcher.stop()


def test_temporary_and_hidden_names_are_not_articles():
    assert wanted("news/a.txt") and wanted("folder")
    for name in ("a.txt.tmp", ".a.txt.swp", "a.txt~", "4913", ".hidden/a.txt", "x/.git/y", "a.part", "#a.txt#"):
        assert not wanted(name), name


def test_a_new_article_is_applied_within_seconds(watched):
    folder, index, batches, _ = watched
    write(folder, "zeppelin.txt", ZEPPELIN)
    until(lambda: "Zeppelin Lands in Oslo" in titles(index))  # how fast: bench/live.py


@pytest.mark.slow
def test_a_file_still_being_written_is_applied_once_whole(watched):
    folder, index, batches, _ = watched
    with open(folder / "slow.txt", "w") as handle:
        handle.write(ZEPPELIN[:40])
        handle.flush()
        for _ in range(4):
            time.sleep(0.2)  # slower than the watcher's tick, faster than the stability time
            handle.write(" ")
            handle.flush()
        handle.write(ZEPPELIN[40:])
    until(lambda: "Zeppelin Lands in Oslo" in titles(index))
    with Index(index).snapshot() as snap:
        text = " ".join(r.text for r in snap.each_sentence())
    assert "two-day flight" in text
    assert not [s for b in batches for s in b.summary.skipped if s.source == "slow.txt"]


@pytest.mark.slow
def test_write_then_rename_is_one_update_and_swap_files_are_ignored(watched):
    folder, index, batches, _ = watched
    (folder / ".zep.txt.tmp").write_text(ZEPPELIN)
    (folder / ".zep.txt.swp").write_text("vim swap")
    (folder / "notes.txt~").write_text("backup")
    os.replace(folder / ".zep.txt.tmp", folder / "zep.txt")
    until(lambda: "Zeppelin Lands in Oslo" in titles(index))
    time.sleep(1.0)
    applied = [p for b in batches if not b.reconciliation for p in b.paths]
    assert applied == ["zep.txt"]


@pytest.mark.slow
def test_a_burst_is_applied_in_a_few_batches(watched):
    folder, index, batches, _ = watched
    before = len(batches)
    burst = folder / "burst"
    burst.mkdir()
    for i in range(300):
        (burst / f"{i:03d}.txt").write_text(f" date 2025-06-2{i % 9} Burst {i}\n\nBurst story number {i}.\n")
    until(lambda: len([t for t in titles(index) if t.startswith("Burst")]) == 300, timeout=30)
    assert len(batches) - before <= 10


@pytest.mark.slow
def test_a_removed_and_a_moved_subfolder(watched, tmp_path):
    folder, index, batches, _ = watched
    shutil.rmtree(folder / "sub")
    until(lambda: not any("Central Bank" in t for t in titles(index)))
    outside = tmp_path / "outside"
    write(outside, "moved/zep.txt", ZEPPELIN)
    os.replace(outside / "moved", folder / "moved")  # a folder moved in reports only itself
    until(lambda: "Zeppelin Lands in Oslo" in titles(index))


@pytest.mark.slow
def test_a_folder_that_disappears_and_comes_back_is_reconciled(tmp_path, articles_dir):
    index = tmp_path / "gone.db"
    watcher = FolderWatcher(articles_dir, index, stable_seconds=0.3).start()
    try:
        assert watcher.ready.wait(20)
        parked = tmp_path / "parked"
        os.replace(articles_dir, parked)
        time.sleep(1.5)
        write(parked, "zep.txt", ZEPPELIN)
        os.replace(parked, articles_dir)
        until(lambda: "Zeppelin Lands in Oslo" in titles(index), timeout=20)
    finally:
        watcher.stop()


@pytest.mark.slow
def test_a_crash_of_the_watcher_is_logged_and_it_restarts(tmp_path, articles_dir, monkeypatch, caplog):
    monkeypatch.setattr(watch_module, "RESTART_SECONDS", 0.2)
    calls = {"n": 0}
    real = watch_module.rebuild

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(watch_module, "rebuild", flaky)
    with caplog.at_level(logging.ERROR, logger="index.watch"):
        watcher = FolderWatcher(articles_dir, tmp_path / "c.db", stable_seconds=0.3).start()
        try:
            assert watcher.ready.wait(20)
            write(articles_dir, "zep.txt", ZEPPELIN)
            until(lambda: (tmp_path / "c.db").exists() and "Zeppelin Lands in Oslo" in titles(tmp_path / "c.db"))
        finally:
            watcher.stop()
    assert any("restarting" in r.getMessage() for r in caplog.records)


# --- standing questions --------------------------------------------------------------------


def test_a_standing_question_is_answered_once_and_only_when_answered(tmp_path, newsroom):
    articles_dir, index_path = newsroom
    store = FollowStore(tmp_path / "state.db")
    follow = store.add(7, 7, "When will the Lakeshore tram line open?")
    write(articles_dir, "zep.txt", ZEPPELIN)
    summary = rebuild(articles_dir, index_path)
    assert new_answers(Index(index_path), store, summary.new_article_ids) == []  # does not answer it
    write(articles_dir, "tram_date.txt", TRAM_DATE)
    summary = rebuild(articles_dir, index_path)
    (push,) = new_answers(Index(index_path), store, summary.new_article_ids)
    assert push.follow == follow and "14 March 2028" in push.passages[0].quote
    assert new_answers(Index(index_path), store, summary.new_article_ids) == []  # never twice
    store.close()
    reopened = FollowStore(tmp_path / "state.db")  # a restart
    assert new_answers(Index(index_path), reopened, summary.new_article_ids) == []
    reopened.remove(7, follow.follow_id)
    write(articles_dir, "tram_again.txt", TRAM_DATE.replace("Saturday", "Sunday").replace("Set", "Confirmed"))
    summary = rebuild(articles_dir, index_path)
    assert new_answers(Index(index_path), reopened, summary.new_article_ids) == []  # unfollowed


def test_limits_and_duplicates_of_standing_questions(tmp_path):
    from bot.live.follows import FollowError

    store = FollowStore(tmp_path / "s.db", max_per_chat=2)
    store.add(1, 1, "tram")
    with pytest.raises(FollowError, match="already"):
        store.add(1, 1, "tram")
    store.add(1, 1, "rates")
    with pytest.raises(FollowError, match="most I keep"):
        store.add(1, 1, "storms")
    assert [f.question for f in store.of_chat(1)] == ["tram", "rates"]
    assert store.pause_chat(1, "Forbidden") == 2 and not store.active()


def test_follow_on_telegram_pushes_new_answers_once(watching_bot):
    fake, state, articles_dir = watching_bot
    fake.send_text("/follow When will the Lakeshore tram line open?", user_id=81)
    (confirm,) = fake.wait_for(lambda calls: fake.sent_to(81))
    assert "Following" in confirm["text"] and confirm["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"
    ].startswith("unf:")
    write(articles_dir, "zep.txt", ZEPPELIN)  # does not answer it
    write(articles_dir, "tram_date.txt", TRAM_DATE)
    pushed = fake.wait_for(lambda calls: len(fake.sent_to(81)) >= 2 and fake.sent_to(81), timeout=15)
    assert pushed[1]["text"].startswith("New for your question ‘When will the Lakeshore tram line open?’:")
    assert "14 March 2028" in pushed[1]["text"] and "Zeppelin" not in pushed[1]["text"]
    # the same articles again, as after a restart: every passage is recorded for the chat already
    assert new_answers(state.index, state.live.store, _article_ids(state)) == []
    state.live.on_batch(None)  # a wake-up with no change in the log
    time.sleep(1.5)
    assert len(fake.sent_to(81)) == 2
    fake.send_text("/following", user_id=81)
    listing = fake.wait_for(lambda calls: len(fake.sent_to(81)) >= 3 and fake.sent_to(81))[2]["text"]
    assert "1. When will the Lakeshore tram line open?" in listing
    fake.send_text("/unfollow 1", user_id=81)
    fake.wait_for(lambda calls: len(fake.sent_to(81)) >= 4)
    write(articles_dir, "tram_again.txt", TRAM_DATE.replace("Set", "Confirmed").replace("Saturday", "Monday"))
    time.sleep(3.0)
    assert len(fake.sent_to(81)) == 4  # nothing after /unfollow


def _article_ids(state) -> list[int]:
    """Every article of the index."""
    with state.index.snapshot() as snap:
        return [article.id for article in snap.each_article()]


@pytest.mark.slow
def test_a_chat_that_blocked_the_bot_is_paused(watching_bot):
    fake, state, articles_dir = watching_bot
    fake.send_text("/follow When will the Lakeshore tram line open?", user_id=82)
    fake.wait_for(lambda calls: fake.sent_to(82))
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", times=5)
    write(articles_dir, "tram_date.txt", TRAM_DATE)
    until(lambda: not state.live.store.active(), timeout=15)
    assert [f.active for f in state.live.store.of_chat(82)] == [False]


def test_in_groups_only_admins_follow(tmp_path, articles_dir, index_path):
    with running_bot(index_path, articles_dir, state_path=tmp_path / "state.db") as (fake, app):
        fake.admins = {-500: {83}}
        fake.send_text("/follow tram line", user_id=84, chat_id=-500, chat_type="supergroup")
        fake.wait_for(lambda calls: fake.sent_to(-500))
        fake.send_text("/follow tram line", user_id=83, chat_id=-500, chat_type="supergroup")
        replies = fake.wait_for(lambda calls: len(fake.sent_to(-500)) >= 2 and fake.sent_to(-500))
        assert "only the group's admins" in replies[0]["text"] and "Following" in replies[1]["text"]
        assert [f.question for f in app.bot_data["state"].live.store.of_chat(-500)] == ["tram line"]


def test_the_state_is_not_in_the_index_and_survives_a_full_rebuild(tmp_path, articles_dir, index_path):
    settings = Settings(articles_dir=articles_dir, index_path=index_path, watch=False)
    live = Live(settings, Index(index_path), articles_dir)
    live.store.add(9, 9, "tram")
    live.stop()
    assert settings.state_for(index_path) == index_path.with_name(index_path.name + ".state.db")
    rebuild(articles_dir, index_path, full=True)
    again = FollowStore(settings.state_for(index_path))
    assert [f.question for f in again.active()] == ["tram"]


# --- the console's standing questions ------------------------------------------------------


def test_console_follow_commands_say_what_telegram_says(tmp_path, index):
    from bot.faces import console
    from bot.faces.follow_replies import following_reply

    store, state = FollowStore(tmp_path / "s.db"), {"question": "", "offset": 0}
    assert console.reply(index, "/following", state, 3, store=store).startswith("No standing questions here.")
    followed = console.reply(index, "/follow When will the tram line open?", state, 3, store=store)
    assert followed.startswith("Following ‘When will the tram line open?’.")
    assert (
        console.reply(index, "/follow When will the tram line open?", state, 3, store=store)
        == "I'm already following that question here."
    )
    listing = console.reply(index, "/following", state, 3, store=store)
    assert listing == console.plain(following_reply(store, 0))
    assert "1. When will the tram line open?" in listing and "/unfollow <number> ends one." in listing
    assert console.reply(index, "/unfollow 0", state, 3, store=store) == "Give the number from /following, 1 to 1."
    assert console.reply(index, "/unfollow 1", state, 3, store=store).startswith("Stopped following")
    assert store.active() == []
    assert console.reply(index, "/follow tram", state, 3) == "Standing questions are not kept by this bot."


def test_console_and_telegram_each_push_only_their_own_chats(tmp_path, newsroom):
    from bot.chat import render
    from bot.live.follows import CONSOLE_CHAT

    articles_dir, index_path = newsroom
    settings = Settings(articles_dir=articles_dir, index_path=index_path, state_path=tmp_path / "state.db")
    printed = []
    live = Live(
        settings,
        Index(index_path),
        articles_dir,
        deliver=printed.extend,
        watch=False,
        serves=lambda chat_id: chat_id == CONSOLE_CHAT,
        face="console",
    )
    live.step(send=False)  # the console's place in the index's change log, as start() takes it
    live.store.add(CONSOLE_CHAT, 0, "When will the Lakeshore tram line open?")
    telegram_follow = live.store.add(55, 55, "When will the Lakeshore tram line open?")
    write(articles_dir, "tram_date.txt", TRAM_DATE)
    rebuild(articles_dir, index_path)
    assert live.push_now() == 1
    assert [p.follow.chat_id for p in printed] == [CONSOLE_CHAT]
    shown = render.push_text(printed[0])
    assert shown.startswith("New for your question ‘When will the Lakeshore tram line open?’:")
    assert "14 March 2028" in shown and "<b>" not in shown
    # the Telegram chat's passage was not recorded by the console: the bot still sends it
    (push,) = new_answers(Index(index_path), live.store, [printed[0].passages[0].article_id], follows=[telegram_follow])
    assert push.follow == telegram_follow
    live.stop()


def test_a_tree_near_the_inotify_limit_is_named(tmp_path, monkeypatch, caplog):
    real = Path.read_text
    monkeypatch.setattr(
        Path, "read_text", lambda self, *a, **k: "3" if "max_user_watches" in str(self) else real(self, *a, **k)
    )
    for name in ("a", "b", "c/d"):
        (tmp_path / name).mkdir(parents=True)
    with caplog.at_level(logging.WARNING, logger="index.watch"):
        watch_module._warn_if_over_watch_limit(str(tmp_path))
    assert "fs.inotify.max_user_watches" in caplog.text and "5 folders" in caplog.text


@pytest.mark.slow
def test_many_followers_of_one_story_do_not_hold_up_answers(watching_bot):
    fake, state, articles_dir = watching_bot
    followers = list(range(1000, 1040))
    for chat in followers:
        state.live.store.add(chat, chat, "When will the Lakeshore tram line open?")
    write(articles_dir, "tram_date.txt", TRAM_DATE)
    fake.wait_for(lambda calls: any(fake.sent_to(c) for c in followers), timeout=15)
    fake.send_text("When will the first trams run?", user_id=90)
    fake.wait_for(lambda calls: fake.sent_to(90), timeout=10)
    pushed_before_answer = sum(bool(fake.sent_to(c)) for c in followers)
    fake.wait_for(lambda calls: all(fake.sent_to(c) for c in followers), timeout=30)
    assert pushed_before_answer < len(followers)  # the answer went out between the pushes
    assert all(len(fake.sent_to(c)) == 1 for c in followers)  # one message each, none twice


# --- newsbot index watch -------------------------------------------------------------------


@pytest.mark.slow
def test_index_watch_applies_changes_until_sigterm(tmp_path, articles_dir):
    import signal
    import subprocess
    import sys

    index = tmp_path / "watched.db"
    log = tmp_path / "watch.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "index", "watch", "--articles", str(articles_dir), "--index", str(index)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
            env=os.environ,
        )
    try:
        until(lambda: "Watching " in log.read_text(), timeout=30)
        assert "Council Approves Harbour Tram Line" in titles(index)  # the first full check built it
        write(articles_dir, "zep.txt", ZEPPELIN)
        until(lambda: "Zeppelin Lands in Oslo" in titles(index))
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        process.kill()
    text = log.read_text()
    # One plain line per batch, like the rebuild's summary; no log records (time, level, logger name).
    assert re.search(r"^\d\d:\d\d:\d\d applied: 1 added, 0 updated, 0 removed; index holds 5 articles$", text, re.M)
    assert text.rstrip().endswith("Stopped watching.") and "Traceback" not in text
    assert " INFO " not in text and "index.watch" not in text


def test_index_watch_without_a_folder_is_one_line(runner, tmp_path):
    from bot.faces.cli import cli

    result = runner.invoke(
        cli, ["index", "watch", "--articles", str(tmp_path / "nope"), "--index", str(tmp_path / "n.db")]
    )
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "nope" in result.output


# --- standing questions on Telegram when things go wrong ------------------------------------------------


def _bot_message(fake, chat_id: int, sent: dict) -> dict:
    """A message the bot sent, as the user's client holds it (to press its buttons)."""
    from bench.fake_bot_api import BOT_USER

    message = {
        "message_id": 10_000 + len(fake.sent_to(chat_id)),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": BOT_USER,
        "text": sent["text"],
    }
    fake._messages[(chat_id, message["message_id"])] = {**message, "reply_markup": sent.get("reply_markup")}
    return message


def test_a_damaged_state_file_keeps_the_bot_answering(tmp_path, articles_dir, index_path, caplog):
    from bot.faces.follow_replies import UNAVAILABLE

    state_path = tmp_path / "state.db"
    state_path.write_bytes(os.urandom(4096))
    caplog.set_level(logging.WARNING)
    with running_bot(index_path, articles_dir, state_path=state_path) as (fake, app):
        for text in ("/follow When will the tram line open?", "/following", "/unfollow 1"):
            fake.send_text(text, user_id=61)
        fake.send_text("When will President Kallas visit Norland?", user_id=61)
        replies = fake.wait_for(lambda calls: len(fake.sent_to(61)) >= 4 and fake.sent_to(61))
        texts = sorted((r["text"] for r in replies), key=lambda text: text != UNAVAILABLE)  # handled concurrently
        assert texts[:3] == [UNAVAILABLE] * 3 and "Kallas" in texts[3] and len(texts) == 4
    (warning,) = [r for r in caplog.records if str(state_path) in r.getMessage()]
    assert warning.levelno == logging.WARNING and "move it aside" in warning.getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_paused_questions_are_listed_and_can_be_ended(tmp_path, articles_dir, index_path):
    with running_bot(index_path, articles_dir, state_path=tmp_path / "state.db") as (fake, app):
        store = app.bot_data["state"].live.store
        fake.send_text("/follow tram line", user_id=62)
        (confirm,) = fake.wait_for(lambda calls: fake.sent_to(62))  # one after the other, as a person types
        fake.send_text("/follow interest rates", user_id=62)
        fake.wait_for(lambda calls: len(fake.sent_to(62)) >= 2)
        assert store.pause_chat(62, "Forbidden") == 2  # the chat had blocked the bot (403)
        fake.send_text("/following", user_id=62)
        listing = fake.wait_for(lambda calls: len(fake.sent_to(62)) >= 3 and fake.sent_to(62))[2]["text"]
        assert "1. tram line (paused)" in listing and "2. interest rates (paused)" in listing
        button = confirm["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        fake.press(_bot_message(fake, 62, confirm), button, user_id=62)
        (answered,) = fake.wait_for(lambda calls: fake.calls_to("answerCallbackQuery"))
        assert answered.params["text"] == "Stopped following that question."
        fake.send_text("/unfollow 1", user_id=62)
        ended = fake.wait_for(lambda calls: len(fake.sent_to(62)) >= 4 and fake.sent_to(62))[3]["text"]
        assert ended == "Stopped following ‘interest rates’."
        assert store.of_chat(62) == []


def test_a_forged_stop_button_is_answered_politely(tmp_path, articles_dir, index_path, caplog):
    caplog.set_level(logging.WARNING)
    with running_bot(index_path, articles_dir, state_path=tmp_path / "state.db") as (fake, app):
        fake.send_text("/follow tram line", user_id=63)
        (confirm,) = fake.wait_for(lambda calls: fake.sent_to(63))
        fake.press(_bot_message(fake, 63, confirm), "unf:" + "9" * 40, user_id=63)
        (answered,) = fake.wait_for(lambda calls: fake.calls_to("answerCallbackQuery"))
        assert answered.params["text"] == "That button no longer works."
        assert not fake.unanswered_callbacks
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_follow_and_unfollow_count_against_the_questions_per_minute(tmp_path, articles_dir, index_path):
    from bot.faces.telegram.state import SLOW_DOWN

    with running_bot(index_path, articles_dir, state_path=tmp_path / "state.db", questions_per_minute=3) as (fake, app):
        texts = ("/follow tram line", "/unfollow 1", "/follow interest rates", "/follow storms", "/unfollow 1")
        for number, text in enumerate(texts, start=1):
            fake.send_text(text, user_id=64)
            if number < 5:
                fake.wait_for(lambda calls, number=number: len(fake.sent_to(64)) >= number)
        time.sleep(0.5)
        assert [r["text"].split(" ‘")[0] for r in fake.sent_to(64)] == [
            "Following",
            "Stopped following",
            "Following",
            SLOW_DOWN,  # once a minute; the fifth gets no reply at all
        ]
        assert [f.question for f in app.bot_data["state"].live.store.of_chat(64)] == ["interest rates"]


def test_follow_on_telegram_refuses_no_words_and_dates_without_using_up_the_limit(tmp_path, articles_dir, index_path):
    from bot.chat.render import NO_WORDS_TEXT

    with running_bot(index_path, articles_dir, state_path=tmp_path / "state.db", max_follows=1) as (fake, app):
        typed = ("/follow 🙂", "/follow bridge --since 2026-12-01", "/follow tram line")
        for number, text in enumerate(typed, start=1):
            fake.send_text(text, user_id=65)
            fake.wait_for(lambda calls, number=number: len(fake.sent_to(65)) >= number)
        no_words, dated, kept = (r["text"] for r in fake.sent_to(65))
        assert no_words == NO_WORDS_TEXT
        assert dated.startswith("A standing question takes no dates") and "Send /follow bridge instead." in dated
        assert kept.startswith("Following ‘tram line’.")
        assert [f.question for f in app.bot_data["state"].live.store.of_chat(65)] == ["tram line"]


def test_the_push_task_survives_a_locked_state_file(tmp_path, newsroom, monkeypatch, caplog):
    """Another process holds the state file while a push is sent: that push's bookkeeping fails, and the
    task goes on to the next push (it used to die, leaving every later push recorded and never sent)."""
    import sqlite3
    import threading

    from bot.live import follows

    articles_dir, index_path = newsroom
    state_path = tmp_path / "state.db"
    monkeypatch.setattr(follows, "BUSY_TIMEOUT_MS", 200)
    caplog.set_level(logging.WARNING)
    with running_bot(index_path, articles_dir, watch=True, state_path=state_path) as (fake, app):
        state = app.bot_data["state"]
        assert state.live.watcher.ready.wait(20)
        for chat in (71, 72):
            state.live.store.add(chat, chat, "When will the Lakeshore tram line open?")
        other = sqlite3.connect(state_path, isolation_level=None, check_same_thread=False)
        real_send = fake._api_sendMessage

        def send_while_locked(params):  # the first push holds the file for a second from another connection
            if params.get("chat_id") == 71 and not other.in_transaction:
                other.execute("begin exclusive")
                threading.Timer(1.0, lambda: other.execute("rollback")).start()
            return real_send(params)

        fake._api_sendMessage = send_while_locked
        write(articles_dir, "tram_date.txt", TRAM_DATE)
        fake.wait_for(lambda calls: fake.sent_to(71) and fake.sent_to(72), timeout=20)
        assert not state.background[0].done()
    assert [r for r in caplog.records if r.levelno == logging.WARNING and " 71 " in r.getMessage()]  # one line
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
