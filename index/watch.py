"""Watching the articles folder: changes applied to the index as they happen.

The operating system reports what changed (watchfiles: inotify on Linux, FSEvents
on macOS); only those paths are applied, with the incremental rebuild restricted to
them (`rebuild(only=...)`), so nothing walks the whole folder. Events are not a
complete record (a full inotify queue drops some; a folder moved in reports only
itself), so a full reconciliation (the ordinary incremental rebuild) runs at start
and then every `reconcile_seconds`.

What real folders do:

* A file still being written is applied once its size and modification time have
  stayed the same for `stable_seconds` (writers may write in several goes).
* Hidden files, hidden folders and editors' temporary and swap files are ignored;
  write-to-a-temporary-name-then-rename is one update of the final name.
* A burst (an rsync of 1,000 files) is applied in a few batches, each one
  transaction; a folder removed or moved away removes its articles, one moved in
  adds them; a folder that disappears and comes back is reconciled.
* The rebuild lock is shared with `newsbot index rebuild` and `/reindex`: while
  another rebuild runs, changes wait and are applied after it.
* A crash of the watching loop is logged and the loop restarts; it never stops
  silently.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .rebuild import RebuildError, RebuildSummary, rebuild

logger = logging.getLogger(__name__)

# Names editors, downloaders and copy tools write before the real one: never articles.
_TEMPORARY = re.compile(r"(\.(tmp|temp|part|partial|crdownload|download|swp|swo|swx|bak)$|~$|^4913$|^#.*#$)",
                        re.IGNORECASE)
RETRY_SECONDS = 2.0  # after a failed batch (another rebuild running, a full disk)
RESTART_SECONDS = 5.0  # after the watching loop crashed


def wanted(relative: str) -> bool:
    """Whether a path below the articles folder can be (or hold) an article."""
    parts = relative.split("/")
    return bool(relative) and not any(p.startswith(".") or _TEMPORARY.search(p) for p in parts)


def _newest_mtime(folder: Path) -> float:
    """The latest modification time below a folder (files still being copied in are recent)."""
    newest, stack = 0.0, [str(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        else:
                            newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
                    except OSError:
                        continue
        except OSError:
            continue
    return newest


def _warn_if_over_watch_limit(root: str) -> None:
    """Linux gives each user a number of inotify watches, one per folder; beyond it, folders are watched
    only by the periodic reconciliation (watchfiles skips the watches it cannot add). Say so."""
    try:
        limit = int(Path("/proc/sys/fs/inotify/max_user_watches").read_text())
    except (OSError, ValueError):
        return
    folders = sum(1 for _ in os.walk(root))
    if folders > limit * 0.8:
        logger.warning("%s has %d folders and this user may watch %d (fs.inotify.max_user_watches): changes in "
                       "some are found only by the periodic full check; raise the limit, e.g. "
                       "`sudo sysctl fs.inotify.max_user_watches=%d`", root, folders, limit, max(folders * 2, 524288))


@dataclass
class Batch:
    """What one applied batch did."""

    paths: list[str]
    summary: RebuildSummary
    reconciliation: bool = False

    def line(self) -> str:
        s = self.summary
        kind = "reconciled" if self.reconciliation else f"applied {len(self.paths)} changed path(s)"
        return (f"{kind} in {s.seconds:.2f} s: {s.added} added, {s.updated} updated, {s.removed} removed, "
                f"{len(s.skipped)} skipped")


class FolderWatcher:
    """Keeps the index at `index_path` up to date with the folder `root` while it runs."""

    def __init__(self, root: Path | str, index_path: Path | str,
                 on_batch: Callable[[Batch], None] | None = None, stable_seconds: float = 0.5,
                 reconcile_seconds: float = 900.0, debounce_ms: int = 300, tick_ms: int = 250,
                 reconcile_first: bool = True):
        self.root = Path(root)
        self.index_path = Path(index_path)
        self.on_batch = on_batch or (lambda batch: None)
        self.stable_seconds = stable_seconds
        self.reconcile_seconds = reconcile_seconds
        self.debounce_ms = debounce_ms
        self.tick_ms = tick_ms
        self.reconcile_first = reconcile_first
        self.stop_event = threading.Event()
        self.ready = threading.Event()  # set once the first reconciliation is done and events are watched
        self._thread: threading.Thread | None = None
        self._pending: dict[str, tuple[int, int] | None] = {}  # path -> (size, mtime) when last looked at
        self._last_reconcile = 0.0
        self._retry_at = 0.0

    # --- running --------------------------------------------------------------------------
    def start(self) -> FolderWatcher:
        self._thread = threading.Thread(target=self.run, name="newsbot-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Watch until stopped; a crash of the loop is logged and the loop restarts."""
        while not self.stop_event.is_set():
            try:
                self._watch()
            except Exception:  # noqa: BLE001 - whatever it was, say so and keep the index live
                logger.exception("The folder watcher stopped on an error; restarting in %.0f s", RESTART_SECONDS)
                self.stop_event.wait(RESTART_SECONDS)

    def _watch(self) -> None:
        from watchfiles import watch

        while not self.root.is_dir():  # a folder that is gone (an unmounted disk) is waited for
            if self.stop_event.wait(1.0):
                return
        root = os.path.realpath(self.root)
        _warn_if_over_watch_limit(root)
        started = False
        for changes in watch(root, watch_filter=lambda change, path: self._relative(path, root) is not None,
                             debounce=self.debounce_ms, step=50, rust_timeout=self.tick_ms,
                             yield_on_timeout=True, stop_event=self.stop_event, raise_interrupt=False,
                             ignore_permission_denied=True):
            if not started:  # the folder is watched from now on: reconcile what happened before
                started = True
                if self.reconcile_first or self._last_reconcile:
                    self.reconcile()
                self.reconcile_first = True  # after a restart the events in between are unknown
                self.ready.set()
            for _, path in changes:
                relative = self._relative(path, root)
                if relative is not None:
                    self._pending.setdefault(relative, None)
            if not self.root.is_dir():
                raise FileNotFoundError(f"the articles folder {self.root} disappeared")
            self._apply_ready()
            if time.monotonic() - self._last_reconcile >= self.reconcile_seconds:
                self.reconcile()

    @staticmethod
    def _relative(path: str, root: str) -> str | None:
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        if relative == "." or relative.startswith("../") or not wanted(relative):
            return None
        return relative

    # --- applying -------------------------------------------------------------------------
    def _stable(self) -> list[str]:
        """The pending paths that can be applied now: gone, folders, or files that stopped changing."""
        ready, now = [], time.time()
        for relative, seen in list(self._pending.items()):
            try:
                info = os.stat(self.root / relative)
            except OSError:
                ready.append(relative)  # gone: remove its articles
                continue
            if not os.path.isfile(self.root / relative):
                if now - _newest_mtime(self.root / relative) >= self.stable_seconds:
                    ready.append(relative)  # a folder moved or copied in: all of it, once its files are still
                continue
            key = (info.st_size, info.st_mtime_ns)
            if now - info.st_mtime >= self.stable_seconds and (seen == key or seen is None):
                ready.append(relative)
            else:
                self._pending[relative] = key
        return ready

    def _apply_ready(self) -> None:
        if not self._pending or time.monotonic() < self._retry_at:
            return
        ready = self._stable()
        if ready:
            self.apply(ready)

    def apply(self, paths: list[str]) -> Batch | None:
        """Apply these relative paths now (one transaction); on failure they stay pending."""
        try:
            summary = rebuild(self.root, self.index_path, only=sorted(paths))
        except RebuildError as error:
            logger.warning("Changes to %d path(s) wait: %s", len(paths), error)
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return None
        for path in paths:
            self._pending.pop(path, None)
        batch = Batch(paths, summary)
        self._report(batch)
        return batch

    def reconcile(self) -> Batch | None:
        """The full incremental rebuild: catches whatever the events missed."""
        self._last_reconcile = time.monotonic()
        try:
            summary = rebuild(self.root, self.index_path)
        except RebuildError as error:
            logger.warning("Reconciling %s waits: %s", self.root, error)
            self._last_reconcile -= self.reconcile_seconds - RETRY_SECONDS * 5
            return None
        batch = Batch([], summary, reconciliation=True)
        self._report(batch)
        return batch

    def _report(self, batch: Batch) -> None:
        s = batch.summary
        if s.added or s.updated or s.removed or not batch.reconciliation:
            logger.info("%s", batch.line())
        try:
            self.on_batch(batch)
        except Exception:  # noqa: BLE001 - a listener's failure must not stop the watching
            logger.exception("A listener of applied changes failed")
