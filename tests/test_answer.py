import pytest

from bot.ranking.answer import NO_MATCH, NO_WORDS, SILENT, answer
from index.rebuild import rebuild
from index.search import Index

from .conftest import shared_path, write


def test_seed_question_quotes_the_visit_sentence_with_its_date(tmp_path):
    seed = shared_path("seed", "000_15a01e1fcb45f449.txt")
    folder = tmp_path / "seed"
    write(folder, seed.name, seed.read_text(encoding="utf-8"))
    rebuild(folder, tmp_path / "seed.db")
    result = answer(Index(tmp_path / "seed.db"), "When will Putin visit Iran?")
    first = result.passages[0]
    assert "is set to visit Iran in the near future" in first.sentence
    assert first.date == "2025-06-26"
    assert first.title == "Russia’s President Putin to Visit Iran Soon"


def test_fixture_question(index):
    result = answer(index, "When will President Kallas visit Norland?")
    assert result.passages[0].sentence.startswith("President Mara Kallas is set to visit Norland next month")
    assert result.passages[0].date == "2025-06-26"
    assert result.passages[0].source == "002_visit.txt"
    assert result.took_ms > 0 and not result.notice


def test_matched_words_are_marked(index):
    passage = answer(index, "harbour tram").passages[0]
    marked = [passage.quote[a:b].lower() for a, b in passage.highlights]
    assert "harbour" in marked and "tram" in marked


def test_leaning_sentence_is_quoted_with_the_one_before(index):
    passage = answer(index, "first new tram line in fifty years").passages[0]
    assert passage.sentence.startswith("It will be the first new tram line")
    assert passage.quote.startswith("Construction starts in September 2025. It will be")


def test_at_most_two_passages_per_article(index):
    result = answer(index, "tram line harbour council construction euros mayor", top=10)
    sources = [p.source for p in result.passages]
    assert max(sources.count(s) for s in sources) <= 2


def test_as_of_and_date_range(index):
    latest = answer(index, "central bank interest rate", top=5)
    assert {p.date for p in latest.passages} >= {"2025-09-11", "2025-12-11"}
    earlier = answer(index, "central bank interest rate", top=5, as_of="2025-10-01")
    assert earlier.passages and all(p.date <= "2025-10-01" for p in earlier.passages)
    later = answer(index, "central bank interest rate", top=5, since="2025-12-01")
    assert later.passages and all(p.date >= "2025-12-01" for p in later.passages)
    none = answer(index, "central bank interest rate", until="2020-01-01")
    assert not none.passages and none.notice == NO_MATCH


def test_identical_sentences_are_shown_once(tmp_path, articles_dir):
    write(articles_dir, "wire.txt", " date 2025-02-01 Wire A\n\nThe zeppelin landed in Oslo today.")
    write(articles_dir, "wire2.txt", " date 2025-02-02 Wire B\n\nThe zeppelin landed in Oslo today.\n\nMore text.")
    rebuild(articles_dir, tmp_path / "w.db")
    result = answer(Index(tmp_path / "w.db"), "zeppelin Oslo", top=5)
    assert [p.sentence for p in result.passages].count("The zeppelin landed in Oslo today.") == 1


def test_title_match_quotes_the_lead_sentence(tmp_path):
    folder = tmp_path / "t"
    write(folder, "a.txt", " date 2025-01-01 Quokka Census Completed\n\nRangers counted the animals on the island.")
    rebuild(folder, tmp_path / "t.db")
    passage = answer(Index(tmp_path / "t.db"), "quokka census").passages[0]
    assert passage.sentence == "Rangers counted the animals on the island."
    assert passage.title == "Quokka Census Completed"


def test_paging_with_offset(index):
    first = answer(index, "central bank rate governor", top=1)
    second = answer(index, "central bank rate governor", top=1, offset=1)
    assert first.more and first.passages[0].sentence != second.passages[0].sentence


def test_unknown_words_are_no_match(index):
    result = answer(index, "quidditch")
    assert result.passages == () and result.notice == NO_MATCH


@pytest.mark.parametrize(
    "question",
    ["", "   ", "?!...", "🙂🙂🙂", "the of and", "\x00\x00", "\u202e\u200f", "%s {}"],
)
def test_questions_without_words(index, question):
    result = answer(index, question)
    assert result.passages == () and result.notice == NO_WORDS


@pytest.mark.parametrize(
    "question",
    [
        "tram" * 30000,
        "tram " * 5000,
        'NEAR(tram line) "tram* col:line -x AND OR NOT',
        "tram'; drop table articles; --",
        "%s %d {0} {}",
    ],
)
def test_hostile_questions_answer_normally(index, question):
    result = answer(index, question)
    assert result.notice in ("", NO_MATCH, SILENT)
    assert answer(index, "harbour tram").passages  # the index is intact
