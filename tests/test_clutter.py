"""The clutter labels (bench/clutter.py): well-formed, and holding no article text."""

import json
import re

from bench.clutter import KINDS, LABELS, load_labels, quote_key


def test_every_label_names_its_quote_by_hash_and_is_a_known_kind():
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 400
    for row in rows:
        assert set(row) == {"id", "file", "quote", "label"}  # no text of the articles
        assert re.fullmatch(r"[0-9a-f]{16}", row["quote"]) and row["file"].endswith(".txt")
        assert row["label"] == "clean" or row["label"] in KINDS


def test_a_quote_is_found_by_question_file_and_hash(tmp_path):
    key = quote_key("q1", "corpus/news_1.txt#L3", "The tram opened.")
    assert key[:2] == ("q1", "news_1.txt")
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps({"id": key[0], "file": key[1], "quote": key[2], "label": "dateline"}) + "\n")
    assert load_labels(path) == {key: "dateline"}
    assert quote_key("q1", "news_1.txt", "The tram opened!") not in load_labels(path)
