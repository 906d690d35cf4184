"""Replies shared by every face: questions with their date options, /start, /stats, /latest, paging,
the rebuild's summary.

Each reply is written once as Telegram HTML; `render.to_plain` turns it into the console's text.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.chat.render import NO_WORDS_TEXT
from bot.chat.render import shorten as _cut  # latest_text's name for the one cut
from bot.ranking.answer import Answer, answer, question_terms
from index.search import Index, IndexMeta
from index.stopwords import BY_LANGUAGE

if TYPE_CHECKING:
    from index.rebuild import RebuildSummary

EXAMPLES_TRIED = 12
EXAMPLES_SHOWN = 3
MAX_ECHO = 40  # characters of a user's bad input quoted back

ASK_HINT = "Ask me a question, for example: /ask When will the tram line open?"
NO_MORE = "No more passages for that question."

# "--since 2025-06-01" or "--since=2025-06-01"; phones turn "--" into a dash, so that counts too.
_DATE_OPTION = re.compile(r"(?:^|\s)(?:--|—|–)(since|until|as[-_]of)(?:=|\s+)(\S*)", re.IGNORECASE)
# The same options' names, with or without a date after them: what a standing question refuses.
_DATE_OPTION_NAME = re.compile(r"(?:^|\s)(?:--|—|–)(?:since|until|as[-_]of)(?![\w-])", re.IGNORECASE)
FOLLOW_NO_DATES = (
    "A standing question takes no dates (--since, --until, --as-of): it follows new articles as they arrive."
)


@dataclass(frozen=True)
class Request:
    """A question as typed, split into the question and its date options."""

    question: str
    since: str | None = None
    until: str | None = None
    as_of: str | None = None


class RequestError(ValueError):
    """The date options cannot be used; the message is a reply for the user."""


def echo(value: str) -> str:
    """A user's input, shortened for quoting back in a message."""
    return value if len(value) <= MAX_ECHO else value[: MAX_ECHO - 1] + "…"


def read_date(value: str) -> str:
    """An ISO date, or RequestError saying whether it is malformed or impossible."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise RequestError(f"{value} is an impossible date.") from None
    raise RequestError(f"{echo(value)!r} is not a date like 2025-06-26.")


def check_dates(since: str | None, until: str | None) -> None:
    if since and until and since > until:
        raise RequestError(f"--since {since} is after --until {until}, so no article can match.")


def parse_request(text: str) -> Request:
    """Take `--since`, `--until` and `--as-of` (dates as YYYY-MM-DD) out of a question."""
    dates: dict[str, str] = {}
    for match in _DATE_OPTION.finditer(text):
        name, value = match.group(1).lower().replace("-", "_"), match.group(2)
        try:
            dates[name] = read_date(value)
        except RequestError as error:
            raise RequestError(f"--{name.replace('_', '-')}: {error}") from None
    question = " ".join(_DATE_OPTION.sub(" ", text).split())
    check_dates(dates.get("since"), dates.get("until"))
    return Request(question, dates.get("since"), dates.get("until"), dates.get("as_of"))


def follow_refusal(index: Index, text: str) -> str | None:
    """Why a question cannot be kept as a standing question (the reply, HTML), or None when it can. It is read
    as a question is: date options are refused, since a standing question is asked of each new article as it
    arrives, and so is a question with no words to search for, which no article could ever answer."""
    if _DATE_OPTION_NAME.search(text):
        alone = " ".join(_DATE_OPTION_NAME.sub(" ", _DATE_OPTION.sub(" ", text)).split())
        example = f"/follow {html.escape(echo(alone), quote=False)} instead" if alone else "the question alone"
        return f"{FOLLOW_NO_DATES} Send {example}."
    if text.strip():
        with index.snapshot() as snap:
            if not question_terms(snap, text):
                return NO_WORDS_TEXT
    return None


def page(index: Index, text: str, offset: int, top: int) -> Answer:
    """The passages of a question (with its date options) from `offset` on: an answer and every "More"."""
    request = parse_request(text)
    return answer(
        index, request.question, top=top, offset=offset, since=request.since, until=request.until, as_of=request.as_of
    )


EXAMPLE_WORDS = 6  # a longer headline is cut to a phrase of at most this many words
# Where a long headline's subject ends: "Florida Gov. Ron DeSantis' laws | keep getting blocked".
_VERBISH = frozenset(
    "is are was were be been will would can could may might must shall should has have had "
    "do does did keep keeps kept get gets got getting say says said to".split()
)
# Words whose full stop does not end a sentence ("Gov. Ron DeSantis"); a phrase never ends on one.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st gov sen rep gen lt col sgt jr sr prof rev hon pres no vs inc co corp ltd mt ft".split()
)
_DANGLING = frozenset(
    "a an the of and or nor but to for with by from at in on into as than that its their his "
    "her our your my this these those".split()
)
_CLAUSE_BREAK = re.compile(r"\s*[|(]|[,:;](?=\s|$)|\s+[-–—]+\s+|\s*—\s*")
_END_PUNCTUATION = '.,;:!?…"“”'


def _bare(word: str) -> str:
    return word.strip(_END_PUNCTUATION + "'‘’«»").lower()


def _is_abbreviation(word: str) -> bool:
    return word.endswith(".") and (_bare(word) in _ABBREVIATIONS or bool(re.fullmatch(r"(?:\w\.)+", word)))


def _small(word: str) -> bool:
    """A stopword, an abbreviation or bare punctuation: a long headline is cut after a word, before these."""
    bare = _bare(word)
    return not bare or _is_abbreviation(word) or any(bare in words for words in BY_LANGUAGE.values())


def _dangles(word: str) -> bool:
    """A word no phrase ends on: "the", "of", "and", "to" (but "Prices go up" keeps its "up"), "Gov."."""
    bare = _bare(word)
    return not bare or _is_abbreviation(word) or bare in _DANGLING


def _phrase(title: str) -> list[str]:
    """The headline's first clause and sentence, cut to a short phrase, as words."""
    title = re.sub(r"\s*(\.\.\.|…)\s*$", "", title)
    words = _CLAUSE_BREAK.split(title, maxsplit=1)[0].split()
    for i, word in enumerate(words[:-1]):  # "… blocked. Here's why": the first sentence
        if word.rstrip("\"”’'").endswith((".", "!", "?")) and not _is_abbreviation(word):
            words = words[: i + 1]
            break
    if len(words) > EXAMPLE_WORDS:
        verb = next((i for i, w in enumerate(words[1 : EXAMPLE_WORDS + 1], start=1) if _bare(w) in _VERBISH), None)
        if verb is not None and verb >= 2:  # a subject of two words or more
            words = words[:verb]
        else:  # the longest prefix that ends on a word and before a small word ("… Record | in the …")
            ends = [k for k in range(EXAMPLE_WORDS, 0, -1) if not _small(words[k - 1])]
            words = words[: next((k for k in ends if _small(words[k])), ends[0] if ends else EXAMPLE_WORDS)]
    while len(words) > 1 and _dangles(words[-1]):
        words.pop()
    return words


def example_question(title: str) -> str:
    """A short question about a headline: its subject or first few words, never a dangling "Gov." or "the",
    with the headline's own end punctuation replaced by one question mark."""
    phrase = re.sub(r"[\"“”]", "", " ".join(_phrase(title))).rstrip(_END_PUNCTUATION)  # no stray quotation mark
    if phrase.endswith(("'", "’")) and not phrase[:-1].endswith(("s", "S")):  # a closing quote, not "DeSantis'"
        phrase = phrase[:-1].rstrip(_END_PUNCTUATION)
    return f"What's the latest on {phrase}?"


def example_questions(index: Index) -> list[str]:
    """Questions about the newest articles that the bot answers from those very articles."""
    with index.snapshot() as snap:
        rows = snap.newest_articles(EXAMPLES_TRIED)
    out: list[str] = []
    for row in rows:
        question = example_question(row.title)
        if len(question) < 30 or question in out:
            continue
        result = answer(index, question, top=1)
        if result.passages and result.passages[0].article_id == row.id:
            out.append(question)
        if len(out) == EXAMPLES_SHOWN:
            break
    return out


def start_text(index: Index) -> str:
    """Greeting with example questions that work on the newest articles."""
    lines = ["Hello! I answer questions by quoting the news articles I have read, with their dates."]
    examples = example_questions(index)
    if examples:
        lines.append("\nTry asking:")
        lines += [f"• {html.escape(q, quote=False)}" for q in examples]
    lines.append("\nSend /help for commands.")
    return "\n".join(lines)


def stats_rows(meta: IndexMeta, size_bytes: int) -> list[tuple[str, str]]:
    """What the index holds, as (label, value) rows: /stats and `newsbot index stats` show the same."""
    return [
        ("Articles", f"{meta.articles:,}"),
        ("Sentences", f"{meta.sentences:,}"),
        ("Dates", f"{meta.first_date or '—'} to {meta.last_date or '—'}"),
        ("Language", meta.language),
        ("Article languages", meta.article_languages),
        ("Distinct terms", f"{meta.vocabulary:,}"),
        ("Repeated lines left out", f"{meta.furniture_lines:,}"),
        ("BM25", f"{meta.bm25.variant} k1={meta.bm25.k1} b={meta.bm25.b}"),
        ("Size on disk", f"{size_bytes / 2**20:.1f} MB"),
        ("Built", meta.built_at),
        ("Articles folder", meta.articles_dir),
    ]


def stats_text(index: Index) -> str:
    with index.snapshot() as snap:
        meta = snap.meta
    rows = stats_rows(meta, os.path.getsize(index.path))
    return "\n".join(["<b>Index</b>"] + [f"{label}: {html.escape(value, quote=False)}" for label, value in rows])


def latest_text(index: Index, count: int = 5) -> str:
    with index.snapshot() as snap:
        rows = snap.newest_articles(count)
    if not rows:
        return "The index holds no articles yet."
    lines = ["<b>Newest articles</b>"]
    lines += [f"{r.date} — {html.escape(_cut(r.title, 200), quote=False)}" for r in rows]
    return "\n".join(lines)


def rebuild_text(summary: RebuildSummary, articles: Path, index_path: Path, skipped_shown: int) -> str:
    """A rebuild's summary, as `newsbot index rebuild` and /reindex show it (plain text): its lines with at
    most `skipped_shown` skipped or noted files, then where from and where to."""
    lines = summary.lines()
    shown = lines[: 2 + skipped_shown]
    text = "\n".join(shown)
    if len(lines) > len(shown):
        text += f"\n… and {len(lines) - len(shown)} more skipped or noted files"
    return f"{text}\nfrom {articles} into {index_path}"
