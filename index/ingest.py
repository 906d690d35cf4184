"""Files to analysed sentences, in parallel: steps 1-3 of the pipeline for one file.

Each file is read once: hashed, and (unless its hash is the one already indexed)
parsed, split into sentences and analysed. Worker processes do this for large
rebuilds; results come back in file order so rebuilds are deterministic.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .articles import Article, Skipped, leads_outside, read_file
from .sentences import Sentence, article_sentences
from .terms import AUTO, Analyzer, detect_language

PARALLEL_FROM_FILES = 400
CHUNK_FILES = 64


@dataclass(frozen=True)
class Digested:
    """An article with its sentences and their terms (space-joined, cheap to pass between processes)."""

    article: Article
    sentences: tuple[Sentence, ...]
    terms: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class FileResult:
    """What one file gave: its hash and stat, and articles or skips (none when unchanged)."""

    file: str
    file_hash: str
    file_stat: str
    items: tuple[Digested | Skipped, ...]
    unchanged: bool = False


@dataclass(frozen=True)
class FileTask:
    path: str
    file: str
    root_real: str
    known_hash: str = ""


def file_stat(path: Path | str) -> str:
    """Size and modification time: a cheap "has it changed" check before hashing."""
    stat = os.stat(path)
    return f"{stat.st_size}:{stat.st_mtime_ns}"


_worker_analyzer: Analyzer | None = None


def _init_worker(language: str) -> None:
    global _worker_analyzer
    _worker_analyzer = Analyzer(language)


def digest_file(task: FileTask, analyzer: Analyzer | None = None) -> FileResult:
    """Read, hash, parse, split and analyse one file; never raises."""
    analyzer = analyzer or _worker_analyzer
    path = Path(task.path)
    if leads_outside(path, task.root_real):
        return FileResult(task.file, "", "", (Skipped(task.file, "symlink leads outside the articles folder"),))
    try:
        stat = file_stat(path)
        data = path.read_bytes() if path.suffix.lower() != ".jsonl" else b""
        digest = hashlib.sha256(data).hexdigest() if data else _hash_file(path)
    except OSError as error:
        return FileResult(task.file, "", "", (Skipped(task.file, f"cannot read: {error.strerror or error}"),))
    if task.known_hash and digest == task.known_hash:
        return FileResult(task.file, digest, stat, (), unchanged=True)
    items: list[Digested | Skipped] = []
    for item in read_file(path, task.file, task.root_real, data or None):
        if isinstance(item, Skipped):
            items.append(item)
            continue
        sentences = tuple(article_sentences(item))
        terms = tuple(" ".join(analyzer.terms(s.text)) for s in sentences)
        language = analyzer.language
        if language == AUTO:
            language = detect_language(" ".join(s.text for s in sentences))
        items.append(Digested(item, sentences, terms, language))
    return FileResult(task.file, digest, stat, tuple(items))


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def digest_files(tasks: list[FileTask], language: str, workers: int | None = None) -> Iterator[FileResult]:
    """Digest files in order, in worker processes when there are many."""
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if len(tasks) >= PARALLEL_FROM_FILES else 1
    if workers <= 1:
        analyzer = Analyzer(language)
        for task in tasks:
            yield digest_file(task, analyzer)
        return
    context = multiprocessing.get_context("spawn" if os.name == "nt" else "fork")
    with context.Pool(workers, initializer=_init_worker, initargs=(language,)) as pool:
        yield from pool.imap(digest_file, tasks, chunksize=CHUNK_FILES)


def tasks_for(paths: Iterable[tuple[Path, str]], root: Path, known: dict[str, str]) -> list[FileTask]:
    root_real = os.path.realpath(root)
    return [FileTask(str(path), file, root_real, known.get(file, "")) for path, file in paths]
