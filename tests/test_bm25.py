"""Our BM25 equals rank-bm25's `get_scores` on the same tokens, for every offered variant."""

import random

import numpy as np
import pytest
import rank_bm25

from index.articles import read_articles
from index.rebuild import rebuild
from index.search import Bm25Params, Index
from index.sentences import article_sentences
from index.terms import Analyzer

REFERENCE = {"okapi": rank_bm25.BM25Okapi, "bm25l": rank_bm25.BM25L, "bm25plus": rank_bm25.BM25Plus}


def _corpus_and_index(tmp_path, articles_dir, variant):
    path = tmp_path / f"{variant}.db"
    rebuild(articles_dir, path, params=Bm25Params(variant))
    index = Index(path)
    with index.snapshot() as snap:
        rows = list(snap.each_sentence())
    analyzer = Analyzer("en")
    return index, [r.id for r in rows], [analyzer.terms(r.text) for r in rows]


def _synthetic_articles(folder, n_articles=60, seed=7):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(300)]
    weights = [1 / (i + 1) for i in range(300)]
    folder.mkdir()
    for a in range(n_articles):
        paragraphs = []
        for _ in range(rng.randint(1, 6)):
            length = rng.randint(1, 25)
            paragraphs.append(" ".join(rng.choices(words, weights, k=length)) + ".")
        text = f" date 2025-01-{a % 28 + 1:02d} Title {a} {rng.choice(words)}\n\n" + "\n\n".join(paragraphs)
        (folder / f"{a:03d}.txt").write_text(text)
    return folder


@pytest.mark.parametrize("variant", ["okapi", "bm25l", "bm25plus"])
@pytest.mark.parametrize("which", ["fixture", "synthetic"])
def test_scores_equal_rank_bm25(tmp_path, articles_dir, variant, which):
    folder = articles_dir if which == "fixture" else _synthetic_articles(tmp_path / "syn")
    index, ids, corpus = _corpus_and_index(tmp_path, folder, variant)
    reference = REFERENCE[variant](corpus)
    vocabulary = sorted({t for doc in corpus for t in doc})
    rng = random.Random(1)
    queries = [rng.sample(vocabulary, k=min(len(vocabulary), rng.randint(1, 5))) for _ in range(40)]
    queries += [[vocabulary[0], vocabulary[0]], ["absent-term"], [vocabulary[-1], "absent-term"]]
    checked = 0
    with index.snapshot() as snap:
        for query in queries:
            expected = np.asarray(reference.get_scores(query))
            candidates = snap.candidates(query)
            got = dict(zip(candidates.ids.tolist(), candidates.scores.tolist()))
            holding = {ids[i] for i, doc in enumerate(corpus) if set(doc) & set(query)}
            assert set(got) == holding
            for i, sid in enumerate(ids):
                if sid in got:
                    assert got[sid] == pytest.approx(expected[i], rel=1e-6, abs=1e-9)
                    checked += 1
            if variant == "bm25plus" and len(got) < len(ids):
                # Sentences without any query term all get the same floor score.
                floor = {round(float(expected[i]), 9) for i, sid in enumerate(ids) if sid not in got}
                assert len(floor) == 1
    assert checked > 100


def test_top_k_order_matches_rank_bm25(tmp_path):
    folder = _synthetic_articles(tmp_path / "syn", n_articles=120, seed=3)
    index, ids, corpus = _corpus_and_index(tmp_path, folder, "okapi")
    reference = rank_bm25.BM25Okapi(corpus)
    with index.snapshot() as snap:
        for query in (["w5", "w17"], ["w40", "w41", "w2"], ["w250"]):
            expected = np.asarray(reference.get_scores(query))
            top = snap.candidates(query).top(10)
            want = sorted(range(len(ids)), key=lambda i: (-expected[i], ids[i]))[: len(top)]
            assert [sid for sid, _ in top] == [ids[i] for i in want]


def test_tiny_corpora_do_not_break(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "a.txt").write_text(" date 2025-01-01 Alpha\n\nAlpha beta.")
    path = tmp_path / "tiny.db"
    rebuild(folder, path)
    corpus = [Analyzer("en").terms(t) for t in ("Alpha", "Alpha beta.")]
    expected = rank_bm25.BM25Okapi(corpus).get_scores(["alpha"])
    with Index(path).snapshot() as snap:
        candidates = snap.candidates(["alpha"])
    assert sorted(candidates.scores.tolist()) == pytest.approx(sorted(expected.tolist()))


def test_query_cost_follows_postings_not_collection_size(tmp_path):
    """Growing the collection 8x with sentences that lack the query terms touches no more postings."""
    touched = []
    for size in (20, 160):
        folder = tmp_path / f"c{size}"
        folder.mkdir()
        (folder / "needle.txt").write_text(" date 2025-01-01 Needle\n\nThe zeppelin landed in Oslo.")
        for i in range(size):
            (folder / f"hay{i}.txt").write_text(f" date 2025-01-02 Hay {i}\n\nFarmers sold wheat number {i}.")
        path = tmp_path / f"c{size}.db"
        rebuild(folder, path)
        with Index(path).snapshot() as snap:
            candidates = snap.candidates(Analyzer("en").terms("zeppelin Oslo"))
        touched.append(candidates.postings_touched)
        assert len(candidates) == 1
    assert touched[0] == touched[1] == 2


def test_every_sentence_and_title_is_one_document(articles_dir, index):
    articles = [a for a in read_articles(articles_dir) if hasattr(a, "paragraphs")]
    total = sum(len(article_sentences(a)) for a in articles)
    meta = index.meta()
    assert meta.documents == total
    assert meta.sentences == total - len(articles)


def test_maxscore_top_k_is_exact_and_does_less_work(tmp_path):
    folder = _synthetic_articles(tmp_path / "syn", n_articles=150, seed=11)
    index, ids, corpus = _corpus_and_index(tmp_path, folder, "okapi")
    vocabulary = sorted({t for doc in corpus for t in doc})
    rng = random.Random(5)
    pruned_any = False
    with index.snapshot() as snap:
        for _ in range(60):
            query = rng.sample(vocabulary, k=rng.randint(2, 5)) + ["w0", "w1"]  # rare words plus common ones
            full = snap.candidates(query).top(10)
            fast = snap.candidates(query, k=10)
            top = fast.top(10)
            assert [s for _, s in top] == pytest.approx([s for _, s in full], rel=1e-9)
            assert {i for i, _ in top} == {i for i, _ in full} or len({round(s, 9) for _, s in full}) < 10
            pruned_any |= not fast.complete
    assert pruned_any


def test_maxscore_skips_the_long_lists_of_common_words(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "needle.txt").write_text(" date 2025-01-01 Needle\n\nThe zeppelin landed near the farmers.")
    for i in range(300):  # "farmers" in a third of the sentences: a common word, but IDF still positive
        (folder / f"hay{i}.txt").write_text(
            f" date 2025-01-02 Hay {i}\n\nFarmers sold wheat number {i}. The market was busy."
        )
    rebuild(folder, tmp_path / "c.db")
    with Index(tmp_path / "c.db").snapshot() as snap:
        terms = Analyzer("en").terms("zeppelin farmers")
        full = snap.candidates(terms)
        full_top = full.top(1)
        full_work = full.postings_touched
        fast = snap.candidates(terms, k=1)
        assert fast.top(1) == full_top and not fast.complete
        assert fast.postings_touched < full_work / 50


def _article_corpus(index):
    """Each article's terms (title and body as one document), in article id order."""
    analyzer = Analyzer("en")
    with index.snapshot() as snap:
        rows = list(snap.each_sentence())
    docs: dict[int, list[str]] = {}
    for row in rows:
        docs.setdefault(row.article_id, []).extend(analyzer.terms(row.text))
    return list(docs), list(docs.values())


@pytest.mark.parametrize("variant", ["okapi", "bm25l", "bm25plus"])
def test_article_scores_equal_rank_bm25_over_whole_articles(tmp_path, variant):
    folder = _synthetic_articles(tmp_path / "syn", n_articles=80, seed=13)
    index, _, _ = _corpus_and_index(tmp_path, folder, variant)
    ids, corpus = _article_corpus(index)
    reference = REFERENCE[variant](corpus)
    vocabulary = sorted({t for doc in corpus for t in doc})
    rng = random.Random(2)
    checked = 0
    with index.snapshot() as snap:
        for _ in range(40):
            query = rng.sample(vocabulary, k=rng.randint(1, 5))
            expected = np.asarray(reference.get_scores(query))
            candidates = snap.article_candidates(query)
            got = dict(zip(candidates.ids.tolist(), candidates.scores.tolist()))
            assert set(got) == {ids[i] for i, doc in enumerate(corpus) if set(doc) & set(query)}
            for i, article_id in enumerate(ids):
                if article_id in got:
                    assert got[article_id] == pytest.approx(expected[i], rel=1e-6, abs=1e-9)
                    checked += 1
    assert checked > 100


def test_sentence_matrix_holds_the_sentences_of_the_ranges_with_a_query_term(tmp_path):
    folder = _synthetic_articles(tmp_path / "syn", n_articles=30, seed=4)
    index, ids, corpus = _corpus_and_index(tmp_path, folder, "okapi")
    by_id = dict(zip(ids, corpus))
    query = ["w1", "w2", "w7", "w7", "absent"]
    ranges = [(5, 12), (40, 41), (60, 75)]
    with index.snapshot() as snap:
        matrix = snap.sentence_matrix(query, ranges, extra=[61])
    inside = [i for a, b in ranges for i in range(a, b)]
    assert matrix.ids.tolist() == sorted({i for i in inside if set(by_id.get(i, [])) & set(query)} | {61})
    for row, sentence_id in enumerate(matrix.ids.tolist()):
        doc = by_id.get(sentence_id, [])
        assert matrix.tfs[row].tolist() == [doc.count(t) for t in matrix.terms]
        if matrix.tfs[row].any():
            assert matrix.lengths[row] == len(doc)
