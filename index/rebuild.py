"""The rebuild: articles folder -> index file, incrementally by content hash.

Files whose bytes are unchanged are not re-read; new, changed and deleted files
are applied. Everything is written in one SQLite transaction in WAL mode, so a
rebuild that dies at any moment leaves the previous index answering, and
readers never see a half-written one. A lock file makes a second rebuild of
the same index refuse instead of waiting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import store
from .articles import Article, Skipped, article_files, read_file
from .search import Bm25Params, CorpusStats
from .sentences import article_sentences
from .terms import Analyzer, language_name

ANALYZER_VERSION = "1"
Progress = Callable[[Iterable], Iterable]


class RebuildError(Exception):
    """The rebuild could not run; the old index is untouched."""


@dataclass
class RebuildSummary:
    """What a rebuild did."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[Skipped] = field(default_factory=list)
    articles: int = 0
    sentences: int = 0
    seconds: float = 0.0
    full: bool = False

    def lines(self) -> list[str]:
        """Human-readable summary, one fact a line."""
        out = [
            f"{'full' if self.full else 'incremental'} rebuild in {self.seconds:.1f} s: "
            f"{self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.unchanged} unchanged, {len(self.skipped)} skipped",
            f"index holds {self.articles} articles, {self.sentences} sentences",
        ]
        out += [f"skipped {s.source}: {s.reason}" for s in self.skipped]
        out += [f"note {s.source}: {s.reason}" for s in self.notes]
        return out


@contextmanager
def rebuild_lock(index_path: Path):
    """Hold an exclusive lock beside the index, or refuse at once."""
    lock_path = index_path.with_name(index_path.name + ".lock")
    handle = open(lock_path, "a+")
    try:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX
            pass
        except OSError:
            raise RebuildError(f"another rebuild of {index_path} is running; try again when it ends") from None
        yield
    finally:
        handle.close()


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _PostingsBuilder:
    """New postings per term, kept in compact arrays."""

    def __init__(self):
        self.ids: dict[str, array] = defaultdict(lambda: array("i"))
        self.tfs: dict[str, array] = defaultdict(lambda: array("H"))
        self.lengths: dict[str, array] = defaultdict(lambda: array("H"))

    def add(self, sentence_id: int, terms: list[str]) -> int:
        length = len(terms)
        capped = min(length, 65535)
        for term, tf in Counter(terms).items():
            self.ids[term].append(sentence_id)
            self.tfs[term].append(min(tf, 65535))
            self.lengths[term].append(capped)
        return length


def _plan(root: Path, db, full: bool, progress: Progress):
    """Decide per file: keep, or read and parse. Returns (parsed, kept_ids, seen_files, skipped)."""
    existing: dict[str, list[dict]] = defaultdict(list)
    if not full and db["articles"].exists():
        for row in db.query("select id, source, file, file_hash, content_hash from articles"):
            existing[row["file"]].append(row)
    root_real = os.path.realpath(root)
    parsed: list[tuple[str, str, Article]] = []  # (file, file_hash, article)
    kept_ids: set[int] = set()
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for path, source in progress(list(article_files(root))):
        seen.add(source)
        try:
            digest = file_hash(path) if not path.is_symlink() or os.path.realpath(path).startswith(root_real) else ""
        except OSError as error:
            skipped.append(Skipped(source, f"cannot read: {error.strerror or error}"))
            continue
        old = existing.get(source, [])
        if digest and old and all(row["file_hash"] == digest for row in old):
            kept_ids.update(row["id"] for row in old)
            continue
        for item in read_file(path, source, root_real):
            if isinstance(item, Skipped):
                skipped.append(item)
            else:
                parsed.append((source, digest, item))
    return existing, parsed, kept_ids, seen, skipped


def rebuild(
    articles_dir: Path | str,
    index_path: Path | str,
    language: str | None = None,
    full: bool = False,
    params: Bm25Params | None = None,
    progress: Progress = lambda items: items,
) -> RebuildSummary:
    """Bring the index at index_path up to date with articles_dir."""
    started = time.perf_counter()
    root, index_path = Path(articles_dir), Path(index_path)
    if not root.is_dir():
        raise RebuildError(f"articles folder {root} does not exist or is not a folder")
    try:
        index_path.parent.mkdir(parents=True, exist_ok=True)
        with rebuild_lock(index_path):
            return _rebuild_locked(root, index_path, language, full, params, progress, started)
    except OSError as error:
        raise RebuildError(f"cannot write the index {index_path}: {error.strerror or error}") from None


def _rebuild_locked(root, index_path, language, full, params, progress, started) -> RebuildSummary:
    db = store.connect(index_path)
    try:
        meta = store.read_meta(db)
        if not meta and set(db.table_names()) - {"meta"}:
            raise RebuildError(f"{index_path} holds other data, not a newsbot index; choose another --index")
        try:
            if meta:
                store.check_schema(meta, index_path)
        except store.IndexUnavailable:
            full = True
        if language is None:
            language = meta.get("language", "english")
        language = language_name(language)
        params = params or (Bm25Params.from_meta(meta) if meta else Bm25Params())
        if (
            not meta
            or meta.get("language") != language
            or meta.get("analyzer_version") != ANALYZER_VERSION
            or Bm25Params.from_meta(meta) != params
        ):
            full = True
        summary = RebuildSummary(full=full)
        if db.journal_mode != "wal":
            db.enable_wal()
        existing, parsed, kept_ids, _, skipped = _plan(root, db, full, progress)
        summary.skipped = skipped
        analyzer = Analyzer(language)
        with db.atomic():
            if full:
                for table in ("postings", "sentences", "articles", "meta"):
                    db[table].drop(ignore=True)
            store.create_schema(db)
            _apply(db, analyzer, existing, parsed, kept_ids, summary)
            summary.articles, summary.sentences = _write_stats(db, language, params, root)
        summary.seconds = time.perf_counter() - started
        return summary
    except sqlite3.DatabaseError as error:
        raise RebuildError(f"{index_path} is not a usable SQLite file ({error}); choose another --index") from None
    finally:
        db.close()


def _apply(db, analyzer, existing, parsed, kept_ids, summary) -> None:
    meta = store.read_meta(db)
    next_article = int(meta.get("next_article_id", 1))
    next_sentence = int(meta.get("next_sentence_id", 1))
    parsed_keys = {(source, a.source, a.content_hash) for source, _, a in parsed}
    remove_ids: list[int] = []
    keep_rows: dict[tuple[str, str], int] = {}
    for file, rows in existing.items():
        for row in rows:
            if row["id"] in kept_ids:
                continue
            if (file, row["source"], row["content_hash"]) in parsed_keys:
                keep_rows[(row["source"], row["content_hash"])] = row["id"]
            else:
                remove_ids.append(row["id"])
    changed_files = {file for file, _, _ in parsed}
    summary.unchanged = len(kept_ids) + len(keep_rows)

    removed_postings = _remove_articles(db, analyzer, remove_ids)
    present_hashes = {row[0] for row in db.execute("select content_hash from articles")}
    builder = _PostingsBuilder()
    sentence_rows, article_rows = [], []
    replaced_sources = {
        row["source"] for file in changed_files for row in existing.get(file, []) if row["id"] in remove_ids
    }
    for file, digest, article in parsed:
        key = (article.source, article.content_hash)
        if key in keep_rows:
            db.execute("update articles set file_hash = ? where id = ?", [digest, keep_rows[key]])
            continue
        if article.content_hash in present_hashes:
            summary.skipped.append(Skipped(article.source, "same text as an article already indexed"))
            continue
        present_hashes.add(article.content_hash)
        if article.encoding_note:
            summary.notes.append(Skipped(article.source, article.encoding_note))
        if article.source in replaced_sources:
            summary.updated += 1
        else:
            summary.added += 1
        article_id, next_article = next_article, next_article + 1
        sentences = article_sentences(article)
        article_rows.append({
            "id": article_id, "source": article.source, "file": file, "file_hash": digest,
            "content_hash": article.content_hash, "date": article.date, "title": article.title,
            "byline": article.byline, "url": article.url, "sentences": len(sentences) - 1,
        })
        for sentence in sentences:
            length = builder.add(next_sentence, analyzer.terms(sentence.text))
            sentence_rows.append({
                "id": next_sentence, "article_id": article_id, "position": sentence.position,
                "paragraph": sentence.paragraph, "text": sentence.text, "length": length,
                "is_title": int(sentence.is_title),
            })
            next_sentence += 1
    summary.removed = len(remove_ids) - summary.updated
    db["articles"].insert_all(article_rows, batch_size=1000)
    db["sentences"].insert_all(sentence_rows, batch_size=2000)
    _merge_postings(db, builder, removed_postings)
    store.write_meta(db, {"next_article_id": next_article, "next_sentence_id": next_sentence})


def _remove_articles(db, analyzer, article_ids: list[int]) -> dict[str, set[int]]:
    """Delete articles and their sentences; return term -> sentence ids to drop from postings."""
    removed: dict[str, set[int]] = defaultdict(set)
    for start in range(0, len(article_ids), 500):
        chunk = article_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for sentence_id, text in db.execute(
            f"select id, text from sentences where article_id in ({marks})", chunk
        ):
            for term in set(analyzer.terms(text)):
                removed[term].add(sentence_id)
        db.execute(f"delete from sentences where article_id in ({marks})", chunk)
        db.execute(f"delete from articles where id in ({marks})", chunk)
    return removed


def _merge_postings(db, builder: _PostingsBuilder, removed: dict[str, set[int]]) -> None:
    terms = sorted(set(builder.ids) | set(removed))
    conn = db.conn
    for start in range(0, len(terms), 500):
        chunk = terms[start : start + 500]
        old = store.fetch_postings(conn, chunk)
        rows, gone = [], []
        for term in chunk:
            parts_ids, parts_tfs, parts_lengths = [], [], []
            if term in old:
                p = old[term]
                keep = slice(None)
                if term in removed:
                    keep = ~np.isin(p.sentence_ids, np.fromiter(removed[term], dtype=np.int64))
                parts_ids.append(p.sentence_ids[keep])
                parts_tfs.append(p.tfs[keep])
                parts_lengths.append(p.lengths[keep])
            if term in builder.ids:
                parts_ids.append(np.frombuffer(builder.ids[term], dtype=np.int32))
                parts_tfs.append(np.frombuffer(builder.tfs[term], dtype=np.uint16))
                parts_lengths.append(np.frombuffer(builder.lengths[term], dtype=np.uint16))
            ids = np.concatenate(parts_ids) if parts_ids else np.zeros(0, np.int32)
            if len(ids) == 0:
                gone.append(term)
                continue
            rows.append({
                "term": term, "df": len(ids),
                "sentence_ids": store.pack(ids, store.ID_DTYPE),
                "tfs": store.pack(np.concatenate(parts_tfs), store.COUNT_DTYPE),
                "lengths": store.pack(np.concatenate(parts_lengths), store.COUNT_DTYPE),
            })
        if gone:
            marks = ",".join("?" * len(gone))
            db.execute(f"delete from postings where term in ({marks})", gone)
        if rows:
            db["postings"].upsert_all(rows, pk="term", batch_size=500)


def _write_stats(db, language: str, params: Bm25Params, root: Path) -> tuple[int, int]:
    documents, total_length, max_id = db.execute(
        "select count(*), coalesce(sum(length), 0), coalesce(max(id), 0) from sentences"
    ).fetchone()
    dfs = np.fromiter((row[0] for row in db.execute("select df from postings")), dtype=np.float64)
    stats = CorpusStats.from_dfs(documents, total_length, dfs)
    articles, first, last = db.execute("select count(*), min(date), max(date) from articles").fetchone()
    store.write_meta(db, {
        "schema_version": store.SCHEMA_VERSION,
        "analyzer_version": ANALYZER_VERSION,
        "language": language,
        **params.as_meta(),
        "documents": documents,
        "total_length": total_length,
        "vocabulary": stats.vocabulary,
        "okapi_idf_sum": repr(stats.okapi_idf_sum),
        "max_sentence_id": max_id,
        "articles": articles,
        "sentences": documents - articles,
        "first_date": first or "",
        "last_date": last or "",
        "articles_dir": str(root.resolve()),
        "built_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
    })
    return articles, documents - articles
