"""The index's statistics, kept in step with each rebuild's change rather than re-read from every row.

What BM25 and the ranking need about the whole collection (meta's counts and IDF sums, the per-article
arrays) used to be read from every row after each rebuild: at 1.45M articles and 10M sentences that was
7.6 to 11 s of every watcher batch of one article. A rebuild now counts what it changes (`Change`) and
adds it to the previous figures. The IDF sums depend on every term's df and on the number of documents,
which every change moves, so the index keeps how many terms have each df (arrays ``sentence_dfs`` and
``article_dfs``: df, terms, df, terms, … ascending) and sums from those. A full rebuild counts from
nothing the same way, so an incremental and a full rebuild of one folder write the same figures.
An index written before these arrays existed is counted from its rows once (`from_tables`).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from array import array
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from . import store
from .search import CorpusStats

DF_ARRAYS = {store.SENTENCE_POSTINGS.name: "sentence_dfs", store.ARTICLE_POSTINGS.name: "article_dfs"}
PAIR_DTYPE = np.dtype("<i8")
_EPOCH = dt.date(1970, 1, 1).toordinal()


def day_number(date: str) -> int:
    """An ISO date as days since 1970-01-01."""
    return dt.date.fromisoformat(date).toordinal() - _EPOCH


@dataclass
class Change:
    """What one rebuild did to the articles, sentences and postings, counted as it did it."""

    sentences: int = 0  # net sentence rows, titles included
    length: int = 0  # net index terms over those rows
    articles: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    removed_ids: list[int] = field(default_factory=list)
    # Of each article added: its id, day, first sentence and size, as machine integers (a tuple each was
    # 150 MB at 1.45M articles).
    added: tuple[array, ...] = field(default_factory=lambda: (array("q"), array("q"), array("q"), array("q")))
    dfs: dict[str, Counter[int]] = field(default_factory=lambda: {name: Counter() for name in DF_ARRAYS})

    def article_added(self, article_id: int, date: str, first_sentence: int, size: int, length: int, language: str):
        self.articles += 1
        self.sentences += size
        self.length += length
        self.languages[language] += 1
        for column, value in zip(self.added, (article_id, day_number(date), first_sentence, size)):
            column.append(value)

    def article_removed(self, article_id: int, size: int, length: int, language: str) -> None:
        self.articles -= 1
        self.sentences -= size
        self.length -= length
        self.languages[language] -= 1
        self.removed_ids.append(article_id)

    def term_moved(self, table: str, old_df: int, new_df: int) -> None:
        """A term's postings went from old_df to new_df documents (0: it had none, or has none now)."""
        counts = self.dfs[table]
        if old_df:
            counts[old_df] -= 1
        if new_df:
            counts[new_df] += 1


@dataclass
class Tally:
    """The figures the statistics are made of."""

    documents: int = 0  # sentence rows, titles included
    total_length: int = 0
    articles: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    dfs: dict[str, Counter[int]] = field(default_factory=lambda: {name: Counter() for name in DF_ARRAYS})
    days: np.ndarray = field(default_factory=lambda: np.zeros(0, store.DAY_DTYPE))
    first: np.ndarray = field(default_factory=lambda: np.zeros(0, store.ID_DTYPE))
    size: np.ndarray = field(default_factory=lambda: np.zeros(0, store.ID_DTYPE))

    def plus(self, change: Change, max_article: int) -> Tally:
        """The figures after `change`, with arrays for article ids up to max_article."""
        dfs = {}
        for name, counts in self.dfs.items():
            merged = Counter(counts)
            merged.update(change.dfs[name])
            dfs[name] = Counter({df: n for df, n in merged.items() if n})
        languages = self.languages + Counter()  # a copy without zero counts
        languages.update(change.languages)
        arrays = []
        for old, empty in ((self.days, store.NO_DAY), (self.first, 0), (self.size, 0)):
            new = np.full(max_article + 1, empty, old.dtype)
            kept = min(len(old), len(new))
            new[:kept] = old[:kept]
            removed = np.asarray([i for i in change.removed_ids if i < len(new)], np.int64)
            new[removed] = empty
            arrays.append(new)
        days, first, size = arrays
        ids, *values = (np.frombuffer(column, np.int64) for column in change.added)
        for target, value in zip(arrays, values):
            target[ids] = value
        return Tally(
            self.documents + change.sentences,
            self.total_length + change.length,
            self.articles + change.articles,
            Counter({name: n for name, n in languages.items() if n > 0}),
            dfs,
            days,
            first,
            size,
        )

    def corpus_stats(self, table: str, documents: int) -> CorpusStats:
        """BM25's statistics over one postings table's documents: rank-bm25's IDF summed over every term."""
        values, counts = _pairs(self.dfs[table])
        raw = np.log(documents - values + 0.5) - np.log(values + 0.5)
        return CorpusStats(documents, self.total_length, int(counts.sum()), float((raw * counts).sum()))

    def language_line(self) -> str:
        """E.g. "english 4, russian 1": most articles first."""
        return ", ".join(f"{name} {n}" for name, n in sorted(self.languages.items(), key=lambda kv: (-kv[1], kv[0])))

    def write_arrays(self, conn: sqlite3.Connection) -> None:
        for name, values in (("article_days", self.days), ("article_first", self.first), ("article_size", self.size)):
            store.write_array(conn, name, values)
        for table, name in DF_ARRAYS.items():
            values, counts = _pairs(self.dfs[table])
            store.write_array(conn, name, np.stack([values, counts], axis=1).astype(PAIR_DTYPE).ravel())


def _pairs(counts: Counter[int]) -> tuple[np.ndarray, np.ndarray]:
    """(df values ascending, terms with each) as float arrays."""
    values = np.asarray(sorted(counts), np.float64)
    return values, np.asarray([counts[int(v)] for v in values], np.float64)


def stored(conn: sqlite3.Connection, meta: dict[str, str]) -> Tally | None:
    """The figures an index recorded at its last rebuild, or None when it predates the df arrays."""
    present = {row[0] for row in conn.execute("select name from arrays")}
    if not set(DF_ARRAYS.values()) <= present or "documents" not in meta:
        return None
    dfs = {}
    for table, name in DF_ARRAYS.items():
        pairs = store.read_array(conn, name, PAIR_DTYPE).reshape(-1, 2)
        dfs[table] = Counter(dict(zip(pairs[:, 0].tolist(), pairs[:, 1].tolist())))
    languages: Counter[str] = Counter()
    for part in filter(None, meta.get("article_languages", "").split(", ")):
        name, _, count = part.rpartition(" ")
        languages[name] = int(count)
    return Tally(
        int(meta["documents"]),
        int(meta["total_length"]),
        int(meta.get("articles", 0)),
        languages,
        dfs,
        store.read_array(conn, "article_days", store.DAY_DTYPE),
        store.read_array(conn, "article_first", store.ID_DTYPE),
        store.read_array(conn, "article_size", store.ID_DTYPE),
    )


def from_tables(conn: sqlite3.Connection) -> Tally:
    """The figures counted from every row: for an index that predates the df arrays, and for tests."""
    documents, total_length = conn.execute("select count(*), coalesce(sum(length), 0) from sentences").fetchone()
    (max_article,) = conn.execute("select coalesce(max(id), 0) from articles").fetchone()
    dfs = {table: Counter(df for (df,) in conn.execute(f"select df from {table}")) for table in DF_ARRAYS}
    change = Change()
    for article_id, date, first_sentence, sentences, language in conn.execute(
        "select id, date, first_sentence, sentences, language from articles"
    ):
        change.article_added(article_id, date, first_sentence, sentences + 1, 0, language)
    tally = Tally(dfs=dfs).plus(change, max_article)
    tally.documents, tally.total_length = documents, total_length
    return tally
