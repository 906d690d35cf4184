"""The folder watcher against what real folders and users do (defects of the attack run, one test or more each)."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from index import watch as watch_module
from index.articles import article_entry, article_files, is_article_folder, is_article_name
from index.rebuild import rebuild
from index.watch import FolderWatcher, own_files, unusable_index, wanted

from .conftest import write
from .support.polling import titles, until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts inotify watches in /proc")

ZEPPELIN = (
    " date 2025-06-20 Zeppelin Lands in Oslo\n\nA zeppelin from Hamburg landed in Oslo on Friday after a "
    "two-day flight, the airline said.\n"
)


def story(title: str) -> str:
    return f" date 2025-06-20 {title}\n\nThe story of {title.lower()}, told in one sentence.\n"


def inotify_watches() -> int:
    """The inotify watches this process holds (all its inotify instances)."""
    count = 0
    for fd in os.listdir("/proc/self/fdinfo"):
        try:
            with open(f"/proc/self/fdinfo/{fd}") as info:
                count += sum(1 for line in info if line.startswith("inotify wd:"))
        except OSError:
            continue
    return count


class Counting:
    """Wraps the watcher's rebuild to count its calls (each one is a transaction on the index)."""

    def __init__(self, monkeypatch):
        self.calls: list[list[str] | None] = []
        real = watch_module.rebuild

        def counted(*args, **kwargs):
            self.calls.append(kwargs.get("only"))
            return real(*args, **kwargs)

        monkeypatch.setattr(watch_module, "rebuild", counted)


@pytest.fixture
def start(tmp_path):
    """Start watchers (events only: no periodic reconciliation during a test); stopped at the end."""
    started: list[FolderWatcher] = []

    def starting(root: Path, index: Path | None = None, wait: bool = True, **options) -> FolderWatcher:
        options.setdefault("stable_seconds", 0.3)
        options.setdefault("reconcile_seconds", 3600)
        watcher = FolderWatcher(root, index or tmp_path / "w.db", **options).start()
        started.append(watcher)
        if wait:
            assert watcher.ready.wait(20)
        return watcher

    yield starting
    for watcher in started:
        watcher.stop()


# --- 7: a replaced articles folder ------------------------------------------------------------


def _replaced_then_watched(watcher: FolderWatcher, folder: Path, index: Path, baseline: int, replace) -> None:
    """Replace the folder by one holding `new/` with an article; the watcher must watch the new folder (all
    of its folders) and apply an article written into its subfolder afterwards, by events alone."""
    reconciled = len([b for b in watcher.batches if b.reconciliation])
    replace()
    until(lambda: "Replacement Arrives" in titles(index))  # the reconciliation after re-arming
    until(lambda: len([b for b in watcher.batches if b.reconciliation]) > reconciled)
    until(lambda: inotify_watches() == baseline + 2)  # the new root and new/, nothing of the old tree
    write(folder, "new/later.txt", story("Written After the Swap"))
    until(lambda: "Written After the Swap" in titles(index))
    assert "Council Approves Harbour Tram Line" not in titles(index)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["rm -rf && mkdir", "mv news.new news", "symlink swap"])
def test_a_replaced_articles_folder_is_watched_again(tmp_path, articles_dir, start, how):
    index = tmp_path / "w.db"
    if how == "symlink swap":
        real = tmp_path / "news.v1"
        os.replace(articles_dir, real)
        os.symlink(real, articles_dir)
    baseline = inotify_watches()
    batches = []
    watcher = start(articles_dir, index, on_batch=batches.append)
    watcher.batches = batches
    until(lambda: inotify_watches() == baseline + 2)  # the folder and sub/

    def replace():
        if how == "rm -rf && mkdir":  # the new folder often gets the old one's inode number
            shutil.rmtree(articles_dir)
            articles_dir.mkdir()
            write(articles_dir, "new/replacement.txt", story("Replacement Arrives"))
        elif how == "mv news.new news":
            write(tmp_path / "news.new", "new/replacement.txt", story("Replacement Arrives"))
            os.replace(articles_dir, tmp_path / "news.old")
            os.replace(tmp_path / "news.new", articles_dir)
        else:
            write(tmp_path / "news.v2", "new/replacement.txt", story("Replacement Arrives"))
            os.symlink(tmp_path / "news.v2", tmp_path / "link.tmp")
            os.replace(tmp_path / "link.tmp", articles_dir)  # ln -sfn, atomically

    _replaced_then_watched(watcher, articles_dir, index, baseline, replace)
    if how == "mv news.new news":  # the old folder, moved away, is not watched any more
        write(tmp_path / "news.old", "stale.txt", story("Stale Folder Story"))
        write(articles_dir, "new/marker.txt", story("Marker After Stale"))
        until(lambda: "Marker After Stale" in titles(index))
        assert "Stale Folder Story" not in titles(index)


# --- 8: an index inside the articles folder ---------------------------------------------------


@pytest.mark.slow
def test_an_index_inside_the_folder_does_not_feed_the_watcher(articles_dir, start, monkeypatch):
    index = articles_dir / "news.db"
    counting = Counting(monkeypatch)
    batches = []
    start(articles_dir, index, on_batch=batches.append)
    write(articles_dir, "zep.txt", ZEPPELIN)
    until(lambda: "Zeppelin Lands in Oslo" in titles(index))
    until(lambda: counting.calls[-1] == ["zep.txt"])
    calls = len(counting.calls)
    state = sqlite3.connect(articles_dir / "news.db.state.db")  # the bot's standing questions, beside the index
    state.execute("create table follows (x)")
    for i in range(5):
        state.execute("insert into follows values (?)", [i])
        state.commit()
    state.close()
    (articles_dir / "news.db.lock").touch()
    (articles_dir / "news.db-journal").write_bytes(b"")
    (articles_dir / "news.db-journal").unlink()
    time.sleep(1.5)  # several ticks and stability times: with the defect, each write started the next
    assert len(counting.calls) == calls
    assert [p for b in batches for p in b.paths] == ["zep.txt"]


def test_events_the_watcher_ignores_do_not_hold_up_pending_files(tmp_path, articles_dir, start):
    """watchfiles returns no batch it filtered out entirely: a file written all the time (a reader's -wal,
    a sync tool's hidden state) must not keep a pending article from being looked at again."""
    index = tmp_path / "w.db"
    start(articles_dir, index)
    write(articles_dir, "zep.txt", ZEPPELIN)
    deadline = time.monotonic() + 15
    while "Zeppelin Lands in Oslo" not in titles(index):
        assert time.monotonic() < deadline, "the pending article was never applied"
        (articles_dir / ".sync-state").write_text(str(time.monotonic()))
        time.sleep(0.02)


def test_an_empty_batch_never_writes(tmp_path, articles_dir, start, monkeypatch):
    index = tmp_path / "w.db"
    watcher = start(articles_dir, index)
    counting = Counting(monkeypatch)
    assert watcher.apply([]) is None
    (articles_dir / "notes.md").write_text("not an article")  # changes that are no article
    (articles_dir / "notes.md").write_text("still not one")
    (articles_dir / "notes.md").unlink()
    (articles_dir / "a.txt.tmp").write_text(ZEPPELIN)
    write(articles_dir, "marker.txt", ZEPPELIN)
    until(lambda: "Zeppelin Lands in Oslo" in titles(index))
    assert counting.calls == [["marker.txt"]]


def test_own_files_are_the_index_its_journals_state_and_lock(tmp_path):
    index = tmp_path / "news.db"
    names = {Path(p).name for p in own_files(index, also=[tmp_path / "s.db"])}
    assert {
        "news.db",
        "news.db-wal",
        "news.db-shm",
        "news.db-journal",
        "news.db.lock",
        "news.db.state.db",
        "news.db.state.db-wal",
        "news.db.state.db-shm",
        "news.db.state.db-journal",
        "s.db",
        "s.db-wal",
    } <= names
    assert "news.txt" not in names


# --- 9: symlinked folders ---------------------------------------------------------------------


def test_symlinked_folders_are_neither_watched_nor_read(tmp_path, articles_dir, start, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    for i in range(20):
        write(elsewhere, f"d{i}/e{i}/story.txt", story(f"Elsewhere {i}"))
    os.symlink(elsewhere, articles_dir / "x")
    os.symlink(articles_dir / "sub", articles_dir / "loop")  # inside the folder: not entered either
    baseline = inotify_watches()
    index = tmp_path / "w.db"
    watcher = start(articles_dir, index)
    until(lambda: inotify_watches() == baseline + 2)  # the folder and sub/: the rebuild's folders
    assert not any(t.startswith("Elsewhere") for t in titles(index))
    counting = Counting(monkeypatch)
    write(elsewhere, "d1/new.txt", story("Elsewhere New"))  # through the link: the rebuild never reads it
    os.symlink(elsewhere / "d2", articles_dir / "later")  # a symlinked folder that arrives while watching
    write(articles_dir, "marker.txt", story("Marker Story"))
    until(lambda: "Marker Story" in titles(index))
    assert counting.calls == [["marker.txt"]]
    assert inotify_watches() == baseline + 2 and "later" not in watcher._folders


def test_the_watcher_and_the_rebuild_share_one_rule_for_symlinks(tmp_path, articles_dir):
    write(tmp_path / "elsewhere", "e/story.txt", ZEPPELIN)
    os.symlink(tmp_path / "elsewhere", articles_dir / "x")
    os.symlink(articles_dir / "001_tram.txt", articles_dir / "linked.txt")
    walked = {source for _, source in article_files(articles_dir)}
    assert "linked.txt" in walked and not any(s.startswith("x/") for s in walked)
    assert article_entry(articles_dir, "x") is None and article_entry(articles_dir, "x/e/story.txt") is None
    assert article_entry(articles_dir, "linked.txt") == "file" and article_entry(articles_dir, "sub") == "folder"
    assert set(watch_module._folders_below(str(articles_dir))) == {"sub"}


# --- 11: a file whose modification time is in the future ----------------------------------------


@pytest.mark.slow
def test_a_file_with_a_future_time_is_applied_once_still(tmp_path, articles_dir, start):
    index = tmp_path / "w.db"
    start(articles_dir, index)
    future = time.time() + 3600  # clock skew, cp -p, rsync -t, unzip
    outside = tmp_path / "outside"
    write(outside, "future.txt", ZEPPELIN)
    os.utime(outside / "future.txt", (future, future))
    shutil.copy2(outside / "future.txt", articles_dir / "future.txt")  # cp -p
    write(outside, "unzipped/deep.txt", story("Unzipped Story"))
    os.utime(outside / "unzipped" / "deep.txt", (future, future))
    os.utime(outside / "unzipped", (future, future))
    os.replace(outside / "unzipped", articles_dir / "unzipped")  # a folder moved in, times in the future
    until(lambda: {"Zeppelin Lands in Oslo", "Unzipped Story"} <= titles(index))


def test_a_file_is_applied_only_after_it_stays_still(tmp_path, articles_dir):
    watcher = FolderWatcher(articles_dir, tmp_path / "w.db", stable_seconds=0.3)
    root = os.path.realpath(articles_dir)
    write(articles_dir, "new.txt", ZEPPELIN)
    old = time.time() - 3600
    os.utime(articles_dir / "new.txt", (old, old))  # an old time says nothing about stillness
    watcher._pending["new.txt"] = watch_module._Pending()
    assert watcher._stable(root) == []  # first look
    until(lambda: watcher._stable(root) == ["new.txt"], timeout=5)
    with open(articles_dir / "new.txt", "a") as handle:
        handle.write("More text.\n")
    os.utime(articles_dir / "new.txt", (old, old))  # same time as before, but it changed
    assert watcher._stable(root) == []


def test_a_moved_file_is_removed_and_added_in_one_transaction(tmp_path, articles_dir, start, monkeypatch):
    index = tmp_path / "w.db"
    start(articles_dir, index)
    counting = Counting(monkeypatch)
    os.replace(articles_dir / "001_tram.txt", articles_dir / "sub" / "001_tram.txt")  # mv into a subfolder
    until(lambda: any("sub/001_tram.txt" in (call or ()) for call in counting.calls))
    assert counting.calls == [["001_tram.txt", "sub/001_tram.txt"]]  # never missing from answers in between
    assert "Council Approves Harbour Tram Line" in titles(index)


def test_a_removal_waits_for_a_settling_file_but_not_for_long(tmp_path, articles_dir):
    watcher = FolderWatcher(articles_dir, tmp_path / "w.db", stable_seconds=0.3)
    root = os.path.realpath(articles_dir)
    (articles_dir / "002_visit.txt").unlink()
    watcher._pending["002_visit.txt"] = watch_module._Pending()
    assert watcher._stable(root) == ["002_visit.txt"]  # nothing else settling: at once
    write(articles_dir, "new.txt", ZEPPELIN)
    watcher._pending["new.txt"] = watch_module._Pending()
    assert watcher._stable(root) == []  # held while new.txt settles
    until(lambda: watcher._stable(root) == ["new.txt", "002_visit.txt"], timeout=5)
    watcher._pending["busy.txt"] = watch_module._Pending()  # a file that keeps changing
    write(articles_dir, "busy.txt", ZEPPELIN)
    watcher._pending["002_visit.txt"].noted = time.monotonic() - 0.6  # noted twice stable_seconds ago
    assert "002_visit.txt" in watcher._stable(root)  # held no longer than that


# --- 15: an index that cannot be used at all -----------------------------------------------------


@pytest.mark.parametrize("kind", ["random bytes", "another application's SQLite file", "a directory"])
def test_an_unusable_index_is_a_fatal_state_with_one_line(tmp_path, articles_dir, kind):
    index = tmp_path / "bad.db"
    if kind == "random bytes":
        index.write_bytes(os.urandom(4096))
    elif kind == "a directory":
        index.mkdir()
    else:
        other = sqlite3.connect(index)
        other.execute("create table contacts (name text)")
        other.commit()
        other.close()
    before = index.read_bytes() if index.is_file() else None
    watcher = FolderWatcher(articles_dir, index, stable_seconds=0.3).start()
    try:
        until(lambda: not watcher._thread.is_alive(), timeout=20)
    finally:
        watcher.stop()
    assert watcher.failed and "\n" not in watcher.failed and str(index) in watcher.failed
    assert not watcher.ready.is_set()
    assert before is None or index.read_bytes() == before
    assert unusable_index(index) == watcher.failed


def test_usable_indexes_are_not_refused(tmp_path, articles_dir):
    assert unusable_index(tmp_path / "new" / "news.db") is None  # no file yet: the first build makes it
    (tmp_path / "empty.db").write_bytes(b"")
    assert unusable_index(tmp_path / "empty.db") is None  # a stub
    rebuild(articles_dir, tmp_path / "good.db")
    assert unusable_index(tmp_path / "good.db") is None
    (tmp_path / "file").write_text("x")
    assert "is a file, not a folder" in unusable_index(tmp_path / "file" / "news.db")


def test_a_usable_index_watcher_has_no_failure(tmp_path, articles_dir, start):
    watcher = start(articles_dir, tmp_path / "w.db")
    assert watcher.failed is None and watcher._thread.is_alive()


# --- 16: folder names that look like temporary files ----------------------------------------------

FOLDERS = ["4913", "drafts.bak", "issue~", "story.part"]


@pytest.mark.slow
def test_folders_with_temporary_looking_names_are_watched_like_the_rebuild(tmp_path, articles_dir, start):
    index = tmp_path / "w.db"
    start(articles_dir, index)
    for i, name in enumerate(FOLDERS):
        write(articles_dir, f"{name}/story.txt", story(f"Folder Story {i}"))
    outside = tmp_path / "outside"
    write(outside, "moved.bak/inside.txt", story("Moved Folder Story"))
    os.replace(outside / "moved.bak", articles_dir / "moved.bak")  # a folder moved in: one event, for it
    expected = {f"Folder Story {i}" for i in range(len(FOLDERS))} | {"Moved Folder Story"}
    until(lambda: expected <= titles(index))
    fresh = tmp_path / "fresh.db"
    rebuild(articles_dir, fresh)
    assert titles(fresh) == titles(index)  # what the rebuild indexes, the watcher applies


def test_temporary_names_are_ignored_for_files_only():
    for name in FOLDERS:
        assert is_article_folder(name) and wanted(name, folder=True) and wanted(f"{name}/a.txt")
        assert not is_article_name(name) and not wanted(name, folder=False)
    for name in ("a.txt.tmp", "a.txt~", "#a.txt#", "a.txt.swp", "a.txt.part", "4913", ".a.txt.Xy12Ab"):
        assert not is_article_name(name), name
    assert is_article_name("a.TXT") and is_article_name("feed.jsonl")
    assert not is_article_folder(".git") and not wanted(".incoming/a.txt")


# --- 24: a vanished articles folder ----------------------------------------------------------------


@pytest.mark.slow
def test_a_vanished_folder_is_one_log_line_without_a_traceback(tmp_path, articles_dir, start, monkeypatch, caplog):
    monkeypatch.setattr(watch_module, "ROOT_POLL_SECONDS", 0.1, raising=False)
    monkeypatch.setattr(watch_module, "RESTART_SECONDS", 0.1)
    index = tmp_path / "w.db"
    parked = tmp_path / "parked"
    with caplog.at_level(logging.INFO, logger="index.watch"):
        watcher = start(articles_dir, index)
        os.replace(articles_dir, parked)  # an unmounted disk, a folder moved away
        until(lambda: any("is not there" in r.getMessage() for r in caplog.records))
        time.sleep(1.0)  # ten looks for it, and more than one restart time
        write(parked, "zep.txt", ZEPPELIN)
        os.replace(parked, articles_dir)
        until(lambda: "Zeppelin Lands in Oslo" in titles(index))
        write(articles_dir, "sub/after.txt", story("After the Return"))
        until(lambda: "After the Return" in titles(index))  # watched again, subfolders too
    assert watcher.failed is None
    assert [r for r in caplog.records if r.exc_info] == []
    gone = [r for r in caplog.records if "is not there" in r.getMessage()]
    assert len(gone) == 1 and "\n" not in gone[0].getMessage()
