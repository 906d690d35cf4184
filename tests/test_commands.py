"""The one table of commands (bot/chat/commands.py) drives both faces' dispatch: every row is answered
by each face it names, and a command that is not a face's row is not dispatched there."""

from __future__ import annotations

import pytest
from telegram.ext import CommandHandler

from bench.telegram_harness import running_bot
from bot.chat import commands
from bot.chat.commands import COMMANDS, CONSOLE, TELEGRAM
from bot.config import Settings
from bot.faces import console
from bot.faces.telegram import app as tg_app
from bot.live.follows import FollowStore

NOT_IN_TABLE = "nope"


def command_handlers(application) -> dict[str, CommandHandler]:
    return {
        name: handler
        for handlers in application.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    }


def sent_to(fake, chat_id: int, count: int) -> list[dict]:
    """The messages sent to the chat, once there are `count` of them."""
    return fake.wait_for(lambda calls: len(got := fake.sent_to(chat_id)) >= count and got)


def test_each_face_keeps_a_handler_for_exactly_its_rows_without_a_shared_reply():
    for face, handlers in ((CONSOLE, console.HANDLERS), (TELEGRAM, tg_app.HANDLERS)):
        assert set(handlers) == {c.name for c in commands.for_face(face) if c.reply is None}, face


def test_console_answers_every_row_it_names_and_nothing_else(index, tmp_path):
    store = FollowStore(tmp_path / "state.db")
    state = {"question": "", "offset": 0}
    for command in commands.for_face(CONSOLE):
        for name in command.names:
            line = f"/{name.upper()} tram line" if command.arguments else f"/{name}"
            if command.name == "quit":
                with pytest.raises(console.Quit):
                    console.reply(index, line, state, 1, store=store)
                continue
            text = console.reply(index, line, state, 1, store=store)
            assert text and not text.startswith("Unknown command"), (name, text)
    assert console.reply(index, "/help", state, 1) == console.plain(commands.help_text(CONSOLE))
    for name in [NOT_IN_TABLE] + [c.name for c in COMMANDS if CONSOLE not in c.faces]:
        assert (
            console.reply(index, f"/{name}", state, 1, store=store)
            == f"Unknown command /{name}. Send /help for the list."
        )


def test_telegram_registers_one_handler_per_row_it_names(index, articles_dir):
    settings = Settings(articles_dir=articles_dir, index_path=index.path, telegram_token="123:abc", watch=False)
    handlers = command_handlers(tg_app.build_application(settings, index, articles_dir))
    table = {name for c in commands.for_face(TELEGRAM) for name in c.names}
    assert set(handlers) == table
    assert NOT_IN_TABLE not in handlers and not {"more", "quit"} & set(handlers)


def test_telegram_answers_every_row_it_names_and_nothing_else(index_path, articles_dir):
    user = 23
    with running_bot(index_path, articles_dir) as (fake, app):
        sent = [f"/{c.name} tram line" if c.arguments else f"/{c.name}" for c in commands.for_face(TELEGRAM)]
        sent += [f"/{c.name}" for c in COMMANDS if TELEGRAM not in c.faces] + [f"/{NOT_IN_TABLE}"]
        for number, text in enumerate(sent, start=1):
            fake.send_text(text, user_id=user)
            replies = sent_to(fake, user, number)
            if text == "/reindex":  # not an admin: refused, as the table's row says
                assert replies[-1]["text"] == "Sorry, only the bot's admins can rebuild the index."
        answered = {text: reply["text"] for text, reply in zip(sent, replies)}
        for text, reply in answered.items():
            known = commands.find(text[1:].split()[0], TELEGRAM) is not None
            assert ("don't know that command" in reply) != known, (text, reply)
