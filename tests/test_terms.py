import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.terms import Analyzer, detect_language, language_name, normalise


def test_english_stems_and_stopwords():
    analyzer = Analyzer("en")
    assert analyzer.terms("When will Putin visit Iran's capital?") == ["putin", "visit", "iran", "capit"]
    assert analyzer.terms("The visits, visiting and visited") == ["visit", "visit", "visit"]
    assert analyzer.terms("the of and to") == []


def test_numbers_keep_their_value():
    assert Analyzer("en").terms("1,750 bags at 5.93 dlrs in 2024") == ["1750", "bag", "5.93", "dlrs", "2024"]


def test_question_and_sentence_share_one_analysis():
    analyzer = Analyzer("en")
    sentence = "Relations between Tehran and Moscow have now been elevated."
    assert set(analyzer.terms("relations tehran moscow elevated")) <= set(analyzer.terms(sentence))


def test_russian_yo_and_stemming():
    analyzer = Analyzer("ru")
    assert analyzer.terms("Путина Путину Путин в Тегеране") == ["путин", "путин", "путин", "тегеран"]
    assert analyzer.terms("всё ещё") == analyzer.terms("все еще")
    assert normalise("Ёлка") == "елка"


def test_arabic_diacritics_and_letter_variants():
    analyzer = Analyzer("ar")
    assert normalise("أَحْمَد") == "احمد"
    assert analyzer.terms("زيارة الرئيس") == analyzer.terms("زياره الرئيس")
    assert analyzer.terms("في من على") == []


def test_spans_point_at_the_words():
    text = "Putin will visit Tehran."
    spans = list(Analyzer("en").spans(text))
    assert [text[a:b] for a, b, _ in spans] == ["Putin", "visit", "Tehran"]


def test_language_names():
    assert language_name("EN") == "english" and language_name("russian") == "russian"
    assert language_name("Auto") == "auto"
    with pytest.raises(ValueError, match="unknown language"):
        language_name("klingon")


def test_auto_analyses_each_word_by_its_script():
    auto = Analyzer("auto")
    mixed = "Путина ждут в Тегеране, the ministers said; قال الرئيس الإيراني"
    assert auto.terms(mixed) == (
        Analyzer("ru").terms("Путина ждут в Тегеране")
        + Analyzer("en").terms("the ministers said")
        + Analyzer("ar").terms("قال الرئيس الإيراني")
    )
    # Each language's stopwords still go, and a question is analysed like the sentences.
    assert auto.terms("в и the of على") == []
    assert auto.terms("Когда Путин посетит Иран?") == Analyzer("ru").terms("Когда Путин посетит Иран?")


def test_detect_language_by_majority_script():
    assert detect_language("Путин посетит Иран, said Reuters") == "russian"
    assert detect_language("Tehran said on Monday that Putin would visit") == "english"
    assert detect_language("قال الرئيس الإيراني إن بوتين سيزور طهران") == "arabic"
    assert detect_language("2024 — 1,750") == "english"


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_analyzer_never_raises(text):
    for language in ("en", "ru", "ar", "auto"):
        terms = Analyzer(language).terms(text)
        assert all(isinstance(t, str) and t for t in terms)
