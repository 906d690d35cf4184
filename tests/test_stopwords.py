"""Stopword lists: in the form the analyser matches them (folded, before Arabic letter variants are unified,
so that "على" (on) is dropped and the name "علي" (Ali) kept), or they would never match."""

import pytest

from index import stopwords
from index.terms import Analyzer, fold


@pytest.mark.parametrize("words", [stopwords.ENGLISH, stopwords.RUSSIAN, stopwords.ARABIC], ids=["en", "ru", "ar"])
def test_stopwords_are_written_as_the_analyser_folds_them(words):
    assert words and all(fold(word) == word for word in words)


def test_a_stopword_is_dropped_and_a_name_spelt_like_it_kept():
    analyzer = Analyzer("arabic")
    assert analyzer.terms("على") == [] and analyzer.terms("علي") != []
