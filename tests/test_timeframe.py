"""Time in the question, read against the day it is asked."""

import datetime as dt

import pytest

from bot.ranking.timeframe import read_timeframe

THURSDAY = dt.date(2024, 8, 22)


@pytest.mark.parametrize(
    "question, start, end, kind",
    [
        ("Which couple called it quits this week?", "2024-08-16", "2024-08-22", "relative"),
        ("What happened this past week?", "2024-08-16", "2024-08-22", "relative"),
        ("Who resigned last week?", "2024-08-09", "2024-08-15", "relative"),
        ("Who won yesterday?", "2024-08-21", "2024-08-22", "relative"),
        ("What did the senate vote on Tuesday?", "2024-08-20", "2024-08-21", "relative"),
        ("Who hosted Sunday's Oscars?", "2024-08-18", "2024-08-19", "relative"),
        ("What happened on Thursday?", "2024-08-22", "2024-08-22", "relative"),  # today is a Thursday
        ("What happened last Thursday?", "2024-08-15", "2024-08-16", "relative"),
        ("Who won the race over the weekend?", "2024-08-17", "2024-08-19", "relative"),
        ("What did the bank do this month?", "2024-08-01", "2024-08-22", "relative"),
        ("What did the bank do last month?", "2024-07-01", "2024-07-31", "relative"),
        ("Which couple split in August 2024?", "2024-08-01", "2024-08-22", "named"),
        ("Which couple split in July?", "2024-07-01", "2024-07-31", "named"),
        ("Which couple split in September?", "2023-09-01", "2023-09-30", "named"),  # the last September
        ("What became a mini-moon on September 29, 2023?", "2023-09-29", "2023-09-30", "named"),
        ("What happened on 3 March?", "2024-03-03", "2024-03-04", "named"),
        ("Who won the election in 2020?", "2020-01-01", "2020-12-31", "year"),
        ("What rose last year?", "2023-01-01", "2023-12-31", "year"),
    ],
)
def test_windows(question, start, end, kind):
    frame = read_timeframe(question, THURSDAY)
    assert (frame.start, frame.end, frame.kind) == (start, end, kind)


def test_which_windows_are_about_the_news():
    assert read_timeframe("What happened this week?", THURSDAY).decisive
    assert read_timeframe("Who split in July 2024?", THURSDAY).decisive
    assert not read_timeframe("Who ran for president in 2020?", THURSDAY).decisive  # an event's year
    assert not read_timeframe("What happened on 3 March?", THURSDAY).decisive


def test_future_dates_name_plans_not_the_news():
    frame = read_timeframe("A policy expires on September 11. What is it called?", THURSDAY)
    assert frame.kind == "" and frame.start is None
    assert read_timeframe("Who will host in 2026?", THURSDAY).start is None


def test_recent_words_and_no_date():
    assert read_timeframe("What is the latest on the strike?", THURSDAY).recent_words
    frame = read_timeframe("Who is the mayor of Northbridge?", THURSDAY)
    assert frame == type(frame)()


def test_never_raises_at_the_ends_of_the_calendar():
    assert read_timeframe("yesterday last week", dt.date(1, 1, 1)).start is None
    assert read_timeframe("this week", dt.date(9999, 12, 31)).end == "9999-12-31"
