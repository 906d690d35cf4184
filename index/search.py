"""Step 5: BM25 over the postings of the question's terms.

Scores follow rank-bm25 0.2.2 to the letter (`BM25Okapi`, `BM25L`, `BM25Plus`,
same IDF, same epsilon floor, repeated query tokens counted again), but are
computed only for sentences that contain a query term: the work is the length
of the question's posting lists, never a pass over every sentence.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import functools
import math
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

import numpy as np

from . import store
from .store import ArticleRow, ChangeRow, Postings, SentenceRow
from .terms import AUTO, LANGUAGES, analyzer_for

VARIANTS = ("okapi", "bm25l", "bm25plus")
DEFAULT_DELTA = {"okapi": 0.0, "bm25l": 0.5, "bm25plus": 1.0}
MAX_ROWS = 2**31 - 1  # ids and counts: ids are stored as int32
MAX_TOTAL_LENGTH = 2**53  # terms in the whole collection
MAX_KEPT_DFS = 100_000  # document frequencies a snapshot keeps between questions (a few MB)


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
            raise ValueError(f"unknown BM25 variant {str(self.variant)[:40]!r}; choose one of {', '.join(VARIANTS)}")
        if self.delta is None:
            object.__setattr__(self, "delta", DEFAULT_DELTA[self.variant])
        if not all(math.isfinite(value) for value in (self.k1, self.b, self.epsilon, self.delta)):
            raise ValueError("BM25 parameters must be finite numbers")
        if self.k1 < 0 or not 0 <= self.b <= 1:
            raise ValueError(f"BM25 k1 must be 0 or more and b between 0 and 1 (k1={self.k1}, b={self.b})")

    def as_meta(self) -> dict[str, object]:
        return {
            "bm25_variant": self.variant,
            "bm25_k1": self.k1,
            "bm25_b": self.b,
            "bm25_epsilon": self.epsilon,
            "bm25_delta": self.delta,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, str]) -> Bm25Params:
        return cls(
            meta.get("bm25_variant", "okapi"),
            float(meta.get("bm25_k1", 1.5)),
            float(meta.get("bm25_b", 0.75)),
            float(meta.get("bm25_epsilon", 0.25)),
            float(meta["bm25_delta"]) if "bm25_delta" in meta else None,
        )


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
    def from_meta(cls, meta: dict[str, str], prefix: str = "") -> CorpusStats:
        """Sentence-level statistics, or with prefix "article_" the article-level ones."""
        return cls(
            int(meta.get(prefix + "documents", 0)),
            int(meta.get(prefix + "total_length", 0)),
            int(meta.get(prefix + "vocabulary", 0)),
            float(meta.get(prefix + "okapi_idf_sum", 0.0)),
        )


@dataclass(frozen=True)
class IndexMeta:
    """What the index's ``meta`` table says about it, typed (a key the index does not record reads as 0 or "").

    `get(key)` gives a raw value by its key, for what has no field here.
    """

    schema_version: int
    analyzer_version: str
    language: str  # the index language: a Snowball language, or "auto"
    article_languages: str  # e.g. "english 4, russian 1", most articles first
    bm25: Bm25Params
    stats: CorpusStats  # sentences (and titles) as BM25 documents
    article_stats: CorpusStats  # whole articles as BM25 documents
    articles: int
    sentences: int  # body sentences, titles not counted
    vocabulary: int  # distinct terms
    furniture_lines: int  # lines left out of every article as furniture (index/furniture.py)
    first_date: str
    last_date: str
    built_at: str  # ISO time in UTC
    articles_dir: str  # the folder it was built from
    max_sentence_id: int
    max_article_id: int
    index_id: str = ""  # made with the index file: another id, another index (whose changes are not news)
    raw: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def documents(self) -> int:
        """Sentences and titles: the BM25 documents."""
        return self.stats.documents

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.raw.get(key, default)

    @classmethod
    def from_raw(cls, meta: Mapping[str, str]) -> IndexMeta:
        """Parse and check the values: raises ValueError naming the first one no rebuild writes (a number that
        is not one, a count or id out of range, counts that disagree, an unknown variant or language)."""

        def number(key: str, high: int = MAX_ROWS) -> int:
            text = meta.get(key) or "0"
            try:
                value = int(text)
            except ValueError:
                raise ValueError(f"meta {key} {text[:40]!r} is not a whole number") from None
            if not 0 <= value <= high:
                raise ValueError(f"meta {key} {value} is out of range")
            return value

        def real(key: str) -> float:
            value = float(meta.get(key) or 0.0)
            if not math.isfinite(value):
                raise ValueError(f"meta {key} is not a finite number")
            return value

        def stats(prefix: str = "") -> CorpusStats:
            return CorpusStats(
                number(prefix + "documents"),
                number(prefix + "total_length", MAX_TOTAL_LENGTH),
                number(prefix + "vocabulary"),
                real(prefix + "okapi_idf_sum"),
            )

        def date(key: str) -> str:
            value = meta.get(key, "")
            if value:
                dt.date.fromisoformat(value)  # ValueError: "Invalid isoformat string: ..."
            return value

        language = meta.get("language", "")
        if language and language not in (*LANGUAGES.values(), AUTO):
            raise ValueError(f"meta language {language[:40]!r} is not one newsbot knows")
        made = cls(
            schema_version=number("schema_version"),
            analyzer_version=meta.get("analyzer_version", ""),
            language=language,
            article_languages=meta.get("article_languages", ""),
            bm25=Bm25Params.from_meta(meta),
            stats=stats(),
            article_stats=stats("article_"),
            articles=number("articles"),
            sentences=number("sentences"),
            vocabulary=number("vocabulary"),
            furniture_lines=number("furniture_lines"),
            first_date=date("first_date"),
            last_date=date("last_date"),
            built_at=meta.get("built_at", ""),
            articles_dir=meta.get("articles_dir", ""),
            max_sentence_id=number("max_sentence_id"),
            max_article_id=number("max_article_id"),
            index_id=meta.get("index_id", ""),
            raw=MappingProxyType(dict(meta)),
        )
        documents = made.stats.documents
        if made.articles > documents or made.sentences != documents - made.articles:
            raise ValueError("meta articles, sentences and documents disagree")
        if made.article_stats.documents != made.articles:
            raise ValueError("meta article_documents disagrees with articles")
        if documents > made.max_sentence_id + 1 or made.articles > made.max_article_id + 1:
            raise ValueError("meta counts exceed the largest ids")
        return made

    def check_tables(self, conn: sqlite3.Connection) -> None:
        """Raise ValueError unless the largest ids are the tables' own and the per-article arrays have one entry
        per article id: what every search sizes its buffers by. Each look-up is one step down a b-tree; a
        count of the rows would read all of them (0.1 s at 10M sentences) on every start and every commit."""
        largest = conn.execute("select coalesce(max(id), 0) from sentences").fetchone()[0]
        if largest != self.max_sentence_id:
            raise ValueError(f"meta max_sentence_id {self.max_sentence_id}, the sentences end at {largest}")
        largest = conn.execute("select coalesce(max(id), 0) from articles").fetchone()[0]
        if largest != self.max_article_id:
            raise ValueError(f"meta max_article_id {self.max_article_id}, the articles end at {largest}")
        sizes = dict(conn.execute("select name, length(data) from arrays"))
        for name in ("article_days", "article_first", "article_size"):
            if sizes.get(name) != 4 * (self.max_article_id + 1):
                raise ValueError(f"array {name} has the wrong size")


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


def tf_part(params: Bm25Params, stats: CorpusStats, tfs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The term-frequency factor of each posting (multiply by the IDF for the weight)."""
    k1, b = params.k1, params.b
    tf = np.asarray(tfs, dtype=np.float64)
    norm = 1 - b + b * np.asarray(lengths, dtype=np.float64) / stats.avgdl
    if params.variant == "okapi":
        return tf * (k1 + 1) / (tf + k1 * norm)
    if params.variant == "bm25l":
        ctd = tf / norm  # rank-bm25 0.2.2 multiplies by tf once more; kept for equality
        return tf * (k1 + 1) * (ctd + params.delta) / (k1 + ctd + params.delta)
    return (tf * (k1 + 1)) / (k1 * norm + tf)


def tf_table(params: Bm25Params, stats: CorpusStats) -> np.ndarray:
    """`tf_part` for every 16-bit code (tf << 12 | length), so weights are one table lookup."""
    codes = np.arange(1 << 16)
    return tf_part(params, stats, codes >> 12, codes & 0xFFF)


def term_weights(
    params: Bm25Params,
    stats: CorpusStats,
    postings: Postings,
    table: np.ndarray | None = None,
    at: np.ndarray | slice = slice(None),
    count: int = 1,
) -> np.ndarray:
    """Each posting's score contribution beyond what a sentence without the term gets (all, or those `at`),
    for a term that occurs `count` times in the question."""
    weight = count * idf(params, stats, postings.df)
    if table is not None and postings.codes is not None:
        out = table.take(postings.codes[at])
    else:
        out = tf_part(params, stats, postings.tfs[at], postings.lengths[at])
    out *= weight
    return out


def absent_weight(params: Bm25Params, stats: CorpusStats, postings: Postings) -> float:
    """What every sentence gets for a query term it lacks (non-zero for BM25Plus only)."""
    if params.variant == "bm25plus":
        return idf(params, stats, postings.df) * params.delta
    return 0.0


class Candidates:
    """Every sentence holding at least one query term, with its full BM25 score."""

    def __init__(
        self, ids: np.ndarray, scores: np.ndarray, postings_touched: int, shift: float = 0.0, complete: bool = True
    ):
        self.ids = ids
        self.scores = scores
        self.postings_touched = postings_touched
        self.shift = shift
        self.complete = complete  # False when MaxScore left out sentences that could not reach the top k

    def __len__(self) -> int:
        return len(self.ids)

    def top(self, k: int) -> list[tuple[int, float]]:
        """The k best (sentence_id, score), best first; ties go to the lower id."""
        n = len(self.ids)
        if n == 0 or k <= 0:
            return []
        if k < n:
            part = np.argpartition(-self.scores, k - 1)[:k]
        else:
            part = np.arange(n)
        order = part[np.lexsort((self.ids[part], -self.scores[part]))]
        return [(int(self.ids[i]), float(self.scores[i])) for i in order]


class _Scratch(threading.local):
    """Per-thread buffers indexed by sentence id, reused across queries (reset where they were used):
    scores, and marks for finding distinct ids (an eighth of the size, so it stays in cache)."""

    buffer: np.ndarray | None = None
    marks: np.ndarray | None = None
    dirty: np.ndarray | None = None

    def claim(self, size: int) -> np.ndarray:
        if self.dirty is not None:
            self.buffer[self.dirty] = 0.0
            self.dirty = None
        if self.buffer is None or len(self.buffer) < size:
            self.buffer = np.zeros(max(size, 1024), dtype=np.float64)
            self.marks = np.zeros(len(self.buffer), dtype=np.bool_)
        return self.buffer


_scratch = _Scratch()  # sentence-level scores
_article_scratch = _Scratch()  # article-level scores, so that both can be alive at once


def upper_bound(params: Bm25Params, stats: CorpusStats, postings: Postings) -> float:
    """No posting of this term weighs more than this (the weight grows with tf, shrinks with length)."""
    if postings.frontier is not None and len(postings.frontier):
        tfs, lengths = postings.frontier[:, 0], postings.frontier[:, 1]
    else:  # no frontier stored: the largest tf with the shortest length bounds every posting too
        tfs, lengths = [max(postings.max_tf, 1)], [postings.min_length]
    return idf(params, stats, postings.df) * float(tf_part(params, stats, tfs, lengths).max())


def score(
    query_terms: list[str],
    postings: dict[str, Postings],
    params: Bm25Params,
    stats: CorpusStats,
    max_sentence_id: int,
    k: int | None = None,
    table: np.ndarray | None = None,
    bound_cache: dict[str, float] | None = None,
    scratch: _Scratch = _scratch,
) -> Candidates:
    """BM25 scores of the sentences that hold a query term, from postings only.

    With `k`, terms are taken from the most to the least discriminating, and once
    the best k sentences so far score more than all the remaining terms together
    could give a sentence (MaxScore), those remaining terms are only looked up for
    the sentences found so far that could still reach the top k. The top k is
    exact, and sentences that could not reach it are left out (`complete` is then
    False).
    """
    counts = Counter(t for t in query_terms if t in postings)
    acc = scratch.claim(max_sentence_id + 1)
    if not counts or stats.documents == 0:
        empty = np.zeros(0)
        return Candidates(empty.astype(np.int64), empty, 0)
    prunable = (
        k is not None and params.variant == "okapi" and all(idf(params, stats, postings[t].df) > 0 for t in counts)
    )
    cache = {} if bound_cache is None else bound_cache
    for t in counts:
        if t not in cache:
            cache[t] = upper_bound(params, stats, postings[t])
    bounds = {t: counts[t] * cache[t] for t in counts}
    order = sorted(counts, key=lambda t: -bounds[t]) if prunable else list(counts)
    touched: list[np.ndarray] = []
    shift, work, complete, rest, threshold, done = 0.0, 0, True, [], 0.0, 0.0
    for number, term in enumerate(order):
        p = postings[term]
        remaining = sum(bounds[t] for t in order[number:])
        # No sentence has more than `done` yet, so no threshold can beat `remaining` before that does.
        if prunable and touched and len(touched[-1]) >= k and remaining < done:
            # k sentences of the last list score at least its k-th best so far: a valid threshold.
            threshold = max(threshold, _kth(acc[touched[-1]], k))
            if remaining < threshold:
                rest, complete = order[number:], False
                break
        np.add.at(acc, p.positions, term_weights(params, stats, p, table, count=counts[term]))
        shift += counts[term] * absent_weight(params, stats, p)
        touched.append(p.positions)
        work += len(p.ids)
        done += bounds[term]
    if rest:
        # Only sentences that could still reach the top k go on.
        dirty = [*touched]
        ids = _union(acc, scratch.marks, touched, threshold - sum(bounds[t] for t in rest))
        for number, term in enumerate(rest):
            p = postings[term]
            alive = ids[acc[ids] >= threshold - sum(bounds[t] for t in rest[number:])]
            if len(alive) * 8 > len(p.ids):
                # Many still in the race: adding the whole list beats a binary search per sentence.
                np.add.at(acc, p.positions, term_weights(params, stats, p, table, count=counts[term]))
                dirty.append(p.positions)
                work += len(p.ids)
            else:
                work += _add_for(acc, alive, p, counts[term], params, stats, table)
        dirty = np.concatenate(dirty) if len(dirty) > 1 else dirty[0]
    else:
        ids = _union(acc, scratch.marks, touched) if len(touched) > 1 else touched[0]
        dirty = ids
    scores = acc[ids]
    scratch.dirty = dirty
    return Candidates(ids, scores + shift, work, shift, complete)


def _union(acc: np.ndarray, marks: np.ndarray, lists: list[np.ndarray], cutoff: float | None = None) -> np.ndarray:
    """The distinct ids of several lists (those scoring at least cutoff, if given), in O(total length)."""
    found = []
    for ids in lists:
        if cutoff is not None:
            ids = ids[acc[ids] >= cutoff]
        new = ids[~marks[ids]]
        marks[new] = True
        found.append(new)
    out = np.concatenate(found)
    marks[out] = False
    return out


def _kth(scores: np.ndarray, k: int) -> float:
    """The k-th largest value."""
    return float(np.partition(scores, len(scores) - k)[len(scores) - k])


def _add_for(acc, found: np.ndarray, p: Postings, count: int, params, stats, table) -> int:
    """Add a term's weights to the sentences already found, by binary search in its posting list."""
    # Needles in the list's own dtype: otherwise numpy converts the whole list on every call.
    where = np.searchsorted(p.ids, found.astype(p.ids.dtype))
    where[where >= len(p.ids)] = len(p.ids) - 1
    hit = p.ids[where] == found
    at = where[hit]
    if len(at):
        acc[found[hit]] += term_weights(params, stats, p, table, at, count)
    return len(found)


@functools.cache
def reuse_freed_memory() -> bool:
    """Have glibc keep freed blocks up to 32 MB for reuse instead of returning them to the system.

    A question reads its posting lists into fresh buffers of up to a few MB; by default
    glibc maps each such buffer anew and unmaps it when freed, so every question paid
    for page faults on memory it had just given back (about 0.1 ms of a 1.3 ms search
    at 1M sentences). Elsewhere than glibc this does nothing.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
        return all(
            libc.mallopt(option, value) == 1
            for option, value in ((m_mmap_threshold, 32 << 20), (m_trim_threshold, 64 << 20), (m_top_pad, 16 << 20))
        )
    except (OSError, AttributeError):
        return False


class Index:
    """A read-only view of an index file, safe to share between threads.

    Each thread gets its own connection; each question is answered inside one
    read transaction, so a rebuild committing meanwhile is seen whole or not at all.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._local = threading.local()
        reuse_freed_memory()

    def _connection(self) -> sqlite3.Connection:
        try:
            inode = os.stat(self.path).st_ino
        except OSError:
            raise store.IndexMissing(
                f"no index at {self.path}; build it with `newsbot index rebuild --articles DIR --index {self.path}`"
            ) from None
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.inode != inode:
            if conn is not None:
                conn.close()
            conn = store.open_reader(self.path)
            self._local.conn, self._local.inode, self._local.snap = conn, inode, None
        return conn

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """One consistent view of the index for the length of the block."""
        conn = self._connection()
        local = self._local
        try:
            conn.execute("begin")
            # data_version changes only when another connection commits: reuse the parsed meta until then.
            version = conn.execute("pragma data_version").fetchone()[0]
            snap = getattr(local, "snap", None)
            if snap is None or local.version != version or snap._conn is not conn:
                meta = {k: v for k, v in conn.execute("select key, value from meta")}
                store.check_schema(meta, self.path)
                try:
                    parsed = IndexMeta.from_raw(meta)
                    parsed.check_tables(conn)
                except (ValueError, TypeError) as error:
                    raise store.IndexUnavailable(store.damaged_message(self.path, str(error)[:200])) from None
                snap = Snapshot(conn, parsed, self.path)
                local.snap, local.version = snap, version
        except sqlite3.DatabaseError as error:
            if conn.in_transaction:
                conn.rollback()
            raise store.IndexUnavailable(store.damaged_message(self.path, str(error))) from None
        except store.IndexUnavailable:
            conn.rollback()
            raise
        try:
            yield snap
        except sqlite3.DatabaseError as error:  # a damaged page found while answering
            raise store.IndexUnavailable(store.damaged_message(self.path, str(error))) from None
        finally:
            conn.rollback()

    def meta(self) -> IndexMeta:
        """What the index records about itself (raises IndexUnavailable as `snapshot` does)."""
        with self.snapshot() as snap:
            return snap.meta


@dataclass(frozen=True)
class SentenceMatrix:
    """Sentences of some articles, with each query term's count in them (from the postings alone).

    Row i is sentence `ids[i]` (ascending); `tfs[i, j]` counts `terms[j]` in it; `lengths[i]` is its
    length in terms (0 where it holds no query term: such rows score 0 anyway).
    """

    ids: np.ndarray
    terms: tuple[str, ...]
    tfs: np.ndarray
    lengths: np.ndarray

    def row_of(self, sentence_ids) -> np.ndarray:
        """Row numbers of sentence ids (-1 where the id is not in the matrix)."""
        ids = np.asarray(sentence_ids, dtype=np.int64)
        where = np.searchsorted(self.ids, ids)
        where[where >= len(self.ids)] = 0
        return np.where(self.ids[where] == ids, where, -1) if len(self.ids) else np.full(len(ids), -1)


def _spans(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The positions start..end-1 of every [start, end) span, one after the other."""
    sizes = np.maximum(ends - starts, 0)
    return np.repeat(starts - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """`np.unique` of a plain array, without the masked-array module numpy 2 imports on its first call
    (12 ms of every `newsbot ask`)."""
    values = np.sort(values)
    keep = np.empty(len(values), dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


class Snapshot:
    """The index as of one read transaction.

    Readers outside `index` go through its methods, which return frozen rows (`SentenceRow`,
    `ArticleRow`); the tables themselves are this package's business.
    """

    def __init__(self, conn: sqlite3.Connection, meta: IndexMeta, path: Path | str = "index"):
        self._conn = conn
        self._path = path  # for the one-line message about a damaged file
        self.meta = meta
        self.params = meta.bm25
        self.stats = meta.stats
        self.article_stats = meta.article_stats
        self.analyzer = analyzer_for(meta.language or "english")
        self.max_sentence_id = meta.max_sentence_id
        self.max_article_id = meta.max_article_id
        self.last_postings: dict[str, Postings] = {}
        self.last_terms: list[str] | None = None
        self.last_article_postings: dict[str, Postings] = {}
        self.last_article_terms: list[str] | None = None
        self.bounds: dict[str, float] = {}  # per-term weight bounds, valid for this index version
        self.article_bounds: dict[str, float] = {}
        self.table = tf_table(self.params, self.stats) if self.stats.documents else None
        self._dfs: dict[str, int | None] = {}  # document_frequencies asked so far (None: in no sentence)

    @cached_property
    def article_days(self) -> np.ndarray:
        """Each article id's date as days since 1970-01-01 (store.NO_DAY where there is no article)."""
        return store.read_array(self._conn, "article_days", store.DAY_DTYPE)

    @cached_property
    def article_first(self) -> np.ndarray:
        """Each article id's title sentence id (its body follows with consecutive ids)."""
        return store.read_array(self._conn, "article_first", store.ID_DTYPE)

    @cached_property
    def article_size(self) -> np.ndarray:
        """Each article id's number of sentences, title included."""
        return store.read_array(self._conn, "article_size", store.ID_DTYPE)

    def postings(self, query_terms: list[str]) -> dict[str, Postings]:
        """The sentence postings of the query's terms (kept while the same terms are asked again)."""
        wanted = sorted(set(query_terms))
        if self.last_terms != wanted:
            self.last_postings = self._fetch(query_terms, store.SENTENCE_POSTINGS, self.max_sentence_id)
            self.last_terms = wanted
        return self.last_postings

    def article_postings(self, query_terms: list[str]) -> dict[str, Postings]:
        """The article postings of the query's terms."""
        wanted = sorted(set(query_terms))
        if self.last_article_terms != wanted:
            self.last_article_postings = self._fetch(query_terms, store.ARTICLE_POSTINGS, self.max_article_id)
            self.last_article_terms = wanted
        return self.last_article_postings

    def _fetch(self, query_terms: list[str], table: store.PostingsTable, max_id: int) -> dict[str, Postings]:
        """Postings whose arrays have one entry per id and ids within the index (IndexUnavailable if not)."""
        try:
            found = store.fetch_postings(self._conn, query_terms, table)
        except (ValueError, TypeError) as error:  # an array whose bytes are not whole entries, or none
            raise store.IndexUnavailable(store.damaged_message(self._path, f"postings: {error}")) from None
        for p in found.values():
            sizes = {len(a) for a in (p.ids, p.codes, p.raw_tfs, p.raw_lengths) if a is not None}
            counted = p.codes is not None or (p.raw_tfs is not None and p.raw_lengths is not None)
            if sizes == {0} or len(sizes) != 1 or not counted or p.ids[0] < 0 or p.ids[-1] > max_id:
                raise store.IndexUnavailable(store.damaged_message(self._path, f"postings of {p.term[:40]!r}"))
        return found

    def candidates(self, query_terms: list[str], k: int | None = None) -> Candidates:
        """Scored sentences; with k, only as many as needed for an exact top k (see `score`)."""
        return score(
            query_terms,
            self.postings(query_terms),
            self.params,
            self.stats,
            self.max_sentence_id,
            k,
            self.table,
            self.bounds,
        )

    def article_candidates(self, query_terms: list[str], k: int | None = None) -> Candidates:
        """Scored articles (title and body as one BM25 document, rank-bm25's definition); ids are article ids."""
        return score(
            query_terms,
            self.article_postings(query_terms),
            self.params,
            self.article_stats,
            self.max_article_id,
            k,
            None,
            self.article_bounds,
            _article_scratch,
        )

    def sentence_matrix(
        self, query_terms: list[str], ranges: list[tuple[int, int]], extra: Iterable[int] = ()
    ) -> SentenceMatrix:
        """The query terms' counts in the sentences of the given [start, end) id ranges that hold one,
        and rows for the `extra` sentence ids of those ranges too, whatever they hold.

        Costs a binary search per range and term, plus the postings inside the ranges: never a pass over
        every sentence of a long article.
        """
        terms = tuple(sorted(set(query_terms)))
        postings = self.postings(query_terms)
        starts = np.array([a for a, _ in ranges], dtype=store.ID_DTYPE)
        ends = np.array([b for _, b in ranges], dtype=store.ID_DTYPE)
        found: list[tuple[int, np.ndarray, tuple[np.ndarray, np.ndarray]]] = []  # (column, ids, (tfs, lengths))
        for column, term in enumerate(terms):
            p = postings.get(term)
            if p is None or not len(starts):
                continue
            at = _spans(np.searchsorted(p.ids, starts), np.searchsorted(p.ids, ends))  # the postings in the ranges
            if len(at):
                found.append((column, p.ids[at].astype(np.int64), p.counts_at(at)))
        ids = _sorted_unique(np.concatenate([np.fromiter(extra, dtype=np.int64)] + [f[1] for f in found]))
        tfs = np.zeros((len(ids), len(terms)), dtype=np.int32)
        lengths = np.zeros(len(ids), dtype=np.int64)
        for column, found_ids, (term_tfs, term_lengths) in found:
            rows = np.searchsorted(ids, found_ids)
            tfs[rows, column], lengths[rows] = term_tfs, term_lengths
        return SentenceMatrix(ids, terms, tfs, lengths)

    def sentences(self, ids: Iterable[int]) -> dict[int, SentenceRow]:
        """The sentences of these ids, by id (ids that hold none are left out)."""
        return store.read_sentences(self._conn, ids)

    def each_sentence(self) -> Iterator[SentenceRow]:
        """Every sentence, titles included, in id order (read lazily)."""
        return store.each_sentence(self._conn)

    def articles(self, ids: Iterable[int]) -> dict[int, ArticleRow]:
        """The articles of these ids, by id (ids that hold none are left out)."""
        return store.read_articles(self._conn, ids)

    def articles_of(self, ids: Iterable[int]) -> dict[int, ArticleRow]:
        """The articles of these ids, by id, every one of which the postings or sentences name: one missing is
        a damaged index (IndexUnavailable), not a question without an answer."""
        wanted = set(ids)
        found = self.articles(wanted)
        if len(found) != len(wanted):
            missing = min(wanted - found.keys())
            raise store.IndexUnavailable(store.damaged_message(self._path, f"article {missing} is not in the index"))
        return found

    def each_article(self) -> Iterator[ArticleRow]:
        """Every article, in id order (read lazily)."""
        return store.each_article(self._conn)

    def newest_articles(self, count: int) -> list[ArticleRow]:
        """The `count` newest articles, newest first (the same date: the later id first)."""
        return store.newest_articles(self._conn, count)

    def titles(self, ids: Iterable[int]) -> dict[int, str]:
        """The titles of these article ids, by id."""
        return store.read_titles(self._conn, ids)

    def document_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """How many sentences (titles included) hold each term; terms in none are left out.

        Kept for the snapshot's life (it is replaced when the index changes): the headline terms of one
        question's best articles are much those of the last questions'."""
        terms = set(terms)
        unknown = terms.difference(self._dfs)
        if unknown:
            if len(self._dfs) > MAX_KEPT_DFS:
                self._dfs.clear()
            found = store.document_frequencies(self._conn, unknown)
            self._dfs.update((t, found.get(t)) for t in unknown)
        return {t: df for t in sorted(terms) if (df := self._dfs[t]) is not None}

    def mean_sentence_length(self) -> float:
        """The mean length of the body sentences, in characters."""
        return store.mean_sentence_length(self._conn)

    def article_count(self) -> int:
        """The articles it holds, counted (`meta.articles` records the same)."""
        return store.article_count(self._conn)

    def content_digest(self) -> str:
        """A digest of the articles' content: two indexes of the same articles have the same one."""
        return store.content_digest(self._conn)

    def last_change(self) -> int:
        """The sequence number of the newest entry of the change log (0 with none); cheap enough to poll."""
        return store.last_change(self._conn)

    def changes_after(self, seq: int, limit: int = 1000) -> list[ChangeRow]:
        """The change log after `seq`, oldest first: every text added, changed or removed, by whoever applied
        it (a rebuild, a watcher, /reindex). Pair it with `meta.index_id`: sequence numbers belong to one index."""
        return store.changes_after(self._conn, seq, limit)

    def articles_with_content(self, content_hashes: Iterable[str]) -> dict[str, int]:
        """The article that holds each of these texts now, by content hash (texts none holds are left out)."""
        return store.articles_with_content(self._conn, content_hashes)

    def terms_of_articles(self, article_ids: Iterable[int]) -> frozenset[str]:
        """Every term these articles hold (title and body), as stored when they were indexed: a question that
        shares none of them cannot match these articles."""
        first, size = self.article_first, self.article_size
        ids = [i for i in set(article_ids) if 0 <= i < len(size) and size[i] > 0]
        sentence_ids = [s for i in ids for s in range(int(first[i]), int(first[i]) + int(size[i]))]
        return frozenset(t for row in self.sentences(sentence_ids).values() for t in row.terms)
