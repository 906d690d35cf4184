"""The console: the Telegram conversation, in a terminal, as plain text.

While it waits for a line it watches the articles folder (NEWSBOT_WATCH) and prints what new
articles say about the console's standing questions (/follow), as Telegram would send them.
"""

from __future__ import annotations

import shutil
import threading

import click

from index.search import Index
from index.store import IndexUnavailable

from bot.chat import commands, render, replies
from bot.config import data_dir
from bot.live.follows import CONSOLE_CHAT, FollowStore, Push
from .follow_replies import NOT_KEPT, follow_reply, following_reply, unfollow_reply

MORE_HINT = "(/more for more passages)"
QUIT = {"/quit", "/exit", "/q"}


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
    text = replies.to_plain(text_html)
    if not columns:
        return text
    import textwrap

    return "\n".join(wrapped for line in text.splitlines()
                     for wrapped in (textwrap.wrap(line, columns, subsequent_indent="  ") or [""]))


def reply(index: Index, text: str, state: dict, top: int, columns: int | None = None,
          store: FollowStore | None = None) -> str:
    """The console's reply to one line: the Telegram reply, as plain text (`store`: the standing
    questions, None when they are not kept)."""
    text = text.strip()
    command, _, rest = text.partition(" ")
    command = command.lower()
    known = commands.names(commands.CONSOLE)
    if command == "/help":
        return plain(commands.help_text(commands.CONSOLE), columns)
    if command == "/start":
        return plain(replies.start_text(index), columns)
    if command == "/stats":
        return plain(replies.stats_text(index), columns)
    if command == "/latest":
        return plain(replies.latest_text(index), columns)
    if command in ("/follow", "/following", "/unfollow"):
        if store is None:
            return NOT_KEPT
        if command == "/follow":
            return plain(follow_reply(store, CONSOLE_CHAT, CONSOLE_CHAT, rest)[0], columns)
        if command == "/following":
            return plain(following_reply(store, CONSOLE_CHAT), columns)
        return plain(unfollow_reply(store, CONSOLE_CHAT, rest), columns)
    if command == "/more":
        if not state.get("question"):
            return "Ask a question first."
        state["offset"] += top
        return _answer_text(index, state, top, columns)
    if command == "/ask":
        text = rest
    elif command.startswith("/") and command[1:] not in known:
        return f"Unknown command {command}. Send /help for the list."
    if not text.strip():
        return "Ask me a question, for example: /ask When will the tram line open?"
    state.update(question=text, offset=0)
    return _answer_text(index, state, top, columns)


def _answer_text(index: Index, state: dict, top: int, columns: int | None) -> str:
    try:
        result = replies.page(index, state["question"], state["offset"], top)
    except replies.RequestError as error:
        return str(error)
    if not result.passages and state["offset"]:
        return "No more passages for that question."
    text = render.plain_text(result, columns)
    return f"{text}\n{MORE_HINT}" if result.more else text


class Printer:
    """Prints pushes from the watcher's thread between the console's own lines."""

    def __init__(self):
        self._lock = threading.Lock()

    def __call__(self, pushes: list[Push]) -> None:
        with self._lock:
            for push in pushes:
                click.echo("\n" + render.push_text(push, width()))
            click.echo("\n> ", nl=False)


def run_console(index: Index, top: int, note: str = "", store: FollowStore | None = None) -> None:
    """Read questions until /quit or end of input."""
    history = _history()
    click.echo("newsbot console — ask about the articles; /help for commands, /quit or Ctrl-D to leave.")
    if note:
        click.echo(note)
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
            if line.strip().lower().split(" ", 1)[0] in QUIT:
                break
            if not line.strip():
                continue
            try:
                click.echo(reply(index, line, state, top, width(), store))
            except IndexUnavailable as error:
                click.echo(f"Error: {error}")
    finally:
        if history:
            readline, path = history
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(path)
            except OSError:
                pass
