"""The index file: a plain SQLite database a user can open with sqlite-utils or Datasette."""

import sqlite3

import pytest

from bot.ranking.answer import answer
from index import store
from index.search import Index


def test_the_sqlite_file_stays_a_plain_database(index_path):
    conn = sqlite3.connect(index_path)
    tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    assert {"articles", "sentences", "postings", "article_postings", "arrays", "meta"} <= tables


def _set_meta(path, key, value):
    with sqlite3.connect(path) as conn:
        conn.execute("update meta set value = ? where key = ?", [value, key])
    conn.close()


def test_an_older_and_a_newer_schema_are_told_apart(tmp_path):
    path = tmp_path / "x.db"
    with pytest.raises(store.IndexOutdated, match="schema 5, this newsbot reads"):
        store.check_schema({"schema_version": "5"}, path)
    with pytest.raises(store.IndexNewer, match="built by a newer newsbot.*upgrade.*--full") as newer:
        store.check_schema({"schema_version": str(store.SCHEMA_VERSION + 1)}, path)
    assert not isinstance(newer.value, store.IndexOutdated)
    with pytest.raises(store.IndexUnavailable, match="is damaged or not a newsbot index"):
        store.check_schema({"schema_version": "8; drop"}, path)
    store.check_schema({"schema_version": str(store.SCHEMA_VERSION)}, path)


@pytest.mark.parametrize(
    "key, value",
    [
        ("max_sentence_id", "100000000000"),  # was: "Unable to allocate 745 GiB"
        ("max_sentence_id", "1"),  # fewer than the sentences: an index error while scoring
        ("max_article_id", "-3"),
        ("documents", "lots"),
        ("articles", "1"),  # disagrees with the meta's documents and sentences
        ("bm25_variant", "evil"),
        ("bm25_k1", "nan"),
        ("bm25_b", "7"),
        ("language", "klingon"),
        ("okapi_idf_sum", "inf"),
        ("last_date", "2025-13-45"),
    ],
)
def test_meta_values_are_checked_before_use(index_path, key, value):
    _set_meta(index_path, key, value)
    with pytest.raises(store.IndexUnavailable, match=r"is damaged or not a newsbot index \(.*\); move it aside"):
        answer(Index(index_path), "When will the tram line open?")


def test_an_article_row_gone_below_the_largest_id_is_damage(index_path):
    """Postings naming an article the table lacks (a row deleted by hand) are a damaged index, not a traceback."""
    with sqlite3.connect(index_path) as conn:
        conn.execute("delete from articles where id = (select article_id from sentences where text like '%tram%')")
    conn.close()
    with pytest.raises(store.IndexUnavailable, match=r"is damaged or not a newsbot index \(article \d+ is not in"):
        answer(Index(index_path), "When will the tram line open?")


def test_arrays_and_postings_of_the_wrong_size_are_damage(index_path):
    with sqlite3.connect(index_path) as conn:
        conn.execute("update arrays set data = x'000000' where name = 'article_days'")
    conn.close()
    with pytest.raises(store.IndexUnavailable, match="array article_days has the wrong size"):
        Index(index_path).meta()


@pytest.mark.parametrize("column, value", [("ids", b"\xff\xff\xff\x7f"), ("ids", b"\x01\x00"), ("codes", b"")])
def test_postings_that_do_not_fit_the_index_are_damage(index_path, column, value):
    with sqlite3.connect(index_path) as conn:
        conn.execute(f"update postings set {column} = ? where term = 'tram'", [value])
    conn.close()
    with pytest.raises(store.IndexUnavailable, match="is damaged or not a newsbot index"):
        answer(Index(index_path), "When will the tram line open?")


def test_sentences_keep_the_terms_they_were_indexed_by(index):
    """The passage features read each sentence's stored terms instead of analysing its text again."""
    with index.snapshot() as snap:
        rows = list(snap.each_sentence())
        analyse = snap.analyzer.terms
        assert rows and all(row.terms == tuple(analyse(row.text)) for row in rows)
        assert any(row.terms for row in rows)
