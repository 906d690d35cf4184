"""Step 5: BM25 over the postings of the question's terms.

Scores follow rank-bm25 0.2.2 to the letter (`BM25Okapi`, `BM25L`, `BM25Plus`,
same IDF, same epsilon floor, repeated query tokens counted again), but are
computed only for sentences that contain a query term: the work is the length
of the question's posting lists, never a pass over every sentence.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import store
from .store import Postings
from .terms import analyzer_for

VARIANTS = ("okapi", "bm25l", "bm25plus")
DEFAULT_DELTA = {"okapi": 0.0, "bm25l": 0.5, "bm25plus": 1.0}


@dataclass(frozen=True)
class Bm25Params:
    """BM25 variant and parameters; defaults are rank-bm25's."""

    variant: str = "okapi"
    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25
    delta: float | None = None

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown BM25 variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if self.delta is None:
            object.__setattr__(self, "delta", DEFAULT_DELTA[self.variant])

    def as_meta(self) -> dict[str, object]:
        return {"bm25_variant": self.variant, "bm25_k1": self.k1, "bm25_b": self.b,
                "bm25_epsilon": self.epsilon, "bm25_delta": self.delta}

    @classmethod
    def from_meta(cls, meta: dict[str, str]) -> Bm25Params:
        return cls(meta.get("bm25_variant", "okapi"), float(meta.get("bm25_k1", 1.5)),
                   float(meta.get("bm25_b", 0.75)), float(meta.get("bm25_epsilon", 0.25)),
                   float(meta["bm25_delta"]) if "bm25_delta" in meta else None)


@dataclass(frozen=True)
class CorpusStats:
    """Collection statistics BM25 needs; documents are sentences and titles."""

    documents: int
    total_length: int
    vocabulary: int
    okapi_idf_sum: float  # sum of the raw Okapi IDF over the vocabulary, for the epsilon floor

    @property
    def avgdl(self) -> float:
        return self.total_length / self.documents if self.documents else 0.0

    @classmethod
    def from_meta(cls, meta: dict[str, str]) -> CorpusStats:
        return cls(int(meta.get("documents", 0)), int(meta.get("total_length", 0)),
                   int(meta.get("vocabulary", 0)), float(meta.get("okapi_idf_sum", 0.0)))

    @classmethod
    def from_dfs(cls, documents: int, total_length: int, dfs: np.ndarray) -> CorpusStats:
        dfs = np.asarray(dfs, dtype=np.float64)
        raw = np.log(documents - dfs + 0.5) - np.log(dfs + 0.5)
        return cls(documents, total_length, len(dfs), float(raw.sum()))


def idf(params: Bm25Params, stats: CorpusStats, df: int) -> float:
    """rank-bm25's IDF for a term in df documents."""
    n = stats.documents
    if params.variant == "okapi":
        value = float(np.log(n - df + 0.5) - np.log(df + 0.5))
        if value < 0:
            average = stats.okapi_idf_sum / stats.vocabulary if stats.vocabulary else 0.0
            value = params.epsilon * average
        return value
    if params.variant == "bm25l":
        return float(np.log(n + 1) - np.log(df + 0.5))
    return float(np.log((n + 1) / df))


def term_weights(params: Bm25Params, stats: CorpusStats, postings: Postings) -> np.ndarray:
    """Each posting's score contribution beyond what a sentence without the term gets."""
    k1, b, avgdl = params.k1, params.b, stats.avgdl
    tf = postings.tfs.astype(np.float64)
    norm = 1 - b + b * postings.lengths.astype(np.float64) / avgdl
    weight = idf(params, stats, postings.df)
    if params.variant == "okapi":
        return weight * (tf * (k1 + 1) / (tf + k1 * norm))
    if params.variant == "bm25l":
        ctd = tf / norm  # rank-bm25 0.2.2 multiplies by tf once more; kept for equality
        return weight * tf * (k1 + 1) * (ctd + params.delta) / (k1 + ctd + params.delta)
    return weight * (tf * (k1 + 1)) / (k1 * norm + tf)


def absent_weight(params: Bm25Params, stats: CorpusStats, postings: Postings) -> float:
    """What every sentence gets for a query term it lacks (non-zero for BM25Plus only)."""
    if params.variant == "bm25plus":
        return idf(params, stats, postings.df) * params.delta
    return 0.0


class Candidates:
    """Every sentence holding at least one query term, with its full BM25 score.

    While it is the thread's latest result, `lookup` gives the BM25 score of any
    sentence id in O(1) (0 for sentences without a query term), e.g. neighbours.
    """

    def __init__(self, sentence_ids: np.ndarray, scores: np.ndarray, postings_touched: int, shift: float = 0.0):
        self.sentence_ids = sentence_ids
        self.scores = scores
        self.postings_touched = postings_touched
        self.shift = shift
        self.closed = False

    def __len__(self) -> int:
        return len(self.sentence_ids)

    def top(self, k: int) -> list[tuple[int, float]]:
        """The k best (sentence_id, score), best first; ties go to the lower id."""
        n = len(self.sentence_ids)
        if n == 0 or k <= 0:
            return []
        if k < n:
            part = np.argpartition(-self.scores, k - 1)[:k]
        else:
            part = np.arange(n)
        order = part[np.lexsort((self.sentence_ids[part], -self.scores[part]))]
        return [(int(self.sentence_ids[i]), float(self.scores[i])) for i in order]

    def lookup(self, ids) -> np.ndarray:
        """BM25 scores (without BM25Plus's constant) of arbitrary sentence ids."""
        if self.closed:
            raise RuntimeError("these candidates were superseded by a later search in this thread")
        ids = np.asarray(ids, dtype=np.int64)
        buffer = _scratch.buffer
        inside = (ids >= 0) & (ids < len(buffer))
        out = np.zeros(len(ids))
        out[inside] = buffer[ids[inside]]
        return out


class _Scratch(threading.local):
    """A per-thread buffer indexed by sentence id, reused across queries (zeroed where it was used)."""

    buffer: np.ndarray | None = None
    dirty: np.ndarray | None = None
    owner: Candidates | None = None

    def claim(self, size: int) -> np.ndarray:
        if self.dirty is not None:
            self.buffer[self.dirty] = 0.0
            self.dirty = None
        if self.owner is not None:
            self.owner.closed = True
            self.owner = None
        if self.buffer is None or len(self.buffer) < size:
            self.buffer = np.zeros(max(size, 1024), dtype=np.float64)
        return self.buffer


_scratch = _Scratch()


def score(
    query_terms: list[str],
    postings: dict[str, Postings],
    params: Bm25Params,
    stats: CorpusStats,
    max_sentence_id: int,
) -> Candidates:
    """BM25 scores of every sentence that holds a query term, from postings only."""
    counts = Counter(t for t in query_terms if t in postings)
    acc = _scratch.claim(max_sentence_id + 1)
    if not counts or stats.documents == 0:
        empty = np.zeros(0)
        result = Candidates(empty.astype(np.int64), empty, 0)
        _scratch.owner = result
        return result
    touched: list[np.ndarray] = []
    shift = 0.0
    for term, count in counts.items():
        p = postings[term]
        acc[p.sentence_ids] += count * term_weights(params, stats, p)
        shift += count * absent_weight(params, stats, p)
        touched.append(p.sentence_ids)
    ids = touched[0].astype(np.int64) if len(touched) == 1 else np.concatenate(touched).astype(np.int64)
    scores = acc[ids]
    if len(touched) > 1:
        # Deduplicate ids in O(postings): the last write of each id's position wins.
        positions = np.arange(len(ids), dtype=np.float64)
        acc[ids] = positions
        first = acc[ids] == positions
        ids, scores = ids[first], scores[first]
        acc[ids] = scores
    _scratch.dirty = ids
    result = Candidates(ids, scores + shift, int(sum(len(t) for t in touched)), shift)
    _scratch.owner = result
    return result


class Index:
    """A read-only view of an index file, safe to share between threads.

    Each thread gets its own connection; each question is answered inside one
    read transaction, so a rebuild committing meanwhile is seen whole or not at all.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        try:
            inode = os.stat(self.path).st_ino
        except OSError:
            raise store.IndexMissing(f"no index at {self.path}; run `newsbot index rebuild`") from None
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.inode != inode:
            if conn is not None:
                conn.close()
            conn = store.connect(self.path, readonly=True).conn
            self._local.conn, self._local.inode = conn, inode
        return conn

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """One consistent view of the index for the length of the block."""
        conn = self._connection()
        try:
            conn.execute("begin")
            meta = {k: v for k, v in conn.execute("select key, value from meta")}
        except sqlite3.DatabaseError as error:
            if conn.in_transaction:
                conn.rollback()
            raise store.IndexUnavailable(
                f"{self.path} is not a newsbot index ({error}); run `newsbot index rebuild`"
            ) from None
        try:
            store.check_schema(meta, self.path)
            yield Snapshot(conn, meta)
        finally:
            conn.rollback()

    def meta(self) -> dict[str, str]:
        with self.snapshot() as snap:
            return dict(snap.meta)


class Snapshot:
    """The index as of one read transaction."""

    def __init__(self, conn: sqlite3.Connection, meta: dict[str, str]):
        self.conn = conn
        self.meta = meta
        self.params = Bm25Params.from_meta(meta)
        self.stats = CorpusStats.from_meta(meta)
        self.analyzer = analyzer_for(meta.get("language", "english"))
        self.max_sentence_id = int(meta.get("max_sentence_id", 0))
        self.last_postings: dict[str, Postings] = {}

    def candidates(self, query_terms: list[str]) -> Candidates:
        postings = store.fetch_postings(self.conn, query_terms)
        self.last_postings = postings
        return score(query_terms, postings, self.params, self.stats, self.max_sentence_id)

    def rows(self, sql: str, args: Iterable = ()) -> list[dict]:
        cursor = self.conn.execute(sql, list(args))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor]

    def sentences(self, ids: list[int]) -> dict[int, dict]:
        """Sentence rows joined with their article, by sentence id."""
        out: dict[int, dict] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.rows(
                "select s.id, s.article_id, s.position, s.paragraph, s.text, s.is_title, a.title, a.date, "
                "a.source, a.url, a.sentences as article_sentences "
                "from sentences s join articles a on a.id = s.article_id "
                f"where s.id in ({marks})",
                chunk,
            ):
                out[row["id"]] = row
        return out

    def article_sentences(self, article_id: int, positions: Iterable[int]) -> dict[int, dict]:
        """Some sentences of one article, by position."""
        positions = sorted(set(positions))
        if not positions:
            return {}
        marks = ",".join("?" * len(positions))
        rows = self.rows(
            f"select id, position, paragraph, text from sentences where article_id = ? and position in ({marks})",
            [article_id, *positions],
        )
        return {row["position"]: row for row in rows}
