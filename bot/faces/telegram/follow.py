"""Standing questions on Telegram: /follow, /following, /unfollow, the Stop button, and the pushes.

Pushes are sent by one task (`send_pushes`) that reads the index's change log about once a second,
records what answers standing questions and sends it, through the same rate limiter as answers, whoever
applied the change (this bot's watcher, another process, a cron rebuild, /reindex). A chat that blocked
the bot (403) or is gone has its questions paused, not retried. Buttons carry a plain `unf:<id>` resolved
in the state file, so they keep working for weeks and across restarts.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError
from telegram.ext import Application

from bot.chat import render
from bot.faces.follow_replies import NOT_KEPT, UNAVAILABLE, follow_reply, following_reply, unfollow_reply
from bot.live.follows import MAX_FOLLOW_ID, FollowStore, Push, StateUnavailable
from bot.live.runner import POLL_SECONDS, Live

from .state import SLOW_DOWN, BotContext

logger = logging.getLogger(__name__)

ADMINS_ONLY = "In groups, only the group's admins can leave standing questions."
# Telegram takes about 30 messages a second from a bot (PTB's limiter enforces it); pushes use at most
# two thirds, so a story with 1,000 followers never starves the answers to questions.
PUSHES_PER_SECOND = 20.0
ANONYMOUS_ADMIN = 1087968824  # Telegram's "Group" user: an admin posting anonymously


def store_of(context: BotContext) -> FollowStore | None:
    live = context.state.live
    return live.store if live is not None else None


def stop_markup(follow_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Stop following", callback_data=f"unf:{follow_id}")]])


async def is_group_admin(update: Update, context: BotContext) -> bool:
    """Private chats: yes. Groups: the sender is an admin or the owner (or posts as the group)."""
    chat, message = update.effective_chat, update.effective_message
    if chat.type == ChatType.PRIVATE:
        return True
    if message and message.sender_chat and message.sender_chat.id == chat.id:
        return True  # an anonymous admin
    user = update.effective_user
    if user is None or user.id == ANONYMOUS_ADMIN:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def _store_for_change(update: Update, context: BotContext) -> FollowStore | None:
    """The state, if this sender may change the chat's standing questions; else replies why not. A change
    counts against the sender's questions per minute (NEWSBOT_QUESTIONS_PER_MINUTE), as a question does."""
    store, message = store_of(context), update.effective_message
    if store is None:
        await message.reply_text(NOT_KEPT)
        return None
    user = update.effective_user.id if update.effective_user else 0
    if not context.state.allow_question(user):
        if context.state.should_warn(user):
            await message.reply_text(SLOW_DOWN)
        return None
    if store.problem:
        await message.reply_text(UNAVAILABLE)
        return None
    if not await is_group_admin(update, context):
        await message.reply_text(ADMINS_ONLY)
        return None
    return store


async def follow(update: Update, context: BotContext) -> None:
    """/follow <question>: keep the question for this chat."""
    store = await _store_for_change(update, context)
    if store is None:
        return
    user = update.effective_user.id if update.effective_user else 0
    text, kept = await asyncio.to_thread(
        follow_reply, store, context.state.index, update.effective_chat.id, user, " ".join(context.args or [])
    )
    await update.effective_message.reply_html(text, reply_markup=stop_markup(kept.follow_id) if kept else None)


async def following(update: Update, context: BotContext) -> None:
    """/following: this chat's standing questions, numbered."""
    store, message = store_of(context), update.effective_message
    if store is None:
        await message.reply_text(NOT_KEPT)
        return
    await message.reply_html(render.fit_html(await asyncio.to_thread(following_reply, store, update.effective_chat.id)))


async def unfollow(update: Update, context: BotContext) -> None:
    """/unfollow <number>: end one of this chat's standing questions."""
    store = await _store_for_change(update, context)
    if store is None:
        return
    await update.effective_message.reply_html(
        await asyncio.to_thread(unfollow_reply, store, update.effective_chat.id, " ".join(context.args or []))
    )


async def stop_button(update: Update, context: BotContext) -> None:
    """The Stop following button under a push or a /follow reply."""
    query, store = update.callback_query, store_of(context)
    try:
        follow_id = int(query.data.split(":", 1)[1])
        if not 0 < follow_id <= MAX_FOLLOW_ID:  # a forged button: SQLite cannot even hold the number
            raise ValueError
    except (ValueError, IndexError):
        await query.answer("That button no longer works.")
        return
    if store is None or update.effective_chat is None or not await is_group_admin(update, context):
        await query.answer(ADMINS_ONLY if store is not None else NOT_KEPT)
        return
    if not context.state.allow_question(query.from_user.id):
        await query.answer(SLOW_DOWN[:200])
        return
    try:
        removed = await asyncio.to_thread(store.remove, update.effective_chat.id, follow_id)
    except StateUnavailable:
        await query.answer(UNAVAILABLE)
        return
    await query.answer("Stopped following that question." if removed else "That question was not followed.")
    if removed:
        try:
            await query.edit_message_reply_markup(None)
        except BadRequest:
            pass


async def send_pushes(
    application: Application,
    wakeup: asyncio.Event,
    per_second: float = PUSHES_PER_SECOND,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """The push loop of `newsbot run`, whether or not this process watches the folder: about once a second
    (at once when `wakeup` is set, after a batch this process's watcher applied) read the index's change
    log after the bot's cursor and record what answers standing questions (`Live.step`, in a thread), and
    meanwhile send each push as soon as it is recorded, as one message, at most once, paced so that answers
    to questions keep part of Telegram's overall rate."""
    live = application.bot_data["state"].live
    store = live.store
    try:
        await asyncio.to_thread(store.interrupted, live.serves)
    except StateUnavailable:
        pass
    loop = asyncio.get_running_loop()
    recorded = asyncio.Event()

    def wake_sender(push: Push) -> None:
        try:
            loop.call_soon_threadsafe(recorded.set)
        except RuntimeError:  # the loop has closed (a stop): the push is pending, sent after the restart
            pass

    live.on_recorded = wake_sender
    while True:
        wakeup.clear()
        # Whatever one round meets (the state file locked by another process, a bug), the loop goes on: a
        # dead loop would leave every later push recorded and never sent.
        stepping = asyncio.ensure_future(asyncio.to_thread(live.step, False))
        sent_any = False
        while True:
            recorded.clear()
            sent = await _send_pending(application, live, per_second)
            sent_any |= bool(sent)
            if stepping.done() and not sent:
                break
            if not sent:  # wait for the next push recorded, or the end of the step
                woken = asyncio.ensure_future(recorded.wait())
                await asyncio.wait([stepping, woken], timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
        if stepping.exception() is not None:
            logger.error(
                "Standing questions could not be read from the index's changes; trying again",
                exc_info=stepping.exception(),
            )
        if not sent_any:
            try:
                await asyncio.wait_for(wakeup.wait(), poll_seconds)
            except asyncio.TimeoutError:
                pass


async def _send_pending(application: Application, live: Live, per_second: float) -> int:
    """Send the pending pushes of the bot's chats, oldest first; how many."""
    store = live.store
    try:
        pushes = await asyncio.to_thread(store.pending, live.serves)
    except Exception:
        logger.exception("Standing questions' pushes could not be read; trying again")
        return 0
    for push in pushes:
        try:
            if not await asyncio.to_thread(store.begin, push.push_id):
                continue  # dropped meanwhile, or begun by another loop
            sent = await _send(application, store, push)
        except Exception as error:
            logger.warning(
                "A standing question's passages to %s failed (%s: %s); going on with the next",
                push.follow.chat_id,
                type(error).__name__,
                error,
            )
            sent = 1
        await asyncio.sleep(sent / per_second)
    return len(pushes)


async def _send(application: Application, store: FollowStore, push: Push) -> int:
    """Send one push, begun (`sending` committed) by the caller, and record how it ended; how many
    messages it took. Nothing is ever resent: a timeout may have been delivered."""
    chat = push.follow.chat_id
    messages = render.push_messages(push)
    sent = 0
    try:
        for number, text in enumerate(messages, start=1):
            markup = stop_markup(push.follow.follow_id) if number == len(messages) else None
            await application.bot.send_message(chat, text, reply_markup=markup)
            sent += 1
    except (Forbidden, ChatMigrated) as error:
        await asyncio.to_thread(store.finish, push.push_id, "failed", str(error)[:300])
        paused = await asyncio.to_thread(store.pause_chat, chat, type(error).__name__)
        logger.info("Chat %s cannot be sent to (%s): %d standing question(s) paused", chat, error, paused)
    except BadRequest as error:
        await asyncio.to_thread(store.finish, push.push_id, "failed", str(error)[:300])
        if "chat not found" in str(error).lower():
            await asyncio.to_thread(store.pause_chat, chat, "chat not found")
        logger.warning("A standing question's passages could not be sent to %s: %s", chat, error)
    except TelegramError as error:  # begun before sending: not retried (at most once)
        await asyncio.to_thread(store.finish, push.push_id, "unknown", str(error)[:300])
        logger.warning("A standing question's passages to %s were not delivered: %s", chat, error)
    else:
        await asyncio.to_thread(store.finish, push.push_id, "sent")
    return sent
