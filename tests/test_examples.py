"""/start's example questions: short, well-formed questions made from headlines."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.chat.replies import example_question, example_questions
from bot.config import sample_articles_dir
from index.rebuild import rebuild
from index.search import Index


@pytest.mark.parametrize(
    "title, question",
    [
        (
            "Florida Gov. Ron DeSantis' laws keep getting blocked.",
            "What's the latest on Florida Gov. Ron DeSantis' laws?",
        ),
        (
            "Florida Gov. Ron DeSantis' laws keep getting blocked. Here's why",
            "What's the latest on Florida Gov. Ron DeSantis' laws?",
        ),
        (
            "Heatwave Sets New Temperature Record in the Southern Valley",
            "What's the latest on Heatwave Sets New Temperature Record?",
        ),
        ("Central Bank Cuts Interest Rate to 3.25 Percent", "What's the latest on Central Bank Cuts Interest Rate?"),
        (
            "Carmaker to Close Eastfield Plant, Cutting 1,800 Jobs",
            "What's the latest on Carmaker to Close Eastfield Plant?",
        ),
        ("Greens Gain Seats as Regional Election Turnout Falls", "What's the latest on Greens Gain Seats?"),
        (
            "Northbridge Council Approves Lakeshore Tram Line",
            "What's the latest on Northbridge Council Approves Lakeshore Tram Line?",
        ),
        ("Stocks rally!", "What's the latest on Stocks rally?"),
        ("Is the recession over?", "What's the latest on Is the recession over?"),
        ("Top 10 things to know about the new phone…", "What's the latest on Top 10 things?"),
    ],
)
def test_a_headline_becomes_a_short_question(title, question):
    assert example_question(title) == question


@pytest.mark.parametrize(
    "title",
    [
        "Florida Gov. Ron DeSantis' laws keep getting blocked.",
        "Sen. Warren and Gov. Newsom clash over the budget of the state of California on Friday",
        "Biden says he will veto the bill passed by the House of Representatives on Friday",
        "Mayor of the city and the governor of the state meet to talk about the future of the port",
        '"We will not give up," the mayor of the harbour city told reporters on Monday.',
        "The",
    ],
)
def test_no_question_pastes_a_long_headline_or_dangles(title):
    question = example_question(title)
    phrase = question.removeprefix("What's the latest on ").removesuffix("?")
    assert question.endswith("?") and not re.search(r"[.!?…,;:]\?$", question)
    assert len(phrase.split()) <= 6 and '"' not in phrase
    assert phrase.split()[-1].lower() not in {"the", "of", "and", "to", "a", "gov.", "sen."} or phrase == "The"


def test_start_examples_are_answered_from_their_own_articles():
    index_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"samples-{os.getpid()}.db"
    rebuild(sample_articles_dir(), index_path)
    index = Index(index_path)
    questions = example_questions(index)
    assert len(questions) == 3 and all(q.endswith("?") and "…" not in q for q in questions)
    index_path.unlink()
