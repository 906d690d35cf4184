"""What the Telegram handlers share, kept in `application.bot_data["state"]`: the typed bot state
and the "More" pages it may serve, and the handlers' `context` type that hands it out (`context.state`,
through PTB's `ContextTypes`).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.config import Settings
from bot.live.runner import Live
from index.search import Index

MAX_PAGES_KEPT = 5000
SLOW_DOWN = "You're asking faster than I can read. Please wait a minute and ask again."


@dataclass
class Page:
    """A question whose further passages a "More" button can fetch: only at the offsets the bot put on
    its buttons (a forged offset would make the bot search far down the ranking)."""

    question: str
    issued: set[int] = field(default_factory=set)
    served: set[int] = field(default_factory=set)


@dataclass
class BotState:
    """Everything the handlers share, kept in `application.bot_data["state"]`."""

    settings: Settings
    index: Index
    articles_dir: Path | None  # None: the index names a folder the bot may not follow (no /reindex)
    pages: OrderedDict[str, Page] = field(default_factory=OrderedDict)
    asked: dict[int, deque] = field(default_factory=dict)
    refused_chats: set[int] = field(default_factory=set)
    warned: dict[int, float] = field(default_factory=dict)  # user -> when they were last told to slow down
    rebuild_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    exit_code: int = 0
    live: Live | None = None  # the folder watcher and the standing questions
    background: list = field(default_factory=list)  # tasks started in post_init, stopped in post_stop

    def should_warn(self, user_id: int) -> bool:
        """One "slow down" per user per minute; further messages over the limit get no reply at all."""
        now = time.monotonic()
        if now - self.warned.get(user_id, -1e9) < 60:
            return False
        self.warned[user_id] = now
        if len(self.warned) > MAX_PAGES_KEPT:
            self.warned = {u: t for u, t in self.warned.items() if now - t < 60}
        return True

    def allow_question(self, user_id: int) -> bool:
        """Per-user limit of questions per minute, checked before any search."""
        now = time.monotonic()
        times = self.asked.setdefault(user_id, deque())
        while times and now - times[0] > 60:
            times.popleft()
        if len(times) >= self.settings.questions_per_minute:
            return False
        times.append(now)
        return True

    def remember(self, question: str) -> str:
        key = secrets.token_hex(4)
        self.pages[key] = Page(question)
        while len(self.pages) > MAX_PAGES_KEPT:
            self.pages.popitem(last=False)
        return key


class BotContext(CallbackContext[ExtBot[None], dict, dict, dict]):
    """The `context` of every handler, job and error handler (`CONTEXT_TYPES`): `context.state` is the
    typed state. (`ContextTypes(bot_data=BotState)` would need a BotState made with no arguments.)"""

    @property
    def state(self) -> BotState:
        return self.bot_data["state"]


CONTEXT_TYPES = ContextTypes(context=BotContext)


def state_of(context: BotContext) -> BotState:
    return context.state
