"""The replies to /follow, /following and /unfollow, as Telegram HTML: one text for both faces.

Telegram adds the checks only a chat has (group admins) and the Stop button; the console shows
these same texts as plain text.
"""

from __future__ import annotations

import html

from bot.chat.render import shorten
from bot.chat.replies import follow_refusal
from bot.live.follows import NEWS_DAYS, Follow, FollowError, FollowStore, StateUnavailable
from index.search import Index

NOT_KEPT = "Standing questions are not kept by this bot."
UNAVAILABLE = "Sorry, standing questions are unavailable right now; questions still get answers."


def what_is_sent(answered: str = "it") -> str:
    """Which articles are pushed, and why (the rule is `follows.is_pushable`): /follow and /following say it."""
    return (
        f"I'll send passages from new articles dated within the last {NEWS_DAYS} days that answer "
        f"{answered} (older ones are archive, not news)."
    )


def _quoted(question: str, limit: int = 300) -> str:
    return f"‘{html.escape(shorten(question, limit), quote=False)}’"


def follow_reply(
    store: FollowStore, index: Index, chat_id: int, user_id: int, question: str
) -> tuple[str, Follow | None]:
    """Keep the question for the chat; the reply and the kept question (None when refused: a refused
    question is not kept, so it takes none of the chat's NEWSBOT_MAX_FOLLOWS)."""
    refusal = follow_refusal(index, question)
    if refusal:
        return refusal, None
    try:
        kept = store.add(chat_id, user_id, question)
    except FollowError as error:
        return html.escape(str(error), quote=False), None
    except StateUnavailable:
        return UNAVAILABLE, None
    return f"Following {_quoted(kept.question)}. {what_is_sent()} /following lists this chat's questions.", kept


def following_reply(store: FollowStore, chat_id: int) -> str:
    try:
        follows = store.of_chat(chat_id)
    except StateUnavailable:
        return UNAVAILABLE
    if not follows:
        return "No standing questions here. Leave one with /follow &lt;question&gt;."
    lines = ["<b>Standing questions</b>"]
    for number, follow in enumerate(follows, start=1):
        paused = "" if follow.active else " (paused)"
        lines.append(f"{number}. {html.escape(shorten(follow.question, 200), quote=False)}{paused}")
    lines.append("\n" + what_is_sent("one of them"))
    if not all(follow.active for follow in follows):
        lines.append("A paused question is not sent: I could not send to this chat. /follow it again to resume it.")
    lines.append("/unfollow &lt;number&gt; ends one.")
    return "\n".join(lines)


def unfollow_reply(store: FollowStore, chat_id: int, argument: str) -> str:
    """End the standing question numbered as /following shows it (active or paused)."""
    try:
        follows = store.of_chat(chat_id)
        try:
            number = int(argument.strip())
            if number < 1:
                raise IndexError
            chosen = follows[number - 1]
        except (ValueError, IndexError):
            return (
                f"Give the number from /following, 1 to {len(follows)}." if follows else "No standing questions here."
            )
        if store.remove(chat_id, chosen.follow_id) is None:
            return f"{_quoted(chosen.question)} was already ended."
    except StateUnavailable:
        return UNAVAILABLE
    return f"Stopped following {_quoted(chosen.question)}."
