"""The term-based text features, computed at once from a term incidence, equal a plain loop over each
candidate's stored terms (the straightforward definitions, kept here as the reference) on a built index."""

from __future__ import annotations

import numpy as np
import pytest

from bot.ranking import features as F
from bot.ranking.answer import Ranking, prepare_question, rank
from bot.ranking.timeframe import TimeFrame
from index import store
from index.rebuild import rebuild
from index.search import Index

from .conftest import write

ARTICLES = {
    "001_merger.txt": """ date 2025-05-02 Harbour Airlines Agrees Merger With Coastal Air

Harbour Airlines agreed on Friday to merge with Coastal Air in a deal worth 2.1 billion euros.

The merged airline will keep the Harbour name, chief executive Lena Ortiz said.

It will fly to 84 cities. Regulators must still approve the merger.

Shares of both carriers rose.
""",
    "002_merger_review.txt": """ date 2025-05-09 Regulators Open Review of Airline Merger

Competition regulators opened a review of the Harbour Airlines merger on Thursday.

The review of the airline deal could take six months, the competition office said.

Coastal Air said it expects approval. Lena Ortiz will testify in June.
""",
    "003_strike.txt": """ date 2025-05-10 Pilots at Coastal Air Threaten Strike Over Merger

Pilots at Coastal Air threatened a strike over the planned merger with Harbour Airlines.

Their union said jobs at the airline were at risk. Talks resume on Monday.

A strike would ground 120 flights a day.
""",
    "004_tram.txt": """ date 2025-03-04 Council Approves Harbour Tram Line

The city council voted on Tuesday to build the harbour tram line.

Construction starts in September. It will be the first new tram line in fifty years.
""",
    "005_airport.txt": """ date 2025-05-11 Airport Expects Record Summer

The harbour airport expects a record summer with 9 million passengers.

Airlines added routes to 12 cities. The merger of two carriers may change the schedule.
""",
}

QUESTIONS = [
    "Which airline agreed to merge with Coastal Air?",
    "How long could the review of the airline merger take?",
    "Why did pilots threaten a strike?",
    "When does construction of the harbour tram start?",
    "How many passengers does the airport expect?",
]


def reference_values(snap, ranked) -> dict[str, list[float]]:
    """The four features as plain loops over each candidate's stored terms and its article's headline."""
    q = ranked.question
    idf = dict(zip(q.terms, q.sentence_idf.tolist()))
    total = sum(idf.values()) or 1.0
    top_ids = [int(i) for i in ranked.articles.ids[ranked.top_articles]]
    scores = ranked.article_scores[ranked.top_articles]
    weights = np.exp(scores - scores.max())
    weights = (weights / weights.sum()).tolist()
    titles = snap.sentences([int(snap.article_first[i]) for i in top_ids])
    headline = {i: set(titles[int(snap.article_first[i])].terms) - set(q.terms) for i in top_ids}
    df = snap.document_frequencies(set().union(*headline.values()))
    term_idf = {t: float(F.lucene_idf(snap.stats.documents, np.array([n]))[0]) for t, n in df.items()}
    out: dict[str, list[float]] = {"near_coverage": [], "quote_coverage": [], "title_echo": [], "redundancy": []}
    for row in ranked.rows:
        words, article = set(row.sentence.terms), row.sentence.article_id
        prefixes = {w[: F.NEAR_PREFIX] for w in words if len(w) >= F.NEAR_PREFIX}
        near = [t for t in q.terms if t not in words and len(t) >= F.NEAR_PREFIX and t[: F.NEAR_PREFIX] in prefixes]
        out["near_coverage"].append(sum(idf[t] for t in near) / total)
        quoted = set(row.quote_terms)
        out["quote_coverage"].append(sum(idf[t] for t in q.terms if t in quoted) / sum(idf.values()))
        own = headline[article]
        whole = sum(term_idf.get(t, 0.0) for t in own)
        out["title_echo"].append(sum(term_idf.get(t, 0.0) for t in own & words) / whole if whole > 0 else 0.0)
        others: dict[str, float] = {}
        for other, weight in zip(top_ids, weights):
            for t in headline[other] if other != article else ():
                others[t] = others.get(t, 0.0) + weight
        whole = sum(w * term_idf.get(t, 0.0) for t, w in others.items())
        said = sum(others[t] * term_idf.get(t, 0.0) for t in words if t in others)
        out["redundancy"].append(said / whole if whole > 0 else 0.0)
    return out


@pytest.fixture(scope="module")
def airline_index(tmp_path_factory) -> Index:
    folder = tmp_path_factory.mktemp("airline")
    for name, text in ARTICLES.items():
        write(folder / "articles", name, text)
    rebuild(folder / "articles", folder / "index.db")
    return Index(folder / "index.db")


def test_term_features_equal_the_plain_loops(airline_index):
    seen = dict.fromkeys(["near_coverage", "quote_coverage", "title_echo", "redundancy"], 0)
    for question in QUESTIONS:
        with airline_index.snapshot() as snap:
            prepared = prepare_question(snap, question, as_of="2025-05-12")
            ranked = rank(snap, prepared.question, Ranking(), None, prepared.latest_day, 4, read_all=True)
            expected = reference_values(snap, ranked)
        assert ranked.rows, question
        for name, values in expected.items():
            assert ranked.passage_values[name].tolist() == pytest.approx(values, abs=1e-12), (question, name)
            seen[name] += sum(v > 0 for v in values)
    assert all(seen.values()), seen  # each feature is non-zero somewhere: the comparison tests something


def test_near_coverage_needs_the_prefix_and_a_missing_term():
    idf = np.array([2.0, 1.0, 1.0])
    q = F.Question("", ("merg", "air", "coastal"), np.ones(3), idf, idf, None, TimeFrame(), 0, frozenset())
    sentence_terms = [("merger", "coast"), ("merg", "coastal"), ("airlin",)]
    terms = F.term_incidence(q, sentence_terms, sentence_terms)
    assert terms.prefix.tolist() == [[True, False, True], [True, False, True], [False, False, False]]
    pool = F.TextPassagePool(np.arange(3), *[np.zeros(3)] * 3, np.zeros((3, 3)), np.ones(3), 1.0, terms=terms)
    assert F.near_coverage(q, pool).tolist() == pytest.approx([0.75, 0.0, 0.0])  # "air" is too short


def test_sentence_matrix_reads_the_counts_of_the_postings_in_the_ranges(airline_index):
    with airline_index.snapshot() as snap:
        terms = snap.analyzer.terms("airline merger strike harbour")
        ranges = [(int(snap.article_first[a]), int(snap.article_first[a] + snap.article_size[a])) for a in (1, 3, 5)]
        matrix = snap.sentence_matrix(terms, ranges)
        postings = snap.postings(terms)
        for column, term in enumerate(matrix.terms):
            p = postings[term]
            inside = np.zeros(len(p.ids), dtype=bool)
            for start, end in ranges:
                inside |= (p.ids >= start) & (p.ids < end)
            rows = matrix.row_of(p.ids[inside])
            assert (rows >= 0).all() and matrix.tfs[rows, column].tolist() == p.tfs[inside].tolist()
            assert matrix.lengths[rows].tolist() == p.lengths[inside].tolist()
        assert (matrix.tfs.sum(axis=1) > 0).all()


def test_document_frequencies_kept_by_the_snapshot_equal_the_stored_ones(airline_index):
    with airline_index.snapshot() as snap:
        first = snap.document_frequencies(["airlin", "merger", "nosuchterm"])
        again = snap.document_frequencies(["merger", "strike", "nosuchterm", "harbour"])
        stored = store.document_frequencies(snap._conn, ["merger", "strike", "nosuchterm", "harbour"])
    assert first == {"airlin": first["airlin"], "merger": stored["merger"]} and first["airlin"] > 0
    assert again == stored and "nosuchterm" not in again
