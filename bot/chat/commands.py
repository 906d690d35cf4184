"""The one table of chat commands: the console's /help, Telegram's /help and its command menu."""

from __future__ import annotations

import html
from dataclasses import dataclass

CONSOLE, TELEGRAM = "console", "telegram"
BOTH = frozenset({CONSOLE, TELEGRAM})


@dataclass(frozen=True)
class Command:
    name: str
    arguments: str
    description: str
    faces: frozenset[str] = BOTH
    admin: bool = False


COMMANDS = (
    Command("ask", "<question>", "ask a question (also in groups)"),
    Command("more", "", "the next passages for the last question (on Telegram: the More button)",
            frozenset({CONSOLE})),
    Command("follow", "<question>", "keep a question: I send what new articles say about it"),
    Command("following", "", "your standing questions, numbered"),
    Command("unfollow", "<number>", "stop following one of them"),
    Command("latest", "", "the newest articles"),
    Command("stats", "", "what the index holds"),
    Command("start", "", "what this bot does, with example questions"),
    Command("help", "", "this list"),
    Command("reindex", "", "rebuild the index (admins only)", frozenset({TELEGRAM}), admin=True),
    Command("quit", "", "leave the console (or Ctrl-D)", frozenset({CONSOLE})),
)


def for_face(face: str) -> list[Command]:
    return [c for c in COMMANDS if face in c.faces]


def names(face: str) -> set[str]:
    return {c.name for c in for_face(face)}


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
        lines.append(f"/{command.name}{arguments} — {html.escape(command.description)}")
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
    return [(c.name, c.description[:256]) for c in for_face(TELEGRAM)]
