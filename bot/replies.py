"""Replies to commands (/start, /help, /stats, /latest), shared by every face.

Each is written once as Telegram HTML; `to_plain` turns it into the console's text.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from dataclasses import dataclass

from index.search import Index

HELP = (
    "Ask me a question about the news articles I have read, and I will quote the sentences "
    "that answer it, with each article's title and date.\n\n"
    "<b>Commands</b>\n"
    "/ask &lt;question&gt; — ask (also works in groups)\n"
    "/latest — the newest articles\n"
    "/stats — what the index holds\n"
    "/help — this message\n\n"
    "Tip: names, places and events work best, e.g. <i>When will the tram line open?</i>\n"
    "Dates: add <code>--since 2025-06-01</code>, <code>--until 2025-06-30</code> or "
    "<code>--as-of 2025-07-01</code> (answer as if it were that day) to a question."
)

# "--since 2025-06-01" or "--since=2025-06-01"; phones turn "--" into a dash, so that counts too.
_DATE_OPTION = re.compile(r"(?:^|\s)(?:--|—|–)(since|until|as[-_]of)(?:=|\s+)(\S*)", re.IGNORECASE)


@dataclass(frozen=True)
class Request:
    """A question as typed, split into the question and its date options."""

    question: str
    since: str | None = None
    until: str | None = None
    as_of: str | None = None


class RequestError(ValueError):
    """The date options cannot be used; the message is a reply for the user."""


def parse_request(text: str) -> Request:
    """Take `--since`, `--until` and `--as-of` (dates as YYYY-MM-DD) out of a question."""
    dates: dict[str, str] = {}
    for match in _DATE_OPTION.finditer(text):
        name, value = match.group(1).lower().replace("-", "_"), match.group(2)
        try:
            dates[name] = dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise RequestError(f"--{name.replace('_', '-')} needs a date like 2025-06-01, not {value!r}.") from None
    question = " ".join(_DATE_OPTION.sub(" ", text).split())
    if dates.get("since") and dates.get("until") and dates["since"] > dates["until"]:
        raise RequestError("--since is after --until, so no article can match.")
    return Request(question, dates.get("since"), dates.get("until"), dates.get("as_of"))


def to_plain(text: str) -> str:
    """Telegram HTML to plain text."""
    return html.unescape(re.sub(r"</?(?:b|i|u|s|code|pre|a|blockquote)\b[^>]*>", "", text))


def _title_question(title: str) -> str:
    words = title.split()
    return "What happened: " + " ".join(words[:7]) + ("…" if len(words) > 7 else "") + "?"


def start_text(index: Index) -> str:
    """Greeting with three example questions drawn from the newest articles."""
    with index.snapshot() as snap:
        titles = [r["title"] for r in snap.rows("select title from articles order by date desc, id limit 3")]
    lines = ["Hello! I answer questions by quoting the news articles I have read, with their dates."]
    if titles:
        lines.append("\nTry asking:")
        lines += [f"• {html.escape(_title_question(t), quote=False)}" for t in titles]
    lines.append("\nSend /help for commands.")
    return "\n".join(lines)


def stats_text(index: Index) -> str:
    with index.snapshot() as snap:
        meta = snap.meta
    size = os.path.getsize(index.path) / 2**20
    return "\n".join([
        "<b>Index</b>",
        f"Articles: {int(meta.get('articles', 0)):,}",
        f"Sentences: {int(meta.get('sentences', 0)):,}",
        f"Dates: {meta.get('first_date') or '—'} to {meta.get('last_date') or '—'}",
        f"Language: {meta.get('language', '')}",
        f"Distinct terms: {int(meta.get('vocabulary', 0)):,}",
        f"Size on disk: {size:.1f} MB",
        f"Built: {meta.get('built_at', '')}",
    ])


def latest_text(index: Index, count: int = 5) -> str:
    with index.snapshot() as snap:
        rows = snap.rows("select date, title from articles order by date desc, id desc limit ?", [count])
    if not rows:
        return "The index holds no articles yet."
    lines = ["<b>Newest articles</b>"]
    lines += [f"{r['date']} — {html.escape(r['title'], quote=False)}" for r in rows]
    return "\n".join(lines)
