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
