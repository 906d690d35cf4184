"""Quotes: the sentence with the neighbour it leans on, or the one that matches better, within a bound."""

from bot.ranking.quotes import MAX_QUOTE_CHARS, build_quote, leans_back, wanted_neighbours


def test_a_sentence_that_leans_back_wants_the_one_before_first():
    text = "It was the first time in fifty years that the council had voted for a new tram line in the city."
    assert leans_back(text)
    assert wanted_neighbours(text, position=3, before_matches=0.0, after_matches=2.0) == [2, 4]


def test_otherwise_the_better_matching_neighbour_comes_first():
    text = "The council voted 31 to 9 on Tuesday to build the Lakeshore tram line across the harbour district."
    assert not leans_back(text)
    assert wanted_neighbours(text, position=3, before_matches=0.5, after_matches=2.0) == [4, 2]
    assert wanted_neighbours(text, position=3, before_matches=0.5, after_matches=2.0, with_matches=False) == []


def test_a_position_without_a_body_sentence_is_passed_over():
    quote, positions = build_quote("It opened.", 1, {2: "Crowds came."}, [0, 2])  # 0 is the title
    assert quote == "It opened. Crowds came." and positions == {1, 2}


def test_a_quote_keeps_the_article_order_and_its_bound():
    neighbours = {2: "Before.", 4: "After."}
    quote, positions = build_quote("Middle.", 3, neighbours, [4, 2])
    assert quote == "Before. Middle. After." and positions == {2, 3, 4}
    long = "x" * (MAX_QUOTE_CHARS - 10)
    quote, positions = build_quote(long, 3, {2: "A neighbour that does not fit."}, [2])
    assert quote == long and positions == {3}
