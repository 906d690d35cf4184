"""Hostile and broken input, generated: nothing raises, replies stay valid (5,000 examples each)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fake_bot_api import visible_length
from bot.chat import render
from bot.chat.replies import RequestError, parse_request
from bot.ranking.answer import NO_MATCH, NO_STORIES, NO_WORDS, SILENT, Answer, Passage, answer
from bot.ranking.timeframe import read_timeframe
from index.articles import ArticleError, parse_json_article, parse_txt
from index.sentences import split_sentences
from index.terms import Analyzer

# How many examples: the Hypothesis profile (tests/conftest.py): a few hundred in the fast tier, 5,000 with
# HYPOTHESIS_PROFILE=full, as .ci/run runs them.
MANY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
QUERY_SYNTAX = [
    "NEAR(",
    '"',
    "*",
    "col:",
    "-x",
    "AND",
    "OR",
    "NOT",
    "%s",
    "{0}",
    "'; drop table x; --",
    "--since",
    "—until=",
    "--as-of",
    "2025-06-01",
    "9999-99-99",
    "\x00",
    "\u202e",
    "\u200f",
    "🙂",
    "ﷺ",
    "\ufeff",
    "tram",
    "line",
]
questions = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(QUERY_SYNTAX), max_size=30).map(" ".join),
    st.text(alphabet=st.characters(categories=["P", "S", "Z", "Cc", "Cf"]), max_size=200),
)


@MANY
@given(st.text(max_size=2000))
def test_parser_never_raises_anything_but_article_error(text):
    try:
        article = parse_txt(text, "x.txt")
    except ArticleError:
        return
    assert article.paragraphs and all(p.strip() for p in article.paragraphs)


@MANY
@given(
    st.dictionaries(
        st.sampled_from(["date", "title", "text", "byline", "url"]),
        st.one_of(st.text(max_size=50), st.integers(), st.none(), st.lists(st.integers())),
    )
)
def test_jsonl_records_never_raise_anything_but_article_error(record):
    try:
        parse_json_article(record, "x.jsonl#L1")
    except ArticleError:
        pass


@MANY
@given(st.text(max_size=2000))
def test_splitter_keeps_every_word(text):
    pieces = split_sentences(text)
    assert " ".join(pieces).split() == " ".join(text.split()).split() or any(len(p) >= 500 for p in pieces)


@MANY
@given(st.text(max_size=500), st.sampled_from(["en", "ru", "ar"]))
def test_analyzer_never_raises(text, language):
    assert all(term for term in Analyzer(language).terms(text))


@MANY
@given(questions)
def test_hostile_questions_get_a_normal_reply_or_no_searchable_words(index, question):
    try:
        request = parse_request(question)  # what the console and Telegram do first
    except RequestError as error:
        assert str(error) and "\n" not in str(error)
        return
    result = answer(index, request.question, since=request.since, until=request.until, as_of=request.as_of)
    assert result.notice in ("", NO_MATCH, NO_WORDS, SILENT, NO_STORIES)
    assert bool(result.passages) == (result.notice == "")
    for message in render.html_messages(result):
        assert visible_length(message, "HTML") <= 4096


@MANY
@given(
    st.lists(
        st.sampled_from(
            [
                "yesterday",
                "today",
                "last week",
                "this week",
                "last month",
                "this month",
                "last year",
                "this year",
                "latest",
                "in 2024",
                "June 2025",
                "rates",
                "on Tuesday",
                "last weekend",
                "in August",
                "on 3 March",
                "March 3, 2024",
                "Sunday's",
            ]
        ),
        max_size=4,
    ).map(" ".join),
    st.dates(),
)
def test_date_words_work_on_any_day(words, today):
    """Relative dates near year 1 or 9999 cannot always be computed: no window, never an error, and
    never a window that ends after the day asked."""
    frame = read_timeframe(words, today)
    assert (frame.start or "") <= (frame.end or "")
    assert not frame.end or frame.end <= today.isoformat()


def test_huge_questions_are_bounded(index):
    """The work is bounded by what is read of the question, not by a clock (bench/ measures time)."""
    from bot.ranking.answer import MAX_QUESTION_CHARS, clean_question

    for question in ("tram " * 5000, "x" * 100_000, "🙂" * 50_000):
        assert len(clean_question(question)) <= MAX_QUESTION_CHARS
        assert len(answer(index, question).terms) <= MAX_QUESTION_CHARS // 2  # terms of what was read


passage_text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=3000)


@MANY
@given(passage_text, passage_text, st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 3000)), max_size=8))
def test_any_passage_renders_to_valid_telegram_html(quote, title, spans):
    spans = tuple(sorted((min(a, b), max(a, b)) for a, b in spans if a != b))
    passage = Passage(
        sentence=quote, quote=quote, title=title, date="2025-01-01", source="s.txt", score=1.0, highlights=spans
    )
    result = Answer("q", (passage,) * 3)
    messages = render.html_messages(result)
    for message in messages:
        assert visible_length(message, "HTML") <= 4096  # also raises on HTML Telegram would refuse
    plain = render.plain_text(result)
    assert passage.title[:50].strip() in plain or not passage.title[:50].strip()
