"""Step 4: the index file, one SQLite database written through sqlite-utils.

Tables (open them with ``sqlite-utils`` or Datasette):

* ``articles``  id, source (path below the articles folder; ``file.jsonl#L3`` for
  JSONL lines), file (the path alone), file_hash (SHA-256 of the file's bytes),
  file_stat (size and modification time, to skip hashing unchanged files),
  content_hash (SHA-256 of the parsed text), date, title, byline, url, sentences
  (body sentences), first_sentence (the id of its title in ``sentences``; the body
  follows with consecutive ids), language (the index language; with ``auto``, the
  one whose script most of the article is in)
* ``sentences`` id, article_id, position (0 is the title), paragraph, text,
  length (number of index terms), is_title, terms (its index terms in order,
  space-separated, as the rebuild analysed them: what the answer's sentence
  features read, so no text is analysed at question time)
* ``postings``  the sentence-level BM25 postings: term, df, max_tf, min_length,
  frontier (the (tf, length) pairs that bound the term's BM25 weight), and
  little-endian arrays with one entry per sentence that contains the term,
  ascending by id: ids (int32) and codes (uint16, tf << 12 | sentence length, also
  an index into a per-index table of BM25 term-frequency factors). A term whose tf
  reaches 16 or sentence length 4096 stores tfs and lengths (uint16 each) instead.
* ``article_postings``  the same for whole articles (title and body as one
  document): ids are article ids, tfs uint16, lengths and frontier uint32
* ``arrays``    name, data: int32 arrays indexed by article id: ``article_days``
  (days since 1970-01-01 of its date, the minimum int32 where no article has that
  id), ``article_first`` (the id of its title sentence), ``article_size`` (its
  sentences, the title included); and ``sentence_dfs``, ``article_dfs``: how many
  terms have each df in the two postings tables (df, terms, df, terms, … int64,
  ascending), kept in step by every rebuild (index/statistics.py)
* ``meta``      key, value: schema_version, language, article_languages, bm25 variant and
  parameters, documents, total_length, idf sums, the same for articles
  (article_documents, ...), first and last date, furniture_lines (the ``lines`` that are
  furniture), built_at, articles_dir, index_id
  (random, made when the index file is made: a new index is another index), ...
* ``changes``   seq (ascending, never reused), article_id, content_hash, kind (added,
  changed, removed), at: every text the index gained or lost, written by whoever
  applied it (a rebuild, the watcher, /reindex) in the same transaction. A text the
  index held before, or already recorded as added (a moved, renamed or restored
  file), is not recorded again; a new index starts with none. The newest
  ``CHANGES_KEPT`` are kept. Standing questions read it (`Snapshot.changes_after`).
* ``lines``     hash (the key of a normalised line, index/segments.py), articles
  (how many articles hold it), furniture (1: it is in FURNITURE_GROUPS articles that are
  not copies of one another, and left out of every article that holds it), holders
  (the content keys of those articles, int64, ascending). See index/furniture.py.
* ``article_lines``  key (the first 64 bits of the content hash, signed), content_hash,
  lines (the keys of the article's lines, int64, ascending): what ``lines`` counted.

The database runs in WAL mode so that readers keep answering from the last
committed index while a rebuild writes the next one in a single transaction.
"""

from __future__ import annotations

import os
import sqlite3
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import sqlite_utils

SCHEMA_VERSION = 9
ID_DTYPE = np.dtype("<i4")
COUNT_DTYPE = np.dtype("<u2")
LENGTH_DTYPE = np.dtype("<u4")
DAY_DTYPE = np.dtype("<i4")
NO_DAY = np.iinfo(DAY_DTYPE).min  # article_days entry of an id with no article


class IndexUnavailable(Exception):
    """The index cannot be used; the message is one line for the user."""


class IndexMissing(IndexUnavailable):
    """There is no index file yet."""


class IndexOutdated(IndexUnavailable):
    """A newsbot index with an older schema version: a full rebuild makes it usable."""


class IndexNewer(IndexUnavailable):
    """A newsbot index with a newer schema version: never rebuilt down unasked (`--full`)."""


@dataclass(frozen=True)
class Postings:
    """One term's postings as arrays, ascending by document id (sentence or article).

    Sentence weights come from `codes` (tf << 12 | length) when every tf < 16 and length < 4096,
    which is nearly always; otherwise, and always for articles, from the `tfs` and `lengths` arrays.
    """

    term: str
    ids: np.ndarray
    raw_tfs: np.ndarray | None = None
    raw_lengths: np.ndarray | None = None
    max_tf: int = 0
    min_length: int = 0
    codes: np.ndarray | None = None
    frontier: np.ndarray | None = None  # (tf, length) pairs no other posting beats on both: bound the weight

    @property
    def df(self) -> int:
        return len(self.ids)

    @cached_property
    def tfs(self) -> np.ndarray:
        return self.raw_tfs if self.raw_tfs is not None else (self.codes >> 12).astype(COUNT_DTYPE)

    @cached_property
    def lengths(self) -> np.ndarray:
        return self.raw_lengths if self.raw_lengths is not None else (self.codes & 0xFFF).astype(COUNT_DTYPE)

    def counts_at(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tfs and lengths of the postings `at`, decoding only those (`tfs` decodes the whole list)."""
        codes = self.codes[at] if self.codes is not None else None
        tfs = self.raw_tfs[at] if self.raw_tfs is not None else codes >> 12
        return tfs, self.raw_lengths[at] if self.raw_lengths is not None else codes & 0xFFF

    @cached_property
    def positions(self) -> np.ndarray:
        """The ids as native indices: numpy scatters and gathers with these about 1.5 times faster."""
        return self.ids.astype(np.intp)


@dataclass(frozen=True)
class PostingsTable:
    """Where one level's postings live and how their counts are stored.

    Sentences are short, so their (tf, length) pairs nearly always pack into one
    16-bit code; articles are long, so they keep tfs (uint16) and lengths (uint32).
    """

    name: str
    length_dtype: np.dtype
    packs_codes: bool


SENTENCE_POSTINGS = PostingsTable("postings", COUNT_DTYPE, True)
ARTICLE_POSTINGS = PostingsTable("article_postings", LENGTH_DTYPE, False)


@dataclass(frozen=True)
class SentenceRow:
    """One row of ``sentences``: position 0 is the title; a body's sentences follow it with consecutive ids."""

    id: int
    article_id: int
    position: int
    paragraph: int
    text: str
    length: int  # number of index terms
    is_title: bool
    terms: tuple[str, ...] = ()  # its index terms in order, as analysed at rebuild time


@dataclass(frozen=True)
class ArticleRow:
    """One row of ``articles``, what readers need of it (the file hashes and stat stay the rebuild's)."""

    id: int
    source: str  # the path below the articles folder; ``file.jsonl#L3`` for a JSONL line
    date: str  # ISO date
    title: str
    byline: str
    url: str
    sentences: int  # body sentences, the title not counted
    first_sentence: int  # the id of its title in ``sentences``
    language: str


@dataclass(frozen=True)
class ChangeRow:
    """One row of ``changes``: a text the index gained or lost, in the order the changes were applied."""

    seq: int
    article_id: int  # the article as of the change (a later rebuild may give the same text another id)
    content_hash: str  # the article's identity: SHA-256 of its parsed text
    kind: str  # "added", "changed" (a new text where the same source held another), "removed"
    at: str  # ISO time in UTC


CHANGES_KEPT = 100_000  # rows of ``changes`` kept; a reader further behind misses the oldest


_SENTENCE_COLUMNS = "id, article_id, position, paragraph, text, length, is_title, terms"
_ARTICLE_COLUMNS = (
    "id, source, date, title, coalesce(byline, ''), coalesce(url, ''), sentences, first_sentence, "
    "coalesce(language, '')"
)
_CHUNK = 500  # ids per `in (...)` query


def each_in(conn: sqlite3.Connection | sqlite3.Cursor, sql: str, values: list) -> Iterator[tuple]:
    """The rows of `sql`, whose `{marks}` stands for an `in (...)` list, over all `values`, _CHUNK at a time
    (SQLite bounds the parameters of one statement); a `delete` gives none, but runs when iterated."""
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


# Frozen rows are made without a call to the dataclass's __init__ per row, which sets each field through
# object.__setattr__ and took twice as long as the SQL: an answer reads a hundred sentences or more.


def _sentences(rows: Iterable[tuple]) -> Iterator[SentenceRow]:
    new, names = object.__new__, _SENTENCE_FIELDS
    for row in rows:
        made = new(SentenceRow)
        fields = made.__dict__
        fields.update(zip(names, row))
        fields["is_title"] = row[6] == 1
        fields["terms"] = tuple(row[7].split()) if row[7] else ()
        yield made


def _articles(rows: Iterable[tuple]) -> Iterator[ArticleRow]:
    new, names = object.__new__, _ARTICLE_FIELDS
    for row in rows:
        made = new(ArticleRow)
        made.__dict__.update(zip(names, row))
        yield made


_SENTENCE_FIELDS = tuple(SentenceRow.__dataclass_fields__)
_ARTICLE_FIELDS = tuple(ArticleRow.__dataclass_fields__)


def read_sentences(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, SentenceRow]:
    """The sentences of these ids that exist, by id."""
    rows = each_in(conn, f"select {_SENTENCE_COLUMNS} from sentences where id in ({{marks}})", list(ids))
    return {row.id: row for row in _sentences(rows)}


def each_sentence(conn: sqlite3.Connection) -> Iterator[SentenceRow]:
    """Every sentence, titles included, in id order."""
    return _sentences(conn.execute(f"select {_SENTENCE_COLUMNS} from sentences order by id"))


def read_articles(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, ArticleRow]:
    """The articles of these ids that exist, by id."""
    rows = each_in(conn, f"select {_ARTICLE_COLUMNS} from articles where id in ({{marks}})", list(ids))
    return {row.id: row for row in _articles(rows)}


def each_article(conn: sqlite3.Connection) -> Iterator[ArticleRow]:
    """Every article, in id order."""
    return _articles(conn.execute(f"select {_ARTICLE_COLUMNS} from articles order by id"))


def newest_articles(conn: sqlite3.Connection, count: int) -> list[ArticleRow]:
    """The `count` newest articles, newest first (by date, then the later id)."""
    return list(
        _articles(
            conn.execute(
                f"select {_ARTICLE_COLUMNS} from articles order by date desc, id desc limit ?", [max(int(count), 0)]
            )
        )
    )


def read_titles(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, str]:
    """The titles of these article ids that exist, by id."""
    return dict(each_in(conn, "select id, title from articles where id in ({marks})", list(ids)))


def document_frequencies(
    conn: sqlite3.Connection, terms: Iterable[str], table: PostingsTable = SENTENCE_POSTINGS
) -> dict[str, int]:
    """How many documents (sentences, or articles) hold each of these terms; terms in none are left out."""
    return dict(each_in(conn, f"select term, df from {table.name} where term in ({{marks}})", sorted(set(terms))))


def mean_sentence_length(conn: sqlite3.Connection) -> float:
    """The mean length in characters of the body sentences (titles left out); 0 with none."""
    return float(conn.execute("select avg(length(text)) from sentences where is_title = 0").fetchone()[0] or 0.0)


def article_count(conn: sqlite3.Connection) -> int:
    """The rows of ``articles`` (meta's ``articles`` says the same after every rebuild)."""
    return int(conn.execute("select count(*) from articles").fetchone()[0])


def content_ids(conn: sqlite3.Connection) -> dict[str, int]:
    """Every article's content hash, with its id."""
    return dict(conn.execute("select content_hash, id from articles"))


def holds_content(conn: sqlite3.Connection, content_hash: str) -> bool:
    """Does an article hold this text (by its content hash)?"""
    return conn.execute("select 1 from articles where content_hash = ? limit 1", [content_hash]).fetchone() is not None


def articles_with_content(conn: sqlite3.Connection, hashes: Iterable[str]) -> dict[str, int]:
    """The article ids that hold these texts now, by content hash (texts no article holds are left out)."""
    return _per_content(conn, hashes, "min(id)")


def sources_with_content(conn: sqlite3.Connection, hashes: Iterable[str]) -> dict[str, str]:
    """The source (the file below the articles folder) of the article that holds each of these texts, by
    content hash (texts no article holds are left out)."""
    return _per_content(conn, hashes, "min(source)")


def _per_content(conn: sqlite3.Connection, hashes: Iterable[str], column: str) -> dict:
    sql = f"select content_hash, {column} from articles where content_hash in ({{marks}}) group by content_hash"
    return dict(each_in(conn, sql, sorted(set(hashes))))


def _no_changes_table(error: sqlite3.OperationalError) -> bool:
    """An index written before the change log existed: its next rebuild creates the table."""
    return "no such table" in str(error)


def change_recorded(conn: sqlite3.Connection, content_hash: str) -> bool:
    """Is this text in the change log as added or changed (within the rows kept)?"""
    return (
        conn.execute(
            "select 1 from changes where content_hash = ? and kind != 'removed' limit 1", [content_hash]
        ).fetchone()
        is not None
    )


def record_changes(
    conn: sqlite3.Connection, rows: list[tuple[int, str, str]], at: str, keep: int = CHANGES_KEPT
) -> None:
    """Append (article_id, content_hash, kind) rows to the change log, in the caller's transaction, and trim
    it to the newest `keep`."""
    if not rows:
        return
    conn.executemany(
        "insert into changes (article_id, content_hash, kind, at) values (?, ?, ?, ?)",
        [(article_id, content_hash, kind, at) for article_id, content_hash, kind in rows],
    )
    conn.execute("delete from changes where seq <= (select max(seq) from changes) - ?", [keep])


def last_change(conn: sqlite3.Connection) -> int:
    """The sequence number of the newest change (0 with none): one read of the primary key's last entry."""
    try:
        row = conn.execute("select seq from changes order by seq desc limit 1").fetchone()
    except sqlite3.OperationalError as error:
        if _no_changes_table(error):
            return 0
        raise
    return int(row[0]) if row else 0


def changes_after(conn: sqlite3.Connection, seq: int, limit: int = 1000) -> list[ChangeRow]:
    """The changes after `seq`, oldest first, at most `limit` of them."""
    try:
        rows = conn.execute(
            "select seq, article_id, content_hash, kind, at from changes where seq > ? order by seq limit ?",
            [int(seq), max(int(limit), 0)],
        ).fetchall()
    except sqlite3.OperationalError as error:
        if _no_changes_table(error):
            return []
        raise
    return [ChangeRow(*row) for row in rows]


def content_digest(conn: sqlite3.Connection) -> str:
    """SHA-256 over the sorted content hashes of the articles: the same articles, the same digest."""
    import hashlib

    hashes = sorted(row[0] for row in conn.execute("select content_hash from articles"))
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def fingerprint(path: Path | str) -> tuple[str, str]:
    """(SQLite's integrity_check result, the content digest) of an index file, or in place of the digest
    what is inconsistent: meta's article count against the rows, sentences whose article is gone."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check = conn.execute("pragma integrity_check").fetchone()[0]
        counted = int(read_meta(conn).get("articles", -1))
        if counted != article_count(conn):
            return check, "meta disagrees with articles"
        orphans = conn.execute(
            "select count(*) from sentences where article_id not in (select id from articles)"
        ).fetchone()[0]
        if orphans:
            return check, "sentences without article"
        return check, content_digest(conn)
    finally:
        conn.close()


def pack(values, dtype: np.dtype) -> bytes:
    """Array-like to little-endian bytes (counts clipped to the dtype's range)."""
    array = np.asarray(values)
    if dtype.kind == "u":
        array = np.clip(array, 0, np.iinfo(dtype).max)
    return array.astype(dtype, copy=False).tobytes()


def open_reader(path: Path | str) -> sqlite3.Connection:
    """A read-only connection for answering questions; never creates the file.

    Plain sqlite3: wrapping it in sqlite-utils would load its plugin machinery,
    20 ms before the first answer that serving does not need.

    A reader of a WAL database writes its shared-memory file beside it; where the folder or file cannot
    be written (a read-only mount, another user's index) the file is opened as immutable instead: no
    rebuild can happen there while it is read.
    """
    path = Path(path)
    if not path.exists():
        raise IndexMissing(f"no index at {path}; build it with `newsbot index rebuild --articles DIR --index {path}`")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        conn.close()
        if not any(word in str(error) for word in ("readonly", "read-only", "unable to open")):
            raise IndexUnavailable(damaged_message(path, str(error))) from None
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    return _tuned(conn)


def connect(path: Path | str, readonly: bool = False) -> sqlite_utils.Database:
    """Open the index through sqlite-utils (for rebuilds); a reader never creates the file.

    sqlite-utils is imported here, not at the top: answering a question never needs it.
    """
    import sqlite_utils

    if readonly:
        return sqlite_utils.Database(open_reader(path))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    # A rebuild is one big transaction; afterwards keep at most 64 MB of WAL file around.
    conn.execute("PRAGMA journal_size_limit = 67108864")
    return sqlite_utils.Database(_tuned(conn))


BUSY_TIMEOUT_MS = 10_000  # how long a reader or writer waits for another writer's lock


def _tuned(conn: sqlite3.Connection) -> sqlite3.Connection:
    """A busy timeout, and no memory map, for readers and writers alike.

    Every page a mapped connection touches counts in its resident memory: the rebuild's full-table reads
    (statistics, arrays) mapped the whole file (839 MB for a 200 MB JSONL feed's index), and a serving
    process kept every posting list it had read (`ask` peak RSS 449 MB at 1M sentences, 85 MB without,
    at the same CPU time per question: the lists are copied out of SQLite either way). The OS page cache
    serves the file as well without counting against the process.
    """
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA mmap_size = 0")
    return conn


def empty_wal(conn: sqlite3.Connection) -> None:
    """Copy the write-ahead log into the index file and empty it, unless a reader still holds an older view
    (never waits for one). The file is then whole by itself, and a reader that opens it while no other
    connection does need not read the log again (46 ms per connection for a 94 MB log at 10M sentences):
    a read-only connection that closes last cannot empty the log, as the last writer to close does."""
    with suppress(sqlite3.Error):  # what is written is committed: a failure here only leaves the log
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()  # a reader in the way: the log stays
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


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
            "first_sentence": int,
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
            "terms": str,
        },
        pk="id",
        foreign_keys=[("article_id", "articles", "id")],
        if_not_exists=True,
    )
    for table in (SENTENCE_POSTINGS, ARTICLE_POSTINGS):
        db[table.name].create(
            {
                "term": str,
                "df": int,
                "max_tf": int,
                "min_length": int,
                "frontier": bytes,
                "ids": bytes,
                "codes": bytes,
                "tfs": bytes,
                "lengths": bytes,
            },
            pk="term",
            if_not_exists=True,
        )
    db["arrays"].create({"name": str, "data": bytes}, pk="name", if_not_exists=True)
    # AUTOINCREMENT: a sequence number is never given out twice, also after the newest rows are trimmed.
    db.conn.execute(
        "create table if not exists changes (seq integer primary key autoincrement, article_id integer not null, "
        "content_hash text not null, kind text not null check (kind in ('added', 'changed', 'removed')), "
        "at text not null)"
    )
    db.conn.execute("create index if not exists changes_content on changes (content_hash)")
    db.conn.execute(
        "create table if not exists lines (hash integer primary key, articles integer not null, "
        "furniture integer not null, holders blob not null)"
    )
    db.conn.execute("create index if not exists lines_furniture on lines (hash) where furniture = 1")
    db.conn.execute(
        "create table if not exists article_lines (key integer primary key, content_hash text not null unique, "
        "lines blob not null)"
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


def is_stub(path: Path) -> bool:
    """An empty file, or an SQLite file with no tables but an empty meta: what a failed first build of an
    older newsbot left behind. Never true for a file holding anything else."""
    try:
        if path.stat().st_size == 0:
            return True
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except (OSError, sqlite3.Error):
        return False
    try:
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
        return tables <= {"meta"} and (not tables or conn.execute("select count(*) from meta").fetchone()[0] == 0)
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def recorded_folder(index_path: Path | str) -> Path | None:
    """The articles folder an index was built from, whatever its schema (None if it records none)."""
    try:
        conn = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        folder = read_meta(conn).get("articles_dir")
    finally:
        conn.close()
    return Path(folder) if folder else None


def damaged_message(path: Path | str, detail: str) -> str:
    """One line for a file that is not a usable index, with the command that fixes it."""
    return (
        f"{path} is damaged or not a newsbot index ({detail}); move it aside "
        f"(mv {path} {path}.broken) and rebuild: newsbot index rebuild --articles DIR --index {path}"
    )


def check_schema(meta: dict[str, str], path: Path | str) -> None:
    """Raise a one-line error unless the index has this program's schema: IndexOutdated for an older one,
    IndexNewer for a newer one."""
    version = meta.get("schema_version")
    if version is None:
        raise IndexUnavailable(
            f"{path} is not a newsbot index (or is empty); build it with "
            f"`newsbot index rebuild --articles DIR --index {path}`"
        )
    version = str(version)
    if not version.isascii() or not version.isdigit():
        raise IndexUnavailable(damaged_message(path, f"schema_version {version[:40]!r}"))
    if int(version) > SCHEMA_VERSION:
        raise IndexNewer(
            f"{path} was built by a newer newsbot (index schema {int(version)}, this one reads {SCHEMA_VERSION}); "
            f"upgrade newsbot, or rebuild it with --full: newsbot index rebuild --full --index {path}"
        )
    if version != str(SCHEMA_VERSION):
        raise IndexOutdated(
            f"{path} has index schema {version}, this newsbot reads {SCHEMA_VERSION}; "
            f"rebuild it: newsbot index rebuild --full --index {path}"
        )


def write_meta(db: sqlite_utils.Database, values: dict[str, object]) -> None:
    """Upsert meta keys."""
    db["meta"].upsert_all(({"key": k, "value": str(v)} for k, v in values.items()), pk="key")


def fetch_postings(
    conn: sqlite3.Connection, terms: list[str], table: PostingsTable = SENTENCE_POSTINGS
) -> dict[str, Postings]:
    """Postings for the distinct terms given (missing terms are left out)."""
    wanted = sorted(set(terms))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = conn.execute(
        f"select term, ids, codes, tfs, lengths, max_tf, min_length, frontier from {table.name} "
        f"where term in ({marks})",
        wanted,
    )
    lengths_of = table.length_dtype
    return {
        term: Postings(
            term,
            np.frombuffer(ids, ID_DTYPE),
            np.frombuffer(tfs, COUNT_DTYPE) if tfs is not None else None,
            np.frombuffer(lengths, lengths_of) if lengths is not None else None,
            max_tf,
            min_length,
            np.frombuffer(codes, COUNT_DTYPE) if codes is not None else None,
            np.frombuffer(frontier, lengths_of).reshape(-1, 2) if frontier is not None else None,
        )
        for term, ids, codes, tfs, lengths, max_tf, min_length, frontier in rows
    }


def read_array(conn: sqlite3.Connection, name: str, dtype: np.dtype) -> np.ndarray:
    """A named array from the `arrays` table (empty when absent)."""
    row = conn.execute("select data from arrays where name = ?", [name]).fetchone()
    return np.frombuffer(row[0], dtype) if row and row[0] else np.zeros(0, dtype)


def write_array(conn: sqlite3.Connection, name: str, values: np.ndarray) -> None:
    conn.execute("insert or replace into arrays (name, data) values (?, ?)", [name, values.tobytes()])


def frontier(tfs: np.ndarray, lengths: np.ndarray, dtype: np.dtype = COUNT_DTYPE) -> np.ndarray:
    """The (tf, length) pairs with no other posting both as frequent and as short (a skyline).

    BM25's weight grows with tf and shrinks with length, so its maximum over the
    list is reached on one of these points, whatever the collection statistics.
    """
    order = np.lexsort((-tfs.astype(np.int64), lengths))
    tf_sorted, length_sorted = tfs[order], lengths[order]
    running = np.maximum.accumulate(tf_sorted)
    keep = np.r_[True, running[1:] > running[:-1]]
    return np.stack([tf_sorted[keep], length_sorted[keep]], axis=1).astype(dtype)


def _on_frontier(tfs: np.ndarray, lengths: np.ndarray, known: np.ndarray) -> bool:
    """Whether any of these (tf, length) pairs is a point of the frontier `known`."""
    points = set(zip(known[:, 0].tolist(), known[:, 1].tolist()))
    return any(pair in points for pair in zip(tfs.tolist(), lengths.tolist()))


def _merged_frontier(
    known: np.ndarray | None, new: Postings | None, tfs: np.ndarray, lengths: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    """The frontier of a term's merged postings (`tfs`, `lengths`). The skyline of a union is the skyline of
    the parts' skylines, so with the old frontier still valid only it and the new postings are sorted, not
    the whole list: a watcher's batch at 10M sentences spent a second re-sorting the lists of common words."""
    if known is None:
        return frontier(tfs, lengths, dtype)
    if new is None:
        return known.astype(dtype)
    return frontier(
        np.concatenate([known[:, 0].astype(np.int64), np.asarray(new.tfs, np.int64)]),
        np.concatenate([known[:, 1].astype(np.int64), np.asarray(new.lengths, np.int64)]),
        dtype,
    )


RUN_TOKENS = 2_000_000  # pairs per sorted run; 200 MB of JSONL peaks at 722 MB (6M: 885 MB) for 10 % more time


class PostingsBuilder:
    """Collects (term, document) pairs in flat arrays; `build()` turns them into postings sorted by term.

    Memory is bounded: every RUN_TOKENS pairs the arrays are sorted into per-term postings and written
    as one run to a scratch SQLite file in `spill_dir` (beside the index, where the disk space is); `build()`
    then merges the runs term by term. Documents must be added in ascending id order.
    """

    def __init__(
        self, spill_dir: Path | str | None = None, run_tokens: int | None = None, prefix: str = ".newsbot-runs-"
    ):
        self.spill_dir = spill_dir
        self.prefix = prefix
        self.run_tokens = RUN_TOKENS if run_tokens is None else run_tokens
        self._runs: sqlite3.Connection | None = None
        self._run_path: str | None = None
        self._run_count = 0
        self._reset()

    def _reset(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self._terms = array("i")
        self._docs = array("i")
        self._doc_ids = array("i")
        self._doc_lengths = array("i")

    def add(self, doc_id: int, terms: list[str]) -> int:
        """Record a document's terms; returns its length."""
        vocabulary = self.vocabulary
        ids = [vocabulary.setdefault(t, len(vocabulary)) for t in terms]
        self._terms.extend(ids)
        self._docs.extend([doc_id] * len(ids))
        self._doc_ids.append(doc_id)
        self._doc_lengths.append(len(ids))
        if len(self._terms) >= self.run_tokens:
            self._spill()
        return len(ids)

    def _spill(self) -> None:
        if not self._terms:
            return
        if self._runs is None:
            import tempfile

            handle, self._run_path = tempfile.mkstemp(prefix=self.prefix, suffix=".db", dir=self.spill_dir)
            os.close(handle)
            self._runs = sqlite3.connect(self._run_path)
            self._runs.executescript(
                "pragma journal_mode = off; pragma synchronous = off; "
                "create table runs (term text, run integer, ids blob, tfs blob, lengths blob)"
            )
        self._runs.executemany(
            "insert into runs values (?, ?, ?, ?, ?)",
            (
                (
                    p.term,
                    self._run_count,
                    pack(p.ids, ID_DTYPE),
                    pack(p.tfs, COUNT_DTYPE),
                    np.asarray(p.lengths, np.int64).astype(LENGTH_DTYPE).tobytes(),
                )
                for p in self._build_memory()
            ),
        )
        self._run_count += 1
        self._reset()

    def build(self) -> Iterator[Postings]:
        """Per-term postings in term order, document ids ascending, with tf and document length."""
        if self._runs is None:
            yield from sorted(self._build_memory(), key=lambda p: p.term)
            return
        self._spill()
        try:
            self._runs.execute("create index runs_by_term on runs (term, run)")
            current, parts = None, []
            for term, ids, tfs, lengths in self._runs.execute(
                "select term, ids, tfs, lengths from runs order by term, run"
            ):
                if term != current and parts:
                    yield _joined(current, parts)
                    parts = []
                current = term
                parts.append((ids, tfs, lengths))
            if parts:
                yield _joined(current, parts)
        finally:
            self.close()

    def close(self) -> None:
        """Remove the scratch file of runs (also when a rebuild fails)."""
        if self._runs is not None:
            self._runs.close()
            self._runs = None
            os.unlink(self._run_path)

    def _build_memory(self) -> Iterator[Postings]:
        if not self._terms:
            return
        keys = (np.frombuffer(self._terms, np.int32).astype(np.int64) << 32) | np.frombuffer(
            self._docs, np.int32
        ).astype(np.int64)
        keys.sort()
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        tfs = np.diff(np.r_[starts, len(keys)])
        keys = keys[starts]
        del starts
        term_ids = (keys >> 32).astype(np.int32)
        doc_ids = (keys & 0xFFFFFFFF).astype(np.int32)
        del keys
        known = np.frombuffer(self._doc_ids, np.int32)
        lookup = np.zeros(int(known.max()) - int(known.min()) + 1, np.int32)
        lookup[known - known.min()] = np.frombuffer(self._doc_lengths, np.int32)
        lengths = lookup[doc_ids - known.min()]
        names = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        bounds = np.r_[0, np.flatnonzero(np.diff(term_ids)) + 1, len(term_ids)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield Postings(names[term_ids[a]], doc_ids[a:b], tfs[a:b], lengths[a:b])


def _joined(term: str, parts: list[tuple[bytes, bytes, bytes]]) -> Postings:
    """One term's postings from its runs (each run's ids follow the previous run's)."""
    ids = np.concatenate([np.frombuffer(i, ID_DTYPE) for i, _, _ in parts])
    tfs = np.concatenate([np.frombuffer(t, COUNT_DTYPE) for _, t, _ in parts])
    lengths = np.concatenate([np.frombuffer(n, LENGTH_DTYPE) for _, _, n in parts])
    return Postings(term, ids, tfs, lengths)


def article_postings(
    sentence_postings: Iterable[Postings],
    article_of: np.ndarray,
    first_sentence: int,
    article_lengths: np.ndarray,
    first_article: int,
) -> Iterator[Postings]:
    """Whole-article postings from sentence postings: an article's tf is the sum over its sentences.

    `article_of[s - first_sentence]` is the article of sentence s and
    `article_lengths[a - first_article]` the length of article a (its sentences' lengths summed).
    """
    for p in sentence_postings:
        articles = article_of[p.ids.astype(np.int64) - first_sentence]
        starts = np.flatnonzero(np.r_[True, articles[1:] != articles[:-1]])  # sentence ids ascend with articles
        ids = articles[starts].astype(ID_DTYPE)
        tfs = np.add.reduceat(p.tfs.astype(np.int64), starts)
        yield Postings(p.term, ids, tfs, article_lengths[ids.astype(np.int64) - first_article])


def articles_of_sentences(removed: dict[str, set[int]], article_of: dict[int, int]) -> dict[str, set[int]]:
    """Term -> sentence ids removed, as term -> article ids removed."""
    return {term: {article_of[s] for s in ids} for term, ids in removed.items()}


def insert_sentences(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Bulk insert (id, article_id, position, paragraph, text, length, is_title, terms) rows."""
    conn.executemany(
        "insert into sentences (id, article_id, position, paragraph, text, length, is_title, terms) "
        "values (?,?,?,?,?,?,?,?)",
        rows,
    )


def write_postings(
    conn: sqlite3.Connection,
    new: Iterable[Postings],
    removed: dict[str, set[int]],
    fresh: bool = False,
    table: PostingsTable = SENTENCE_POSTINGS,
) -> list[tuple[int, int]]:
    """Merge new postings and removals into a postings table (old ids all precede new ones). Returns each
    changed term's (df before, df after), 0 where it had or has no postings, for the statistics."""
    new_by_term = {p.term: p for p in new}
    terms = sorted(set(new_by_term) | set(removed))
    moves: list[tuple[int, int]] = []
    for start in range(0, len(terms), 2000):
        chunk = terms[start : start + 2000]
        old = {} if fresh else fetch_postings(conn, chunk, table)
        rows, gone = [], []
        for term in chunk:
            parts = []
            known = None  # the old frontier, while it is still the skyline of the old postings kept
            if term in old:
                p = old[term]
                before, known = len(p.ids), p.frontier
                if term in removed:
                    keep = ~np.isin(p.ids, np.fromiter(removed[term], dtype=np.int64))
                    if known is not None and _on_frontier(p.tfs[~keep], p.lengths[~keep], known):
                        known = None
                    p = Postings(term, p.ids[keep], p.tfs[keep], p.lengths[keep])
                parts.append(p)
            if term in new_by_term:
                parts.append(new_by_term[term])
            ids = np.concatenate([p.ids for p in parts]) if parts else np.zeros(0, ID_DTYPE)
            moves.append((before if term in old else 0, len(ids)))
            if len(ids) == 0:
                gone.append(term)
                continue
            tfs = np.concatenate([p.tfs for p in parts])
            lengths = np.concatenate([p.lengths for p in parts])
            codes = raw_tfs = raw_lengths = None
            if table.packs_codes and tfs.max() < 16 and lengths.max() < 4096:
                codes = pack((tfs.astype(np.uint32) << 12) | lengths, COUNT_DTYPE)
            else:
                raw_tfs, raw_lengths = pack(tfs, COUNT_DTYPE), pack(lengths, table.length_dtype)
            rows.append(
                (
                    term,
                    len(ids),
                    int(tfs.max()),
                    int(lengths.min()),
                    _merged_frontier(known, new_by_term.get(term), tfs, lengths, table.length_dtype).tobytes(),
                    pack(ids, ID_DTYPE),
                    codes,
                    raw_tfs,
                    raw_lengths,
                )
            )
        if gone:
            conn.execute(f"delete from {table.name} where term in ({','.join('?' * len(gone))})", gone)
        conn.executemany(
            f"insert or replace into {table.name} (term, df, max_tf, min_length, frontier, ids, codes, tfs, "
            "lengths) values (?,?,?,?,?,?,?,?,?)",
            rows,
        )
    return moves
