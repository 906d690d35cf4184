"""index/pool.py: the rebuild's own worker processes. A worker that dies is an error, never a wait."""

import multiprocessing
import os
import signal

import pytest

from index.pool import SMALL_TASK, WorkerError, ordered_map
from index.rebuild import RebuildError, rebuild
from index.search import Index

from .conftest import write

pytestmark = pytest.mark.slow  # real worker processes


def test_results_come_in_the_tasks_order_with_any_number_of_workers():
    tasks = list(range(-200, 0))
    for workers in (1, 2, 3):
        assert list(ordered_map(abs, tasks, workers, ahead=2)) == [abs(t) for t in tasks]


def test_large_tasks_wait_for_an_idle_worker_and_small_ones_queue_and_all_come_in_order():
    """A task over SMALL_TASK bytes goes only to a worker with nothing queued (a full pipe, with the worker
    sending a large result back, would block both ends); the order of results is the tasks' either way."""
    tasks = [b"x" * (SMALL_TASK * 4 if n % 3 == 0 else n) for n in range(60)]
    for workers in (1, 2):
        assert list(ordered_map(len, tasks, workers, ahead=3)) == [len(t) for t in tasks]


def test_a_worker_killed_with_a_task_queued_behind_is_an_error_not_a_hang():
    with pytest.raises(WorkerError, match="killed by SIGKILL"):
        list(ordered_map(signal.raise_signal, [signal.SIGKILL] * 6, 2))


def test_a_worker_killed_is_an_error_not_a_hang():
    with pytest.raises(WorkerError, match="killed by SIGKILL"):
        list(ordered_map(signal.raise_signal, [signal.SIGKILL], 2))


def test_a_worker_that_exits_or_raises_is_an_error():
    with pytest.raises(WorkerError, match="exited with code 3"):
        list(ordered_map(os._exit, [3], 1))
    with pytest.raises(WorkerError, match="ValueError"):
        list(ordered_map(int, ["1", "one"], 2))


def test_closing_early_leaves_no_worker_behind():
    results = ordered_map(abs, range(1000), 2)
    assert next(results) == 0
    results.close()
    assert not [p for p in multiprocessing.active_children() if p.name == "newsbot-ingest"]


def _sentences(path):
    with Index(path).snapshot() as snap:
        return list(snap.each_sentence()), snap.document_frequencies(["wheat", "barley", "rose"])


def _folder(tmp_path, count):
    folder = tmp_path / "news"
    for i in range(count):
        write(folder, f"{i:03d}.txt", f" date 2025-01-{i % 28 + 1:02d} Story {i}\n\nWheat number {i} rose. It fell.")
    return folder


def test_a_parallel_rebuild_equals_a_serial_one(tmp_path):
    folder = _folder(tmp_path, 60)
    rebuild(folder, tmp_path / "serial.db", workers=1)
    rebuild(folder, tmp_path / "parallel.db", workers=2)
    assert _sentences(tmp_path / "parallel.db") == _sentences(tmp_path / "serial.db")


def test_a_worker_killed_mid_rebuild_is_one_error_and_the_index_is_unchanged(tmp_path):
    folder = _folder(tmp_path, 60)
    index = tmp_path / "i.db"
    rebuild(folder, index, workers=1)
    before = _sentences(index)
    for i in range(60):  # every article changed
        write(folder, f"{i:03d}.txt", f" date 2025-02-{i % 28 + 1:02d} Story {i}\n\nBarley number {i} rose.")

    def kill_the_workers(results, total, step):
        for number, result in enumerate(results):
            if number == 1:
                for process in multiprocessing.active_children():
                    if process.name == "newsbot-ingest":
                        os.kill(process.pid, signal.SIGKILL)
            yield result

    with pytest.raises(RebuildError, match="worker process reading articles was killed by SIGKILL.*unchanged"):
        rebuild(folder, index, workers=2, progress=kill_the_workers)
    assert _sentences(index) == before
