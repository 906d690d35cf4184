"""Files to analysed sentences, in parallel: steps 1-3 of the pipeline.

Each .txt file is read once: hashed, and (unless its hash is the one already
indexed) parsed, split into sentences and analysed. A JSONL feed is hashed first
and, when it changed, cut into chunks of lines that are digested like files, so
that a feed of any size is never held in memory whole, and a line that is
already indexed with the same text (an appended feed) is only parsed, not split
and analysed again. Worker processes (index/pool.py: started by a fork server, never
forked from a process that may have threads) do this for large rebuilds; results
come back in order, with a bounded number computed ahead, so rebuilds are
deterministic and memory stays bounded.

A pass may ask for the articles' line keys only (`lines_only`: parsed, not
split or analysed), which is what the rebuild counts before it digests anything
(index/furniture.py); the digest then leaves out the lines it was told are furniture.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .articles import (
    MAX_JSONL_BYTES,
    Article,
    ArticleError,
    Skipped,
    jsonl_lines,
    leads_outside,
    open_checked,
    parse_jsonl_line,
    read_file,
)
from .pool import ordered_map
from .segments import line_keys
from .sentences import Sentence, article_sentences
from .terms import AUTO, Analyzer, detect_language

PARALLEL_FROM_FILES = 400
PARALLEL_FROM_FEED_BYTES = 16 << 20  # JSONL chunks worth reading in worker processes
CHUNK_BYTES = 4 << 20  # a JSONL task: about this many bytes of lines
AHEAD_PER_WORKER = 4


@dataclass(frozen=True)
class Digested:
    """An article with its sentences and their terms (space-joined, cheap to pass between processes)."""

    article: Article
    sentences: tuple[Sentence, ...]
    terms: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class Lines:
    """An article's line keys (`index.segments.line_keys`) as little-endian int64 bytes, from a `lines_only`
    task."""

    source: str
    content_hash: str
    lines: bytes


@dataclass(frozen=True)
class Kept:
    """A JSONL line indexed before with the same text at the same line: nothing to redo."""

    source: str
    content_hash: str


@dataclass(frozen=True)
class FileResult:
    """What one file (or one chunk of a JSONL file) gave: its hash and stat, and articles, skips or kept
    lines (none when unchanged). `last` is False for every chunk of a file but its last."""

    file: str
    file_hash: str
    file_stat: str
    items: tuple[Digested | Lines | Skipped | Kept, ...]
    unchanged: bool = False
    last: bool = True


@dataclass(frozen=True, slots=True)  # one per file to read, all held through the rebuild: 350 bytes less each
class FileTask:
    path: str
    file: str
    root_real: str
    known_hash: str = ""
    # A chunk of a JSONL file: its bytes [start, end), its first line number, the file's hash and stat,
    # and the (line number, content hash) pairs of its lines already indexed.
    start: int = 0
    end: int = -1
    first_line: int = 1
    file_hash: str = ""
    file_stat: str = ""
    known_lines: frozenset[tuple[int, str]] = frozenset()
    last: bool = True
    problem: str = ""  # found while planning: the file is skipped with this reason
    unchanged: bool = False  # found while planning: the same bytes as indexed


def file_stat(path: Path | str) -> str:
    """Size and modification time: a cheap "has it changed" check before hashing."""
    stat = os.stat(path)
    return f"{stat.st_size}:{stat.st_mtime_ns}"


_worker_analyzer: Analyzer | None = None
_worker_furniture: frozenset[int] = frozenset()
_worker_lines_only = False


def _init_worker(language: str, furniture: frozenset[int] = frozenset(), lines_only: bool = False) -> None:
    global _worker_analyzer, _worker_furniture, _worker_lines_only
    _worker_analyzer = Analyzer(language)
    _worker_furniture = furniture
    _worker_lines_only = lines_only


def _digest(article: Article, analyzer: Analyzer, furniture: frozenset[int], lines_only: bool) -> Digested | Lines:
    if lines_only:
        keys = np.asarray(line_keys(article.paragraphs), dtype="<i8").tobytes()
        return Lines(article.source, article.content_hash, keys)
    sentences = tuple(article_sentences(article, furniture))
    terms = tuple(" ".join(analyzer.terms(s.text)) for s in sentences)
    language = analyzer.language
    if language == AUTO:
        language = detect_language(" ".join(s.text for s in sentences))
    return Digested(article, sentences, terms, language)


def digest_file(
    task: FileTask,
    analyzer: Analyzer | None = None,
    furniture: frozenset[int] | None = None,
    lines_only: bool | None = None,
) -> FileResult:
    """Read, hash, parse, split and analyse one file or JSONL chunk, leaving out the prose lines whose keys
    are in `furniture` (with `lines_only`: its articles' line keys only); never raises."""
    analyzer = analyzer or _worker_analyzer
    furniture = _worker_furniture if furniture is None else furniture
    lines_only = _worker_lines_only if lines_only is None else lines_only
    if task.problem:
        return FileResult(task.file, "", "", (Skipped(task.file, task.problem),))
    if task.unchanged:
        return FileResult(task.file, task.file_hash, task.file_stat, (), unchanged=True)
    if task.end >= 0:
        return _digest_chunk(task, analyzer, furniture, lines_only)
    path = Path(task.path)
    if leads_outside(path, task.root_real):
        return FileResult(task.file, "", "", (Skipped(task.file, "symlink leads outside the articles folder"),))
    try:
        stat = file_stat(path)
        from .articles import read_checked

        data = read_checked(path)
    except ArticleError as error:
        return FileResult(task.file, "", "", (Skipped(task.file, str(error)),))
    except OSError as error:
        return FileResult(task.file, "", "", (Skipped(task.file, f"cannot read: {error.strerror or error}"),))
    digest = hashlib.sha256(data).hexdigest()
    if task.known_hash and digest == task.known_hash:
        return FileResult(task.file, digest, stat, (), unchanged=True)
    items = [
        item if isinstance(item, Skipped) else _digest(item, analyzer, furniture, lines_only)
        for item in read_file(path, task.file, task.root_real, data)
    ]
    return FileResult(task.file, digest, stat, tuple(items))


def _digest_chunk(task: FileTask, analyzer: Analyzer, furniture: frozenset[int], lines_only: bool) -> FileResult:
    items: list[Digested | Lines | Skipped | Kept] = []
    try:
        with open_checked(task.path, MAX_JSONL_BYTES) as handle:
            handle.seek(task.start)
            for number, raw in jsonl_lines(handle, task.first_line, task.end):
                item = parse_jsonl_line(raw, f"{task.file}#L{number}")
                if item is None or isinstance(item, Skipped):
                    if item is not None:
                        items.append(item)
                    continue
                if (number, item.content_hash) in task.known_lines:
                    items.append(Kept(item.source, item.content_hash))
                else:
                    items.append(_digest(item, analyzer, furniture, lines_only))
    except ArticleError as error:
        items.append(Skipped(task.file, str(error)))
    except OSError as error:
        items.append(Skipped(task.file, f"cannot read: {error.strerror or error}"))
    return FileResult(task.file, task.file_hash, task.file_stat, tuple(items), last=task.last)


def _jsonl_tasks(path: str, file: str, root_real: str, known_hash: str, known_lines: dict[int, str]) -> list[FileTask]:
    """Hash a JSONL file and, when it changed, cut it into chunk tasks at line starts."""
    try:
        if leads_outside(Path(path), root_real):
            return [FileTask(path, file, root_real, problem="symlink leads outside the articles folder")]
        stat = file_stat(path)
        digest, cuts, line = hashlib.sha256(), [(0, 1)], 1
        with open_checked(path, MAX_JSONL_BYTES) as handle:
            offset, next_cut = 0, CHUNK_BYTES
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                search = next_cut - offset
                while 0 <= search < len(block):  # cut after the first line end past each CHUNK_BYTES
                    newline = block.find(b"\n", search)
                    if newline < 0:
                        break
                    cuts.append((offset + newline + 1, line + block.count(b"\n", 0, newline + 1)))
                    next_cut = offset + newline + 1 + CHUNK_BYTES
                    search = next_cut - offset
                line += block.count(b"\n")
                offset += len(block)
    except ArticleError as error:
        return [FileTask(path, file, root_real, problem=str(error))]
    except OSError as error:
        return [FileTask(path, file, root_real, problem=f"cannot read: {error.strerror or error}")]
    hexdigest = digest.hexdigest()
    if known_hash and hexdigest == known_hash:
        return [FileTask(path, file, root_real, known_hash, file_hash=hexdigest, file_stat=stat, unchanged=True)]
    if cuts[-1][0] >= offset:
        cuts.pop()
    bounds = [*cuts, (offset, line)]
    tasks = []
    for (start, first), (end, after) in zip(bounds, bounds[1:]):
        known = frozenset((n, h) for n, h in known_lines.items() if first <= n < after)
        tasks.append(
            FileTask(path, file, root_real, known_hash, start, end, first, hexdigest, stat, known, last=end == offset)
        )
    return tasks or [FileTask(path, file, root_real, problem="empty file")]


def digest_files(
    tasks: list[FileTask],
    language: str,
    workers: int | None = None,
    furniture: frozenset[int] = frozenset(),
    lines_only: bool = False,
) -> Iterator[FileResult]:
    """Digest tasks in order, in worker processes when there are many, with a bounded number in flight;
    `furniture` holds the keys of the prose lines to leave out; `lines_only` asks for every article's line
    keys only (the same tasks serve both passes of a rebuild)."""
    if workers is None:
        feed_bytes = sum(t.end - t.start for t in tasks if t.end >= 0)
        many = len(tasks) >= PARALLEL_FROM_FILES or feed_bytes >= PARALLEL_FROM_FEED_BYTES
        workers = min(os.cpu_count() or 1, 4) if many else 1
    if workers <= 1:
        analyzer = Analyzer(language)
        for task in tasks:
            yield digest_file(task, analyzer, furniture, lines_only)
        return
    initargs = (language, furniture, lines_only)
    yield from ordered_map(digest_file, tasks, workers, _init_worker, initargs, AHEAD_PER_WORKER)


def tasks_for(
    paths: Iterable[tuple[str, str]],
    root: Path,
    known: dict[str, str],
    known_lines: dict[str, dict[int, str]] | None = None,
) -> list[FileTask]:
    """Tasks for the files that may have changed: one per .txt file, chunks for a changed JSONL file."""
    root_real = os.path.realpath(root)
    tasks: list[FileTask] = []
    for path, file in paths:
        if file.lower().endswith(".jsonl"):
            tasks += _jsonl_tasks(str(path), file, root_real, known.get(file, ""), (known_lines or {}).get(file, {}))
        else:
            tasks.append(FileTask(str(path), file, root_real, known.get(file, "")))
    return tasks
