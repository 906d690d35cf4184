"""Replies to commands (/start, /help, /stats, /latest), shared by every face.

Each is written once as Telegram HTML; `to_plain` turns it into the console's text.
"""

from __future__ import annotations

import html
import os
import re

from index.search import Index

HELP = (
    "Ask me a question about the news articles I have read, and I will quote the sentences "
    "that answer it, with each article's title and date.\n\n"
    "<b>Commands</b>\n"
    "/ask &lt;question&gt; — ask (also works in groups)\n"
    "/latest — the newest articles\n"
    "/stats — what the index holds\n"
    "/help — this message\n\n"
    "Tip: names, places and events work best, e.g. <i>When will the tram line open?</i>"
)


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
