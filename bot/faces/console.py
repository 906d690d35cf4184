"""The console: the Telegram conversation, in a terminal, as plain text.

While it waits for a line it watches the articles folder (NEWSBOT_WATCH) and prints what new
articles say about the console's standing questions (/follow), as Telegram would send them: from
the index's change log, whoever applied the change (this console, `newsbot run`, a cron rebuild).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass

import click

from bot.chat import commands, render, replies
from bot.config import data_dir
from bot.live.follows import CONSOLE_CHAT, FollowStore, Push
from index.search import Index
from index.store import IndexUnavailable

from .follow_replies import NOT_KEPT, follow_reply, following_reply, unfollow_reply

MORE_HINT = "(/more for more passages)"


def _history():
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return None
    path = data_dir() / "console_history"
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)
    return readline, path


def width() -> int:
    return max(40, min(shutil.get_terminal_size((100, 24)).columns, 120))


def plain(text_html: str, columns: int | None = None) -> str:
    """A reply written as Telegram HTML, as the console shows it."""
    text = render.to_plain(text_html)
    if not columns:
        return text
    import textwrap

    return "\n".join(
        wrapped
        for line in text.splitlines()
        for wrapped in (textwrap.wrap(line, columns, subsequent_indent="  ") or [""])
    )


class Quit(Exception):
    """/quit (or /exit, /q): leave the console."""


@dataclass
class Turn:
    """One line typed at the console, with what its handler may need."""

    index: Index
    rest: str  # the line after its command
    state: dict  # the last question and its offset, for /more
    top: int
    columns: int | None
    store: FollowStore | None  # the standing questions, None when they are not kept


def reply(
    index: Index, text: str, state: dict, top: int, columns: int | None = None, store: FollowStore | None = None
) -> str:
    """The console's reply to one line: the Telegram reply, as plain text (`store`: the standing
    questions, None when they are not kept). A command is looked up in the table (`commands.find`)."""
    text = text.strip()
    word, _, rest = text.partition(" ")
    turn = Turn(index, rest, state, top, columns, store)
    if not word.startswith("/"):
        turn.rest = text
        return _ask(turn)
    command = commands.find(word[1:].lower(), commands.CONSOLE)
    if command is None:
        return f"Unknown command {word.lower()}. Send /help for the list."
    if command.reply is not None:
        return plain(command.reply(index, commands.CONSOLE), columns)
    return HANDLERS[command.name](turn)


def _ask(turn: Turn) -> str:
    if not turn.rest.strip():
        return replies.ASK_HINT
    turn.state.update(question=turn.rest, offset=0)
    return _answer_text(turn.index, turn.state, turn.top, turn.columns)


def _more(turn: Turn) -> str:
    if not turn.state.get("question"):
        return "Ask a question first."
    turn.state["offset"] += turn.top
    return _answer_text(turn.index, turn.state, turn.top, turn.columns)


def _follow(turn: Turn) -> str:
    if turn.store is None:
        return NOT_KEPT
    return plain(follow_reply(turn.store, turn.index, CONSOLE_CHAT, CONSOLE_CHAT, turn.rest)[0], turn.columns)


def _following(turn: Turn) -> str:
    if turn.store is None:
        return NOT_KEPT
    return plain(following_reply(turn.store, CONSOLE_CHAT), turn.columns)


def _unfollow(turn: Turn) -> str:
    if turn.store is None:
        return NOT_KEPT
    return plain(unfollow_reply(turn.store, CONSOLE_CHAT, turn.rest), turn.columns)


def _quit(turn: Turn) -> str:
    raise Quit


# The console's handler for each command of the table without a face-neutral `reply`.
HANDLERS: dict[str, Callable[[Turn], str]] = {
    "ask": _ask,
    "more": _more,
    "follow": _follow,
    "following": _following,
    "unfollow": _unfollow,
    "quit": _quit,
}


def _answer_text(index: Index, state: dict, top: int, columns: int | None) -> str:
    try:
        result = replies.page(index, state["question"], state["offset"], top)
    except replies.RequestError as error:
        return str(error)
    if not result.passages and state["offset"]:
        return replies.NO_MORE
    text = render.plain_text(result, columns)
    return f"{text}\n{MORE_HINT}" if result.more else text


class Printer:
    """Prints pushes from the push loop's thread (bot/live/runner.py) between the console's own lines."""

    def __init__(self):
        self._lock = threading.Lock()

    def __call__(self, pushes: list[Push]) -> None:
        with self._lock:
            for push in pushes:
                click.echo("\n" + render.printable(render.push_text(push, width())))
            click.echo("\n> ", nl=False)


def run_console(index: Index, top: int, note: str = "", store: FollowStore | None = None) -> None:
    """Read questions until /quit or end of input."""
    history = _history()
    click.echo("newsbot console — ask about the articles; /help for commands, /quit or Ctrl-D to leave.")
    if note:
        click.echo(render.printable(note))
    state: dict = {"question": "", "offset": 0}
    try:
        while True:
            try:
                line = input("\n> ")
            except KeyboardInterrupt:
                click.echo("")
                continue
            except EOFError:
                click.echo("")
                break
            if not line.strip():
                continue
            try:
                click.echo(render.printable(reply(index, line, state, top, width(), store)))
            except Quit:
                break
            except IndexUnavailable as error:
                click.echo(render.printable(f"Error: {error}"))
    finally:
        if history:
            readline, path = history
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(path)
            except OSError:
                pass
