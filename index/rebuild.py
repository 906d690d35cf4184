"""The rebuild: articles folder -> index file, incrementally by content hash.

Files whose bytes are unchanged are not re-read; new, changed and deleted files
are applied. Everything is written in one SQLite transaction in WAL mode, so a
rebuild that dies at any moment leaves the previous index answering, and
readers never see a half-written one. A lock file makes a second rebuild of
the same index refuse instead of waiting.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
import uuid
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import furniture, statistics, store
from .articles import Skipped, article_entry, article_files
from .ingest import Kept, Lines, digest_files, file_stat, tasks_for
from .pool import WorkerError
from .search import Bm25Params
from .store import is_stub, recorded_folder
from .terms import language_name

# What ingest makes of an article; a change rebuilds older indexes in full. 2: page furniture (link and
# caption lines, subheadings, datelines) left out, abbreviations and glued words (index.segments). 3: lines
# the folder repeats in many unrelated articles left out (index.furniture; the tables lines, article_lines).
# 4: those lines compared with their digits (an earnings line is not a template). 5: pointers to other pages,
# corrections notes, writers introducing themselves and live-blog bylines left out, a bare "No." under a
# question subheading, a quotation's speaker kept with its "?" or "!".
ANALYZER_VERSION = "7"
RACE_ATTEMPTS = 3  # rebuilds tried when files change between the line count and the digest
# Wraps each pass over the files: (items, how many, what the pass does), e.g. to show a progress bar.
Progress = Callable[[Iterable, int, str], Iterable]
COUNTING, READING = "Counting repeated lines", "Reading articles"  # the two passes of a rebuild


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
    new_article_ids: list[int] = field(default_factory=list)  # added or updated by this rebuild
    changes: int = 0  # rows it wrote to the change log (texts new to the index, and texts it lost)
    redigested: int = 0  # unchanged articles digested again: a line of theirs became furniture, or stopped
    furniture_lines: int = 0  # lines of the folder that are furniture (index.furniture)

    def lines(self) -> list[str]:
        """Human-readable summary, one fact a line."""
        out = [
            f"{'full' if self.full else 'incremental'} rebuild in {self.seconds:.1f} s: "
            f"{self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.unchanged} unchanged, {len(self.skipped)} skipped",
            f"index holds {_count(self.articles, 'article')}, {_count(self.sentences, 'sentence')}",
        ]
        if self.redigested:
            out.append(
                f"{_count(self.redigested, 'unchanged article')} digested again: lines repeated across "
                "the folder became furniture, or stopped being it"
            )
        out += [f"skipped {s.source}: {s.reason}" for s in self.skipped]
        out += [f"note {s.source}: {s.reason}" for s in self.notes]
        return out


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


@contextmanager
def rebuild_lock(index_path: Path):
    """Hold an exclusive lock beside the index, or refuse at once. The lock is on the resolved path, so
    two spellings of one index (a symlinked folder) share it."""
    index_path = Path(os.path.realpath(index_path))
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


def _plan(
    root: Path,
    db,
    full: bool,
    progress: Progress,
    language: str,
    workers: int | None,
    problems: list[Skipped],
    only: list[str] | None = None,
):
    """Stat every file (or, with `only`, the files below those relative paths); read, hash and digest
    only those that may have changed. Articles outside `only` are neither looked at nor touched.

    Every indexed file is compared by its stat alone (`_indexed_stats`); the whole rows (`existing`) are
    read only for the files that changed or are gone."""
    only = None if only is None else _outermost(only)
    indexed = {} if full or not db["articles"].exists() else _indexed_stats(db.conn, only)
    kept_ids: set[int] = set()
    to_read: list[tuple[str, str]] = []
    seen: set[str] = set()
    unreadable: list[str] = []
    for path, file in (
        article_files(root, problems, unreadable) if only is None else _files_below(root, only, problems, unreadable)
    ):
        seen.add(file)
        old = indexed.get(file)
        try:
            stat = file_stat(path)
        except OSError:
            stat = ""
        if old and stat and old[0] == stat:
            kept_ids.update(old[1])
        else:
            to_read.append((path, file))
    for file, (_, ids) in indexed.items():  # a folder that cannot be read now keeps its articles
        if file not in seen and any(file.startswith(prefix) for prefix in unreadable):
            seen.add(file)
            kept_ids.update(ids)
    wanted = [file for _, file in to_read if file in indexed] + [file for file in indexed if file not in seen]
    existing = _indexed_rows(db.conn, wanted)
    held = Held(
        sum(len(ids) for _, ids in indexed.values()),
        len(indexed),
        sum(len(ids) for file, (_, ids) in indexed.items() if file not in seen),
    )
    known = {file: rows[0]["file_hash"] for file, rows in existing.items() if rows}
    tasks = tasks_for(to_read, root, known, _feed_lines(existing, [file for _, file in to_read]))
    line_plan, redo_ids, tasks = _count_lines(
        root, db, full, language, workers, tasks, existing, seen, kept_ids, progress
    )
    results = progress(digest_files(tasks, language, workers, line_plan.furniture), len(tasks), READING)
    return existing, results, kept_ids, seen, line_plan, redo_ids, held


@dataclass(frozen=True)
class Held:
    """How much the index held before the rebuild, and how many of its articles are in files now gone."""

    articles: int
    files: int
    gone: int


def _indexed_stats(conn: sqlite3.Connection, only: list[str] | None) -> dict[str, tuple[str, list[int]]]:
    """file -> (its recorded stat, "" where its articles disagree; their ids), for every indexed file or
    those below the `only` paths. Plain tuples: a row object per article cost 11 s at 1.45M articles."""
    sql = "select file, file_stat, id from articles"
    if only is None:
        rows = conn.execute(sql)
    else:
        where = " where file = ? or (file > ? and file < ?)"
        rows = (row for path in only for row in conn.execute(sql + where, [path, *_below(path)]))
    indexed: dict[str, tuple[str, list[int]]] = {}
    for file, stat, article_id in rows:
        old = indexed.get(file)
        if old is None:
            indexed[file] = (stat, [article_id])
        else:
            old[1].append(article_id)
            if old[0] != stat:
                indexed[file] = ("", old[1])
    return indexed


def _feed_lines(existing: dict[str, list[sqlite3.Row]], files, skip: set[int] = frozenset()) -> dict:
    """Of each JSONL file among `files`: line number -> content hash of its indexed lines (but the articles of
    `skip`), which the digest need not analyse again."""
    return {
        file: {
            int(row["source"].rsplit("#L", 1)[1]): row["content_hash"]
            for row in existing.get(file, ())
            if "#L" in row["source"] and row["id"] not in skip
        }
        for file in files
        if file.lower().endswith(".jsonl")
    }


def _indexed_rows(conn: sqlite3.Connection, files: list[str]) -> dict[str, list[sqlite3.Row]]:
    """The whole rows of these files' articles, by file."""
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    existing: dict[str, list[sqlite3.Row]] = defaultdict(list)
    columns = "select id, source, file, file_hash, file_stat, content_hash from articles where file in ({marks})"
    for row in store.each_in(cursor, columns, sorted(set(files))):
        existing[row["file"]].append(row)
    return existing


def _count_lines(root: Path, db, full: bool, language: str, workers, tasks, existing, seen, kept_ids, progress):
    """Read the line keys of the articles about to be digested and plan the line tables' change
    (index.furniture). The unchanged articles holding a line that crosses the threshold are digested again:
    their files join the tasks (read in full), and their ids are returned, to be replaced."""
    incoming: dict[str, bytes] = {}
    kept: set[str] = set()
    changed: set[str] = set()
    counting = digest_files(tasks, language, workers, lines_only=True)
    try:
        for result in progress(counting, len(tasks), COUNTING):
            if result.unchanged:
                continue
            changed.add(result.file)
            for item in result.items:
                if isinstance(item, Lines):
                    incoming[item.content_hash] = item.lines
                elif isinstance(item, Kept):
                    kept.add(item.content_hash)
    finally:
        counting.close()  # stop the worker pool in this thread (see `_rebuild_locked`)
    outgoing = {
        row["content_hash"] for file, rows in existing.items() if file in changed or file not in seen for row in rows
    }
    line_plan = furniture.plan(db.conn, incoming, outgoing, kept, full)
    redo_ids: set[int] = set()
    if not line_plan.redo:
        return line_plan, redo_ids, tasks
    redo_files: set[str] = set()
    sql = "select id, file from articles where content_hash in ({marks})"
    for article_id, file in store.each_in(db.conn, sql, sorted(line_plan.redo)):
        redo_ids.add(article_id)
        redo_files.add(file)
    # Unchanged files, or outside the paths a watcher asked for: their rows were not read yet.
    unread = [file for file in redo_files if file not in existing]
    existing.update(_indexed_rows(db.conn, unread))
    seen.update(unread)
    for file in redo_files:
        kept_ids.difference_update(row["id"] for row in existing[file])
    known_lines = _feed_lines(existing, redo_files, redo_ids)
    tasks = [task for task in tasks if task.file not in redo_files]
    tasks += tasks_for([(str(root / file), file) for file in sorted(redo_files)], root, {}, known_lines)
    return line_plan, redo_ids, tasks


def _below(path: str) -> tuple[str, str]:
    """The bounds of the paths of every file below the folder `path`: after "path/", before "path0" ("0"
    follows "/"), a range the file index answers (a LIKE read all 1.45M rows of a watcher's batch)."""
    return path + "/", path + "0"


def _outermost(only: list[str]) -> list[str]:
    """The paths once each, without those below another of them (a folder and a file in it: the folder), so
    that no file is read, and no article removed, twice."""
    given = set(only)

    def below_another(path: str) -> bool:
        parts = path.split("/")
        return any("/".join(parts[:end]) in given for end in range(1, len(parts)))

    return [path for path in dict.fromkeys(only) if not below_another(path)]


def _files_below(root: Path, only: list[str], problems: list[Skipped], unreadable: list[str]):
    """(path, file) of the article files at or below each relative path (a file, a folder, or gone), by the
    folder walk's own rules (`article_entry`): nothing hidden, nothing through a symlinked folder."""
    for relative in dict.fromkeys(only):
        kind = article_entry(root, relative)
        if kind == "folder":
            for path, file in article_files(root / relative, problems, unreadable):
                yield path, f"{relative}/{file}"
        elif kind == "file":
            yield str(root / relative), relative


def rebuild(
    articles_dir: Path | str,
    index_path: Path | str,
    language: str | None = None,
    full: bool = False,
    params: Bm25Params | None = None,
    progress: Progress = lambda items, total, step: items,
    workers: int | None = None,
    only: list[str] | None = None,
) -> RebuildSummary:
    """Bring the index at index_path up to date with articles_dir (with `only`: the files and folders at
    those paths below it, as a watcher reports them; the rest of the index is left as it is).

    `language` None keeps the index's language (a new index: auto). A new index (or a
    leftover stub of a failed first build) is built in a temporary file beside it and
    moved into place when complete, so a first build that fails leaves no file behind.
    This function takes any folder it is given; `check_folder` is what keeps a user
    from replacing an index's articles with another folder's by mistake.
    """
    started = time.perf_counter()
    root, index_path = Path(articles_dir), Path(index_path)
    require_folder(root)
    try:
        index_path.parent.mkdir(parents=True, exist_ok=True)
        with rebuild_lock(index_path):
            # A rebuild killed outright (SIGKILL, the out-of-memory killer) cannot remove its scratch file;
            # under the lock no other rebuild of this index is using one.
            for stale in index_path.parent.glob(runs_prefix(index_path) + "*"):
                stale.unlink(missing_ok=True)
            for attempt in range(1, RACE_ATTEMPTS + 1):
                try:
                    if index_path.exists() and not is_stub(index_path):
                        return _rebuild_locked(
                            root, index_path, language, full, params, progress, workers, started, only=only
                        )
                    return _first_build(root, index_path, language, params, progress, workers, started)
                except furniture.FolderChanged:  # rolled back: count and digest again
                    if attempt == RACE_ATTEMPTS:
                        raise RebuildError(
                            f"the files in {root} kept changing while they were read{_kept(index_path)}; try again"
                        ) from None
            raise AssertionError("unreachable")
    except OSError as error:
        raise RebuildError(
            f"cannot write the index {index_path} ({error.strerror or error}){_kept(index_path)}"
        ) from None


def _first_build(root, index_path, language, params, progress, workers, started) -> RebuildSummary:
    """Build a new index in a temporary file and move it into place once it is whole."""
    building = index_path.with_name(f".{index_path.name}.building")
    for path in _files_of(building):
        path.unlink(missing_ok=True)
    try:
        summary = _rebuild_locked(root, building, language, True, params, progress, workers, started, new=True)
        for path in _files_of(index_path)[1:]:  # a stub's journal must not pair with the new file
            path.unlink(missing_ok=True)
        os.replace(building, index_path)
        return summary
    finally:
        for path in _files_of(building):
            path.unlink(missing_ok=True)


def _files_of(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def require_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise RebuildError(f"articles folder {folder} does not exist or is not a folder")


def check_folder(index_path: Path, folder: Path, full: bool) -> None:
    """Refuse to rebuild an index from a folder that is not there, or from another folder than the one it
    was built from, unless `full`."""
    require_folder(folder)
    recorded = recorded_folder(index_path) if index_path.exists() else None
    if recorded and not full and recorded.resolve() != folder.resolve():
        raise RebuildError(
            f"{index_path} holds the articles of {recorded}; rebuilding it from {folder} would replace them. "
            f"Add --full to do that, or choose another --index"
        )


MASS_REMOVAL_GUARD = 20  # articles: an index this large is not emptied by half in one incremental rebuild


def _refuse_mass_removal(root: Path, held: Held, seen: set[str]) -> None:
    """An incremental rebuild that would remove every article, or more than half of a large index, is
    far more often a folder that did not mount or a wrong path than a deliberate clear-out: refuse it,
    and leave that to --full."""
    gone = held.gone
    if not gone or (seen and (held.articles < MASS_REMOVAL_GUARD or 2 * gone <= held.articles)):
        return
    found = "no article files" if not seen else f"only {len(seen):,} of the index's {held.files:,} files"
    raise RebuildError(
        f"found {found} in {root}, which would remove {gone:,} of the index's {held.articles:,} articles "
        "(a folder that is not mounted, or the wrong path?); the index is unchanged. If that is "
        "what you want, rebuild with --full"
    )


def _kept(index_path: Path) -> str:
    """The transaction rolled back: say so when there was an index to keep."""
    if index_path.exists() and not is_stub(index_path):
        return "; the previous index is unchanged"
    return "; nothing was written"


def _rebuild_locked(
    root,
    index_path,
    language,
    full,
    params,
    progress,
    workers,
    started,
    new: bool = False,
    only: list[str] | None = None,
) -> RebuildSummary:
    db = store.connect(index_path)
    shown = index_path.with_name(index_path.name.removeprefix(".").removesuffix(".building")) if new else index_path
    results = None
    # Its scratch file is removed however the rebuild ends (a Ctrl-C or a worker lost in the middle of the
    # digest left hundreds of megabytes beside the index).
    builder = store.PostingsBuilder(spill_dir=index_path.parent, prefix=runs_prefix(shown))
    try:
        meta = store.read_meta(db)
        if not meta and set(db.table_names()) - {"meta"}:
            raise RebuildError(f"{index_path} holds other data, not a newsbot index; choose another --index")
        if language is None:
            language = meta.get("language", "auto")
        try:
            if meta:
                store.check_schema(meta, index_path)
        except store.IndexNewer as error:
            if not full:
                raise RebuildError(str(error)) from None
        except store.IndexUnavailable:
            full = True
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
        problems: list[Skipped] = []
        existing, results, kept_ids, seen, line_plan, redo_ids, held = _plan(
            root, db, full, progress, language, workers, problems, None if full else only
        )
        if only is None and not full:
            _refuse_mass_removal(root, held, seen)
        if full and meta and any(p.reason.startswith("folder cannot be read") for p in problems):
            unreadable = next(p for p in problems if p.reason.startswith("folder cannot be read"))
            raise RebuildError(
                f"{root / unreadable.source} cannot be read, and a full rebuild would drop its "
                "articles; make it readable, or rebuild without --full to keep them"
            )
        # The change log belongs to one index: kept by every rebuild of it (--full too), begun anew with a new
        # identity where there is none (a new file, another schema, an index older than the log).
        same_schema = meta.get("schema_version") == str(store.SCHEMA_VERSION)
        index_id = meta.get("index_id") if same_schema and not new else None
        with store.write_transaction(db.conn) as check:
            known = store.content_ids(db.conn) if full and index_id else None  # what a full rebuild replaces
            if full:
                store.drop_tables(
                    db.conn,
                    ("postings", "article_postings", "arrays", "sentences", "articles", "meta")
                    + ("lines", "article_lines")
                    + (() if index_id else ("changes",)),
                )
            store.create_schema(db)
            check()
            change = statistics.Change()
            _apply(
                builder,
                db,
                existing,
                results,
                kept_ids,
                seen,
                summary,
                fresh=full or (only is None and not held.articles),  # a watcher's batch of new files is not a new index
                changes=bool(index_id),
                known=known,
                line_plan=line_plan,
                redo_ids=redo_ids,
                change=change,
            )
            summary.skipped[:0] = problems
            summary.furniture_lines = len(line_plan.furniture)
            check()
            summary.articles, summary.sentences = _write_stats(
                db, BuildFacts(language, params, root, index_id or uuid.uuid4().hex), change, fresh=full
            )
        store.empty_wal(db.conn)
        summary.seconds = time.perf_counter() - started
        return summary
    except WorkerError as error:  # a worker killed (out of memory?) or failed: the transaction rolled back
        raise RebuildError(f"{error}{'; nothing was written' if new else _kept(shown)}") from None
    except sqlite3.DatabaseError as error:
        text = str(error)
        if any(word in text for word in ("full", "disk I/O", "readonly", "read-only", "unable to open")):
            raise RebuildError(
                f"cannot write the index {shown} ({text}){'' if new else _kept(shown)}"
                f"{'; nothing was written' if new else ''}"
            ) from None
        raise RebuildError(store.damaged_message(shown, text)) from None
    finally:
        # Stop the worker pool here, in this thread: a generator left to the garbage collector may be
        # finalised in the pool's own result thread, which cannot join itself (a traceback after Ctrl-C).
        getattr(results, "close", lambda: None)()
        builder.close()
        db.close()


def runs_prefix(index_path: Path) -> str:
    """The name prefix of an index's scratch files of postings runs, beside it (`.news.db.runs-…`)."""
    return f".{index_path.name}.runs-"


def _apply(
    builder: store.PostingsBuilder,
    db,
    existing,
    results,
    kept_ids,
    seen,
    summary,
    fresh,
    changes=False,
    known: dict[str, int] | None = None,
    line_plan: furniture.LinePlan | None = None,
    redo_ids: set[int] = frozenset(),
    change: statistics.Change | None = None,
) -> None:
    """Remove what is gone or changed, add what is new, in the caller's transaction.

    The result equals a fresh rebuild of the folder: an article whose text is
    already indexed is a duplicate only if that text is still indexed once every
    changed file has been applied, so such articles wait until the end.

    `builder` takes the new postings (the caller removes its scratch file however the rebuild ends).
    With `changes`, what the index gained and lost goes to its change log (`_log_changes`); `known` is
    a full rebuild's previous content (content hash -> article id). `line_plan` is the change to the line
    tables (index.furniture), written here and checked against the articles written; `redo_ids` are
    unchanged articles digested again (no change to log), replaced by their new digest. `change` counts
    what is written, for the statistics.
    """
    change = change or statistics.Change()
    meta = store.read_meta(db)
    counters = {"article": int(meta.get("next_article_id", 1)), "sentence": int(meta.get("next_sentence_id", 1))}
    conn = db.conn
    removed_rows = [row for file, rows in existing.items() if file not in seen for row in rows]
    remove_ids = [row["id"] for row in removed_rows]
    lost = [(row["id"], row["source"], row["content_hash"]) for row in removed_rows]  # for the change log
    added: list[tuple[int, str, str]] = []  # (id, source, content_hash) of each article added
    log_added = changes or not fresh  # for the change log and the check; a first build needs neither
    summary.removed = len(remove_ids)
    first_sentence, first_article = counters["sentence"], counters["article"]
    article_of, article_lengths = array("i"), array("q")  # per new sentence / per new article
    removed_postings: dict[str, set[int]] = {}
    removed_articles: dict[str, set[int]] = {}
    present = _TextCounts(conn, fresh)
    redo = set()
    if not fresh:
        redo = {
            (row["source"], row["content_hash"]) for rows in existing.values() for row in rows if row["id"] in redo_ids
        }
        removed_postings, removed_articles = _remove_articles(db, remove_ids + sorted(redo_ids), change)
        for _, content_hash in redo:  # held still: a copy elsewhere stays skipped
            present.add(content_hash)
    summary.unchanged = len(kept_ids)
    article_rows: list[tuple] = []
    sentence_rows: list[tuple] = []
    waiting: list[tuple] = []

    def add(result, item, replaced: bool) -> None:
        article = item.article
        present.add(article.content_hash, (article.source, article.content_hash) not in redo)
        if article.encoding_note:
            summary.notes.append(Skipped(article.source, article.encoding_note))
        article_id, first = counters["article"], counters["sentence"]
        counters["article"] += 1
        if (article.source, article.content_hash) in redo:  # the same text, digested again: no news
            summary.redigested += 1
            summary.unchanged += 1
        else:
            if replaced:
                summary.updated += 1
            else:
                summary.added += 1
            summary.new_article_ids.append(article_id)
            if log_added:
                added.append((article_id, article.source, article.content_hash))
        article_rows.append(
            (
                article_id,
                article.source,
                result.file,
                result.file_hash,
                result.file_stat,
                article.content_hash,
                article.date,
                article.title,
                article.byline,
                article.url,
                len(item.sentences) - 1,
                first,
                item.language,
            )
        )
        total = 0
        for sentence, terms in zip(item.sentences, item.terms):
            sentence_id = counters["sentence"]
            counters["sentence"] += 1
            length = builder.add(sentence_id, terms.split())
            total += length
            article_of.append(article_id)
            sentence_rows.append(
                (
                    sentence_id,
                    article_id,
                    sentence.position,
                    sentence.paragraph,
                    sentence.text,
                    length,
                    int(sentence.is_title),
                    terms,
                )
            )
        article_lengths.append(total)
        change.article_added(article_id, article.date, first, len(item.sentences), total, item.language)

    old_rows: dict = {}
    new_keys: set = set()
    replaced: set = set()
    current = None
    for result in results:
        if result.file != current:  # the first result of a file (a JSONL file may come in several)
            current = result.file
            old_rows = {
                (r["source"], r["content_hash"]): r["id"]
                for r in existing.get(result.file, [])
                if r["id"] not in redo_ids
            }
            replaced = {source for source, _ in old_rows}
            new_keys = set()
        if result.unchanged:
            conn.execute("update articles set file_stat = ? where file = ?", [result.file_stat, result.file])
            summary.unchanged += len(old_rows)
            continue
        for item in result.items:
            if isinstance(item, Skipped):
                summary.skipped.append(item)
                continue
            if isinstance(item, Kept):
                key = (item.source, item.content_hash)
            else:
                key = (item.article.source, item.article.content_hash)
            new_keys.add(key)
            if key in old_rows:
                conn.execute(
                    "update articles set file_hash = ?, file_stat = ? where id = ?",
                    [result.file_hash, result.file_stat, old_rows[key]],
                )
                summary.unchanged += 1
            elif isinstance(item, Kept):  # its line is indexed (a line number it had before): nothing to add
                summary.unchanged += 1
            elif key in redo:  # an unchanged text digested again: it was, and is, the one indexed
                add(result, item, False)
            elif present[item.article.content_hash] > 0:
                # Not the result itself: a JSONL chunk's result holds thousands of articles, and one waiting
                # copy per chunk kept every chunk of a 10M-sentence feed in memory (8.8 GB).
                waiting.append((replace(result, items=()), item, item.article.source in replaced))
            else:
                add(result, item, item.article.source in replaced)
        if result.last:
            gone = {key: aid for key, aid in old_rows.items() if key not in new_keys}
            summary.removed += len(gone)
            lost.extend((aid, source, content_hash) for (source, content_hash), aid in gone.items())
            if gone:
                for _, content_hash in gone:
                    present.add(content_hash, -1)  # counted before the rows go, as a first look reads the table
                sentences_gone, articles_gone = _remove_articles(db, list(gone.values()), change)
                for term, ids in sentences_gone.items():
                    removed_postings.setdefault(term, set()).update(ids)
                for term, ids in articles_gone.items():
                    removed_articles.setdefault(term, set()).update(ids)
        if len(sentence_rows) >= 20000:
            _flush(conn, article_rows, sentence_rows)
    copies = []
    for result, item, replaced in waiting:
        if present[item.article.content_hash] > 0:
            copies.append(item.article)
        else:
            add(result, item, replaced)
    _flush(conn, article_rows, sentence_rows)
    kept = store.sources_with_content(conn, [article.content_hash for article in copies])
    for article in copies:  # named after the flush: the copy kept may have been added just now
        holder = kept.get(article.content_hash)
        reason = f"same text as {holder}" if holder else "same text as an article already indexed"
        summary.skipped.append(Skipped(article.source, reason))
    summary.removed -= summary.updated  # an update is one article removed and one added
    if line_plan is not None:
        furniture.write(conn, line_plan)
        # What was counted is what was indexed, or the rebuild starts again: every text after a full rebuild,
        # the texts this one touched after an incremental one (the others were checked when they came).
        touched = None
        if not fresh:
            touched = {h for _, _, h in added + lost} | {h for _, h in redo}
            touched |= set(line_plan.added) | set(line_plan.gone_hashes)
        furniture.check(conn, touched)
    if changes:
        summary.changes = _log_changes(conn, added, lost, known)
    _write_all_postings(
        conn,
        builder,
        removed_postings,
        removed_articles,
        fresh,
        np.frombuffer(article_of, np.int32),
        first_sentence,
        np.frombuffer(article_lengths, np.int64),
        first_article,
        change,
    )
    store.write_meta(db, {"next_article_id": counters["article"], "next_sentence_id": counters["sentence"]})


def _log_changes(
    conn, added: list[tuple[int, str, str]], lost: list[tuple[int, str, str]], known: dict[str, int] | None
) -> int:
    """Record in the change log, after this rebuild's articles are written, the texts the index did not
    hold before (added, or changed where the same source held another text) and those it no longer holds
    (removed). A file moved or renamed, here or in two steps, or a text restored, is no change: its text
    was in the index before this transaction, or is in the log already. Returns the rows written."""
    gone = {content_hash for _, _, content_hash in lost}
    before = gone | set(known or ())
    replaced = {source for _, source, _ in lost}
    rows = [
        (article_id, content_hash, "changed" if source in replaced else "added")
        for article_id, source, content_hash in added
        if content_hash not in before and not store.change_recorded(conn, content_hash)
    ]
    new_sources = {source for _, source, _ in added}
    lost = lost + [(article_id, "", content_hash) for content_hash, article_id in (known or {}).items()]
    rows += [
        (article_id, content_hash, "removed")
        for article_id, source, content_hash in dict((row[2], row) for row in lost).values()
        if source not in new_sources and not store.holds_content(conn, content_hash)
    ]
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    store.record_changes(conn, rows, stamp)
    return len(rows)


def _write_all_postings(
    conn,
    builder,
    removed_sentences: dict,
    removed_articles: dict,
    fresh: bool,
    article_of: np.ndarray,
    first_sentence: int,
    article_lengths: np.ndarray,
    first_article: int,
    change: statistics.Change,
) -> None:
    """Both postings tables from the builder's term-ordered stream, a few thousand terms at a time, so
    memory holds one chunk of postings, not all of them. Each term's change of df goes to `change`."""
    seen: set[str] = set()
    chunk: list = []

    def merge(table: store.PostingsTable, new: list, removed: dict[str, set[int]]) -> None:
        for old_df, new_df in store.write_postings(conn, new, removed, fresh=fresh, table=table):
            change.term_moved(table.name, old_df, new_df)

    def write(chunk: list) -> None:
        terms = [p.term for p in chunk]
        seen.update(terms)
        merge(store.SENTENCE_POSTINGS, chunk, {t: removed_sentences[t] for t in terms if t in removed_sentences})
        per_article = list(store.article_postings(chunk, article_of, first_sentence, article_lengths, first_article))
        merge(store.ARTICLE_POSTINGS, per_article, {t: removed_articles[t] for t in terms if t in removed_articles})

    for postings in builder.build():
        chunk.append(postings)
        if len(chunk) >= 2000:
            write(chunk)
            chunk = []
    if chunk:
        write(chunk)
    merge(store.SENTENCE_POSTINGS, [], {t: ids for t, ids in removed_sentences.items() if t not in seen})
    merge(store.ARTICLE_POSTINGS, [], {t: ids for t, ids in removed_articles.items() if t not in seen})


def _flush(conn, article_rows: list[tuple], sentence_rows: list[tuple]) -> None:
    conn.executemany(
        "insert into articles (id, source, file, file_hash, file_stat, content_hash, date, title, byline, url, "
        "sentences, first_sentence, language) values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        article_rows,
    )
    store.insert_sentences(conn, sentence_rows)
    article_rows.clear()
    sentence_rows.clear()


def _remove_articles(
    db, article_ids: list[int], change: statistics.Change
) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """Delete articles and their sentences (counted in `change`); return term -> sentence ids and term ->
    article ids to drop from the two postings tables."""
    sentences: dict[str, set[int]] = defaultdict(set)
    articles: dict[str, set[int]] = defaultdict(set)
    for start in range(0, len(article_ids), 500):
        chunk = article_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sizes: Counter[int] = Counter()
        lengths: Counter[int] = Counter()
        for sentence_id, article_id, terms, length in db.execute(
            f"select id, article_id, terms, length from sentences where article_id in ({marks})", chunk
        ):
            sizes[article_id] += 1
            lengths[article_id] += length
            for term in set(terms.split()):
                sentences[term].add(sentence_id)
                articles[term].add(article_id)
        for article_id, language in db.execute(f"select id, language from articles where id in ({marks})", chunk):
            change.article_removed(article_id, sizes[article_id], lengths[article_id], language)
        db.execute(f"delete from sentences where article_id in ({marks})", chunk)
        db.execute(f"delete from articles where id in ({marks})", chunk)
    return sentences, articles


@dataclass(frozen=True)
class BuildFacts:
    """What a rebuild records about how the index was made."""

    language: str
    params: Bm25Params
    root: Path
    index_id: str


def _write_stats(db, facts: BuildFacts, change: statistics.Change, fresh: bool) -> tuple[int, int]:
    """The statistics in meta and arrays: the previous ones plus `change` (index.statistics)."""
    conn = db.conn
    (max_article,) = conn.execute("select coalesce(max(id), 0) from articles").fetchone()
    (max_id,) = conn.execute("select coalesce(max(id), 0) from sentences").fetchone()
    if fresh:
        tally = statistics.Tally().plus(change, max_article)
    else:
        before = statistics.stored(conn, store.read_meta(db))
        tally = before.plus(change, max_article) if before else statistics.from_tables(conn)
    tally.write_arrays(conn)
    stats = tally.corpus_stats(store.SENTENCE_POSTINGS.name, tally.documents)
    article_stats = tally.corpus_stats(store.ARTICLE_POSTINGS.name, tally.articles)
    # Each of these is one step down an index (a count or group over the table took seconds at 1.45M).
    (first,) = conn.execute("select min(date) from articles").fetchone()
    (last,) = conn.execute("select max(date) from articles").fetchone()
    (furniture_lines,) = conn.execute("select count(*) from lines where furniture = 1").fetchone()
    store.write_meta(
        db,
        {
            "schema_version": store.SCHEMA_VERSION,
            "analyzer_version": ANALYZER_VERSION,
            "language": facts.language,
            "article_languages": tally.language_line(),
            **facts.params.as_meta(),
            "documents": tally.documents,
            "total_length": tally.total_length,
            "vocabulary": stats.vocabulary,
            "okapi_idf_sum": repr(stats.okapi_idf_sum),
            "max_sentence_id": max_id,
            "article_documents": tally.articles,
            "article_total_length": tally.total_length,
            "article_vocabulary": article_stats.vocabulary,
            "article_okapi_idf_sum": repr(article_stats.okapi_idf_sum),
            "max_article_id": max_article,
            "articles": tally.articles,
            "sentences": tally.documents - tally.articles,
            "first_date": first or "",
            "last_date": last or "",
            "furniture_lines": furniture_lines,
            "articles_dir": str(facts.root.resolve()),
            "built_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            "index_id": facts.index_id,
        },
    )
    return tally.articles, tally.documents - tally.articles


class _TextCounts:
    """How many indexed articles hold each text (content hash): read from the table when a text is first
    met, then kept in step by the caller, who counts a text before deleting its rows. Reading the whole
    column up front cost 3.4 s of every watcher batch at 1.45M articles."""

    def __init__(self, conn: sqlite3.Connection, fresh: bool):
        self._conn, self._fresh = conn, fresh
        self._counts: dict[bytes, int] = {}  # by the hash's first 128 bits: a third of the memory of its text

    def __getitem__(self, content_hash: str) -> int:
        return self._counts[self._key(content_hash)]

    def add(self, content_hash: str, number: int = 1) -> None:
        self._counts[self._key(content_hash)] += number

    def _key(self, content_hash: str) -> bytes:
        """The text's key, its count read from the table the first time it is met."""
        key = bytes.fromhex(content_hash[:32])
        if key not in self._counts:
            self._counts[key] = (
                0
                if self._fresh
                else self._conn.execute(
                    "select count(*) from articles where content_hash = ?", [content_hash]
                ).fetchone()[0]
            )
        return key
