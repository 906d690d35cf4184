"""Worker processes of our own, for the rebuild: results in order, and a stop that cannot hang.

`multiprocessing.Pool` shares one result queue and one write lock between its workers; a worker killed
while it writes a result (a Ctrl-C that stops the pool, the OOM killer) leaves them half-used, and
`Pool.terminate()` then waits forever (CPython issues 96995 and 78178). Here each worker has a pipe of
its own, the parent waits on all the pipes with `multiprocessing.connection.wait`, and stopping is
SIGKILL and a wait for each worker: nothing is shared that a killed worker could hold. A worker that dies
is an error (`WorkerError`), never a wait.

A worker holds up to QUEUED tasks: the one it works on and the next, waiting in its pipe. With one, a
worker that finished waited for the parent, which was busy writing the results it had (a rebuild's
workers ran at 64 % of a core each). A task goes to a busy worker only when it is small (SMALL_TASK
bytes pickled), so that it fits in the pipe's buffer: a parent blocked on a full pipe, with the worker
blocked sending a large result to it, would wait forever.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any

STOP_SECONDS = 5.0  # a worker told to stop that has not ended by then is killed
QUEUED = 2  # tasks a worker holds at once: the one it works on and the next
SMALL_TASK = 8192  # bytes pickled: a task sent to a worker that is busy must fit in its pipe's buffer


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
        held: list[deque[int]] = [deque() for _ in range(workers)]  # the numbers of the tasks each worker holds
        ready: dict[int, Any] = {}  # results computed ahead of the next one to yield
        todo = enumerate(tasks)
        sent = yielded = 0
        waiting_task: tuple[int, bytes] | None = None  # taken from `todo`, not yet sent
        more = True
        while True:
            while more and sent < yielded + workers * ahead:
                if waiting_task is None:
                    task = next(todo, None)
                    if task is None:
                        more = False
                        break
                    waiting_task = (task[0], bytes(ForkingPickler.dumps(task[1])))
                number, data = waiting_task
                worker = min(range(workers), key=lambda w: len(held[w]))
                if held[worker] and (len(held[worker]) >= QUEUED or len(data) > SMALL_TASK):
                    break
                _send(conns[worker], processes[worker], data)
                held[worker].append(number)
                waiting_task = None
                sent += 1
            if yielded in ready:
                yield ready.pop(yielded)
                yielded += 1
                continue
            busy = [w for w in range(workers) if held[w]]
            if not busy:
                break
            waiting = {conns[w]: w for w in busy} | {processes[w].sentinel: w for w in busy}
            for worker in dict.fromkeys(waiting[handle] for handle in wait(list(waiting))):
                ready[held[worker].popleft()] = _receive(conns[worker], processes[worker])
        finished = True
    finally:
        _stop(processes, conns, gently=finished)


def _send(conn: Connection, process, task: bytes) -> None:
    try:
        conn.send_bytes(task)
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
