"""Live news for one face: its standing questions, pushed from the index's change log, and (when the face
watches) the folder watcher that keeps the index current.

The pushes never depend on which process applied a change. Every rebuild, whoever runs it (this watcher,
another process's, `newsbot index rebuild` from cron, /reindex), records what it added, changed and removed
in the index's change log, in its own transaction. `Live.step` reads the log after the face's cursor, asks
the face's standing questions that can match the articles that hold those texts (follows.each_answer),
records each push as soon as it is worked out (so that it can be sent while the others are computed), and
moves the cursor past the changes once all are asked. A crash before that reads the changes again; the
passages already recorded for a chat are never recorded twice (`FollowStore.record`). The face's loop polls
about once a second (`POLL_SECONDS`: one read of the log's last sequence number), and at once after a
batch its own watcher applied.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings
from bot.ranking.answer import Ranking
from index.search import Index
from index.store import IndexUnavailable
from index.watch import Batch, FolderWatcher

from .follows import Cursor, FollowStore, Push, StateUnavailable, each_answer

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # how often a face's push loop looks at the index's change log
CHANGES_PER_STEP = 500  # changes read, and their articles asked about, per step


class Live:
    """Standing questions for one face (`face`: its cursor in the state file; `serves`: its chats), and the
    folder watcher when `watch`. `step()` finds and records what is new and returns the pushes to send; a
    face with `deliver` (the console) has them delivered by a thread of Live's own, a face without it (the
    Telegram bot) runs its own loop (bot/faces/telegram/follow.py: send_pushes)."""

    def __init__(
        self,
        settings: Settings,
        index: Index,
        articles_dir: Path,
        deliver: Callable[[list[Push]], None] | None = None,
        watch: bool | None = None,
        ranking: Ranking = Ranking(),
        serves: Callable[[int], bool] = lambda chat_id: True,
        face: str = "telegram",
    ):
        self.index = index
        self.serves = serves  # the chats this face delivers to (the console and Telegram share the state)
        self.face = face
        self.store = FollowStore(settings.state_for(index.path), settings.max_follows, settings.max_follows_total)
        self.deliver = deliver
        self.ranking = ranking
        self.on_change: Callable[[], None] = lambda: None  # a face's loop, woken when the watcher applied a batch
        self.on_recorded: Callable[[Push], None] = lambda push: None  # a face's sender, woken by each new push
        self._stopped = threading.Event()
        self._wake = threading.Event()
        self._step_lock = threading.Lock()
        self._pusher: threading.Thread | None = None
        watch = settings.watch if watch is None else watch
        self.watcher = (
            FolderWatcher(
                articles_dir,
                index.path,
                on_batch=self.on_batch,
                reconcile_seconds=settings.reconcile_minutes * 60,
                also_ignore=[self.store.path],
            )
            if watch
            else None
        )

    def start(self) -> Live:
        """Take the face's place in the change log (the first time: its end), then watch and push."""
        with self._step_lock:
            try:
                self._record_changes(read=False)
            except (StateUnavailable, IndexUnavailable):
                pass
        if self.watcher is not None:
            self.watcher.start()
        if self.deliver is not None:
            self._pusher = threading.Thread(target=self._push_loop, name="newsbot-pushes", daemon=True)
            self._pusher.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self.watcher is not None:
            self.watcher.stop()
        if self._pusher is not None:
            self._pusher.join(10)
        with self._step_lock:
            self.store.close()

    def on_batch(self, batch: Batch) -> None:
        """The watcher applied a batch: look at the change log now rather than at the next poll."""
        self._wake.set()
        self.on_change()

    def wait(self, seconds: float = POLL_SECONDS) -> None:
        """Until the next poll, or until woken by a batch or by stop()."""
        self._wake.wait(seconds)
        self._wake.clear()

    def step(self, send: bool = True, each: Callable[[Push], None] | None = None) -> list[Push]:
        """Record the pushes of the changes after this face's cursor (at most CHANGES_PER_STEP of them), each
        handed to `each` (default `on_recorded`) as soon as it is recorded, then move the cursor past them;
        return every pending push of the face's chats, oldest first (`send` False: none). A cursor of another
        index (built anew, or replaced by another file) moves to the new index's end: what that index holds
        is not news."""
        with self._step_lock:
            if self._stopped.is_set():
                return []
            try:
                self._record_changes(each=each or self.on_recorded)
            except (StateUnavailable, IndexUnavailable):
                pass  # the state file or the index failed just now: what is recorded is still sent
            return self.store.pending(self.serves) if send else []

    def _record_changes(self, read: bool = True, each: Callable[[Push], None] = lambda push: None) -> None:
        """What `step` records; with `read` False only the cursor's move to a new index's end (or the first
        place of the face), so that a start never waits for the questions a backlog of changes asks."""
        since = self.store.cursor(self.face)
        try:
            with self.index.snapshot() as snap:
                here = Cursor(self.face, snap.meta.index_id, snap.last_change())
                if since is None or since.index_id != here.index_id or since.seq > here.seq:
                    if self.store.record([], since, here) is not None and since is not None:
                        logger.info(
                            "%s is another index than before (built anew or replaced); standing questions "
                            "follow its changes from now on: what it holds already is not news",
                            self.index.path,
                        )
                    return
                if since.seq == here.seq or not read:
                    return
                changes = snap.changes_after(since.seq, CHANGES_PER_STEP)
                if not changes:
                    return
                texts = [change.content_hash for change in changes if change.kind != "removed"]
                ids = sorted(set(snap.articles_with_content(texts).values())) if texts else []
        except IndexUnavailable:
            return  # missing or damaged now: the cursor waits (the face says so to whoever asks a question)
        if changes[0].seq > since.seq + 1:
            logger.warning(
                "%d change(s) of the index were trimmed from its log before standing questions read them",
                changes[0].seq - since.seq - 1,
            )
        follows = [f for f in self.store.active() if self.serves(f.chat_id)]
        recorded = 0
        for push in each_answer(self.index, ids, follows, self.ranking) if ids and follows else ():
            for new in self.store.record([push]) or []:  # at once, to be sent while the rest is computed
                recorded += 1
                each(new)
        self.store.record([], since, Cursor(self.face, here.index_id, changes[-1].seq))
        if recorded:
            logger.info("%d standing question(s) answered by %d changed article(s)", recorded, len(ids))

    def push_now(self) -> int:
        """One step, each push delivered through `deliver` (the console's printer) as soon as it is recorded,
        then whatever else was pending; how many were delivered."""
        delivered = [0]

        def deliver(push: Push) -> None:
            delivered[0] += self._deliver(push)

        for push in self.step(each=deliver):
            deliver(push)
        return delivered[0]

    def _deliver(self, push: Push) -> int:
        if not self.store.begin(push.push_id):
            return 0  # delivered already, or dropped
        try:
            self.deliver([push])
        except Exception as error:  # noqa: BLE001 - recorded as begun: not repeated (at most once)
            self.store.finish(push.push_id, "unknown", str(error)[:300])
            logger.exception("A standing question's passages could not be shown")
            return 0
        self.store.finish(push.push_id, "sent")
        return 1

    def _push_loop(self) -> None:
        try:
            self.store.interrupted(self.serves)
        except StateUnavailable:
            pass
        while not self._stopped.is_set():
            try:
                if self.push_now():
                    continue
            except Exception:  # noqa: BLE001 - say so and keep following
                logger.exception("Standing questions could not be read from the index's changes; trying again")
            self.wait()
