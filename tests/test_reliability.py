"""Index safety: killed rebuilds, readers during rebuilds, two rebuilds at once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.kill_rebuilds import fingerprint, make_folders, run, small_articles, switch_to
from bot.ranking.answer import answer
from index.rebuild import rebuild, rebuild_lock
from index.search import Index

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def two_collections(tmp_path):
    return make_folders(tmp_path, small_articles(300))


@pytest.mark.slow
@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_killed_rebuilds_leave_a_whole_index(tmp_path, two_collections, full):
    a, b = two_collections
    result = run(a, b, tmp_path / "kill.db", kills=4, seed=3, full=full)
    assert result["failures"] == []
    assert result["intact"] == result["kills"] == 4


@pytest.mark.slow
def test_readers_never_see_a_partial_index_and_are_not_blocked(tmp_path, two_collections):
    a, b = two_collections
    path = tmp_path / "live.db"
    rebuild(a, path)
    prints = {fingerprint(path)[1]}
    rebuild(b, path)
    prints.add(fingerprint(path)[1])
    index = Index(path)
    stop = threading.Event()
    problems: list[str] = []
    rebuilding = threading.Event()
    reads_while_rebuilding = [0]

    def reader():
        while not stop.is_set():
            began_during = rebuilding.is_set()
            with index.snapshot() as snap:
                if snap.meta.articles != snap.article_count():
                    problems.append("meta and articles disagree")
                if snap.content_digest() not in prints:
                    problems.append("a mix of two collections")
            answer(index, "grain oil prices")
            if began_during and rebuilding.is_set():
                reads_while_rebuilding[0] += 1

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    other_process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom index.search import Index\nfrom bot.ranking.answer import answer\n"
            "ix = Index(sys.argv[1]); end = time.time() + 4\nwhile time.time() < end: answer(ix, 'wheat gold')",
            str(path),
        ],
        env=env,
    )
    try:
        rebuilding.set()
        for folder in (a, b, a, b):
            rebuild(folder, path)
        rebuilding.clear()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        other_process.wait(30)
    assert problems == []
    assert other_process.returncode == 0
    assert reads_while_rebuilding[0] >= 4  # readers kept answering while the rebuilds ran (how fast: bench/)


@pytest.mark.slow
def test_second_rebuild_refuses_while_one_runs(tmp_path, two_collections):
    a, _ = two_collections
    path = tmp_path / "two.db"
    rebuild(a, path)
    before = fingerprint(path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "bot", "index", "rebuild", "--full", "--articles", str(a), "--index", str(path)]
    with rebuild_lock(path):  # a rebuild is running
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [
        f"Error: another rebuild of {path} is running; try again when it ends"
    ]
    assert fingerprint(path) == before
    assert subprocess.run(command, env=env, capture_output=True, timeout=120).returncode == 0


@pytest.mark.slow
def test_load_with_faults_answers_everyone_exactly_once(tmp_path):
    """A fast version of bench/load.py: 200 questions from 20 users with random 429, 502, timeouts, 403."""
    from bench.load import run_once
    from bot.config import sample_articles_dir

    index = tmp_path / "samples.db"
    rebuild(sample_articles_dir(), index)
    result = run_once(index, updates=200, users=20, concurrency=32, faults=True, seed=4)
    assert result["answered"] == result["expected"] == 190
    assert result["not_exactly_once"] == {}
    assert result["error_handler_blocked"] == 10  # one blocked user, each of the 10 failures seen once
    assert result["error_handler_other"] == 0
    assert any(k.endswith(" 429") for k in result["injected_failures"])


@pytest.mark.slow
def test_polling_resumes_after_the_server_drops_the_connection(index_path, articles_dir):
    from bench.telegram_harness import running_bot

    with running_bot(index_path, articles_dir) as (fake, app):
        fake.wait_for(lambda calls: fake.calls_to("setMyCommands"))
        fake.fail("getUpdates", 0, "", times=3, drop=True)
        fake.send_text("tram line", user_id=31)
        fake.wait_for(lambda calls: fake.sent_to(31), timeout=30)
        assert "tram" in fake.sent_to(31)[0]["text"]


def test_awkward_article_folders(tmp_path):
    """Deep folders, odd names, a symlink loop, random bytes, a 50 MB file: all handled, none fatal."""
    root = tmp_path / "odd"
    deep = root.joinpath(*[f"d{i}" for i in range(60)])
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_text(" date 2025-01-01 Deep\n\nFound at the bottom of sixty folders.")
    for name in ("new\nline.txt", "ümlaut ☃.txt", "-dash.txt", "sp ace.txt", "'quote\".txt"):
        (root / name).write_text(f" date 2025-01-02 Odd {name!r}\n\nA file with an odd name.")
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "random.txt").write_bytes(os.urandom(4096))
    with open(root / "big.txt", "wb") as handle:
        handle.write(b" date 2025-01-03 Big\n\n" + b"word " * (10 * 1024 * 1024))
    summary = rebuild(root, tmp_path / "odd.db")
    reasons = {s.source: s.reason for s in summary.skipped}
    assert summary.added == 6
    assert "larger than" in reasons["big.txt"]
    assert "random.txt" in reasons
    assert answer(Index(tmp_path / "odd.db"), "bottom of sixty folders").passages


@pytest.mark.slow
def test_ten_thousand_tiny_files(tmp_path):
    root = tmp_path / "tiny"
    for i in range(10_000):
        folder = root / f"{i // 1000}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.txt").write_text(f" date 2025-01-01 Tiny {i}\n\nTiny story number {i} about item{i}.")
    summary = rebuild(root, tmp_path / "tiny.db")  # how long: bench/hostile.py
    assert summary.added == 10_000 and not summary.skipped
    assert answer(Index(tmp_path / "tiny.db"), "item9876").passages[0].title == "Tiny 9876"


def rebuild_in_process(articles: Path, index: Path, preexec_fn, options=("--full",)) -> subprocess.CompletedProcess:
    """`newsbot index rebuild` (by default `--full`) in a child process that preexec_fn has constrained."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "index", "rebuild", *options, "--articles", str(articles), "--index", str(index)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec_fn,
    )


def assert_refused_and_unchanged(result, index: Path, before) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write the index" in lines[0] and "unchanged" in lines[0], lines
    assert "Traceback" not in result.stderr
    assert fingerprint(index) == before
    assert answer(Index(index), "grain oil").passages


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["incremental", "full", "forced full"])
@pytest.mark.parametrize("fraction", [0.2, 0.6, 1.02])
def test_full_disk_during_rebuild_is_one_line_and_keeps_the_old_index(tmp_path, two_collections, mode, fraction):
    """A file-size limit (RLIMIT_FSIZE) makes the disk "full" for the rebuild process only.

    The limit is a fraction of the index's size: below it, SQLite fails on the first big
    write to the WAL and rolls the whole transaction back by itself, which once let a
    full rebuild go on outside the transaction and empty the index.
    """
    import resource
    import signal

    a, b = two_collections
    path = tmp_path / "full.db"
    live = switch_to(tmp_path / "live", b)
    rebuild(live, path)
    before = fingerprint(path)
    switch_to(live, a)
    size = sum(p.stat().st_size for p in tmp_path.glob("full.db*"))
    limit = int(size * fraction)

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    options = {"incremental": [], "full": ["--full"], "forced full": ["--language", "ru"]}[mode]
    assert_refused_and_unchanged(rebuild_in_process(live, path, small_disk, options), path, before)


@contextmanager
def made_read_only(folder: Path, which: str):
    """The files of a folder read-only, and with which="folder" the folder too, for the block."""
    files = list(folder.iterdir())
    for file in files:
        file.chmod(0o444)
    if which == "folder":
        folder.chmod(0o555)
    try:
        yield
    finally:
        folder.chmod(0o755)
        for file in files:
            file.chmod(0o644)


def without_root_override():
    """In the child: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so that even root obeys file and
    folder modes (tests often run as root)."""
    if os.geteuid() != 0:
        return
    import ctypes

    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="drops a Linux capability to make root obey file modes")
@pytest.mark.parametrize("read_only", ["folder", "file"])
def test_read_only_index_path_is_one_line_and_keeps_the_old_index(tmp_path, two_collections, read_only):
    """A read-only folder (say, a read-only mount) or a read-only index file: refused, old index whole."""
    a, b = two_collections
    folder = tmp_path / "ro"
    path = folder / "news.db"
    rebuild(b, path)
    before = fingerprint(path)
    with made_read_only(folder, read_only):
        assert_refused_and_unchanged(rebuild_in_process(a, path, without_root_override), path, before)
