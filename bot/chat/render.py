"""Renderings of an `Answer`: Telegram HTML, plain text and JSON.

HTML and plain text come from the same pieces (quote with matched words,
then a source line with title and date), so the console shows what Telegram
shows, minus the markup.
"""

from __future__ import annotations

import html
import json
import math
import re
import textwrap

from bot.logsafe import printable  # noqa: F401 - the faces' one rule for text printed for a person
from bot.ranking.answer import NO_STORIES, NO_WORDS, SILENT, Answer, Passage

TELEGRAM_LIMIT = 4096
MAX_TITLE_CHARS = 200
MAX_SHOWN_QUOTE_CHARS = 1500

NO_WORDS_TEXT = "I couldn't find any words to search for in that. Ask with a few key words: a name, a place, an event."
NO_MATCH_TEXT = "The articles don't mention that. Try fewer words, or other words for the same thing."


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def silent_text(answer: Answer) -> str:
    """The articles do not answer it: say so, and name the nearest story (title and date) in one line; with
    dates given, how many matching articles lie outside them."""
    story = answer.nearest
    text = (
        SILENT
        if story is None
        else f"{SILENT} The nearest story: {shorten(story.title, MAX_TITLE_CHARS)}, {story.date}."
    )
    if not (answer.outside and (answer.since or answer.until)):
        return text
    return f"{text} {_outside(answer)} the dates asked ({_span(answer)}): widen them, or leave them out."


def _span(answer: Answer) -> str:
    return f"between {answer.since or 'the first article'} and {answer.until or 'today'}"


def _outside(answer: Answer) -> str:
    many = "article lies" if answer.outside == 1 else "articles lie"
    return f"{answer.outside} matching {many} outside"


def notice_text(answer: Answer) -> str:
    if answer.notice == NO_WORDS:
        return NO_WORDS_TEXT
    if answer.silent:
        return silent_text(answer)
    if answer.notice == NO_STORIES and answer.window:
        return f"No articles from {answer.window.start} to {answer.window.end}."
    if answer.outside and (answer.since or answer.until):
        return f"Nothing {_span(answer)}: {_outside(answer)} those dates. Widen the dates, or leave them out."
    return NO_MATCH_TEXT


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _quote_html(passage: Passage) -> str:
    quote = shorten(passage.quote, MAX_SHOWN_QUOTE_CHARS)
    out, last = [], 0
    for start, end in passage.highlights:
        if start < last or end > len(quote):
            continue
        out.append(html.escape(quote[last:start], quote=False))
        out.append("<b>" + html.escape(quote[start:end], quote=False) + "</b>")
        last = end
    out.append(html.escape(quote[last:], quote=False))
    return "".join(out)


def _copies(passage: Passage) -> str:
    if passage.copies <= 1:
        return ""
    return f" (first of {passage.copies} articles carrying this sentence)"


def source_line(passage: Passage) -> str:
    """Plain source line: title and date."""
    return f"— {shorten(passage.title, MAX_TITLE_CHARS)}, {passage.date}{_copies(passage)}"


def passage_html(passage: Passage) -> str:
    title = html.escape(shorten(passage.title, MAX_TITLE_CHARS), quote=False)
    if passage.url:
        title = f'<a href="{html.escape(passage.url, quote=True)}">{title}</a>'
    return f"<blockquote>{_quote_html(passage)}</blockquote>\n— <i>{title}</i>, {passage.date}{_copies(passage)}"


def passage_text(passage: Passage, width: int | None = None) -> str:
    """The quote as an indented block (like Telegram's blockquote, so the article's own quotation marks
    stand alone), then its source; wrapped at word boundaries to `width` when given."""
    quote = shorten(passage.quote, MAX_SHOWN_QUOTE_CHARS)
    body = textwrap.wrap(quote, width - 2, break_long_words=True) if width and width > 20 else [quote]
    lines = [f"│ {line}" for line in body]
    source = f"  {source_line(passage)}"
    lines += textwrap.wrap(source, width, subsequent_indent="    ") if width and width > 20 else [source]
    if passage.url:
        lines.append(f"  {passage.url}")
    return "\n".join(lines)


def _pack(blocks: list[str], separator: str = "\n\n") -> list[str]:
    """Join blocks into messages of at most TELEGRAM_LIMIT units, never splitting a block."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = current + separator + block if current else block
        if utf16_len(candidate) <= TELEGRAM_LIMIT:
            current = candidate
            continue
        if current:
            messages.append(current)
        current = block
    if current:
        messages.append(current)
    return messages


def stories_head(answer: Answer) -> str:
    """The line above the main stories of a question without a topic."""
    window = answer.window
    days = window.start if window.start == window.end else f"{window.start} to {window.end}"
    return f"The main stories of {days}, the most widely carried first:"


def _size(answer: Answer, i: int) -> str:
    story = answer.stories[i] if i < len(answer.stories) else None
    if story is None or story.articles <= 1:
        return ""
    sources = "source" if story.sources == 1 else "sources"
    return f"  ({story.articles} articles, {story.sources} {sources})"


def html_messages(answer: Answer) -> list[str]:
    """Telegram messages (ParseMode.HTML), each within Telegram's length limit."""
    if not answer.passages:
        return [html.escape(notice_text(answer), quote=False)]
    blocks = [passage_html(p) + html.escape(_size(answer, i), quote=False) for i, p in enumerate(answer.passages)]
    if answer.window:
        blocks.insert(0, html.escape(stories_head(answer), quote=False))
    return _pack(blocks)


def plain_text(answer: Answer, width: int | None = None) -> str:
    """The same content as `html_messages`, as plain text (wrapped to `width` when given)."""
    if not answer.passages:
        text = notice_text(answer)
        return "\n".join(textwrap.wrap(text, width)) if width and width > 20 else text
    blocks = [passage_text(p, width) + _size(answer, i) for i, p in enumerate(answer.passages)]
    if answer.window:
        blocks.insert(0, stories_head(answer))
    return "\n\n".join(blocks)


def fit_html(text: str) -> str:
    """Any HTML reply cut to Telegram's limit: when too long, its plain text, shortened and escaped."""
    if utf16_len(text) <= TELEGRAM_LIMIT:
        return text
    plain = to_plain(text)
    while utf16_len(html.escape(plain, quote=False)) > TELEGRAM_LIMIT - 1:
        plain = plain[: int(len(plain) * 0.9)]
    return html.escape(plain.rstrip(), quote=False) + "…"


def to_plain(text: str) -> str:
    """Telegram HTML (the tags these replies use) to plain text."""
    return html.unescape(re.sub(r"</?(?:b|i|u|s|code|pre|a|blockquote)\b[^>]*>", "", text))


# Left raw by json.dumps(ensure_ascii=False), and read as a line break (U+2028, U+2029, U+0085 NEL) or a
# control (DEL, C1) by line readers and terminals: written as \uXXXX escapes (inside strings, the only place
# they can be).
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029]")


def json_line(data: dict) -> str:
    """One JSON line (`Answer.as_json()` and the like): one line for any line reader, no control characters,
    escaped to ASCII only if the text holds what UTF-8 cannot carry."""
    line = json.dumps(data, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


EXPLAIN_HEAD = textwrap.fill(
    "How a score adds up: score = 0 + the sum of its contributions. contribution = weight × (value − typical) / "
    "spread, where typical and spread are the feature's mean and standard deviation over the candidates the "
    "ranking was fitted on. So a feature at its typical value adds 0, a value of 0 adds much when the typical "
    "value is far from 0, and with a negative weight a value above typical counts against. The article features "
    "add up to article_score, one of the passage features.",
    100,
)


def _explain_rows(passage: Passage, level: str) -> list[str]:
    """One level's features (largest contribution first) and a line checking that they add up."""
    typical = passage.typical if len(passage.typical) == len(passage.explain) else (math.nan,) * len(passage.explain)
    rows = sorted(
        (
            (name.split(".", 1)[1], value, mean, contribution)
            for (name, value, contribution), mean in zip(passage.explain, typical)
            if name.startswith(level + ".")
        ),
        key=lambda r: -abs(r[3]),
    )
    lines = [f"  {level + ' features':<26} {'value':>9} {'typical':>9} {'contribution':>13}"]
    lines += [
        f"    {name:<24} {value:9.3f} {mean:9.3f} {contribution:+13.3f}" for name, value, mean, contribution in rows
    ]
    total = sum(r[3] for r in rows)
    if level == "passage":
        target, label = passage.score, "the score"
    else:  # the article features add up to the article's score, the passage feature article_score
        target = next((v for name, v, _ in passage.explain if name == "passage.article_score"), None)
        label = "article_score"
    check = "" if target is None else f"  {'=' if abs(total - target) < 1e-6 else '≠'} {label} {target:.3f}"
    lines.append(f"    {'sum':<24} {'':9} {'':9} {total:+13.3f}{check}")
    return lines


def explain_text(answer: Answer) -> str:
    """Each passage with its score and every feature's value, typical value and contribution (largest
    first), with the sums that make the score."""
    if not answer.passages:
        return notice_text(answer)
    blocks = [EXPLAIN_HEAD]
    for number, p in enumerate(answer.passages, start=1):
        lines = [f"{number}. score {p.score:.3f}", passage_text(p)]
        for level in ("passage", "article"):
            lines += _explain_rows(p, level)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def explain_json(answer: Answer) -> str:
    data = answer.as_json()
    for passage, out in zip(answer.passages, data["passages"]):
        out["features"] = {
            name: {"value": round(value, 6), "contribution": round(contribution, 6)}
            for name, value, contribution in passage.explain
        }
    return json_line(data)


def push_head(push) -> str:
    """The plain first line of a push: which standing question the passages answer."""
    return f"New for your question ‘{shorten(push.follow.question, 300)}’:"


def push_messages(push) -> list[str]:
    """A standing question's new passages as Telegram messages: the head, then each passage as an asked
    answer shows it (`passage_html`)."""
    return _pack([html.escape(push_head(push), quote=False)] + [passage_html(p) for p in push.passages])


def push_text(push, width: int | None = None) -> str:
    """The same as plain text, for the console: each passage as an asked answer shows it (`passage_text`)."""
    head = "\n".join(textwrap.wrap(push_head(push), width)) if width and width > 20 else push_head(push)
    return "\n\n".join([head] + [passage_text(p, width) for p in push.passages])
