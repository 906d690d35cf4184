"""Worker processes of our own, for the rebuild: results in order, and a stop that cannot hang.

`multiprocessing.Pool` shares one result queue and one write lock between its workers; a worker killed
while it writes a result (a Ctrl-C that stops the pool, the OOM killer) leaves them half-used, and
`Pool.terminate()` then waits forever (CPython issues 96995 and 78178). Here each worker has a pipe of
its own and one task at a time, the parent waits on all the pipes with `multiprocessing.connection.wait`,
and stopping is SIGKILL and a wait for each worker: nothing is shared that a killed worker could hold.
A worker that dies is an error (`WorkerError`), never a wait.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

STOP_SECONDS = 5.0  # a worker told to stop that has not ended by then is killed


class WorkerError(RuntimeError):
    """A worker process ended (killed, out of memory) or failed before it returned its result."""


def _serve(conn: Connection, function: Callable, initializer: Callable | None, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            task = conn.recv()
        except EOFError:  # the parent has gone
            return
        if task is None:
            return
        try:
            reply = (True, function(task))
        except Exception as error:
            reply = (False, f"{type(error).__name__}: {error}")
        conn.send(reply)


def _context():
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _how_it_ended(process) -> str:
    process.join(1.0)
    code = process.exitcode
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def ordered_map(
    function: Callable[[Any], Any],
    tasks: Iterable[Any],
    workers: int,
    initializer: Callable | None = None,
    initargs: tuple = (),
    ahead: int = 4,
) -> Iterator[Any]:
    """function(task) for each task, computed in `workers` processes and yielded in the tasks' order, with at
    most `workers * ahead` results computed ahead of the one yielded next. `function` and `initializer`
    must be importable (module-level) functions. Closing the iterator, or any exception, kills the workers."""
    context = _context()
    processes, conns = [], []
    finished = False
    try:
        for _ in range(workers):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_serve, args=(child_end, function, initializer, initargs), daemon=True, name="newsbot-ingest"
            )
            process.start()
            child_end.close()
            processes.append(process)
            conns.append(parent_end)
        idle = list(range(workers))
        busy: dict[int, int] = {}  # worker -> the number of the task it holds
        ready: dict[int, Any] = {}  # results computed ahead of the next one to yield
        todo = enumerate(tasks)
        sent = yielded = 0
        more = True
        while True:
            while idle and more and sent < yielded + workers * ahead:
                task = next(todo, None)
                if task is None:
                    more = False
                    break
                worker = idle.pop()
                _send(conns[worker], processes[worker], task[1])
                busy[worker] = task[0]
                sent += 1
            if yielded in ready:
                yield ready.pop(yielded)
                yielded += 1
                continue
            if not busy:
                break
            waiting = {conns[w]: w for w in busy} | {processes[w].sentinel: w for w in busy}
            for handle in wait(list(waiting)):
                worker = waiting[handle]
                if worker not in busy:  # its pipe and its sentinel were both ready
                    continue
                ready[busy.pop(worker)] = _receive(conns[worker], processes[worker])
                idle.append(worker)
        finished = True
    finally:
        _stop(processes, conns, gently=finished)


def _send(conn: Connection, process, task: Any) -> None:
    try:
        conn.send(task)
    except OSError:  # the worker ended while it waited for work
        raise WorkerError(f"a worker process reading articles {_how_it_ended(process)}") from None


def _receive(conn: Connection, process) -> Any:
    try:
        if not conn.poll():  # the sentinel is ready and nothing was sent: the worker has ended
            raise EOFError
        ok, value = conn.recv()
    except (EOFError, OSError):  # ended before, or in the middle of, sending its result
        raise WorkerError(f"a worker process reading articles {_how_it_ended(process)}") from None
    if not ok:
        raise WorkerError(f"a worker process reading articles failed: {value}")
    return value


def _stop(processes: list, conns: list[Connection], gently: bool) -> None:
    """Tell idle workers to end after a complete run; otherwise (Ctrl-C, an error, the iterator closed
    early) kill them. Then wait for each, so that none is left behind."""
    if gently:
        for conn in conns:
            try:
                conn.send(None)
            except OSError:
                pass
        for process in processes:
            process.join(STOP_SECONDS)
    for process in processes:
        if process.exitcode is None:
            process.kill()
    for process in processes:
        process.join()
    for conn in conns:
        conn.close()
