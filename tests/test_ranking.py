"""The ranking: each feature pinned on small cases written here, and the answer path that combines them."""

import datetime as dt
import json
import math

import numpy as np
import pytest

from bot.ranking import features as F
from bot.ranking.answer import PLAIN_BM25, Ranking, answer
from bot.ranking.cues import answer_type, carries, carries_new
from bot.ranking.model import HAND_SET, RankingModel, default_model, model_named
from bot.ranking.timeframe import TimeFrame, read_timeframe
from index.rebuild import rebuild
from index.search import Index

from .conftest import write

FILLER_TOPICS = [
    "harvest",
    "orchestra",
    "marathon",
    "bridge",
    "museum",
    "ferry",
    "library",
    "vineyard",
    "glacier",
    "festival",
    "airport",
    "hospital",
    "stadium",
    "railway",
    "canal",
    "observatory",
]
EPOCH = dt.date(1970, 1, 1).toordinal()


def build(tmp_path, articles: dict[str, str]) -> Index:
    """The articles given, among unrelated ones, so that collection statistics are realistic."""
    folder = tmp_path / "articles"
    for name, text in articles.items():
        write(folder, name, text)
    for i, topic in enumerate(FILLER_TOPICS):
        write(
            folder,
            f"filler/{i}.txt",
            f" date 2024-0{i % 9 + 1}-1{i % 9} The {topic} reopens\n\n"
            f"The {topic} reopened on a sunny morning after repairs.\n\nLocal people welcomed the {topic}.",
        )
    rebuild(folder, tmp_path / "r.db")
    return Index(tmp_path / "r.db")


def question(
    terms=("tram", "open"),
    idf=(2.0, 1.0),
    frame=TimeFrame(),
    day="2025-06-18",
    kind=None,
    text="When will the tram open?",
) -> F.Question:
    return F.Question(
        text=text,
        terms=tuple(terms),
        counts=np.ones(len(terms)),
        sentence_idf=np.array(idf),
        article_idf=np.array(idf),
        kind=kind,
        frame=frame,
        day=dt.date.fromisoformat(day).toordinal() - EPOCH,
        words=frozenset(text.casefold().split()),
    )


def articles(days_ago, bm25, holds, in_title=None, frame_days=None, day="2025-06-18") -> F.ArticlePool:
    today = dt.date.fromisoformat(day).toordinal() - EPOCH
    holds = np.array(holds, dtype=bool)
    return F.ArticlePool(
        np.arange(len(bm25)),
        np.array(bm25, float),
        10.0,
        holds,
        np.array(in_title if in_title is not None else np.zeros_like(holds), dtype=bool),
        today - np.array(days_ago),
        frame_days,
    )


def passages(tfs, lengths=None, position=None, rank=None, texts=None, **text_fields) -> F.TextPassagePool:
    """A pool with what every feature needs: the "text" fields given (texts default to empty strings)."""
    tfs = np.array(tfs)
    n = len(tfs)
    return F.TextPassagePool(
        np.arange(n),
        np.zeros(n),
        np.array(rank if rank is not None else [0] * n, float),
        np.array(position if position is not None else [2] * n, float),
        tfs,
        np.array(lengths if lengths is not None else [10] * n, float),
        10.0,
        texts=tuple(texts or [""] * n),
        **text_fields,
    )


# --- article features ----------------------------------------------------------------------


def test_article_bm25_is_a_share_of_the_most_any_article_could_score():
    pool = articles([1, 1], [5.0, 2.0], [[1, 1], [1, 0]])
    assert F.article_bm25(question(), pool).tolist() == [0.5, 0.2]


def test_article_and_title_coverage_weigh_terms_by_idf():
    pool = articles([1, 1, 1], [1, 1, 1], [[1, 1], [1, 0], [0, 1]], in_title=[[0, 0], [1, 0], [0, 1]])
    assert F.article_coverage(question(), pool) == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert F.title_coverage(question(), pool) == pytest.approx([0.0, 2 / 3, 1 / 3])


def test_recency_falls_with_age_and_says_nothing_when_the_question_names_a_date():
    pool = articles([0, 3, 30, 400], [1, 1, 1, 1], [[1, 1]] * 4)
    for feature in (F.recent_3_days, F.recent_10_days, F.recent_60_days):
        values = feature(question(), pool)
        assert values[0] == 1.0 and all(np.diff(values) < 0)
    named = question(frame=TimeFrame("2025-03-01", "2025-03-31", "named", True))
    assert F.recent_10_days(named, pool).tolist() == [0.0] * 4


def test_recency_among_close_rivals_only():
    pool = articles([0, 0], [5.0, 1.0], [[1, 1], [1, 0]])
    values = F.recent_among_close(question(), pool)
    assert values[0] == 1.0 and values[1] == pytest.approx(0.2**4)


def test_window_features():
    day = dt.date(2025, 6, 18).toordinal() - EPOCH
    frame = read_timeframe("What happened this week?", dt.date(2025, 6, 18))
    window = (day - 6, day)
    pool = articles([0, 6, 7, 40], [1] * 4, [[1, 1]] * 4, frame_days=window)
    q = question(frame=frame)
    assert F.in_window(q, pool).tolist() == [1.0, 1.0, 0.0, 0.0]
    distance = F.window_distance(q, pool)
    assert distance[:2].tolist() == [0.0, 0.0] and 0 < distance[2] < distance[3] <= 1.0
    year = question(frame=TimeFrame("2025-01-01", "2025-06-18", "year", False))
    assert F.in_window(year, pool).tolist() == [0.0] * 4


# --- passage features ----------------------------------------------------------------------


@pytest.mark.parametrize("terms", [3, 8, 9, 20, 64])
def test_coverage_from_bit_patterns_equals_coverage_of_the_term_matrix(terms):
    """Pools of every candidate article carry which terms each holds as bits; their coverage is the same
    as the term matrix's, for questions of one to eight bytes of terms."""
    rng = np.random.default_rng(terms)
    holds = rng.random((500, terms)) < 0.4
    idf = rng.random(terms) * 5
    held = (holds.astype(np.uint64) << np.arange(terms, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    assert F.bit_coverage(held, idf) == pytest.approx(F.coverage(holds, idf), abs=1e-12)
    assert F.bit_coverage(held.astype(np.uint8), idf[:0]).tolist() == [0.0] * 500


def test_sentence_bm25_and_coverage():
    pool = passages([[1, 1], [1, 0], [0, 0]], lengths=[10, 10, 10])
    bm25 = F.sentence_bm25(question(), pool)
    assert bm25[0] > bm25[1] > bm25[2] == 0.0 and bm25[0] <= 1.0
    assert F.coverage(pool.tfs > 0, question().sentence_idf) == pytest.approx([1.0, 2 / 3, 0.0])
    # b = 0.4: a sentence twice as long loses less than with rank-bm25's b = 0.75
    short_long = F.sentence_bm25(question(), passages([[1, 0], [1, 0]], lengths=[10, 20]))
    okapi = F.sentence_okapi(question(), passages([[1, 0], [1, 0]], lengths=[10, 20]))
    assert short_long[1] / short_long[0] > okapi[1] / okapi[0]


def test_best_in_article_features_compare_sentences_of_one_article():
    pool = passages([[1, 1], [1, 0], [1, 0]], rank=[0, 0, 1])
    assert F.bm25_in_article(question(), pool)[[0, 2]].tolist() == [1.0, 1.0]
    assert F.coverage_in_article(question(), pool)[1] == pytest.approx(2 / 3)


def test_position_and_article_rank():
    pool = passages([[1, 0]] * 3, position=[1, 2, 100], rank=[0, 1, 10])
    assert F.position(question(), pool).tolist() == pytest.approx([0.0, math.log(2) / math.log(100), 1.0])
    assert F.article_rank(question(), pool)[0] == 0.0 and F.article_rank(question(), pool)[2] == pytest.approx(1.0)


def test_text_features():
    q = question(terms=("tram", "line", "open"), idf=(2.0, 1.0, 1.0), kind="time", text="When will the tram line open?")
    texts = ("The tram line opens in 2028, said Mayor Varga.", "Trams are nice.")
    sentence_terms = (["tram", "line", "opens", "2028", "said", "mayor", "varga"], ["tram", "nice"])
    terms = F.term_incidence(
        q,
        sentence_terms,
        sentence_terms,  # each quoted alone
        headlines=(frozenset({"varga"}), frozenset({"2028"})),  # beyond the question, as stored
        weights=np.array([0.5, 0.5]),
        article_rows=np.array([0, 1]),
        idf={"varga": 3.0, "budget": 1.0, "2028": 2.0},
    )
    pool = passages(
        [[1, 1, 0], [1, 0, 0]],
        texts=texts,
        quotes=texts,
        terms=terms,
        article_ids=np.array([1, 2]),
        article_weight=np.array([0.5, 0.5]),
    )
    assert F.near_coverage(q, pool)[0] == pytest.approx(1 / 4)  # "opens" for "open": same first four letters
    assert F.answer_cue(q, pool).tolist() == [1.0, 0.0]
    assert F.new_names(q, pool)[0] == pytest.approx(1.0)  # 2028, Mayor, Varga
    assert F.quote_coverage(q, pool).tolist() == pytest.approx([0.75, 0.5])
    assert F.title_echo(q, pool).tolist() == [1.0, 0.0]
    assert F.redundancy(q, pool).tolist() == [1.0, 0.0]
    assert F.length(q, pool)[0] == pytest.approx(math.log(46) / math.log(1000))


def test_name_agreement_counts_other_articles_only():
    q = question(text="Which team does he play for?")
    pool = passages(
        [[1, 0]] * 3,
        texts=["He plays for the Buffalo Bills.", "The team is the Buffalo Bills.", "He plays for the Bills."],
        article_ids=np.array([1, 1, 2]),
        article_weight=np.array([0.6, 0.6, 0.4]),
    )
    values = F.name_agreement(q, pool)
    assert values.tolist() == pytest.approx([0.4, 0.4, 0.6])


def test_every_feature_is_documented_and_registered_once():
    for registry in (F.ARTICLE_FEATURES, F.PASSAGE_FEATURES):
        for name, feature in registry.items():
            assert feature.name == name and feature.doc and feature.stage in ("postings", "terms", "text")
    assert not set(F.ARTICLE_FEATURES) & set(F.PASSAGE_FEATURES)
    assert {f.stage for f in F.ARTICLE_FEATURES.values()} == {"postings", "terms"}  # no article reads text


# --- answer types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, kind",
    [
        ("How many people were evacuated?", "number"),
        ("When will the tram open?", "time"),
        ("Who is the mayor?", "person"),
        ("Where did the satellite launch?", "place"),
        ("Сколько стоит линия?", "number"),
        ("Когда откроется линия?", "time"),
        ("متى تفتح الخط؟", "time"),
        ("What did the council decide?", None),
        ("Which country did the balloon belong to?", "country"),
        ("In which country was the summit held?", "country"),
        ("Which state was hit by the storm?", "state"),
        ("Which Republican lost the vote?", "person"),
        ("Which film swept the awards?", "name"),
    ],
)
def test_answer_types(text, kind):
    assert answer_type(text) == kind


def test_sentences_carry_what_is_asked():
    assert carries("About 2,400 people left.", "number")
    assert carries("It opens in September 2025.", "time") and carries("It opens in the near future.", "time")
    assert carries("Mayor Helena Varga said so.", "person")
    assert not carries("the mayor said so.", "person")
    assert carries("Crowds lined the streets of Brazil.", "country")
    assert not carries("Crowds lined the streets.", "country")


def test_an_answer_candidate_is_something_the_question_does_not_name():
    asked = frozenset({"which", "country", "did", "pelé", "visit"})
    assert carries_new("Pelé was mourned in Brazil.", "country", asked)
    assert not carries_new("Pelé was mourned.", "country", asked)
    assert not carries_new("Crowds in Brazil mourned.", "country", asked | {"brazil"})
    assert carries_new("It was won by Northbridge Rovers.", "name", frozenset({"which", "team", "won"}))
    assert not carries_new("It was won by Northbridge Rovers.", "name", frozenset({"did", "northbridge", "rovers"}))
    assert carries_new("About 2,400 people left.", "number", frozenset({"how", "many", "left"}))


# --- the model file ------------------------------------------------------------------------


def test_shipped_model_names_only_registered_features_and_loads():
    model = default_model()
    assert model.source == "bot/ranking/ranking.json"
    assert set(model.article.names) <= set(F.ARTICLE_FEATURES)
    assert set(model.passage.names) <= set(F.PASSAGE_FEATURES)
    assert 0 < model.cut < math.inf and model.calibration[0] > 0
    assert 0 < model.probability(0.0) < 1


def test_a_bad_model_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"article": {"magic": {"weight": 1}}, "passage": {}}))
    with pytest.raises(ValueError, match="unknown feature 'magic'"):
        model_named(str(bad))
    bad.write_text("{")
    with pytest.raises(ValueError, match="cannot read the ranking file"):
        model_named(str(bad))
    assert model_named("hand-set") is HAND_SET


# --- the answer path -----------------------------------------------------------------------


def test_news_without_a_date_word_prefers_the_recent_story(tmp_path):
    index = build(
        tmp_path,
        {
            "old.txt": " date 2024-01-10 Bank Holds Rate\n\nThe central bank kept the interest rate at 4 percent.",
            "new.txt": " date 2025-05-10 Bank Moves Rate\n\nThe central bank set the interest rate at 3 percent.",
        },
    )
    question_ = "What did the central bank do with the interest rate?"
    assert answer(index, question_, as_of="2025-05-12").passages[0].date == "2025-05-10"
    assert answer(index, question_, as_of="2024-02-01").passages[0].date == "2024-01-10"  # later ones left out


def test_a_named_month_beats_recency(tmp_path):
    index = build(
        tmp_path,
        {
            "a.txt": " date 2025-03-02 Storm\n\nA storm hit the coast and closed the port for two days.",
            "b.txt": " date 2025-06-02 Storm\n\nA storm hit the coast and closed the harbour port.",
        },
    )
    assert (
        answer(index, "Which storm closed the port in March 2025?", as_of="2025-06-03").passages[0].date == "2025-03-02"
    )
    assert (
        answer(index, "Which storm closed the port in June 2025?", as_of="2025-06-03").passages[0].date == "2025-06-02"
    )


def test_this_week_means_the_seven_days_up_to_as_of(tmp_path):
    index = build(
        tmp_path,
        {
            "a.txt": " date 2025-06-05 Strike\n\nDock workers went on strike over pay at the northern port.",
            "b.txt": " date 2025-06-16 Strike\n\nBus drivers went on strike over pay at the port.",
        },
    )
    first = answer(index, "Which workers went on strike over pay at the port this week?", as_of="2025-06-18")
    assert first.passages[0].date == "2025-06-16"
    assert first.frame.kind == "relative"


def test_hard_window_takes_answers_from_inside_only_when_it_has_some(tmp_path):
    index = build(
        tmp_path,
        {
            "a.txt": " date 2025-06-05 Strike\n\nDock workers went on strike over pay at the northern port.",
            "b.txt": " date 2025-06-16 Pay\n\nBus drivers were paid.",
        },
    )
    hard = Ranking(hard_window=True, silence=False)  # which articles it draws from, answering or not
    inside = answer(index, "Which workers went on strike over pay this week?", as_of="2025-06-18", ranking=hard)
    assert {p.date for p in inside.passages} == {"2025-06-16"}
    outside = answer(index, "Which dock workers went on strike?", as_of="2025-06-30", ranking=hard)
    assert outside.passages[0].date == "2025-06-05"  # no date word: no window


def test_quote_takes_in_the_neighbour_that_matches(tmp_path):
    index = build(
        tmp_path,
        {
            "a.txt": (
                " date 2025-01-01 Network\n\n"
                "Packet switching was designed for the Datagram network. The X.25 suite uses this network type."
            )
        },
    )
    passage = answer(index, "What network type does X.25 use?").passages[0]
    assert "X.25" in passage.sentence
    assert "Datagram" in passage.quote and "X.25" in passage.quote
    alone = answer(index, "What network type does X.25 use?", ranking=Ranking().without(["quotes"])).passages[0]
    assert len(alone.quote) <= len(passage.quote)


def test_two_passages_of_one_article_never_repeat_a_sentence(tmp_path):
    index = build(
        tmp_path,
        {
            "tram.txt": (
                " date 2025-03-04 Tram\n\n"
                "The council voted to build the harbour tram line on Tuesday. The harbour tram line opens in 2028.\n\n"
                "The weather was mild. Officials expect the harbour tram line to carry 40,000 people a day."
            )
        },
    )
    passages_ = answer(
        index, "When does the harbour tram line open?", top=3, ranking=Ranking().without(["cut"])
    ).passages
    assert passages_[0].sentence == "The harbour tram line opens in 2028."
    quoted = [sentence for p in passages_ for sentence in p.quote.split(". ")]
    assert len(quoted) == len(set(quoted)), [p.quote for p in passages_]


def test_republished_sentence_is_shown_once_with_earliest_date_and_count(tmp_path):
    wire = "The ministry said exports of cocoa rose by a tenth."
    index = build(
        tmp_path,
        {
            "a.txt": f" date 2025-02-03 Cocoa A\n\n{wire}",
            "b.txt": f" date 2025-02-01 Cocoa B\n\nAnother report.\n\n{wire}",
            "c.txt": f" date 2025-02-05 Cocoa C\n\n{wire}\n\nMore.",
        },
    )
    passages_ = answer(index, "cocoa exports rose", top=5, ranking=Ranking().without(["cut"])).passages
    same = [p for p in passages_ if p.sentence == wire]
    assert len(same) == 1 and same[0].copies == 3 and same[0].date == "2025-02-01"


def test_a_passage_far_weaker_than_the_first_is_not_shown(tmp_path):
    index = build(
        tmp_path,
        {
            "tram.txt": " date 2025-03-04 Tram Line\n\n"
            "The Lakeshore tram line will open in spring 2028, the council said.",
            "plant.txt": " date 2025-03-05 Plant\n\nUnions asked the owners to keep the plant open.",
        },
    )
    shown = answer(index, "When will the Lakeshore tram line open?", top=3).passages
    assert [p.title for p in shown] == ["Tram Line"]
    padded = answer(index, "When will the Lakeshore tram line open?", top=3, ranking=Ranking().without(["cut"]))
    assert len(padded.passages) == 2


def test_only_articles_restricts_the_answer(tmp_path):
    index = build(
        tmp_path,
        {
            "a.txt": " date 2025-03-04 Tram A\n\nThe tram line opens in 2028.",
            "b.txt": " date 2025-03-05 Tram B\n\nThe tram line opening is delayed to 2029.",
        },
    )
    with index.snapshot() as snap:
        ids = {article.title: article.id for article in snap.each_article()}
    result = answer(index, "When does the tram line open?", only_articles=[ids["Tram B"]])
    assert {p.title for p in result.passages} == {"Tram B"}


def test_explain_lists_each_feature_and_its_contribution(tmp_path):
    index = build(tmp_path, {"a.txt": " date 2025-03-04 Tram\n\nThe tram line opens in 2028."})
    passage = answer(index, "When does the tram line open?", explain=True).passages[0]
    names = {name for name, _, _ in passage.explain}
    assert {f"passage.{n}" for n in default_model().passage.names} <= names
    assert {f"article.{n}" for n in default_model().article.names} <= names
    passage_part = sum(c for name, _, c in passage.explain if name.startswith("passage."))
    assert passage_part == pytest.approx(passage.score)


def test_without_validates_names_and_plain_bm25_is_bm25_alone():
    assert "coverage_in_article" in Ranking().without(["coverage_in_article"]).off
    with pytest.raises(ValueError, match="unknown feature"):
        Ranking().without(["magic"])
    model = PLAIN_BM25.ranking_model
    assert {n for n, w in zip(model.article.names, model.article.weights) if w} == {"article_bm25"}
    assert {n for n, w in zip(model.passage.names, model.passage.weights) if w} == {"sentence_okapi", "article_score"}


def test_answers_are_deterministic(tmp_path):
    index = build(tmp_path, {"a.txt": " date 2025-03-04 Tram\n\nThe tram line opens in 2028. It is long."})
    first = answer(index, "tram line", top=5)
    assert all(answer(index, "tram line", top=5).passages == first.passages for _ in range(3))
    assert isinstance(RankingModel.from_json(default_model().as_json()), RankingModel)


def test_scoring_only_the_articles_that_can_reach_the_top_gives_the_full_ranking(tmp_path, monkeypatch):
    """best_articles skips the per-term look-ups for articles whose best possible score cannot reach the
    top; with pruning forced on a small collection, the answers equal the full scoring's exactly."""
    import bot.ranking.answer as answer_module

    folder = tmp_path / "many"
    words = ["harbour", "tram", "council", "budget", "river", "bridge", "school", "election", "storm", "rates"]
    for i in range(300):
        picked = [words[(i * 7 + j) % len(words)] for j in range(1 + i % 4)]
        day = dt.date(2025, 1, 1) + dt.timedelta(days=i % 200)
        write(
            folder,
            f"{i:03d}.txt",
            f" date {day} Story {i} about the {' '.join(picked)}\n\nThe {picked[0]} "
            f"plan number {i} was discussed on Monday by the {' and the '.join(picked)} committee.\n",
        )
    rebuild(folder, tmp_path / "many.db")
    index = Index(tmp_path / "many.db")
    questions = [
        "What did the council decide about the harbour tram?",
        "storm river bridge",
        "When was the school budget discussed this week?",
        "rates election council budget",
    ]

    def answers(prune_from: int, chunk: int):
        monkeypatch.setattr(answer_module, "PRUNE_FROM", prune_from)
        monkeypatch.setattr(answer_module, "PRUNE_CHUNK", chunk)
        return [
            [(p.sentence_id, round(p.score, 9)) for p in answer(index, q, top=10, as_of="2025-07-01").passages]
            for q in questions
        ]

    full = answers(10**9, 1024)
    assert all(full)
    assert answers(1, 8) == full
