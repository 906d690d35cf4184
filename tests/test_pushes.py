"""Standing questions that follow the index: pushes come from its change log, whoever applied the change,
a passage is known by its text, and a crash at any step costs at most the one push being sent."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fake_bot_api import FakeBotApi
from bench.telegram_harness import running_bot
from bot.config import Settings
from bot.live import follows
from bot.live.follows import CONSOLE_CHAT, Follow, FollowStore, matching
from bot.live.runner import Live
from bot.ranking.answer import answer
from index.rebuild import rebuild
from index.search import Index
from index.watch import FolderWatcher

from .conftest import write
from .support.bot_process import start_bot
from .support.polling import until
from .test_live import SAMPLES, TRAM_DATE, ZEPPELIN

QUESTION = "When will the Lakeshore tram line open?"
# Four articles that each answer QUESTION with a passage of their own.
ANSWERING = (
    TRAM_DATE,
    TRAM_DATE.replace("Saturday", "Monday").replace("ending months of doubt about the date", "after a long delay"),
    TRAM_DATE.replace("14 March 2028", "21 March 2028").replace("the council said on Saturday", "the mayor said"),
    TRAM_DATE.replace("The Lakeshore tram line will open", "Trams on the Lakeshore line will start"),
)


@pytest.fixture
def newsroom(tmp_path, articles_dir) -> tuple[Path, Path]:
    """The fixture articles with the bundled samples (see test_live.newsroom)."""
    for sample in sorted(SAMPLES.glob("*.txt")):
        shutil.copy(sample, articles_dir / sample.name)
    index_path = tmp_path / "newsroom.db"
    rebuild(articles_dir, index_path)
    return articles_dir, index_path


def _live(tmp_path, articles_dir, index_path, printed: list, face="telegram", serves=lambda chat_id: True) -> Live:
    """A face's standing questions as `newsbot run` or `newsbot console` has them (not watching), at the end
    of the index's change log as start() puts it; what it pushes goes to `printed`."""
    settings = Settings(articles_dir=articles_dir, index_path=index_path, state_path=tmp_path / "state.db")
    live = Live(
        settings, Index(index_path), articles_dir, deliver=printed.extend, watch=False, face=face, serves=serves
    )
    live.step(send=False)
    return live


def _quotes(pushes) -> list[str]:
    return [p.sentence for push in pushes for p in push.passages]


# --- defect 1: a passage is its text, not its file ------------------------------------------------


def test_a_moved_or_renamed_article_is_not_pushed_again(tmp_path, newsroom):
    articles_dir, index_path = newsroom
    printed: list = []
    live = _live(tmp_path, articles_dir, index_path, printed)
    live.store.add(7, 7, QUESTION)
    write(articles_dir, "tram.txt", TRAM_DATE)
    rebuild(articles_dir, index_path)
    assert live.push_now() == 1
    (articles_dir / "2025" / "06").mkdir(parents=True)
    os.replace(articles_dir / "tram.txt", articles_dir / "2025" / "06" / "tram.txt")  # mv tram.txt 2025/06/
    rebuild(articles_dir, index_path)
    os.replace(articles_dir / "2025" / "06" / "tram.txt", articles_dir / "2025" / "06" / "lakeshore.txt")
    rebuild(articles_dir, index_path)
    # the watcher may see a move as two batches: the old name gone, then the new one
    os.replace(articles_dir / "2025" / "06" / "lakeshore.txt", articles_dir / "lakeshore.txt")
    rebuild(articles_dir, index_path, only=["2025"])
    assert live.push_now() == 0
    rebuild(articles_dir, index_path, only=["lakeshore.txt"])
    # the same folder through a symlink, as a cron line may spell it
    (tmp_path / "link").symlink_to(articles_dir)
    os.replace(articles_dir / "lakeshore.txt", articles_dir / "tram.txt")
    rebuild(tmp_path / "link", index_path)
    assert live.push_now() == 0
    assert len(printed) == 1
    # an edit elsewhere in the article brings only what is new in it
    write(articles_dir, "tram.txt", TRAM_DATE.replace("The first trams", "The first two trams"))
    rebuild(articles_dir, index_path)
    live.push_now()
    assert all("14 March 2028" not in quote for quote in _quotes(printed[1:]))
    live.stop()


def test_two_questions_of_one_chat_get_a_passage_once(tmp_path, newsroom):
    articles_dir, index_path = newsroom
    printed: list = []
    live = _live(tmp_path, articles_dir, index_path, printed)
    live.store.add(7, 7, QUESTION)
    live.store.add(7, 7, "When does the Lakeshore tram line open?")
    write(articles_dir, "tram.txt", TRAM_DATE)
    rebuild(articles_dir, index_path)
    live.push_now()
    quotes = _quotes(printed)
    assert quotes and len(quotes) == len(set(quotes))
    live.stop()


# --- defect 2: whoever applies the change --------------------------------------------------------


def test_an_article_applied_by_cron_while_the_bot_was_down_is_pushed_at_start(tmp_path, newsroom):
    articles_dir, index_path = newsroom
    printed: list = []
    live = _live(tmp_path, articles_dir, index_path, printed)
    live.store.add(7, 7, QUESTION)
    live.stop()  # the bot is down
    write(articles_dir, "tram.txt", TRAM_DATE)
    rebuild(articles_dir, index_path)  # `newsbot index rebuild` from cron; nobody watches
    again = _live(tmp_path, articles_dir, index_path, printed)  # the bot starts
    assert again.push_now() == 1 and "14 March 2028" in printed[0].passages[0].quote
    assert again.push_now() == 0
    again.stop()


def test_pushes_come_without_a_watcher_from_cron_and_reindex(tmp_path, newsroom):
    """NEWSBOT_WATCH=false (README's cron set-up): the bot still pushes what cron and /reindex apply."""
    articles_dir, index_path = newsroom
    with running_bot(index_path, articles_dir, state_path=tmp_path / "state.db", admin_ids=frozenset({5})) as (
        fake,
        app,
    ):
        assert app.bot_data["state"].live.watcher is None
        fake.send_text(f"/follow {QUESTION}", user_id=81)
        fake.wait_for(lambda calls: fake.sent_to(81))
        write(articles_dir, "tram.txt", ANSWERING[0])
        rebuild(articles_dir, index_path)  # as cron would, in another process
        pushed = fake.wait_for(lambda calls: len(fake.sent_to(81)) >= 2 and fake.sent_to(81), timeout=10)
        assert pushed[1]["text"].startswith(f"New for your question ‘{QUESTION}’:")
        write(articles_dir, "tram2.txt", ANSWERING[2])
        fake.send_text("/reindex", user_id=5)
        pushed = fake.wait_for(lambda calls: len(fake.sent_to(81)) >= 3 and fake.sent_to(81), timeout=15)
        assert "21 March 2028" in pushed[2]["text"]
        time.sleep(2.5)
        assert len(fake.sent_to(81)) == 3


def test_console_and_run_on_one_index_each_push_once(tmp_path, newsroom):
    """The console watches the folder and applies every change, the bot (not watching) pushes them all; a
    separate watcher (`newsbot index watch`) races both. Each answering article: one push to each face."""
    articles_dir, index_path = newsroom
    printed: list = []
    with running_bot(index_path, articles_dir, state_path=tmp_path / "state.db") as (fake, app):
        fake.send_text(f"/follow {QUESTION}", user_id=81)
        fake.wait_for(lambda calls: fake.sent_to(81))
        settings = Settings(articles_dir=articles_dir, index_path=index_path, state_path=tmp_path / "state.db")
        console = Live(
            settings,
            Index(index_path),
            articles_dir,
            deliver=printed.extend,
            face="console",
            serves=lambda chat_id: chat_id == CONSOLE_CHAT,
        )
        console.store.add(CONSOLE_CHAT, 0, QUESTION)
        other = FolderWatcher(articles_dir, index_path, stable_seconds=0.3)
        console.start()
        other.start()
        try:
            assert console.watcher.ready.wait(20) and other.ready.wait(20)
            for number, text in enumerate(ANSWERING, start=1):
                write(articles_dir, f"tram{number}.txt", text)
                fake.wait_for(lambda calls, n=number: len(fake.sent_to(81)) >= 1 + n, timeout=15)
                until(lambda n=number: len(printed) >= n, timeout=15)
            time.sleep(2.0)
        finally:
            other.stop()
            console.stop()
        assert len(fake.sent_to(81)) == 1 + len(ANSWERING)
    assert len(printed) == len(ANSWERING) and all(p.follow.chat_id == CONSOLE_CHAT for p in printed)


# --- defect 5: a crash at each step ------------------------------------------------------------


@pytest.mark.parametrize("crash", ["before recording", "after recording", "while sending", "after sending"])
def test_a_crash_at_each_step_loses_at_most_the_push_being_sent(tmp_path, newsroom, crash):
    """The process dies (nothing more runs: no finish, no close) at one step of the push loop; the next
    process resumes from what the state file and the index recorded."""
    articles_dir, index_path = newsroom
    chats = [11, 12, 13]
    printed: list = []
    live = _live(tmp_path, articles_dir, index_path, printed)
    for chat in chats:
        live.store.add(chat, chat, QUESTION)
    write(articles_dir, "tram.txt", TRAM_DATE)
    rebuild(articles_dir, index_path)
    in_flight = None
    if crash != "before recording":
        pushes = live.step()  # recorded, with the cursor
        assert sorted(p.follow.chat_id for p in pushes) == chats
        if crash in ("while sending", "after sending"):
            assert live.store.begin(pushes[0].push_id)
            in_flight = pushes[0].follow.chat_id
            printed.extend(pushes[:1])  # it may or may not have arrived
            if crash == "after sending":
                live.store.finish(pushes[0].push_id, "sent")
    # the crash: this Live is dropped as it is
    after = _live(tmp_path, articles_dir, index_path, printed)
    assert after.store.interrupted() == (1 if crash == "while sending" else 0)
    after.push_now()
    assert sorted(p.follow.chat_id for p in printed) == chats  # every chat once, none twice
    assert after.push_now() == 0
    states = after.store.push_states()
    assert states == ({"unknown": 1, "sent": 2} if crash == "while sending" else {"sent": 3})
    if in_flight is not None:
        assert [p.follow.chat_id for p in printed].count(in_flight) == 1
    after.stop()


def test_a_second_loop_of_the_same_face_never_records_the_changes_twice(tmp_path, newsroom):
    articles_dir, index_path = newsroom
    printed: list = []
    first = _live(tmp_path, articles_dir, index_path, printed)
    second = _live(tmp_path, articles_dir, index_path, printed)
    first.store.add(7, 7, QUESTION)
    write(articles_dir, "tram.txt", TRAM_DATE)
    rebuild(articles_dir, index_path)
    assert first.push_now() + second.push_now() == 1
    first.stop()
    second.stop()


# --- defect 12: another index is not news ------------------------------------------------------


def test_an_index_deleted_and_rebuilt_pushes_no_old_article(tmp_path, newsroom):
    articles_dir, index_path = newsroom
    write(articles_dir, "tram.txt", TRAM_DATE)  # news, indexed before anyone followed it
    rebuild(articles_dir, index_path)
    printed: list = []
    live = _live(tmp_path, articles_dir, index_path, printed)
    live.store.add(7, 7, QUESTION)
    rebuild(articles_dir, index_path, full=True)
    assert live.push_now() == 0
    for path in index_path.parent.glob(index_path.name + "*"):
        if not path.name.endswith(".lock"):
            path.unlink()
    assert live.push_now() == 0  # no index: the cursor waits
    rebuild(articles_dir, index_path)  # a new index: every article in it is old news
    assert live.push_now() == 0
    write(articles_dir, "tram2.txt", ANSWERING[2])
    rebuild(articles_dir, index_path)  # what the new index gains afterwards is news
    assert live.push_now() == 1 and "21 March 2028" in printed[0].passages[0].quote
    live.stop()


def test_a_deleted_index_is_rebuilt_by_the_watcher_without_a_change_in_the_folder(tmp_path, articles_dir):
    index_path = tmp_path / "w.db"
    watcher = FolderWatcher(articles_dir, index_path, stable_seconds=0.3).start()
    try:
        assert watcher.ready.wait(20)
        index_path.unlink()
        until(lambda: index_path.exists() and Index(index_path).meta().articles == 4, timeout=10)
    finally:
        watcher.stop()


# --- the change log itself --------------------------------------------------------------------


def test_every_rebuild_records_its_changes_in_the_index(tmp_path, articles_dir):
    index_path = tmp_path / "c.db"
    rebuild(articles_dir, index_path)
    index = Index(index_path)
    with index.snapshot() as snap:
        first_id = snap.meta.index_id
        assert first_id and snap.last_change() == 0  # a new index: nothing in it is a change
    write(articles_dir, "zep.txt", ZEPPELIN)
    assert rebuild(articles_dir, index_path).changes == 1
    write(articles_dir, "zep.txt", ZEPPELIN.replace("Friday", "Sunday"))
    rebuild(articles_dir, index_path, only=["zep.txt"])
    os.replace(articles_dir / "zep.txt", articles_dir / "sub" / "zeppelin.txt")
    assert rebuild(articles_dir, index_path).changes == 0  # moved
    assert rebuild(articles_dir, index_path, full=True).changes == 0  # the same texts
    (articles_dir / "sub" / "zeppelin.txt").unlink()
    rebuild(articles_dir, index_path)
    with index.snapshot() as snap:
        added, changed, removed = snap.changes_after(0)
        assert (added.kind, changed.kind, removed.kind) == ("added", "changed", "removed")
        assert added.content_hash != changed.content_hash == removed.content_hash
        assert snap.meta.index_id == first_id and snap.last_change() == 3
        assert [c.seq for c in snap.changes_after(1)] == [2, 3]


def test_the_change_log_is_trimmed_to_its_bound(tmp_path, articles_dir, monkeypatch):
    from index import store

    monkeypatch.setattr(store, "CHANGES_KEPT", 2)
    monkeypatch.setattr(store.record_changes, "__defaults__", (2,))
    index_path = tmp_path / "t.db"
    rebuild(articles_dir, index_path)
    for number in range(4):
        write(articles_dir, f"z{number}.txt", ZEPPELIN.replace("Oslo", f"Oslo {number}"))
        rebuild(articles_dir, index_path)
    with Index(index_path).snapshot() as snap:
        assert [c.seq for c in snap.changes_after(0)] == [3, 4] and snap.last_change() == 4


# --- real processes, killed --------------------------------------------------------------------


def _states(state_path: Path) -> dict[str, int]:
    store = FollowStore(state_path)
    try:
        return store.push_states()
    finally:
        store.close()


def _all_sent(state_path: Path, index_path: Path) -> bool:
    """The bot has read the whole change log and sent (or lost in a kill) every push it recorded."""
    states = _states(state_path)
    store = FollowStore(state_path)
    try:
        cursor = store.cursor("telegram")
    finally:
        store.close()
    with Index(index_path).snapshot() as snap:
        read = cursor is not None and cursor.seq == snap.last_change()
    return read and not states.get("pending") and not states.get("sending")


def _quoted(text: str) -> list[str]:
    """The passages a push message quotes, as plain text."""
    import html
    import re

    return [html.unescape(re.sub(r"<[^>]+>", "", q)) for q in re.findall(r"<blockquote>(.*?)</blockquote>", text, re.S)]


def _has_cursor(state_path: Path) -> bool:
    """The bot has taken its place in the index's change log (Live.start): what is applied now is news."""
    store = FollowStore(state_path)
    try:
        return store.cursor("telegram") is not None
    finally:
        store.close()


@pytest.mark.slow
def test_newsbot_run_killed_while_sending_loses_at_most_that_push(tmp_path, newsroom):
    """50 chats follow; SIGKILL while the first push is being sent (the Bot API is slow to answer it), the
    others pending or not yet recorded (each push is sent as soon as it is recorded; the cursor moves after
    the batch). After the restart: the 49 are sent, the one in flight is not repeated."""
    articles_dir, index_path = newsroom
    state_path = index_path.with_name(index_path.name + ".state.db")
    chats = list(range(2001, 2051))
    store = FollowStore(state_path)
    for chat in chats:
        store.add(chat, chat, QUESTION)
    store.close()
    fake = FakeBotApi().start()
    try:
        process = start_bot(fake, index_path, articles_dir, tmp_path, level="INFO", env={"NEWSBOT_WATCH": "false"})
        try:
            until(lambda: _has_cursor(state_path), timeout=90)
            fake.fail("sendMessage", 0, delay=3.0)  # the first push: slow, delivered after the kill
            write(articles_dir, "tram.txt", TRAM_DATE)
            rebuild(articles_dir, index_path)  # as cron would
            until(lambda: _states(state_path).get("sending") == 1, timeout=90)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            process.kill()
        states = _states(state_path)
        # the push in flight, the others pending or not yet recorded (the restart reads the batch again)
        assert states["sending"] == 1 and set(states) <= {"sending", "pending"}, states
        process = start_bot(fake, index_path, articles_dir, tmp_path, level="INFO", env={"NEWSBOT_WATCH": "false"})
        try:
            fake.wait_for(lambda calls: sum(bool(fake.sent_to(c)) for c in chats) == len(chats), timeout=180)
            time.sleep(2.0)
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)
    finally:
        fake.stop()
    assert all(len(fake.sent_to(c)) == 1 for c in chats)  # the one in flight arrived; none twice
    assert _states(state_path) == {"unknown": 1, "sent": len(chats) - 1}


@pytest.mark.slow
def test_newsbot_run_killed_at_random_moments_never_repeats_a_push(tmp_path, newsroom):
    """Four articles, 30 followers, SIGKILL at random moments while they are pushed: no chat gets a
    passage twice, and each kill costs at most one push."""
    import random

    articles_dir, index_path = newsroom
    state_path = index_path.with_name(index_path.name + ".state.db")
    chats = list(range(3001, 3031))
    store = FollowStore(state_path)
    for chat in chats:
        store.add(chat, chat, QUESTION)
    store.close()
    fake = FakeBotApi().start()
    kills, rng = 0, random.Random(7)
    try:
        process = start_bot(fake, index_path, articles_dir, tmp_path, level="INFO", env={"NEWSBOT_WATCH": "false"})
        until(lambda: _has_cursor(state_path), timeout=90)
        for number, text in enumerate(ANSWERING, start=1):
            write(articles_dir, f"tram{number}.txt", text)
            rebuild(articles_dir, index_path)
            time.sleep(rng.uniform(0.5, 2.5))
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            kills += 1
            calls = len(fake.calls_to("setMyCommands"))
            process = start_bot(fake, index_path, articles_dir, tmp_path, level="INFO", env={"NEWSBOT_WATCH": "false"})
            fake.wait_for(lambda _, calls=calls: len(fake.calls_to("setMyCommands")) > calls, timeout=30)
        until(lambda: _all_sent(state_path, index_path), timeout=180)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    finally:
        process.kill()
        fake.stop()
    for chat in chats:  # no passage twice to a chat, whatever push it came in
        quoted = [q for m in fake.sent_to(chat) for q in _quoted(m["text"])]
        assert len(quoted) == len(set(quoted)), chat
    states = _states(state_path)
    assert set(states) <= {"sent", "unknown"} and states.get("unknown", 0) <= kills  # a kill: at most one push
    assert sum(len(fake.sent_to(chat)) for chat in chats) >= states["sent"] >= len(chats)


# --- item 10: what a batch costs ---------------------------------------------------------------

WORDS = (
    "carmaker",
    "Eastfield",
    "plant",
    "jobs",
    "Greens",
    "seats",
    "election",
    "turnout",
    "tram",
    "heatwave",
    "the",
    "why",
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(WORDS) | st.text(alphabet="abcdefghij", min_size=3, max_size=8), max_size=5))
def test_the_prefilter_never_drops_a_question_the_new_articles_answer(tmp_path_factory, newsroom, words):
    """Every question that `answer(..., only_articles=new)` answers is asked (the prefilter is exact for it);
    questions that share no word with the new articles are not."""
    articles_dir, index_path = newsroom
    index = Index(index_path)
    with index.snapshot() as snap:
        new = sorted(row.id for row in snap.newest_articles(2))
        question = " ".join(words) + "?"
        kept = matching(snap, new, [Follow(1, 1, question)])
    if answer(index, question, top=1, only_articles=new).passages:
        assert question in kept
    with index.snapshot() as snap:
        assert matching(snap, new, [Follow(2, 1, "qqzx wvvy?")]) == {}


def test_a_question_several_chats_follow_is_asked_once(tmp_path, newsroom, monkeypatch):
    articles_dir, index_path = newsroom
    printed: list = []
    live = _live(tmp_path, articles_dir, index_path, printed)
    for chat in (21, 22, 23):
        live.store.add(chat, chat, QUESTION if chat != 22 else f"  {QUESTION.replace(' ', '  ')} ")
    asked: list[str] = []
    monkeypatch.setattr(
        follows, "answer", lambda index, question, **kw: asked.append(question) or answer(index, question, **kw)
    )
    write(articles_dir, "tram.txt", TRAM_DATE)
    rebuild(articles_dir, index_path)
    assert live.push_now() == 3 and sorted(p.follow.chat_id for p in printed) == [21, 22, 23]
    assert asked == [QUESTION]  # one answer of the whole index serves the three chats
    live.stop()


def test_each_push_is_sent_before_the_next_question_is_asked(tmp_path, newsroom, monkeypatch):
    articles_dir, index_path = newsroom
    events: list[str] = []
    live = _live(tmp_path, articles_dir, index_path, [])
    live.deliver = lambda pushes: events.extend(f"sent {p.follow.chat_id}" for p in pushes)
    live.store.add(31, 31, QUESTION)
    live.store.add(32, 32, "When do the first trams run to the harbour district?")

    def asking(index, question, **kw):
        events.append("asked")
        return answer(index, question, **kw)

    monkeypatch.setattr(follows, "answer", asking)
    write(articles_dir, "tram.txt", TRAM_DATE)
    rebuild(articles_dir, index_path)
    assert live.push_now() == 2
    first_sent = events.index(next(e for e in events if e.startswith("sent")))
    assert first_sent < len(events) - 1 and "asked" in events[first_sent:], events
    live.stop()
