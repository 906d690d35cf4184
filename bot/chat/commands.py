"""The one table of chat commands. It drives /help, Telegram's command menu and both faces' dispatch:
the console looks a line's command up here (`find`), Telegram registers one `CommandHandler` per row
that names it. A row with a `reply` is answered the same by every face; any other row is answered by
the handler each face keeps under the command's name. Adding a command: one row, one handler.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from bot.chat import replies
from index.search import Index

CONSOLE, TELEGRAM = "console", "telegram"
BOTH = frozenset({CONSOLE, TELEGRAM})


@dataclass(frozen=True)
class Command:
    name: str
    arguments: str
    description: str
    faces: frozenset[str] = BOTH
    admin: bool = False  # Telegram: only NEWSBOT_ADMIN_IDS may use it (help and the menu say so)
    aliases: tuple[str, ...] = ()  # further names it answers to, shown nowhere
    # The reply (Telegram HTML) from the index and the face, written once for every face; None: each face's
    # own handler for `name`.
    reply: Callable[[Index, str], str] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def summary(self) -> str:
        """What /help and the menu say it does."""
        return f"{self.description} (admins only)" if self.admin else self.description

    @property
    def refusal(self) -> str:
        """Telegram's reply to a user who is not an admin."""
        return f"Sorry, only the bot's admins can {self.description}."


COMMANDS = (
    Command("ask", "<question>", "ask a question (also in groups)"),
    Command("more", "", "the next passages for the last question (on Telegram: the More button)", frozenset({CONSOLE})),
    Command("follow", "<question>", "keep a question: I send what new articles say about it"),
    Command("following", "", "your standing questions, numbered"),
    Command("unfollow", "<number>", "stop following one of them"),
    Command("latest", "", "the newest articles", reply=lambda index, face: replies.latest_text(index)),
    Command("stats", "", "what the index holds", reply=lambda index, face: replies.stats_text(index)),
    Command(
        "start", "", "what this bot does, with example questions", reply=lambda index, face: replies.start_text(index)
    ),
    Command("help", "", "this list", reply=lambda index, face: help_text(face)),
    Command("reindex", "", "rebuild the index", frozenset({TELEGRAM}), admin=True),
    Command("quit", "", "leave the console (or Ctrl-D)", frozenset({CONSOLE}), aliases=("exit", "q")),
)


def for_face(face: str) -> list[Command]:
    return [c for c in COMMANDS if face in c.faces]


def names(face: str) -> set[str]:
    return {c.name for c in for_face(face)}


def find(name: str, face: str) -> Command | None:
    """The face's command called `name` (or one of its aliases), None when the face has no such command."""
    return next((c for c in for_face(face) if name in c.names), None)


def help_text(face: str) -> str:
    """The help message as Telegram HTML (the console shows it as plain text)."""
    lines = [
        "Ask me a question about the news articles I have read, and I will quote the sentences "
        "that answer it, with each article's title and date.",
        "",
        "<b>Commands</b>",
    ]
    for command in for_face(face):
        arguments = f" {html.escape(command.arguments)}" if command.arguments else ""
        lines.append(f"/{command.name}{arguments} — {html.escape(command.summary)}")
    lines += [
        "",
        "Tip: names, places and events work best, e.g. <i>When will the tram line open?</i>",
        "Dates: words like <i>this week</i>, <i>on Tuesday</i> or <i>in March 2025</i> in the question, or "
        "<code>--since 2025-06-01</code>, <code>--until 2025-06-30</code> and <code>--as-of 2025-07-01</code> "
        "(answer as if it were that day).",
    ]
    return "\n".join(lines)


def menu() -> list[tuple[str, str]]:
    """(command, description) pairs for Telegram's command menu."""
    return [(c.name, c.summary[:256]) for c in for_face(TELEGRAM)]
