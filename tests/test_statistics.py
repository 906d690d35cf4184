"""The statistics a rebuild keeps in step (index/statistics.py) equal those counted from every row, and a
full rebuild's, after any sequence of incremental ones; so do the postings' frontiers (index/store.py)."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np

from index import statistics, store
from index.rebuild import rebuild

from .conftest import RATES, TRAM, VISIT, write

FIGURES = (
    "documents total_length vocabulary okapi_idf_sum article_documents article_total_length article_vocabulary "
    "article_okapi_idf_sum articles sentences first_date last_date article_languages max_article_id "
    "max_sentence_id furniture_lines"
).split()
RUSSIAN = " date 2025-10-02 Новый трамвай\n\nГородской совет одобрил новую линию трамвая в гавани.\n"


def _figures(path) -> dict[str, str]:
    meta = store.read_meta(sqlite3.connect(path))
    return {key: meta.get(key) for key in FIGURES}


def _bounds(path) -> list[tuple]:
    """What the postings tables hold that does not depend on ids: df and the frontier that bounds a weight."""
    with sqlite3.connect(path) as conn:
        return [
            conn.execute(f"select term, df, max_tf, min_length, frontier from {table} order by term").fetchall()
            for table in ("postings", "article_postings")
        ]


def _recounted(path) -> None:
    """The stored tally is the one counted from every row, arrays and all."""
    with sqlite3.connect(path) as conn:
        kept = statistics.stored(conn, store.read_meta(conn))
        counted = statistics.from_tables(conn)
    assert kept is not None
    for name in ("documents", "total_length", "articles", "languages", "dfs"):
        assert getattr(kept, name) == getattr(counted, name), name
    for name in ("days", "first", "size"):
        assert np.array_equal(getattr(kept, name), getattr(counted, name)), name


def test_incremental_statistics_equal_a_recount_and_a_full_rebuild(tmp_path, articles_dir):
    path = tmp_path / "i.db"
    rebuild(articles_dir, path)
    steps = [
        lambda: write(articles_dir, "005_new.txt", TRAM.replace("harbour", "airport")),
        lambda: (articles_dir / "002_visit.txt").write_text(VISIT.replace("next month", "in May")),
        lambda: (articles_dir / "sub" / "003_rates.txt").unlink(),
        lambda: write(articles_dir, "ru/006.txt", RUSSIAN),
        lambda: write(articles_dir, "copy.txt", RATES.replace("3.25", "3.5")),
        lambda: shutil.rmtree(articles_dir / "sub"),
    ]
    for number, step in enumerate(steps):
        step()
        rebuild(articles_dir, path, only=["sub", "copy.txt"] if number == 5 else None)
        _recounted(path)
        fresh = tmp_path / f"fresh{number}.db"
        rebuild(articles_dir, fresh)
        mine, theirs = _figures(path), _figures(fresh)
        for key in ("max_article_id", "max_sentence_id"):  # ids are never reused, so an incremental index's run higher
            mine.pop(key), theirs.pop(key)
        assert mine == theirs
        assert _bounds(path) == _bounds(fresh)  # frontiers merged, or recomputed where a point left
    assert "russian 1" in mine["article_languages"] and float(mine["okapi_idf_sum"]) != 0


def test_an_index_without_the_df_arrays_is_counted_from_its_rows_once(tmp_path, articles_dir):
    path = tmp_path / "old.db"
    rebuild(articles_dir, path)
    before = _figures(path)
    with sqlite3.connect(path) as conn:
        conn.execute("delete from arrays where name in ('sentence_dfs', 'article_dfs')")
    rebuild(articles_dir, path)  # nothing changed, the figures are recounted and the arrays written again
    assert _figures(path) == before
    _recounted(path)
