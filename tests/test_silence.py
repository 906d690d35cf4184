"""Silence when the articles do not know: the fitted model, the silent answer and how every face shows it."""

import json

import numpy as np
import pytest

from bench.fit_silence import best_threshold, fit_logistic
from bot.chat import render
from bot.faces.cli import cli
from bot.live.follows import FollowStore, new_answers
from bot.ranking import answer as answer_module
from bot.ranking.answer import SILENT, Ranking, answer
from bot.ranking.features import lucene_idf
from bot.ranking.model import LinearModel, ModelError
from bot.ranking.silence import (
    SIGNALS,
    SilenceModel,
    default_silence,
    question_names,
    score_without_recency,
    unknown_share,
)
from index.rebuild import rebuild
from index.search import Index

from .conftest import write
from .test_live import SAMPLES, TRAM_DATE

# A folder the questions below are asked of: three stories of March 2025.
STORIES = {
    "001_tram.txt": " date 2025-03-04 Council Approves Harbour Tram Line\n\nThe city council voted on Tuesday to "
    "build the harbour tram line, a 14-kilometre route from the central station to the university.\n\n"
    "The line will cost 620 million euros, said Mayor Helena Varga.",
    "002_visit.txt": " date 2025-03-05 President Kallas to Visit Norland\n\nPresident Mara Kallas will visit "
    "Norland next month, the ambassador Teo Brandt said.\n\nRelations have improved since the treaty of 2023.",
    "003_rates.txt": " date 2025-03-06 Central Bank Cuts Interest Rate\n\nThe central bank cut its main "
    "interest rate to 3.25 percent on Thursday.\n\nGovernor Paul Adeyemi said inflation was close to target.",
}
UNKNOWN = "What did the central bank decide in January 2024?"  # the folder's bank story is of March 2025


@pytest.fixture
def stories_index(tmp_path):
    for name, text in STORIES.items():
        write(tmp_path / "news", name, text)
    rebuild(tmp_path / "news", tmp_path / "news.db")
    return Index(tmp_path / "news.db")


def test_the_shipped_model_names_known_signals_and_a_fitted_threshold():
    model = default_silence()
    assert model is not None and set(model.model.names) <= set(SIGNALS)
    assert 0 < model.threshold < 1


def test_a_question_the_articles_answer_gets_its_passage(stories_index):
    result = answer(stories_index, "How much will the harbour tram line cost?", as_of="2025-03-07")
    assert not result.silent and "620 million euros" in result.passages[0].quote


def test_a_question_the_articles_do_not_know_is_silent_and_names_the_nearest_story(stories_index):
    result = answer(stories_index, UNKNOWN, as_of="2025-03-07")
    assert result.silent and result.passages == () and result.notice == SILENT
    assert result.nearest.title == "Central Bank Cuts Interest Rate"
    shown = render.plain_text(result)
    assert shown.startswith(SILENT) and "Central Bank Cuts Interest Rate, 2025-03-06" in shown
    assert "\n" not in shown
    assert render.html_messages(result) == [shown]
    data = result.as_json()
    assert data["silent"] is True and data["passages"] == []
    assert data["nearest"] == {"title": "Central Bank Cuts Interest Rate", "date": "2025-03-06", "url": None}


def test_without_silence_the_same_question_gets_passages(stories_index):
    result = answer(stories_index, UNKNOWN, as_of="2025-03-07", ranking=Ranking(silence=False))
    assert result.passages and not result.silent and "silent" not in result.as_json()


def test_ask_no_silence_and_json(runner, stories_index):
    silent = runner.invoke(cli, ["ask", "--index", str(stories_index.path), "--as-of", "2025-03-07", "--json", UNKNOWN])
    assert silent.exit_code == 0 and json.loads(silent.output)["silent"] is True
    shown = runner.invoke(
        cli, ["ask", "--index", str(stories_index.path), "--as-of", "2025-03-07", "--no-silence", UNKNOWN]
    )
    assert shown.exit_code == 0 and SILENT not in shown.output and "│" in shown.output


def test_a_silence_file_reads_back_and_a_bad_one_is_one_error(tmp_path):
    model = SilenceModel(LinearModel(("quote_coverage",), np.array([1.0]), np.array([2.0]), np.array([4.0])), -0.5, 0.4)
    again = SilenceModel.from_json(json.loads(json.dumps(model.as_json())))
    assert again.probability({"quote_coverage": 6.0}) == pytest.approx(model.probability({"quote_coverage": 6.0}))
    assert again.answers({"quote_coverage": 6.0}) and not again.answers({"quote_coverage": -6.0})
    (tmp_path / "bad.json").write_text('{"signals": {"magic": {"weight": 1}}, "bias": 0, "threshold": 0.5}')
    with pytest.raises(ModelError, match="unknown feature 'magic'"):
        SilenceModel.load(tmp_path / "bad.json")


def test_the_threshold_sweep_keeps_the_best_total_and_weighs_false_silences():
    probabilities = np.array([0.9, 0.8, 0.6, 0.4, 0.3, 0.1])
    labels = np.array([1, 1, 0, 1, 0, 0])
    weights = np.ones(6)
    # Equal costs: answering from 0.8 down gets 2 right, silence below gets 2 right, 0.6 one wrong answer.
    assert 0.6 < best_threshold(probabilities, labels, weights, cost=1.0) < 0.8
    # A false silence twice as costly: answering down to 0.4 is better (3 x 2 answered - 1 wrong).
    assert 0.3 < best_threshold(probabilities, labels, weights, cost=2.0) < 0.4


def test_the_logistic_fit_separates_what_can_be_separated():
    x = np.array([[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]])
    y = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    bias, weights = fit_logistic(x, y, np.ones(6))
    assert weights[0] > 0 and abs(bias) < 1e-6


def test_a_standing_question_never_pushes_an_answer_judged_silent(tmp_path, articles_dir, monkeypatch):
    for sample in sorted(SAMPLES.glob("*.txt")):  # as test_live's newsroom: scores that can reach a push
        write(articles_dir, sample.name, sample.read_text(encoding="utf-8"))
    index_path = tmp_path / "newsroom.db"
    store = FollowStore(tmp_path / "state.db")
    store.add(7, 7, "When will the Lakeshore tram line open?")
    write(articles_dir, "tram_date.txt", TRAM_DATE)
    summary = rebuild(articles_dir, index_path)
    never = SilenceModel(LinearModel(("quote_coverage",), np.zeros(1), np.zeros(1), np.ones(1)), -50.0, 0.5)
    monkeypatch.setattr(answer_module, "default_silence", lambda: never)
    assert new_answers(Index(index_path), store, summary.new_article_ids) == []
    monkeypatch.undo()  # the shipped model: the same new article is pushed
    (push,) = new_answers(Index(index_path), store, summary.new_article_ids)
    assert "14 March 2028" in push.passages[0].quote


def test_a_silent_answer_with_dates_says_how_many_matching_articles_lie_outside_them(stories_index):
    question = "How much will the harbour tram line to the central station cost?"  # the bank story says "central"
    result = answer(stories_index, question, since="2025-03-05", as_of="2025-03-07")
    assert result.silent and result.outside == 1
    shown = render.plain_text(result)
    assert shown.startswith(SILENT) and "1 matching article lies outside the dates asked" in shown
    assert "between 2025-03-05 and 2025-03-07" in shown and "\n" not in shown
    assert result.as_json()["outside"] == 1
    assert (
        "outside" not in answer(stories_index, question, as_of="2025-03-07", ranking=Ranking(silence=False)).as_json()
    )


def test_a_name_counts_as_known_only_when_one_article_holds_all_of_it(stories_index):
    with stories_index.snapshot() as snap:
        prepared = answer_module.prepare_question(snap, "Did Paul Varga visit Norland in March 2025?")
        q = prepared.question
        names = question_names(snap, q)
        assert names == (frozenset({"paul", "varga"}), frozenset({"norland"}))  # "March 2025" is its time frame
        # "Paul" (the governor) and "Varga" (the mayor) are both in the folder, never in one article
        assert unknown_share(snap, q, names, None, None, None) == 0.5
        q = answer_module.prepare_question(snap, "Did Helena Varga visit Norland?").question
        assert unknown_share(snap, q, question_names(snap, q), None, None, None) == 0.0


def test_a_word_the_folder_lacks_weighs_as_its_rarest_term(stories_index):
    with stories_index.snapshot() as snap:
        q = answer_module.prepare_question(snap, "When will the stadium line open?").question
        idf = dict(zip(q.terms, q.sentence_idf))
        assert idf["stadium"] == pytest.approx(lucene_idf(snap.stats.documents, np.zeros(1))[0])
        assert idf["stadium"] > idf["line"] > 0  # "line" is in the tram story


def test_a_measure_word_the_folder_lacks_does_not_count_but_a_topic_word_does(stories_index):
    """ "How hot": the word names the kind of answer (a number), which an article gives without that word."""
    with stories_index.snapshot() as snap:
        q = answer_module.prepare_question(snap, "How long is the stadium line?").question
        idf = dict(zip(q.terms, q.sentence_idf))
    assert idf["long"] == 0 and idf["stadium"] > idf["line"] > 0


def test_a_heatwave_question_is_answered_though_the_folder_never_says_hot(tmp_path):
    write(tmp_path / "news", "001.txt", HEATWAVE)
    for name, text in STORIES.items():
        write(tmp_path / "news", name, text)
    rebuild(tmp_path / "news", tmp_path / "news.db")
    result = answer(Index(tmp_path / "news.db"), "How hot did it get during the heatwave?", as_of="2025-07-20")
    assert not result.silent and "43.2 degrees" in result.passages[0].quote


HEATWAVE = (
    " date 2025-07-18 Heatwave Sets New Temperature Record in the Valley\n\nTemperatures in the valley reached "
    "43.2 degrees Celsius on Thursday, the highest reading since records began, the weather service said.\n\n"
    "Forecasters expect the heat to ease on Sunday."
)


def test_the_silence_score_leaves_out_recency(stories_index):
    with stories_index.snapshot() as snap:
        model = answer_module.model_for(snap, Ranking(), "tram line")
    passage = {name: 0.5 for name in model.passage.names}
    article = {name: 0.5 for name in model.article.names}
    fresh = dict(article, **{name: 1.0 for name in model.article.names if name.startswith("recent_")})
    assert score_without_recency(model, passage, fresh) == score_without_recency(model, passage, article)
    closer = dict(article, article_coverage=1.0)
    assert score_without_recency(model, passage, closer) != score_without_recency(model, passage, article)


def test_a_small_folder_is_silent_on_a_topic_it_never_names(tmp_path):
    write(tmp_path / "news", "001.txt", CUP_FINAL)
    for name, text in STORIES.items():
        write(tmp_path / "news", name, text)
    rebuild(tmp_path / "news", tmp_path / "news.db")
    index = Index(tmp_path / "news.db")
    assert answer(index, "Who won the Stanley Cup?", as_of="2025-03-07").silent
    answered = answer(index, "Who won the National Cup?", as_of="2025-03-07")
    assert not answered.silent and "Harbour City won the National Cup" in answered.passages[0].quote


CUP_FINAL = (
    " date 2025-03-02 Harbour City Win the National Cup\n\nHarbour City won the National Cup for the first time "
    "on Saturday, beating Riverside United 2-1 in front of 40,000 fans.\n\nCaptain Tomas Berg scored twice."
)
