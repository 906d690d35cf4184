"""newsbot: answer questions about a folder of news articles by quoting the sentences that answer them.

Rooms, dependencies pointing one way (checked by import-linter): faces (`bot.faces`: the CLI, the
console, Telegram) → chat (`bot.chat`: requests, replies, the command table, rendering) → ranking
(`bot.ranking`: `answer()`, features, the fitted model) → `index`; live (`bot.live`: standing
questions) → ranking. `bot.config` and `bot.logsafe` are plumbing every room may use.

    >>> from bot import answer
    >>> from index import Index
    >>> answer(Index("news.db"), "When will the tram line open?").passages[0].quote   # doctest: +SKIP

Names are imported on first use, so that `newsbot` starts quickly and Ctrl-C while it loads is one line.
"""

from importlib import import_module

_HOME = {
    "Answer": "bot.ranking.answer",
    "Passage": "bot.ranking.answer",
    "Ranking": "bot.ranking.answer",
    "answer": "bot.ranking.answer",
    "EvalReport": "bot.ranking.evaluate",
    "evaluate": "bot.ranking.evaluate",
    "TimeFrame": "bot.ranking.timeframe",
    "read_timeframe": "bot.ranking.timeframe",
    "COMMANDS": "bot.chat.commands",
    "FollowStore": "bot.live.follows",
    "Push": "bot.live.follows",
    "new_answers": "bot.live.follows",
    "Settings": "bot.config",
    "load_settings": "bot.config",
    "cli": "bot.faces.cli",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
