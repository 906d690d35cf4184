"""Step 4: the index file, one SQLite database written through sqlite-utils.

Tables (open them with ``sqlite-utils`` or Datasette):

* ``articles``  id, source (path below the articles folder; ``file.jsonl#L3`` for
  JSONL lines), file (the path alone), file_hash (SHA-256 of the file's bytes),
  content_hash (SHA-256 of the parsed text), date, title, byline, url, sentences
* ``sentences`` id, article_id, position (0 is the title), paragraph, text,
  length (number of index terms), is_title
* ``postings``  term, df, and three little-endian arrays with one entry per
  sentence that contains the term: sentence_ids (int32), tfs (uint16, term
  count), lengths (uint16, sentence length), so a term's BM25 weights can be
  computed from its row alone
* ``meta``      key, value: schema_version, language, bm25 variant and
  parameters, documents, total_length, idf_sum, terms, built_at, ...

The database runs in WAL mode so that readers keep answering from the last
committed index while a rebuild writes the next one in a single transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

SCHEMA_VERSION = 1
ID_DTYPE = np.dtype("<i4")
COUNT_DTYPE = np.dtype("<u2")


class IndexUnavailable(Exception):
    """The index cannot be used; the message is one line for the user."""


class IndexMissing(IndexUnavailable):
    """There is no index file yet."""


@dataclass(frozen=True)
class Postings:
    """One term's postings as arrays."""

    term: str
    sentence_ids: np.ndarray
    tfs: np.ndarray
    lengths: np.ndarray

    @property
    def df(self) -> int:
        return len(self.sentence_ids)


def pack(values, dtype: np.dtype) -> bytes:
    """Array-like to little-endian bytes (counts clipped to the dtype's range)."""
    array = np.asarray(values)
    if dtype == COUNT_DTYPE:
        array = np.clip(array, 0, 65535)
    return array.astype(dtype, copy=False).tobytes()


def connect(path: Path | str, readonly: bool = False) -> sqlite_utils.Database:
    """Open the index; a reader never creates the file."""
    path = Path(path)
    if readonly:
        if not path.exists():
            raise IndexMissing(f"no index at {path}; run `newsbot index rebuild`")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA mmap_size = 1073741824")
    return sqlite_utils.Database(conn)


def create_schema(db: sqlite_utils.Database) -> None:
    """Create the tables (inside the caller's transaction)."""
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["articles"].create(
        {
            "id": int,
            "source": str,
            "file": str,
            "file_hash": str,
            "content_hash": str,
            "date": str,
            "title": str,
            "byline": str,
            "url": str,
            "sentences": int,
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
        {"term": str, "df": int, "sentence_ids": bytes, "tfs": bytes, "lengths": bytes},
        pk="term",
        if_not_exists=True,
    )
    db["articles"].create_index(["source"], unique=True, if_not_exists=True)
    db["articles"].create_index(["file"], if_not_exists=True)
    db["articles"].create_index(["content_hash"], if_not_exists=True)
    db["articles"].create_index(["date"], if_not_exists=True)
    db["sentences"].create_index(["article_id"], if_not_exists=True)


def read_meta(db: sqlite_utils.Database) -> dict[str, str]:
    """The meta table as a dict (empty when there is none)."""
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
        raise IndexUnavailable(
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
        f"select term, sentence_ids, tfs, lengths from postings where term in ({marks})", wanted
    )
    return {
        term: Postings(
            term,
            np.frombuffer(ids, ID_DTYPE),
            np.frombuffer(tfs, COUNT_DTYPE),
            np.frombuffer(lengths, COUNT_DTYPE),
        )
        for term, ids, tfs, lengths in rows
    }
