import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.articles import parse_txt
from index.sentences import MAX_SENTENCE_CHARS, article_sentences, split_sentences

from .conftest import VISIT, shared_path


def test_golden_rules_at_least_47_of_48():
    cases = json.loads(shared_path("data", "golden_rules_en.json").read_text(encoding="utf-8"))
    exact = sum(split_sentences(case["text"]) == case["expected"] for case in cases)
    assert exact >= 47, f"{exact}/48 golden rules exact"


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Mr. Smith met Dr. Jones at 5 p.m. on Friday. They talked.",
            ["Mr. Smith met Dr. Jones at 5 p.m. on Friday.", "They talked."],
        ),
        ("The U.S. Senate voted. The bill passed.", ["The U.S. Senate voted.", "The bill passed."]),
        ("He lived in the U.S. He moved later.", ["He lived in the U.S.", "He moved later."]),
        ("Prices rose 3.5 percent. Wages rose 2.1 percent.", ["Prices rose 3.5 percent.", "Wages rose 2.1 percent."]),
        ("George W. Bush spoke. J. R. R. Tolkien wrote.", ["George W. Bush spoke.", "J. R. R. Tolkien wrote."]),
        ('"We will win," he said. "Soon."', ['"We will win," he said.', '"Soon."']),
        ('She said: "It is over." Then she left.', ['She said: "It is over."', "Then she left."]),
        ("Is it true? Yes! It is.", ["Is it true?", "Yes!", "It is."]),
        ("The chief of Warner Bros. Discovery spoke.", ["The chief of Warner Bros. Discovery spoke."]),
        (
            "Orbitex Inc. Chairman Ana Ruiz left. Gov. Lee stayed.",
            ["Orbitex Inc. Chairman Ana Ruiz left.", "Gov. Lee stayed."],
        ),
        (
            "Sec. Blinken and Rep. Omar met Martin Luther King Jr. Day.",
            ["Sec. Blinken and Rep. Omar met Martin Luther King Jr. Day."],
        ),
        ("He joined Orbitex Inc. The firm grew.", ["He joined Orbitex Inc.", "The firm grew."]),
        (
            "Президент В. В. Путин прибыл в Тегеран. Визит продлится два дня.",
            ["Президент В. В. Путин прибыл в Тегеран.", "Визит продлится два дня."],
        ),
        (
            "وصل الرئيس إلى طهران. هل ستستمر الزيارة يومين؟ نعم.",
            ["وصل الرئيس إلى طهران.", "هل ستستمر الزيارة يومين؟", "نعم."],
        ),
    ],
)
def test_news_cases(text, expected):
    assert split_sentences(text) == expected


def test_run_on_text_is_cut_into_quotable_pieces():
    pieces = split_sentences("word " * 2000)
    assert len(pieces) > 1 and all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)


def test_article_sentences_title_first_and_byline_left_out():
    sentences = article_sentences(parse_txt(VISIT, "v.txt"))
    assert sentences[0].is_title and sentences[0].position == 0
    assert sentences[1].text.startswith("President Mara Kallas is set to visit")
    assert all("By Staff" not in s.text for s in sentences)
    assert [s.position for s in sentences] == list(range(len(sentences)))


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_splitter_never_raises_and_keeps_every_word(text):
    pieces = split_sentences(text)
    assert " ".join(pieces).split() == text.split()


def test_splitting_one_long_paragraph_is_linear():
    """A hard-wrapped transcript with no blank lines is one paragraph: 20 times the text must take about
    20 times as long (the bound is twice that, for timer noise), not 400 times as a quadratic split did."""
    import time

    unit = (
        "The council met on Tuesday. Mr. Smith said the U.S. plan would cost 5.2 million dollars. "
        "It was approved, officials said! "
    )

    def seconds(size: int) -> float:
        text = (unit * (size // len(unit) + 1))[:size]
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            split_sentences(text)
            best = min(best, time.process_time() - started)
        return best

    assert seconds(1_000_000) <= 40 * seconds(50_000)


def test_a_quotation_ending_in_a_question_stays_with_its_speaker():
    text = '"Is the tram late again?" Ana Ruiz asked with a smile. "No way!" The crowd cheered.'
    asked = '"Is the tram late again?" Ana Ruiz asked with a smile.'
    assert split_sentences(text) == [asked, '"No way!"', "The crowd cheered."]
