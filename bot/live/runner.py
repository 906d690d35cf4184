"""Live news for one face: the folder watcher, and the standing questions it answers as articles land."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings
from bot.ranking.answer import Ranking
from index.search import Index
from index.watch import Batch, FolderWatcher

from .follows import FollowStore, Push, new_answers

logger = logging.getLogger(__name__)


class Live:
    """Watches the articles folder (when `watch`) and, after every applied batch, asks each standing
    question of the new and changed articles; `deliver` gets what answers them (in the watcher's thread)."""

    def __init__(
        self,
        settings: Settings,
        index: Index,
        articles_dir: Path,
        deliver: Callable[[list[Push]], None] = lambda pushes: None,
        watch: bool | None = None,
        ranking: Ranking = Ranking(),
        serves: Callable[[int], bool] = lambda chat_id: True,
    ):
        self.index = index
        self.serves = serves  # the chats this face delivers to (the console and Telegram share the state)
        self.store = FollowStore(settings.state_for(index.path), settings.max_follows)
        self.deliver = deliver
        self.ranking = ranking
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
        if self.watcher is not None:
            self.watcher.start()
        return self

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.store.close()

    def on_batch(self, batch: Batch) -> None:
        """Standing questions against the articles this batch added or changed."""
        ids = batch.summary.new_article_ids
        if not ids:
            return
        follows = [f for f in self.store.active() if self.serves(f.chat_id)]
        if not follows:
            return
        pushes = new_answers(self.index, self.store, ids, self.ranking, follows=follows)
        if pushes:
            logger.info("%d standing question(s) answered by %d new article(s)", len(pushes), len(ids))
            self.deliver(pushes)
