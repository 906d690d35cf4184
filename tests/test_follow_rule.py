"""Which new articles standing questions push: recent news, by the article's own date (follows.is_pushable)."""

from __future__ import annotations

import datetime as dt
import shutil

from bot.faces.follow_replies import follow_reply, following_reply
from bot.live.follows import NEWS_DAYS, FollowStore, is_pushable, new_answers
from index.rebuild import rebuild
from index.search import Index

from .conftest import write
from .test_live import SAMPLES, TRAM_DATE

TODAY = dt.date(2026, 3, 10)


def test_an_article_dated_within_the_last_days_is_news():
    assert is_pushable(TODAY, TODAY)
    assert is_pushable(TODAY - dt.timedelta(days=NEWS_DAYS - 1), TODAY)
    assert is_pushable("2026-03-11", TODAY)  # tomorrow: already today where it was written


def test_an_older_or_far_future_article_is_not_news():
    assert not is_pushable(TODAY - dt.timedelta(days=NEWS_DAYS), TODAY)
    assert not is_pushable("2023-03-10", TODAY)
    assert not is_pushable("2026-03-13", TODAY)


def test_an_old_article_saved_today_is_not_pushed_and_a_recent_one_is(tmp_path, articles_dir):
    for sample in sorted(SAMPLES.glob("*.txt")):
        shutil.copy(sample, articles_dir / sample.name)
    index_path = tmp_path / "newsroom.db"
    rebuild(articles_dir, index_path)
    store = FollowStore(tmp_path / "state.db")
    store.add(7, 7, "When will the Lakeshore tram line open?")
    today = dt.date.today()
    old = (today - dt.timedelta(days=3 * 365)).isoformat()
    write(articles_dir, "archive/tram_date.txt", TRAM_DATE.replace(TRAM_DATE.split()[1], old, 1))
    summary = rebuild(articles_dir, index_path)
    index = Index(index_path)
    assert new_answers(index, store, summary.new_article_ids, today=today) == []
    # the very same article is pushed on a day it is news
    (push,) = new_answers(index, store, summary.new_article_ids, today=dt.date.fromisoformat(old))
    assert "14 March 2028" in push.passages[0].quote
    store.close()


def test_follow_and_following_say_which_articles_are_sent(tmp_path, index):
    store = FollowStore(tmp_path / "state.db")
    said = f"new articles dated within the last {NEWS_DAYS} days"
    text, kept = follow_reply(store, index, 1, 1, "When will the tram line open?")
    assert kept and said in text and "archive" in text
    assert said in following_reply(store, 1)
    store.close()
