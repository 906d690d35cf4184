"""Hostile folders and files: nothing hangs, nothing blows up, one bad file never costs the others."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.faces.cli import cli
from index import ingest
from index.rebuild import RebuildError, rebuild, rebuild_lock
from index.search import Index

from .conftest import TRAM, write
from .support.polling import until

ROOT = Path(__file__).resolve().parents[1]


def skipped(summary) -> dict[str, str]:
    return {s.source: s.reason for s in summary.skipped}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX")
def finishes(work, timeout: float = 60.0):
    """work()'s result, or a failure if it is still running after `timeout` (it hangs)."""
    done: list = []
    thread = threading.Thread(target=lambda: done.append(work()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert done, f"still running after {timeout} s"
    return done[0]


def test_a_pipe_named_like_an_article_is_skipped_not_waited_on(tmp_path):
    folder = tmp_path / "a"
    write(folder, "tram.txt", TRAM)
    os.mkfifo(folder / "pipe.txt")
    os.mkfifo(folder / "feed.jsonl")
    summary = finishes(lambda: rebuild(folder, tmp_path / "i.db"))  # opening a pipe would wait forever
    reasons = skipped(summary)
    assert "pipe (FIFO)" in reasons["pipe.txt"] and "pipe (FIFO)" in reasons["feed.jsonl"]
    assert summary.added == 1


def test_a_device_file_is_skipped_unread(tmp_path):
    folder = tmp_path / "a"
    write(folder, "tram.txt", TRAM)
    try:
        os.mknod(folder / "zero.txt", 0o600 | __import__("stat").S_IFCHR, os.makedev(1, 5))
    except (PermissionError, AttributeError, OSError):
        pytest.skip("cannot make a device file here")
    summary = rebuild(folder, tmp_path / "i.db")
    assert "character device" in skipped(summary)["zero.txt"] and summary.added == 1


def test_a_huge_sparse_file_is_skipped_by_its_size_before_reading(tmp_path):
    folder = tmp_path / "a"
    write(folder, "tram.txt", TRAM)
    with open(folder / "huge.txt", "wb") as handle:
        handle.truncate(3 << 30)  # 3 GB, sparse: costs no disk and must cost no memory
    with open(folder / "huge.jsonl", "wb") as handle:
        handle.truncate(3 << 30)
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    summary = rebuild(folder, tmp_path / "i.db")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # kB
    reasons = skipped(summary)
    assert "larger than 10 MB" in reasons["huge.txt"] and "larger than 512 MB" in reasons["huge.jsonl"]


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse undecodable names")
def test_an_undecodable_file_name_is_skipped_and_the_rest_indexed(tmp_path):
    folder = tmp_path / "a"
    write(folder, "tram.txt", TRAM)
    bad = os.fsencode(folder) + b"/bad\xff\xfename.txt"
    with open(bad, "w") as handle:
        handle.write(TRAM.replace("Harbour", "Other"))
    summary = rebuild(folder, tmp_path / "i.db")
    assert summary.added == 1
    assert skipped(summary)["bad\\xff\\xfename.txt"] == "file name is not valid UTF-8; rename it"


def test_a_jsonl_line_with_a_lone_surrogate_is_indexed_cleanly(tmp_path):
    folder = tmp_path / "a"
    lines = [
        '{"date": "2025-01-01", "title": "Wheat \\ud800", "text": "Wheat prices rose \\ud800 sharply."}',
        '{"date": "2025-01-02", "title": "Oil", "text": "Oil prices fell."}',
    ]
    write(folder, "feed.jsonl", "\n".join(lines) + "\n")
    summary = rebuild(folder, tmp_path / "i.db")
    assert summary.added == 2 and not summary.skipped


def _feed(count: int, start: int = 0) -> str:
    return "".join(
        json.dumps(
            {
                "date": f"2025-01-{i % 28 + 1:02d}",
                "title": f"Story {i}",
                "text": f"Story number {i} is about wheat and {i % 7} ships.",
            }
        )
        + "\n"
        for i in range(start, start + count)
    )


def test_a_feed_in_chunks_equals_one_in_a_piece_and_an_appended_line_costs_little(tmp_path, monkeypatch):
    folder = tmp_path / "feed"
    write(folder, "feed.jsonl", _feed(600))
    whole = rebuild(folder, tmp_path / "whole.db")
    monkeypatch.setattr(ingest, "CHUNK_BYTES", 4096)  # many chunks
    chunked = rebuild(folder, tmp_path / "chunked.db")
    assert whole.added == chunked.added == 600
    tasks = ingest.tasks_for([(str(folder / "feed.jsonl"), "feed.jsonl")], folder, {})
    assert len(tasks) > 10 and tasks[-1].last and not any(t.last for t in tasks[:-1])

    def texts(path):
        with Index(path).snapshot() as snap:
            sources = {article.id: article.source for article in snap.each_article()}
            return sorted((sources[s.article_id], s.text) for s in snap.each_sentence())

    assert texts(tmp_path / "whole.db") == texts(tmp_path / "chunked.db")
    with open(folder / "feed.jsonl", "a") as handle:
        handle.write(_feed(1, start=600))
    digested = []
    original = ingest._digest

    def counted(article, analyzer, furniture, lines_only):
        if not lines_only:  # the rebuild first reads every new line's line keys (index.furniture): no split
            digested.append(1)
        return original(article, analyzer, furniture, lines_only)

    monkeypatch.setattr(ingest, "_digest", counted)
    appended = rebuild(folder, tmp_path / "chunked.db")
    assert (appended.added, appended.removed, appended.unchanged) == (1, 0, 600)
    assert len(digested) == 1  # only the new line was split and analysed
    fresh = rebuild(folder, tmp_path / "fresh.db")
    assert texts(tmp_path / "chunked.db") == texts(tmp_path / "fresh.db") and fresh.added == 601


def test_a_line_removed_from_a_feed_is_removed(tmp_path):
    folder = tmp_path / "feed"
    write(folder, "feed.jsonl", _feed(5))
    rebuild(folder, tmp_path / "i.db")
    lines = (folder / "feed.jsonl").read_text().splitlines(keepends=True)
    (folder / "feed.jsonl").write_text("".join(lines[:2] + lines[3:]))
    summary = rebuild(folder, tmp_path / "i.db")
    assert Index(tmp_path / "i.db").meta().articles == 4
    assert summary.removed + summary.updated >= 1


@pytest.mark.slow
def test_ctrl_c_ends_a_parallel_rebuild_quickly_and_cleanly(tmp_path):
    folder = tmp_path / "many"
    for i in range(600):
        write(
            folder,
            f"{i:04d}.txt",
            f" date 2025-01-{i % 28 + 1:02d} Story {i}\n\n"
            + " ".join(f"Word{j} number {i} about wheat." for j in range(200)),
        )
    index = tmp_path / "i.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "bot", "index", "rebuild", "--articles", str(folder), "--index", str(index)]
    # Articles being read by the workers, then (or, on a fast machine, already) the index being written.
    lock = index.with_name(index.name + ".lock")
    for sig, delay in ((signal.SIGINT, 2.0), (signal.SIGTERM, 2.0), (signal.SIGINT, 3.0)):
        lock.unlink(missing_ok=True)
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        # From the rebuild's start (its lock taken, SIGTERM handled): on a loaded machine Python may still be
        # importing after 2 s, and a SIGTERM then ends it by the signal, before there is a rebuild to stop.
        until(lambda process=process: lock.exists() or process.poll() is not None, timeout=120)
        time.sleep(delay)
        os.killpg(process.pid, sig) if sig == signal.SIGINT else process.send_signal(sig)
        try:  # the pipes end when every process of the rebuild (workers, fork server) has ended
            out, err = process.communicate(timeout=20)  # how quickly: bench/hostile.py measures it
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # a hang fails the test, and leaves nothing running
            process.communicate()
            raise
        if process.returncode == 0:
            continue  # the rebuild had finished before the signal
        assert process.returncode == 130 and len(err.strip().splitlines()) == 1, err
        assert "interrupted" in err and "Traceback" not in err
    with rebuild_lock(index):  # released
        pass
    assert rebuild(folder, index).articles == 600


def test_a_damaged_page_is_one_line_for_ask_batch_and_console(runner, tmp_path, articles_dir):
    db = tmp_path / "d.db"
    write(
        articles_dir, "more.txt", "\n\n".join([" date 2025-01-01 Filler"] + [f"Filler text {i}." for i in range(3000)])
    )
    rebuild(articles_dir, db)
    with open(db, "r+b") as handle:  # random bytes over two pages in the middle of the file
        size = handle.seek(0, 2)
        handle.seek(size // 2)
        handle.write(os.urandom(8192))
    for args, stdin in (
        (["ask", "--index", str(db), "Filler text tram"], None),
        (["ask", "--index", str(db)], "Filler text tram\n"),
        (["console", "--index", str(db)], "Filler text tram\n/quit\n"),
    ):
        result = runner.invoke(cli, args, input=stdin)
        assert "Traceback" not in result.output and not isinstance(result.exception, sqlite3.DatabaseError)
        if "is damaged or not a newsbot index" in result.output:  # not the word in tmp_path's name
            assert f"--index {db}" in result.output


def test_the_rebuild_lock_is_taken_on_the_resolved_path(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with rebuild_lock(real / "i.db"):
        with pytest.raises(RebuildError, match="another rebuild"):
            with rebuild_lock(tmp_path / "link" / "i.db"):
                pass


def test_the_word_cache_does_not_keep_very_long_words():
    from index.terms import Analyzer

    analyzer = Analyzer("english")
    analyzer.terms("a" * 2000 + " ordinary words")
    assert all(len(word) <= 64 for word in analyzer._cache)


@pytest.mark.slow
def test_one_huge_article_costs_a_bounded_amount_of_work(tmp_path):
    """50,000 matching sentences in one article: only the best few are read in full and quoted."""
    from bot.ranking.answer import Ranking, prepare_question, rank
    from bot.ranking.model import default_model

    folder = tmp_path / "huge"
    write(
        folder,
        "transcript.txt",
        " date 2025-01-01 Transcript\n\n"
        + "\n\n".join(f"The wheat harvest was discussed for the {i}th time." for i in range(50_000)),
    )
    write(folder, "tram.txt", TRAM)
    rebuild(folder, tmp_path / "h.db")
    index = Index(tmp_path / "h.db")
    with index.snapshot() as snap:
        q = prepare_question(snap, "wheat harvest discussed").question
        ranked = rank(snap, q, Ranking(), None, None, 4)
    assert 0 < len(ranked.rows) <= default_model().passages_read


@pytest.mark.skipif(sys.platform != "linux", reason="drops a Linux capability to make root obey file modes")
@pytest.mark.parametrize("read_only", ["folder", "file"])
def test_a_read_only_index_answers_a_reader_that_cannot_write(tmp_path, articles_dir, read_only):
    from .test_reliability import made_read_only, without_root_override

    folder = tmp_path / "ro"
    rebuild(articles_dir, folder / "news.db")
    with made_read_only(folder, read_only):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot",
                "ask",
                "--index",
                str(folder / "news.db"),
                "When will President Kallas visit Norland?",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")},
            preexec_fn=without_root_override,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    assert "Kallas is set to visit Norland" in result.stdout
