"""Questions without a topic: the rule that finds them and the main stories of their days."""

import json

import pytest

from bot.chat import render
from bot.ranking.answer import NO_STORIES, answer
from bot.ranking.stories import Window, cluster, is_topicless, main_stories, source_of
from index.rebuild import rebuild
from index.search import Index
from index.store import ArticleRow

from .conftest import write


def line(date, title, text, url):
    return json.dumps({"date": date, "title": title, "text": text, "url": url})


# One week of a made feed: a port strike carried by three outlets, a stadium vote by two, a bakery by one,
# and an older story outside the week.
FEED = [
    line(
        "2025-05-05",
        "Dockworkers strike closes Eastfield port",
        "Dockworkers walked out at Eastfield port on Monday, halting container traffic.\n\nTalks resume Friday.",
        "https://www.harbour-news.example/strike",
    ),
    line(
        "2025-05-06",
        "Eastfield port strike enters second day",
        "The dockworkers strike at Eastfield port entered a second day, with container traffic halted.",
        "https://coastal-times.example/port-strike",
    ),
    line(
        "2025-05-06",
        "Container traffic halted as Eastfield dockworkers strike",
        "Container ships queued outside Eastfield port as the dockworkers strike went on.",
        "https://daily-ledger.example/ships",
    ),
    line(
        "2025-05-07",
        "Council backs new stadium in Northbridge",
        "Northbridge council voted for the new football stadium by the river on Wednesday.",
        "https://coastal-times.example/stadium",
    ),
    line(
        "2025-05-08",
        "Northbridge stadium vote draws protest",
        "Residents protested the council vote on the new football stadium by the river.",
        "https://daily-ledger.example/stadium-protest",
    ),
    line(
        "2025-05-09",
        "Bakery wins regional bread prize",
        "By staff.\n\nA family bakery in Westmoor won the regional prize for its rye bread.",
        "https://westmoor-post.example/bread",
    ),
    line(
        "2025-04-01",
        "Ferry timetable changes",
        "The ferry to the islands will run twice a day from April.",
        "https://harbour-news.example/ferry",
    ),
]


@pytest.fixture
def week(tmp_path):
    write(tmp_path / "feed", "week.jsonl", "\n".join(FEED) + "\n")
    rebuild(tmp_path / "feed", tmp_path / "feed.db", language="en")
    return Index(tmp_path / "feed.db")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What happened this week?", True),
        ("any news today", True),
        ("What's new?", True),
        ("latest headlines from 2025", True),
        ("What happened at the port?", False),
        ("stadium news this week", False),
    ],
)
def test_a_question_without_a_topic_is_found_by_its_words(week, question, expected):
    with week.snapshot() as snap:
        assert is_topicless(snap, snap.analyzer.terms(question)) is expected


@pytest.mark.parametrize(
    ("language", "question", "topical"),
    [
        ("ru", "Какие новости сегодня?", "Что случилось в порту?"),
        ("ar", "ما الأخبار اليوم؟", "ماذا حدث في الميناء؟"),
    ],
)
def test_the_rule_holds_in_russian_and_arabic(tmp_path, language, question, topical):
    write(tmp_path / "a", "a.txt", " date 2025-05-05 x\n\ny")
    rebuild(tmp_path / "a", tmp_path / "a.db", language=language)
    with Index(tmp_path / "a.db").snapshot() as snap:
        assert is_topicless(snap, snap.analyzer.terms(question))
        assert not is_topicless(snap, snap.analyzer.terms(topical))


def test_the_week_s_stories_are_grouped_and_the_most_widely_carried_comes_first(week):
    with week.snapshot() as snap:
        stories = main_stories(snap, Window("2025-05-03", "2025-05-09"))
    assert [(s.articles, s.sources) for s in stories] == [(3, 3), (2, 2), (1, 1)]
    assert "strike" in stories[0].title.lower() and "stadium" in stories[1].title.lower()
    assert stories[2].lead == "A family bakery in Westmoor won the regional prize for its rye bread."
    assert all("Ferry" not in s.title for s in stories)


def test_what_happened_this_week_answers_with_the_main_stories(week):
    result = answer(week, "What happened this week?", as_of="2025-05-09")
    assert result.window == Window("2025-05-03", "2025-05-09") and not result.silent
    titles = [p.title for p in result.passages]
    assert "strike" in titles[0].lower() and "stadium" in titles[1].lower()
    assert titles[2] == "Bakery wins regional bread prize" and len(titles) == 3
    shown = render.plain_text(result)
    assert shown.startswith("The main stories of 2025-05-03 to 2025-05-09, the most widely carried first:")
    assert "(3 articles, 3 sources)" in shown
    data = result.as_json()
    assert data["stories"]["sizes"][0] == {"articles": 3, "sources": 3}


def test_more_pages_through_the_stories(week):
    first = answer(week, "any news this week", as_of="2025-05-09", top=2)
    rest = answer(week, "any news this week", as_of="2025-05-09", top=2, offset=2)
    assert first.more and len(first.passages) == 2 and len(rest.passages) == 1 and not rest.more
    assert {p.title for p in first.passages}.isdisjoint(p.title for p in rest.passages)


def test_a_week_without_articles_says_so(week):
    result = answer(week, "what's new", as_of="2026-01-10")
    assert result.notice == NO_STORIES and result.passages == ()
    assert render.plain_text(result) == "No articles from 2026-01-04 to 2026-01-10."


def test_single_pass_clustering_joins_by_centroid_cosine():
    a, b, c = {"x": 1.0}, {"x": 0.8, "y": 0.6}, {"z": 1.0}
    assert cluster([a, b, c], 0.5) == [[0, 1], [2]]
    assert cluster([a, b, c], 0.9) == [[0], [1], [2]]


def test_without_a_url_the_source_is_the_folder_and_the_top_folder_is_one_source():
    def row(source, url=""):
        return ArticleRow(1, source, "2025-03-04", "T", "", url, 1, 0, "en")

    top = {source_of(row("a.txt")), source_of(row("b.txt")), source_of(row("feed.jsonl#L3"))}
    assert len(top) == 1
    assert source_of(row("reuters/a.txt")) == source_of(row("reuters/b.txt")) != source_of(row("ap/a.txt"))
    assert source_of(row("a.txt", "https://www.example.org/x")) == "example.org"
