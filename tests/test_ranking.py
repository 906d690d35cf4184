"""Each answer-quality technique, pinned on small cases written here."""

import datetime as dt

import pytest

from bot.answer import PLAIN_BM25, Ranking, answer
from bot.cues import answer_type, carries, date_window
from index.rebuild import rebuild
from index.search import Index

from .conftest import write


FILLER_TOPICS = ["harvest", "orchestra", "marathon", "bridge", "museum", "ferry", "library", "vineyard",
                 "glacier", "festival", "airport", "hospital", "stadium", "railway", "canal", "observatory"]


def build(tmp_path, articles: dict[str, str]) -> Index:
    """The articles given, among unrelated ones, so that collection statistics are realistic."""
    folder = tmp_path / "articles"
    for name, text in articles.items():
        write(folder, name, text)
    for i, topic in enumerate(FILLER_TOPICS):
        write(folder, f"filler/{i}.txt", f" date 2024-0{i % 9 + 1}-1{i % 9} The {topic} reopens\n\n"
              f"The {topic} reopened on a sunny morning after repairs.\n\nLocal people welcomed the {topic}.")
    rebuild(folder, tmp_path / "r.db")
    return Index(tmp_path / "r.db")


@pytest.mark.parametrize("question, kind", [
    ("How many people were evacuated?", "number"),
    ("When will the tram open?", "time"),
    ("Who is the mayor?", "person"),
    ("Where did the satellite launch?", "place"),
    ("Сколько стоит линия?", "number"),
    ("Когда откроется линия?", "time"),
    ("متى تفتح الخط؟", "time"),
    ("What did the council decide?", None),
])
def test_answer_types(question, kind):
    assert answer_type(question) == kind


def test_sentences_carry_what_is_asked():
    assert carries("About 2,400 people left.", "number")
    assert carries("It opens in September 2025.", "time") and carries("It opens in the near future.", "time")
    assert carries("Mayor Helena Varga said so.", "person")
    assert not carries("the mayor said so.", "person")


def test_date_windows():
    today = dt.date(2025, 6, 18)  # a Wednesday
    assert date_window("What happened in June 2025?", today).start == "2025-06-01"
    assert date_window("What happened in June 2025?", today).end == "2025-06-30"
    assert date_window("news from yesterday", today).start == "2025-06-17"
    last_week = date_window("What did the bank say last week?", today)
    assert (last_week.start, last_week.end) == ("2025-06-09", "2025-06-15")
    assert date_window("What happened in 2024?", today).start == "2024-01-01"
    assert date_window("latest rate decision", today).recent
    assert not date_window("rate decision", today).recent


def test_latest_favours_recent_articles_relative_to_as_of(tmp_path):
    index = build(tmp_path, {
        "old.txt": " date 2024-01-10 Bank Holds Rate\n\nThe central bank kept the interest rate at 4 percent.",
        "new.txt": " date 2025-05-10 Bank Moves Rate\n\nThe central bank set the interest rate at 3 percent.",
    })
    question = "latest central bank interest rate"
    assert answer(index, question, as_of="2025-06-01").passages[0].date == "2025-05-10"
    assert answer(index, question, as_of="2024-02-01").passages[0].date == "2024-01-10"  # later ones excluded


def test_month_in_question_favours_articles_from_then(tmp_path):
    index = build(tmp_path, {
        "a.txt": " date 2025-03-02 Storm\n\nA storm hit the coast and closed the port for two days.",
        "b.txt": " date 2025-06-02 Storm\n\nA storm hit the coast and closed the harbour port.",
    })
    assert answer(index, "storm port closed in March 2025").passages[0].date == "2025-03-02"
    assert answer(index, "storm port closed in June 2025").passages[0].date == "2025-06-02"


def test_headline_match_lifts_the_lead(tmp_path):
    index = build(tmp_path, {"a.txt": (
        " date 2025-06-26 President Kallas to Visit Norland Soon\n\n"
        "President Kallas is set to visit Norland in the near future, officials said.\n\n"
        "In May, a spokeswoman said the capital expects President Kallas to visit Norland."
    )})
    question = "When will President Kallas visit Norland?"
    # Quotes off: otherwise each sentence is quoted with the other and only one passage is shown.
    with_lead = answer(index, question, top=2, ranking=Ranking(quotes=False)).passages
    without = {p.sentence: p.score
               for p in answer(index, question, top=2, ranking=Ranking(lead=False, quotes=False)).passages}
    assert "near future" in with_lead[0].sentence
    assert with_lead[0].score > without[with_lead[0].sentence]


def test_coverage_prefers_the_sentence_with_more_of_the_question(tmp_path):
    filler = "\n\n".join(f"Delegates discussed the budget on day {i}." for i in range(30))
    index = build(tmp_path, {"a.txt": (
        " date 2025-01-01 Notes\n\n"
        "The zeppelin, the zeppelin and the zeppelin again.\n\n"
        f"{filler}\n\n"
        "A zeppelin landed in Oslo after a long and windy journey over the cold northern sea with the budget delegates."
    )})
    question = "zeppelin Oslo budget"
    assert "landed in Oslo" in answer(index, question).passages[0].sentence


def test_coverage_counts_a_variant_the_stemmer_missed(tmp_path):
    index = build(tmp_path, {"a.txt": (
        " date 2025-01-01 Industry\n\n"
        "The merger of the two carmakers was approved by regulators.\n\n"
        "Carmakers said the two carmakers were approved for loans."
    ), "b.txt": " date 2025-01-02 Banks\n\nTwo banks may merge next year."})
    question = "When did the carmakers merge?"  # merge -> "merg", merger -> "merger": only a prefix is shared
    assert answer(index, question, ranking=Ranking(quotes=False)).passages[0].sentence.startswith("The merger")
    plain = answer(index, question, ranking=Ranking(quotes=False, coverage=False)).passages[0]
    assert plain.sentence.startswith("Carmakers said")  # more BM25 for the repeated word


def test_cue_lifts_the_sentence_with_a_number(tmp_path):
    index = build(tmp_path, {"a.txt": (
        " date 2025-01-01 Weekly Report\n\n"
        "The evacuation of the villagers was orderly and calm.\n\n"
        "Officials evacuated 2,400 villagers from the valley on Monday night."  # long: does not lean back
    )})
    question = "How many villagers were evacuated?"
    first = answer(index, question, top=2, ranking=Ranking(quotes=False)).passages[0]
    assert "2,400" in first.sentence
    without = {p.sentence: p.score
               for p in answer(index, question, top=2, ranking=Ranking(cues=False, quotes=False)).passages}
    assert first.score == pytest.approx(without[first.sentence] * 1.2 / 1.0, rel=0.2)
    assert first.score > without[first.sentence]


def test_quote_takes_in_the_neighbour_that_matches(tmp_path):
    index = build(tmp_path, {"a.txt": (
        " date 2025-01-01 Network\n\n"
        "Packet switching was designed for the Datagram network. The X.25 suite uses this network type."
    )})
    passage = answer(index, "What network type does X.25 use?").passages[0]
    assert passage.sentence == "The X.25 suite uses this network type."
    assert passage.quote.startswith("Packet switching was designed for the Datagram network.")
    plain = answer(index, "What network type does X.25 use?", ranking=PLAIN_BM25).passages[0]
    assert plain.quote == plain.sentence or plain.quote.startswith("Packet")  # leans back on "this"


def test_two_passages_of_one_article_never_repeat_a_sentence(tmp_path):
    index = build(tmp_path, {"tram.txt": (
        " date 2025-03-04 Tram\n\n"
        "The council voted to build the harbour tram line on Tuesday. The harbour tram line opens in 2028.\n\n"
        "The weather was mild. Officials expect the harbour tram line to carry 40,000 people a day."
    )})
    passages = answer(index, "When does the harbour tram line open?", top=3).passages
    # The first two sentences are quoted together once; the fourth stands alone; the others are not shown.
    assert [p.sentence for p in passages] == [
        "The harbour tram line opens in 2028.",
        "Officials expect the harbour tram line to carry 40,000 people a day.",
    ]
    assert passages[0].quote.startswith("The council voted")
    quoted = [sentence for p in passages for sentence in p.quote.split(". ")]
    assert len(quoted) == len(set(quoted)), [p.quote for p in passages]


def test_republished_sentence_is_shown_once_with_earliest_date_and_count(tmp_path):
    wire = "The ministry said exports of cocoa rose by a tenth."
    index = build(tmp_path, {
        "a.txt": f" date 2025-02-03 Cocoa A\n\n{wire}",
        "b.txt": f" date 2025-02-01 Cocoa B\n\nAnother report.\n\n{wire}",
        "c.txt": f" date 2025-02-05 Cocoa C\n\n{wire}\n\nMore.",
    })
    passages = answer(index, "cocoa exports rose", top=5).passages
    same = [p for p in passages if p.sentence == wire]
    assert len(same) == 1 and same[0].copies == 3 and same[0].date == "2025-02-01"


def test_ranking_without_validates_names():
    assert not Ranking().without(["context"]).context
    with pytest.raises(ValueError, match="unknown technique"):
        Ranking().without(["magic"])
    assert PLAIN_BM25.describe().startswith("without")
