"""Run the real PTB Application against the fake Bot API server, in a background thread."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from contextlib import contextmanager
from pathlib import Path

from bot.config import Settings
from bot.faces.telegram.app import build_application
from index.search import Index

from .fake_bot_api import FakeBotApi


@contextmanager
def running_bot(index_path: Path, articles_dir: Path, **settings_changes):
    """Yield (fake server, application) while the bot long-polls the fake server (not watching the
    folder unless watch=True is given)."""
    fake = FakeBotApi().start()
    settings_changes.setdefault("watch", False)
    settings = Settings(
        articles_dir=articles_dir,
        index_path=index_path,
        telegram_token=fake.token,
        telegram_api_base_url=fake.base_url,
        **settings_changes,
    )
    application = build_application(settings, Index(index_path), articles_dir)
    loop = asyncio.new_event_loop()
    started, stop = threading.Event(), None
    failure: list[BaseException] = []

    async def main():
        nonlocal stop
        stop = asyncio.Event()
        async with application:
            await application.post_init(application)
            await application.start()
            await application.updater.start_polling(poll_interval=0, timeout=1)
            started.set()
            await stop.wait()
            await application.updater.stop()
            await application.stop()
            await application.post_stop(application)

    def target():
        try:
            loop.run_until_complete(main())
        except BaseException as error:  # surfaced to the test below
            failure.append(error)
            started.set()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    assert started.wait(15), "bot did not start"
    if failure:
        raise failure[0]
    try:
        yield fake, application
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        fake.stop()
        loop.close()
    if failure:
        raise failure[0]


def replace_settings(application, **changes) -> None:
    state = application.bot_data["state"]
    state.settings = dataclasses.replace(state.settings, **changes)
