"""`newsbot ask --explain` adds up: printed contributions sum to the printed score, measured from typical values."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from bot.chat import render
from bot.faces.cli import cli
from bot.ranking.answer import Answer, Passage, answer
from bot.ranking.model import LinearModel

ROW = re.compile(r"^    (\w+)\s+(-?\d+\.\d{3})\s+(-?\d+\.\d{3})\s+([+-]\d+\.\d{3})$")
SUM = re.compile(r"^    sum\s+([+-]\d+\.\d{3})  = (the score|article_score) (-?\d+\.\d{3})$")


def blocks(text: str) -> list[dict]:
    """Each level's printed rows (name, value, typical, contribution) and its sum line, per passage."""
    out, rows = [], []
    for line in text.splitlines():
        if (row := ROW.match(line)) is not None:
            rows.append((row[1], float(row[2]), float(row[3]), float(row[4])))
        elif (total := SUM.match(line)) is not None:
            out.append({"rows": rows, "sum": float(total[1]), "of": total[2], "target": float(total[3])})
            rows = []
    return out


def test_printed_contributions_add_up_to_the_printed_score(runner, index_path):
    result = runner.invoke(cli, ["ask", "--explain", "--index", str(index_path), "When will the tram line open?"])
    assert result.exit_code == 0 and "score = 0 + the sum of its contributions" in result.output
    score = float(re.search(r"^1\. score (-?\d+\.\d{3})$", result.output, re.M)[1])
    passage_level, article_level = blocks(result.output)[:2]
    assert passage_level["of"] == "the score" and passage_level["target"] == score
    printed = [r[3] for r in passage_level["rows"]]
    assert sum(printed) == pytest.approx(score, abs=0.0005 * len(printed) + 1e-9)
    article_score = next(r[1] for r in passage_level["rows"] if r[0] == "article_score")
    assert article_level["of"] == "article_score" and article_level["target"] == article_score
    assert sum(r[3] for r in article_level["rows"]) == pytest.approx(
        article_score, abs=0.0005 * len(article_level["rows"])
    )


def test_a_feature_at_its_typical_value_contributes_nothing():
    model = LinearModel(
        ("window_distance", "article_bm25"), np.array([-3.9, 2.0]), np.array([0.37, 0.2]), np.array([0.46, 0.1])
    )
    at_mean = model.terms({"window_distance": np.array([0.37]), "article_bm25": np.array([0.2])})
    assert at_mean.tolist() == [[0.0, 0.0]]
    zero = model.terms({"window_distance": np.array([0.0]), "article_bm25": np.array([0.2])})[0]
    assert zero[0] == pytest.approx(-3.9 * (0 - 0.37) / 0.46) and zero[0] > 3  # a zero value, a large part
    explained = Passage(
        "s",
        "s",
        "T",
        "2025-01-02",
        "a.txt",
        score=float(zero.sum()),
        explain=(("passage.window_distance", 0.0, float(zero[0])), ("passage.article_bm25", 0.2, 0.0)),
        typical=(0.37, 0.2),
    )
    text = render.explain_text(Answer("q", (explained,)))
    assert "article_bm25                 0.200     0.200        +0.000" in text
    assert "window_distance              0.000     0.370        +3.137" in text


def test_explain_text_shows_typical_values_from_a_real_answer_and_json_is_unchanged(index):
    result = answer(index, "When will the tram line open?", explain=True)
    p = result.passages[0]
    assert len(p.typical) == len(p.explain)
    assert set(p.as_json()) == {"sentence", "quote", "title", "date", "source", "url", "score"}
    features = json.loads(render.explain_json(result))["passages"][0]["features"]
    assert all(set(f) == {"value", "contribution"} for f in features.values())
    assert "typical" in render.explain_text(result)
