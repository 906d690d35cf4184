import json

import pytest

from bot.faces.cli import cli
from bot.ranking.evaluate import contains_answer, evaluate

from .conftest import RATES, RATES_LATER, TRAM, VISIT, write

QUESTIONS = [
    {
        "id": 1,
        "question": "When will President Kallas visit Norland?",
        "answers": ["next month"],
        "gold_files": ["002_visit.txt"],
    },
    {
        "id": 2,
        "question": "How much will the tram line cost?",
        "answers": ["620 million euros"],
        "gold_files": ["001_tram.txt"],
    },
    {
        "id": 3,
        "question": "Where does the tram route go?",
        "answers": ["from the central station"],
        "gold_files": ["001_tram.txt"],
    },
    {
        "id": 4,
        "question": "What did the central bank do with the interest rate?",
        "answers": ["cut"],
        "gold_files": ["003_rates.txt"],
        "question_date": "2025-10-01",
    },
    {"id": 5, "question": "Is there any quidditch?", "answers": ["snitch"], "gold_files": ["x.txt"]},
]


@pytest.fixture
def dataset(tmp_path):
    folder = tmp_path / "mini"
    for name, text in (
        ("001_tram.txt", TRAM),
        ("002_visit.txt", VISIT),
        ("003_rates.txt", RATES),
        ("004_rates_later.txt", RATES_LATER),
    ):
        write(folder / "corpus", name, text)
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    return folder


def test_answer_matching_ignores_case_and_quote_style():
    assert contains_answer("He said “Soon” to them", ('"soon"',))
    assert contains_answer("Norland’s capital", ("norland's",))
    assert not contains_answer("nothing here", ("something",))


def test_evaluate_small_set(dataset):
    report = evaluate(dataset, language="english", as_of=True)
    assert report.questions == 5
    assert report.sentence_hit_at_1 == pytest.approx(4 / 5)
    assert report.article_at_1 == pytest.approx(4 / 5)
    assert report.quote_hit_at_3 >= report.quote_hit_at_1 >= report.sentence_hit_at_1
    assert 0 < report.mean_quote_chars <= 450
    assert report.mrr_at_10 == pytest.approx(4 / 5)
    assert report.took_ms_median > 0


def test_eval_command_json_ablation_weights_and_question_files(runner, dataset, tmp_path):
    result = runner.invoke(cli, ["eval", str(dataset), "--json", "--as-of"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["sentence_hit@1"] == pytest.approx(0.8) and data["ranking"] == "bot/ranking/ranking.json"
    plain = runner.invoke(cli, ["eval", str(dataset), "--without", "all"])
    assert plain.exit_code == 0 and "BM25 alone" in plain.output
    hand = runner.invoke(cli, ["eval", str(dataset), "--weights", "hand-set", "--json"])
    assert hand.exit_code == 0 and json.loads(hand.output)["ranking"] == "hand-set"
    bad = runner.invoke(cli, ["eval", str(dataset), "--without", "magic"])
    assert bad.exit_code == 1 and "unknown feature" in bad.output
    missing = runner.invoke(cli, ["eval", str(dataset / "nope")])
    assert missing.exit_code == 1 and "needs corpus/" in missing.output
    (dataset / "later.jsonl").write_text(json.dumps(QUESTIONS[0]) + "\n")
    kept = tmp_path / "kept.db"
    other = runner.invoke(cli, ["eval", str(dataset), "--questions", "later.jsonl", "--index", str(kept), "--json"])
    assert other.exit_code == 0 and json.loads(other.output)["questions"] == 1 and kept.exists()
    outside = runner.invoke(cli, ["eval", str(dataset), "--questions", "../x.jsonl"])
    assert outside.exit_code == 1 and "inside" in outside.output


def test_eval_asks_of_another_corpus_of_older_articles_or_later_questions(runner, dataset, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere, "x.txt", " date 2025-01-01 Quidditch Final\n\nThe snitch was caught in the ninth minute.")
    other = runner.invoke(cli, ["eval", str(dataset), "--corpus", str(elsewhere), "--json"])
    data = json.loads(other.output)
    assert other.exit_code == 0 and data["questions"] == 5 and data["sentence_hit@1"] == pytest.approx(1 / 5)
    later = runner.invoke(cli, ["eval", str(dataset), "--asked-since", "2025-09-01", "--json"])
    assert json.loads(later.output)["questions"] == 1
    older = runner.invoke(cli, ["eval", str(dataset), "--until", "2024-12-31", "--json", "--no-silence"])
    data = json.loads(older.output)
    assert data["answered"] == 0.0 and data["silent"] == 0.0 and data["ranking"].endswith("never silent")
    bad = runner.invoke(cli, ["eval", str(dataset), "--until", "2024-13-01"])
    assert bad.exit_code == 2


def test_eval_reports_the_share_answered_and_the_hit_among_them(dataset):
    report = evaluate(dataset, language="english", as_of=True)
    assert report.answered + report.silent <= 1.0
    assert report.quote_hit_at_1_answered == pytest.approx(report.quote_hit_at_1 / report.answered)
