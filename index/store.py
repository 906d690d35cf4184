"""Step 4: the index file, one SQLite database written through sqlite-utils.

Tables (open them with ``sqlite-utils`` or Datasette):

* ``articles``  id, source (path below the articles folder; ``file.jsonl#L3`` for
  JSONL lines), file (the path alone), file_hash (SHA-256 of the file's bytes),
  file_stat (size and modification time, to skip hashing unchanged files),
  content_hash (SHA-256 of the parsed text), date, title, byline, url, sentences,
  language (the index language; with ``auto``, the one whose script most of the
  article is in)
* ``sentences`` id, article_id, position (0 is the title), paragraph, text,
  length (number of index terms), is_title
* ``postings``  term, df, max_tf, min_length, frontier (the (tf, length) pairs
  that bound the term's BM25 weight), and little-endian arrays with
  one entry per sentence that contains the term, ascending by id: sentence_ids
  (int32) and codes (uint16, tf << 12 | sentence length, also an index into a
  per-index table of BM25 term-frequency factors). A term whose tf reaches 16 or
  sentence length 4096 stores tfs and lengths (uint16 each) instead of codes.
  A term's BM25 weights, and their upper bound, come from its row alone
* ``meta``      key, value: schema_version, language, article_languages, bm25 variant and
  parameters, documents, total_length, idf_sum, terms, built_at, ...

The database runs in WAL mode so that readers keep answering from the last
committed index while a rebuild writes the next one in a single transaction.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import sqlite_utils

SCHEMA_VERSION = 7
ID_DTYPE = np.dtype("<i4")
COUNT_DTYPE = np.dtype("<u2")


class IndexUnavailable(Exception):
    """The index cannot be used; the message is one line for the user."""


class IndexMissing(IndexUnavailable):
    """There is no index file yet."""


class IndexOutdated(IndexUnavailable):
    """A newsbot index with another schema version: a full rebuild makes it usable."""


@dataclass(frozen=True)
class Postings:
    """One term's postings as arrays, ascending by sentence id.

    Weights come from `codes` (tf << 12 | length) when every tf < 16 and length < 4096,
    which is nearly always; otherwise from the full `tfs` and `lengths` arrays.
    """

    term: str
    sentence_ids: np.ndarray
    raw_tfs: np.ndarray | None = None
    raw_lengths: np.ndarray | None = None
    max_tf: int = 0
    min_length: int = 0
    codes: np.ndarray | None = None
    frontier: np.ndarray | None = None  # (tf, length) pairs no other posting beats on both: bound the weight

    @property
    def df(self) -> int:
        return len(self.sentence_ids)

    @cached_property
    def tfs(self) -> np.ndarray:
        return self.raw_tfs if self.raw_tfs is not None else (self.codes >> 12).astype(COUNT_DTYPE)

    @cached_property
    def lengths(self) -> np.ndarray:
        return self.raw_lengths if self.raw_lengths is not None else (self.codes & 0xFFF).astype(COUNT_DTYPE)

    @cached_property
    def positions(self) -> np.ndarray:
        """The sentence ids as native indices: numpy scatters and gathers with these about 1.5 times faster."""
        return self.sentence_ids.astype(np.intp)


def pack(values, dtype: np.dtype) -> bytes:
    """Array-like to little-endian bytes (counts clipped to the dtype's range)."""
    array = np.asarray(values)
    if dtype == COUNT_DTYPE:
        array = np.clip(array, 0, 65535)
    return array.astype(dtype, copy=False).tobytes()


def open_reader(path: Path | str) -> sqlite3.Connection:
    """A read-only connection for answering questions; never creates the file.

    Plain sqlite3: wrapping it in sqlite-utils would load its plugin machinery,
    20 ms before the first answer that serving does not need.
    """
    path = Path(path)
    if not path.exists():
        raise IndexMissing(f"no index at {path}; run `newsbot index rebuild`")
    return _tuned(sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False))


def connect(path: Path | str, readonly: bool = False) -> sqlite_utils.Database:
    """Open the index through sqlite-utils (for rebuilds); a reader never creates the file."""
    if readonly:
        return sqlite_utils.Database(open_reader(path))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    # A rebuild is one big transaction; afterwards keep at most 64 MB of WAL file around.
    conn.execute("PRAGMA journal_size_limit = 67108864")
    return sqlite_utils.Database(_tuned(conn))


def _tuned(conn: sqlite3.Connection) -> sqlite3.Connection:
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA mmap_size = 1073741824")
    return conn


class TransactionLost(sqlite3.OperationalError):
    """SQLite rolled the transaction back by itself (a full disk does this); nothing may be written after it."""


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[Callable[[], None]]:
    """One write transaction (BEGIN IMMEDIATE), committed at the end of the block, rolled back on any error.

    Yields `check()`, which raises `TransactionLost` when SQLite has already rolled
    the transaction back on its own (on SQLITE_FULL it may): statements run after
    that would be committed one by one, so a failed full rebuild could empty the
    index. The block must call it after anything that may have swallowed an error,
    and it is called again before the commit.
    """

    def check() -> None:
        if not conn.in_transaction:
            raise TransactionLost("database or disk is full (the transaction was rolled back)")

    conn.execute("BEGIN IMMEDIATE")
    try:
        yield check
        check()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise


def drop_tables(conn: sqlite3.Connection, names: Iterable[str]) -> None:
    """DROP TABLE IF EXISTS, letting every error through (sqlite-utils' `drop(ignore=True)` hides a full disk)."""
    for name in names:
        conn.execute(f'DROP TABLE IF EXISTS "{name}"')


def create_schema(db: sqlite_utils.Database) -> None:
    """Create the tables (inside the caller's transaction)."""
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["articles"].create(
        {
            "id": int,
            "source": str,
            "file": str,
            "file_hash": str,
            "file_stat": str,
            "content_hash": str,
            "date": str,
            "title": str,
            "byline": str,
            "url": str,
            "sentences": int,
            "language": str,
        },
        pk="id",
        not_null={"source", "date", "title", "content_hash"},
        if_not_exists=True,
    )
    db["sentences"].create(
        {
            "id": int,
            "article_id": int,
            "position": int,
            "paragraph": int,
            "text": str,
            "length": int,
            "is_title": int,
        },
        pk="id",
        foreign_keys=[("article_id", "articles", "id")],
        if_not_exists=True,
    )
    db["postings"].create(
        {"term": str, "df": int, "max_tf": int, "min_length": int, "frontier": bytes, "sentence_ids": bytes,
         "codes": bytes, "tfs": bytes, "lengths": bytes},
        pk="term",
        if_not_exists=True,
    )
    db["articles"].create_index(["source"], unique=True, if_not_exists=True)
    db["articles"].create_index(["file"], if_not_exists=True)
    db["articles"].create_index(["content_hash"], if_not_exists=True)
    db["articles"].create_index(["date"], if_not_exists=True)
    db["sentences"].create_index(["article_id"], if_not_exists=True)


def read_meta(db: sqlite_utils.Database | sqlite3.Connection) -> dict[str, str]:
    """The meta table as a dict (empty when there is none, or the file is not SQLite), whatever the schema."""
    try:
        return {row[0]: row[1] for row in db.execute("select key, value from meta")}
    except sqlite3.DatabaseError:
        return {}


def check_schema(meta: dict[str, str], path: Path | str) -> None:
    """Raise a one-line error unless the index has this program's schema."""
    version = meta.get("schema_version")
    if version is None:
        raise IndexUnavailable(f"{path} is not a newsbot index (or is empty); run `newsbot index rebuild`")
    if version != str(SCHEMA_VERSION):
        raise IndexOutdated(
            f"{path} has index schema {version}, this newsbot reads {SCHEMA_VERSION}; "
            "run `newsbot index rebuild --full`"
        )


def write_meta(db: sqlite_utils.Database, values: dict[str, object]) -> None:
    """Upsert meta keys."""
    db["meta"].upsert_all(({"key": k, "value": str(v)} for k, v in values.items()), pk="key")


def fetch_postings(conn: sqlite3.Connection, terms: list[str]) -> dict[str, Postings]:
    """Postings for the distinct terms given (missing terms are left out)."""
    wanted = sorted(set(terms))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = conn.execute(
        "select term, sentence_ids, codes, tfs, lengths, max_tf, min_length, frontier from postings "
        f"where term in ({marks})",
        wanted,
    )
    return {
        term: Postings(
            term,
            np.frombuffer(ids, ID_DTYPE),
            np.frombuffer(tfs, COUNT_DTYPE) if tfs is not None else None,
            np.frombuffer(lengths, COUNT_DTYPE) if lengths is not None else None,
            max_tf,
            min_length,
            np.frombuffer(codes, COUNT_DTYPE) if codes is not None else None,
            np.frombuffer(frontier, COUNT_DTYPE).reshape(-1, 2) if frontier is not None else None,
        )
        for term, ids, codes, tfs, lengths, max_tf, min_length, frontier in rows
    }


def frontier(tfs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The (tf, length) pairs with no other posting both as frequent and as short (a skyline).

    BM25's weight grows with tf and shrinks with length, so its maximum over the
    list is reached on one of these points, whatever the collection statistics.
    """
    order = np.lexsort((-tfs.astype(np.int64), lengths))
    tf_sorted, length_sorted = tfs[order], lengths[order]
    running = np.maximum.accumulate(tf_sorted)
    keep = np.r_[True, running[1:] > running[:-1]]
    return np.stack([tf_sorted[keep], length_sorted[keep]], axis=1).astype(COUNT_DTYPE)


class PostingsBuilder:
    """Collects (term, sentence) pairs in flat arrays; `build()` turns them into sorted postings."""

    def __init__(self):
        self.vocabulary: dict[str, int] = {}
        self._terms = array("i")
        self._sentences = array("i")
        self._doc_ids = array("i")
        self._doc_lengths = array("i")

    def add(self, sentence_id: int, terms: list[str]) -> int:
        """Record a sentence's terms; returns its length."""
        vocabulary = self.vocabulary
        ids = [vocabulary.setdefault(t, len(vocabulary)) for t in terms]
        self._terms.extend(ids)
        self._sentences.extend([sentence_id] * len(ids))
        self._doc_ids.append(sentence_id)
        self._doc_lengths.append(len(ids))
        return len(ids)

    def build(self) -> Iterator[Postings]:
        """Per-term postings, sentence ids ascending, with tf and sentence length."""
        if not self._terms:
            return
        keys = (np.frombuffer(self._terms, np.int32).astype(np.int64) << 32) | np.frombuffer(
            self._sentences, np.int32
        ).astype(np.int64)
        keys.sort()
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        tfs = np.diff(np.r_[starts, len(keys)])
        keys = keys[starts]
        del starts
        term_ids = (keys >> 32).astype(np.int32)
        sentence_ids = (keys & 0xFFFFFFFF).astype(np.int32)
        doc_ids = np.frombuffer(self._doc_ids, np.int32)
        lookup = np.zeros(int(doc_ids.max()) - int(doc_ids.min()) + 1, np.int32)
        lookup[doc_ids - doc_ids.min()] = np.frombuffer(self._doc_lengths, np.int32)
        lengths = lookup[sentence_ids - doc_ids.min()]
        names = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        bounds = np.r_[0, np.flatnonzero(np.diff(term_ids)) + 1, len(term_ids)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield Postings(names[term_ids[a]], sentence_ids[a:b], tfs[a:b], lengths[a:b])


def insert_sentences(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Bulk insert (id, article_id, position, paragraph, text, length, is_title) rows."""
    conn.executemany(
        "insert into sentences (id, article_id, position, paragraph, text, length, is_title) values (?,?,?,?,?,?,?)",
        rows,
    )


def write_postings(conn: sqlite3.Connection, new: Iterable[Postings], removed: dict[str, set[int]],
                   fresh: bool = False) -> None:
    """Merge new postings and removals into the postings table (old ids all precede new ones)."""
    new_by_term = {p.term: p for p in new}
    terms = sorted(set(new_by_term) | set(removed))
    for start in range(0, len(terms), 2000):
        chunk = terms[start : start + 2000]
        old = {} if fresh else fetch_postings(conn, chunk)
        rows, gone = [], []
        for term in chunk:
            parts = []
            if term in old:
                p = old[term]
                if term in removed:
                    keep = ~np.isin(p.sentence_ids, np.fromiter(removed[term], dtype=np.int64))
                    p = Postings(term, p.sentence_ids[keep], p.tfs[keep], p.lengths[keep])
                parts.append(p)
            if term in new_by_term:
                parts.append(new_by_term[term])
            ids = np.concatenate([p.sentence_ids for p in parts]) if parts else np.zeros(0, ID_DTYPE)
            if len(ids) == 0:
                gone.append(term)
                continue
            tfs = np.concatenate([p.tfs for p in parts])
            lengths = np.concatenate([p.lengths for p in parts])
            codes = raw_tfs = raw_lengths = None
            if tfs.max() < 16 and lengths.max() < 4096:
                codes = pack((tfs.astype(np.uint32) << 12) | lengths, COUNT_DTYPE)
            else:
                raw_tfs, raw_lengths = pack(tfs, COUNT_DTYPE), pack(lengths, COUNT_DTYPE)
            rows.append((
                term, len(ids), int(tfs.max()), int(lengths.min()), frontier(tfs, lengths).tobytes(),
                pack(ids, ID_DTYPE), codes, raw_tfs, raw_lengths,
            ))
        if gone:
            conn.execute(f"delete from postings where term in ({','.join('?' * len(gone))})", gone)
        conn.executemany(
            "insert or replace into postings (term, df, max_tf, min_length, frontier, sentence_ids, codes, tfs, "
            "lengths) values (?,?,?,?,?,?,?,?,?)",
            rows,
        )
