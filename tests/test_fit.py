"""The fitting script: the same questions always give the same ranking file, and it is a usable one."""

import json

import numpy as np
import pytest

from bench.fit_ranking import Group, fit_all, fit_calibration, fit_listwise
from bot.ranking.answer import Ranking, answer
from bot.ranking.evaluate import Question
from bot.ranking.model import RankingModel
from index.rebuild import rebuild
from index.search import Index

from .conftest import write

STORIES = {
    "tram_old.txt": " date 2025-01-10 Tram Plans Delayed\n\nThe tram line will open in 2030, officials said in "
    "January.\n\nThe council met on Monday.",
    "tram_new.txt": " date 2025-03-04 Tram Line Approved\n\nThe tram line will open in 2028, the council said "
    "on Tuesday.\n\nIt will cost 620 million euros.",
    "bank.txt": " date 2025-03-03 Bank Cuts Rate\n\nThe central bank cut its rate to 3.25 percent.\n\n"
    "Governor Paul Adeyemi spoke.",
    "bank_old.txt": " date 2024-03-03 Bank Holds Rate\n\nThe central bank held its rate at 4 percent.",
    "storm.txt": " date 2025-03-02 Storm Closes Port\n\nA storm closed the port of Eastfield for two days.",
    "cup.txt": " date 2025-03-01 Harbour City Wins Cup\n\nHarbour City won the cup on penalties.",
}
QUESTIONS = [
    Question("1", "When will the tram line open?", ("2028",), ("tram_new.txt",), "2025-03-05"),
    Question("2", "What did the central bank do with its rate this week?", ("3.25",), ("bank.txt",), "2025-03-05"),
    Question("3", "Which port did the storm close?", ("Eastfield",), ("storm.txt",), "2025-03-05"),
    Question("4", "Who won the cup?", ("Harbour City",), ("cup.txt",), "2025-03-05"),
    Question("5", "How much will the tram line cost?", ("620 million",), ("tram_new.txt",), "2025-03-05"),
]


@pytest.fixture
def tiny_index(tmp_path) -> Index:
    for name, text in STORIES.items():
        write(tmp_path / "news", name, text)
    rebuild(tmp_path / "news", tmp_path / "news.db")
    return Index(tmp_path / "news.db")


def test_fitting_is_deterministic_and_gives_a_working_model(tiny_index):
    runs = [
        json.dumps(fit_all([(tiny_index, QUESTIONS, True)], log=lambda line: None).as_json(), sort_keys=True)
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    model = RankingModel.from_json(json.loads(runs[0]))
    first = answer(tiny_index, "When will the tram line open?", as_of="2025-03-05", ranking=Ranking(model=model))
    assert "2028" in first.passages[0].quote


def test_listwise_fit_prefers_the_feature_that_marks_positives():
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(40):
        x = rng.normal(size=(8, 2))
        y = np.zeros(8)
        y[np.argmax(x[:, 0])] = 1  # the first feature decides; the second is noise
        groups.append(Group(None, x, y))
    weights = fit_listwise(groups, l2=0.1)
    assert weights[0] > 1 and abs(weights[1]) < weights[0] / 4


def test_calibration_is_increasing_in_the_score():
    scores = np.linspace(-3, 3, 200)
    labels = (scores + np.random.default_rng(1).normal(scale=1.0, size=200) > 0).astype(float)
    a, b = fit_calibration(scores, labels)
    assert a > 0 and abs(b) < 1
