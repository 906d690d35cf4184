"""Watching the articles folder: changes applied to the index as they happen.

The operating system reports what changed (watchfiles: inotify on Linux, FSEvents
on macOS); only those paths are applied, with the incremental rebuild restricted to
them (`rebuild(only=...)`), so nothing walks the whole folder. Events are not a
complete record (a full inotify queue drops some; a folder moved in reports only
itself), so a full reconciliation (the ordinary incremental rebuild) runs at start
and then every `reconcile_seconds`.

What real folders do:

* The watcher reads what the rebuild reads, by the same rules (`index.articles`:
  `is_article_name` for files, `is_article_folder` for folders, `article_entry` for
  one path): hidden files and folders are passed over; a file is an article only by
  its name (.txt, .jsonl), which keeps editors' and downloaders' temporary files out,
  while a folder named 4913 or drafts.bak is a folder like any other; symlinked
  folders are never entered, so each real folder gets one watch of its own
  (recursive=False) and a symlink to /usr costs nothing.
* A file still being written is applied once its size and times have stayed the
  same for `stable_seconds`, as observed by the watcher: a file whose modification
  time is in the future (clock skew, `cp -p`, unzip) waits no longer than another.
* Write-to-a-temporary-name-then-rename is one update of the final name. A burst
  (an rsync of 1,000 files) is applied in a few batches, each one transaction; a
  folder removed or moved away removes its articles, one moved in adds them.
* Nothing that is not an article is applied, and no batch without an article path
  writes: an index kept inside the folder (with its journals, lock and state files)
  is not taken for a change of it.
* A folder that disappears is waited for (one log line) and reconciled when it comes
  back; a folder replaced (`rm -rf news && mkdir news`, `mv news.new news`, a
  symlink swap) is watched anew and reconciled. An index file deleted or moved away
  is built again within RETRY_SECONDS, not at the next change of the folder.
* The rebuild lock is shared with `newsbot index rebuild` and `/reindex`: while
  another rebuild runs, changes wait and are applied after it.
* An index that can never be written (a folder, not an SQLite file, another
  application's database) stops the watcher with `failed` set to a one-line reason.
  A crash of the watching loop is logged and the loop restarts; it never stops
  silently.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import store
from .articles import article_entry, is_article_folder, is_article_name
from .rebuild import RebuildError, RebuildSummary, rebuild

logger = logging.getLogger(__name__)

# Names that, by name alone, only temporary files have (editors, downloaders, copy tools). Used only when
# `wanted` is asked about a path without knowing whether it is a file or a folder; the watcher itself always
# knows, and then the articles module's rules decide (folders named 4913 or drafts.bak are folders).
_TEMPORARY = re.compile(
    r"(\.(tmp|temp|part|partial|crdownload|download|swp|swo|swx|bak)$|~$|^4913$|^#.*#$)", re.IGNORECASE
)
RETRY_SECONDS = 2.0  # after a failed batch (another rebuild running, a full disk)
RESTART_SECONDS = 5.0  # after the watching loop crashed
ROOT_POLL_SECONDS = 1.0  # how often a missing articles folder is looked for
_DELETED = 3  # watchfiles.Change.deleted (watchfiles is imported only when watching starts)


def wanted(relative: str, folder: bool | None = None) -> bool:
    """Whether a path below the articles folder can be (or hold) an article, by its names: no part hidden,
    and the last part an article file's name (`folder` False), any folder name the rebuild enters (`folder`
    True), or, not knowing which (None), either of them but names only temporary files have."""
    parts = relative.split("/")
    if not relative or not all(part and is_article_folder(part) for part in parts):
        return False
    last = parts[-1]
    if folder is not None:
        return is_article_folder(last) if folder else is_article_name(last)
    return is_article_name(last) or not _TEMPORARY.search(last)


def own_files(index_path: Path | str, also: Iterable[Path | str] = ()) -> set[str]:
    """The files newsbot itself writes for this index, as real paths: the index and its -wal, -shm and
    -journal files, the rebuild's lock file, the standing questions' state file (`<index>.state.db`) and
    its journals, and `also` (another state file) with theirs. An index inside the articles folder must
    not be taken for a change of the folder: each write would start the next."""
    index = os.fspath(index_path)
    state = index + ".state.db"
    names: set[str] = set()
    for path in (index, state, *map(os.fspath, also)):
        for spelling in {
            os.path.realpath(path),
            os.path.join(os.path.realpath(os.path.dirname(path) or "."), os.path.basename(path)),
        }:
            names.update(spelling + suffix for suffix in ("", "-wal", "-shm", "-journal"))
    names.add(os.path.realpath(index) + ".lock")  # rebuild_lock: beside the resolved index
    return names


def unusable_index(index_path: Path | str) -> str | None:
    """One line saying why no rebuild can ever write the index at this path (it is a folder, not an SQLite
    file, another application's database, below a file), or None if one can: a newsbot index, an empty
    file or a stub, no file yet; a lock or a permission problem is not a verdict either (the rebuild says
    what it is, and it may pass)."""
    path = Path(index_path)
    try:
        info = path.stat()
    except FileNotFoundError:
        ancestor = path.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if ancestor.exists() and not ancestor.is_dir():
            return f"cannot create the index {path}: {ancestor} is a file, not a folder; choose another --index"
        return None
    except NotADirectoryError:
        return f"cannot create the index {path}: a part of its path is a file, not a folder; choose another --index"
    except OSError:
        return None
    if stat.S_ISDIR(info.st_mode):
        return f"{path} is a folder, not an index file; choose another --index"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file, not an index; choose another --index"
    if info.st_size == 0:
        return None  # a stub: the first build replaces it
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
        meta = store.read_meta(conn) if "meta" in tables else {}
    except sqlite3.DatabaseError as error:
        text = str(error)
        if "not a database" in text or "malformed" in text:
            return store.damaged_message(path, text)
        return None
    finally:
        conn.close()
    if not meta and tables - {"meta"}:  # the rebuild's own test for another application's file
        return f"{path} holds other data, not a newsbot index; choose another --index"
    return None


def _folders_below(root: str) -> Iterator[str]:
    """The relative paths of the folders the rebuild's walk enters below root (`is_article_folder`; never a
    symlinked one): the folders to watch."""
    stack = [""]
    while stack:
        relative = stack.pop()
        try:
            with os.scandir(os.path.join(root, relative) if relative else root) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False) and is_article_folder(entry.name):
                            child = f"{relative}/{entry.name}" if relative else entry.name
                            yield child
                            stack.append(child)
                    except OSError:
                        continue
        except OSError:
            continue


def _signature(folder: str) -> int:
    """A digest of what the rebuild would read below a folder (names, sizes, times, inodes): equal on two
    looks only if nothing there changed in between."""
    digest, stack = 0, [folder]
    while stack:
        current = stack.pop()
        try:
            info = os.stat(current)
            digest += hash((current, info.st_mtime_ns, info.st_ctime_ns))
            with os.scandir(current) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if is_article_folder(entry.name):
                                stack.append(entry.path)
                        elif is_article_name(entry.name):
                            info = entry.stat()
                            digest += hash((entry.path, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
                    except OSError:
                        continue
        except OSError:
            continue
    return digest & 0xFFFFFFFFFFFFFFFF


def _look(path: str, kind: str) -> tuple | int | None:
    """What a pending path looks like now: for a file its inode, size, modification and change times
    (a copy that keeps its source's times, `cp -p`, still changes the change time while it writes)."""
    if kind == "folder":
        return _signature(path)
    try:
        info = os.stat(path)
    except OSError:
        try:
            info = os.lstat(path)  # a dangling symlink: the rebuild reports it; it is still enough
        except OSError:
            return None
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _warn_if_over_watch_limit(root: str, folders: int | None = None) -> None:
    """Linux gives each user a number of inotify watches, one per folder; beyond it, folders are watched
    only by the periodic reconciliation (watchfiles skips the watches it cannot add). Say so."""
    try:
        limit = int(Path("/proc/sys/fs/inotify/max_user_watches").read_text())
    except (OSError, ValueError):
        return
    if folders is None:
        folders = 1 + sum(1 for _ in _folders_below(root))
    if folders > limit * 0.8:
        logger.warning(
            "%s has %d folders and this user may watch %d (fs.inotify.max_user_watches): changes in "
            "some are found only by the periodic full check; raise the limit, e.g. "
            "`sudo sysctl fs.inotify.max_user_watches=%d`",
            root,
            folders,
            limit,
            max(folders * 2, 524288),
        )


@dataclass
class Batch:
    """What one applied batch did."""

    paths: list[str]
    summary: RebuildSummary
    reconciliation: bool = False

    def line(self) -> str:
        s = self.summary
        kind = "reconciled" if self.reconciliation else f"applied {len(self.paths)} changed path(s)"
        return (
            f"{kind} in {s.seconds:.2f} s: {s.added} added, {s.updated} updated, {s.removed} removed, "
            f"{len(s.skipped)} skipped"
        )


@dataclass
class _Pending:
    """A path events named, until it is applied or found to be no article."""

    look: tuple | int | None = None  # what it looked like at the last look (`_look`)
    since: float = 0.0  # since when (monotonic) it has looked like that
    was_folder: bool = False  # a watched folder: its articles may be in the index
    noted: float = field(default_factory=time.monotonic)  # when events first named it


class FolderWatcher:
    """Keeps the index at `index_path` up to date with the folder `root` while it runs.

    `failed` is None while the watcher can do its work; when the index can never be written (it is a
    folder, not an SQLite file, another application's database), it is that reason in one line, logged
    once, and the watcher has stopped (`ready` is then never set)."""

    def __init__(
        self,
        root: Path | str,
        index_path: Path | str,
        on_batch: Callable[[Batch], None] | None = None,
        stable_seconds: float = 0.5,
        reconcile_seconds: float = 900.0,
        debounce_ms: int = 300,
        tick_ms: int = 250,
        reconcile_first: bool = True,
        also_ignore: Iterable[Path | str] = (),
    ):
        self.root = Path(root)
        self.index_path = Path(index_path)
        self.on_batch = on_batch or (lambda batch: None)
        self.stable_seconds = stable_seconds
        self.reconcile_seconds = reconcile_seconds
        self.debounce_ms = debounce_ms
        self.tick_ms = tick_ms
        self.reconcile_first = reconcile_first
        self.also_ignore = tuple(also_ignore)
        self.stop_event = threading.Event()
        self.ready = threading.Event()  # set once the first reconciliation is done and events are watched
        self.failed: str | None = None  # why the watcher gave up: the index cannot be used at all
        self._thread: threading.Thread | None = None
        self._pending: dict[str, _Pending] = {}
        self._folders: set[str] = set()  # the watched folders below the root, relative
        self._own: set[str] = set()
        self._last_reconcile = 0.0
        self._gone_checked = 0.0
        self._retry_at = 0.0
        self._last_warning = ""

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
        """Watch until stopped (or the index cannot be used: `failed`); a crash of the loop is logged and the
        loop restarts."""
        while not self.stop_event.is_set() and not self._index_unusable():
            try:
                self._watch()
            except Exception:  # noqa: BLE001 - whatever it was, say so and keep the index live
                if self._index_unusable():
                    return
                logger.exception("The folder watcher stopped on an error; restarting in %.0f s", RESTART_SECONDS)
                self.stop_event.wait(RESTART_SECONDS)

    def _index_unusable(self) -> bool:
        if self.failed is None:
            reason = unusable_index(self.index_path)
            if reason is None:
                return False
            self.failed = reason
            logger.error("Not watching %s: %s", self.root, reason)
        return True

    def _index_gone(self) -> bool:
        """The index file is not there (deleted, moved away); asked at most every RETRY_SECONDS."""
        now = time.monotonic()
        if self.failed or now - self._gone_checked < RETRY_SECONDS:
            return False
        self._gone_checked = now
        return not os.path.exists(self.index_path)

    def _identity(self) -> tuple[int, int, str] | None:
        """Which folder the articles folder is now (device, inode, real path); None if there is none."""
        try:
            info = os.stat(self.root)
        except OSError:
            return None
        return (info.st_dev, info.st_ino, os.path.realpath(self.root)) if stat.S_ISDIR(info.st_mode) else None

    def _wait_for_root(self) -> tuple[int, int, str] | None:
        """The articles folder's identity, once there is one; None if stopped first. A folder that is gone (an
        unmounted disk, a folder being replaced) is an expected condition: one line, no traceback."""
        identity = self._identity()
        if identity is not None:
            return identity
        logger.warning(
            "The articles folder %s is not there (removed, renamed or not mounted); waiting for it", self.root
        )
        while identity is None:
            if self.stop_event.wait(ROOT_POLL_SECONDS):
                return None
            identity = self._identity()
        logger.info("The articles folder %s is back; watching it again", self.root)
        return identity

    def _arm(self, root: str):
        """Watch root and its folders (one watch each, none through a symlink): (generator, first changes).
        Each folder is watched on its own (recursive=False): a recursive watch would follow symlinked folders
        the rebuild never enters."""
        from watchfiles import watch

        # No watch_filter: watchfiles does not return a batch it filtered out entirely, and a reader of an
        # index kept in the folder touches its -wal file all the time: pending files would never be looked
        # at again. `_note` filters instead.
        changes = watch(
            root,
            *(os.path.join(root, folder) for folder in sorted(self._folders)),
            watch_filter=None,
            debounce=self.debounce_ms,
            step=50,
            rust_timeout=self.tick_ms,
            yield_on_timeout=True,
            stop_event=self.stop_event,
            raise_interrupt=False,
            recursive=False,
            ignore_permission_denied=True,
        )
        return changes, next(changes, None)  # the watches are in place once the first wait returns

    def _watch(self) -> None:
        identity = self._wait_for_root()
        if identity is None:
            return
        root = identity[2]
        self._own = own_files(self.index_path, self.also_ignore)
        self._folders = set(_folders_below(root))
        self._pending.clear()  # whatever they named, the reconciliation below covers
        _warn_if_over_watch_limit(root, len(self._folders) + 1)
        watcher, changes = self._arm(root)
        try:
            if self._identity() != identity:
                return  # replaced while the watches were added: arm again
            if self.reconcile_first or self._last_reconcile:
                self.reconcile()  # the folder is watched from now on: reconcile what happened before
            self.reconcile_first = True  # after a restart the events in between are unknown
            if self.failed:
                return
            self.ready.set()
            while changes is not None:
                rearm, replaced = self._note(changes, root)
                while rearm and not replaced:  # new or removed folders: the watches change with them
                    newer, first = self._arm(root)
                    drained = next(watcher, None)  # what the old watches saw until the new ones were in place
                    watcher.close()
                    watcher, rearm = newer, False
                    for seen in (drained, first):
                        again, gone = self._note(seen or set(), root)
                        rearm, replaced = rearm or again, replaced or gone
                if replaced or self._identity() != identity:
                    if self._identity() is not None:
                        logger.info("The articles folder %s was replaced; watching the new one", self.root)
                    return  # the next round watches what is there now and reconciles
                self._apply_ready(root)
                if self._index_gone():
                    self.reconcile()  # deleted or moved away: build it again now, not at the next change
                if not self.failed and time.monotonic() - self._last_reconcile >= self.reconcile_seconds:
                    self.reconcile()
                if self.failed:
                    return
                changes = next(watcher, None)
        finally:
            watcher.close()

    def _relative(self, path: str, root: str) -> str | None:
        """The relative path of an event's path, or None for what the rebuild never reads by name (the
        root itself, a hidden part, newsbot's own files beside an index kept in the folder)."""
        if path in self._own:
            return None
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        if relative == "." or relative == ".." or relative.startswith("../"):
            return None
        return relative if all(is_article_folder(part) for part in relative.split("/")) else None

    def _note(self, changes: set, root: str) -> tuple[bool, bool]:
        """Record the paths of a batch of events as pending; (folders came or went, the root itself was
        removed or moved)."""
        rearm = replaced = False
        for change, path in changes:
            if path == root:
                replaced = replaced or change == _DELETED  # deleted: removed, or moved away (another may come)
                continue
            relative = self._relative(path, root)
            if relative is None:
                continue
            pending = self._pending.setdefault(relative, _Pending())
            known = relative in self._folders
            pending.was_folder = pending.was_folder or known
            is_folder = article_entry(root, relative) == "folder"
            if is_folder and not known:
                self._folders.add(relative)
                self._folders.update(f"{relative}/{child}" for child in _folders_below(os.path.join(root, relative)))
                rearm = True
            elif known and not is_folder:
                below = relative + "/"
                self._folders = {f for f in self._folders if f != relative and not f.startswith(below)}
                rearm = True  # a folder moved away keeps its watch: events from there would look like ours
        return rearm, replaced

    # --- applying -------------------------------------------------------------------------
    def _stable(self, root: str | None = None) -> list[str]:
        """The pending paths that can be applied now: gone (or no longer an article), or folders and files
        that looked the same for `stable_seconds` (observed, so a file with a time in the future waits no
        longer than any other). Paths that never were articles are dropped. A path gone waits while another
        is settling, for up to twice `stable_seconds`, so that a file moved or renamed is removed and added in
        one transaction and its article is never missing from answers in between."""
        root = root or os.path.realpath(self.root)
        ready, gone, settling, now = [], [], False, time.monotonic()
        for relative, pending in list(self._pending.items()):
            kind = article_entry(root, relative)
            if kind is None:
                if pending.was_folder or is_article_name(relative.rsplit("/", 1)[-1]):
                    gone.append(relative)  # gone, or no longer read: remove what the index holds of it
                else:
                    del self._pending[relative]  # never an article (notes.md, a temporary file): nothing to do
                continue
            look = _look(os.path.join(root, relative), kind)
            if look is None:
                continue  # gone between two calls: the next look says so
            if look != pending.look:
                pending.look, pending.since = look, now
                settling = True
            elif now - pending.since >= self.stable_seconds:
                ready.append(relative)
            else:
                settling = True
        held = 2 * self.stable_seconds
        return ready + [g for g in gone if not settling or now - self._pending[g].noted >= held]

    def _apply_ready(self, root: str | None = None) -> None:
        if not self._pending or time.monotonic() < self._retry_at:
            return
        ready = self._stable(root)
        if ready:
            self.apply(ready)

    def apply(self, paths: list[str]) -> Batch | None:
        """Apply these relative paths now (one transaction); on failure they stay pending. No paths, no
        transaction: nothing is written."""
        if not paths:
            return None
        try:
            summary = rebuild(self.root, self.index_path, only=sorted(paths))
        except RebuildError as error:
            if not self._index_unusable():
                self._warn(f"Changes to {len(paths)} path(s) wait: {error}")
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
            if not self._index_unusable():
                self._warn(f"Reconciling {self.root} waits: {error}")
            self._last_reconcile -= self.reconcile_seconds - RETRY_SECONDS * 5
            return None
        batch = Batch([], summary, reconciliation=True)
        self._report(batch)
        return batch

    def _warn(self, message: str) -> None:
        """A warning once, not at every retry while it stays the same."""
        if message != self._last_warning:
            logger.warning("%s", message)
        self._last_warning = message

    def _report(self, batch: Batch) -> None:
        self._last_warning = ""
        s = batch.summary
        if s.added or s.updated or s.removed or not batch.reconciliation:
            logger.info("%s", batch.line())
        try:
            self.on_batch(batch)
        except Exception:  # noqa: BLE001 - a listener's failure must not stop the watching
            logger.exception("A listener of applied changes failed")
