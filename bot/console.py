"""The console: the Telegram conversation, in a terminal, as plain text."""

from __future__ import annotations

import click

from index.search import Index
from index.store import IndexUnavailable

from . import render, replies
from .answer import answer
from .config import data_dir

MORE_HINT = "(/more for more passages)"
CONSOLE_HELP = replies.HELP + "\n/more — the next passages for the last question\n/quit — leave (or Ctrl-D)"


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


def reply(index: Index, text: str, state: dict, top: int) -> str:
    """The console's reply to one line: exactly the Telegram reply, as plain text."""
    text = text.strip()
    command, _, rest = text.partition(" ")
    command = command.lower()
    if command in ("/help", "/start"):
        return replies.to_plain(replies.start_text(index) if command == "/start" else CONSOLE_HELP)
    if command == "/stats":
        return replies.to_plain(replies.stats_text(index))
    if command == "/latest":
        return replies.to_plain(replies.latest_text(index))
    if command == "/more":
        if not state.get("question"):
            return "Ask a question first."
        state["offset"] += top
        return _answer_text(index, state, top)
    if command == "/ask":
        text = rest
    elif command.startswith("/"):
        return f"Unknown command {command}. " + "Send /help for the list."
    if not text.strip():
        return "Ask me a question, for example: /ask When will the tram line open?"
    state.update(question=text, offset=0)
    return _answer_text(index, state, top)


def _answer_text(index: Index, state: dict, top: int) -> str:
    try:
        request = replies.parse_request(state["question"])
    except replies.RequestError as error:
        return str(error)
    result = answer(index, request.question, top=top, offset=state["offset"], since=request.since,
                    until=request.until, as_of=request.as_of)
    if not result.passages and state["offset"]:
        return "No more passages for that question."
    text = render.plain_text(result)
    return f"{text}\n{MORE_HINT}" if result.more else text


def run_console(index: Index, top: int) -> None:
    """Read questions until /quit or end of input."""
    history = _history()
    click.echo("newsbot console — ask about the articles; /help for commands, /quit or Ctrl-D to leave.")
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
            if line.strip().lower() in ("/quit", "/exit", "/q"):
                break
            if not line.strip():
                continue
            try:
                click.echo(reply(index, line, state, top))
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
