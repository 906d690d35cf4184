"""The Telegram bot: the console's answers, as Telegram HTML.

Private chats: any text is a question. Groups: `/ask`, messages that mention
the bot, and replies to its messages; other chatter is ignored. Inline mode:
`@bot question`. Searches run in a thread, so one slow question never holds up
another chat. State lives in `bot_data`, not in globals.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.chat import commands, render, replies
from bot.config import Settings
from bot.live.follows import CONSOLE_CHAT
from bot.live.runner import Live
from bot.ranking.answer import Answer
from index.rebuild import RebuildError, rebuild
from index.search import Index
from index.store import IndexUnavailable

from . import follow as tg_follow
from .ratelimit import PatientRateLimiter
from .state import CONTEXT_TYPES, SLOW_DOWN, BotContext, BotState, state_of

logger = logging.getLogger(__name__)

MORE_LABEL = "More ▸"
TYPING_AFTER = 0.3  # seconds a search may take before the bot shows "typing…"
INLINE_RESULTS = 10
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."
NOT_ALLOWED = "Sorry, this bot only answers in the chats it was set up for."
REINDEX_SKIPPED_SHOWN = 10  # skipped or noted files /reindex lists (the rest are counted)

Callback = Callable[[Update, BotContext], Awaitable[None]]


def more_markup(key: str, offset: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(MORE_LABEL, callback_data=f"more:{key}:{offset}")]])


async def _search(state: BotState, question: str, top: int, offset: int = 0) -> Answer:
    return await asyncio.to_thread(replies.page, state.index, question, offset, top)


async def reply_answer(
    update: Update, context: BotContext, question: str, offset: int = 0, key: str | None = None
) -> None:
    """Search (off the event loop) and send the passages, with a More button when there are more."""
    state = state_of(context)
    chat = update.effective_chat
    top = state.settings.top
    try:
        replies.parse_request(question)
    except replies.RequestError as error:
        if update.effective_message and not offset:
            await update.effective_message.reply_html(render.fit_html(html.escape(str(error), quote=False)))
        else:
            await context.bot.send_message(chat.id, render.fit_html(html.escape(str(error), quote=False)))
        return
    search = asyncio.ensure_future(_search(state, question, top, offset))
    # "typing…" only when the answer takes a noticeable time, as Telegram recommends: a chat
    # action is an API call too, and counts against the flood limits.
    done, _ = await asyncio.wait({search}, timeout=TYPING_AFTER)
    if not done:
        try:
            await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
        except (TimedOut, RetryAfter, NetworkError):  # only a hint: the answer matters, not the "typing…"
            pass
    result = await search
    if offset and not result.passages:
        await context.bot.send_message(chat.id, replies.NO_MORE)
        return
    messages = render.html_messages(result)
    markup = None
    if result.more:
        key = key or state.remember(question)
        page = state.pages.get(key)
        if page is not None:
            page.issued.add(offset + top)
        markup = more_markup(key, offset + top)
    for number, text in enumerate(messages, start=1):
        last = number == len(messages)
        if update.effective_message and not offset:
            await update.effective_message.reply_html(text, reply_markup=markup if last else None)
        else:
            await context.bot.send_message(chat.id, text, reply_markup=markup if last else None)


async def ask_if_allowed(update: Update, context: BotContext, question: str) -> None:
    message = update.effective_message
    if not question.strip():
        await message.reply_text(replies.ASK_HINT)
        return
    state = state_of(context)
    user = update.effective_user.id
    if not state.allow_question(user):
        if state.should_warn(user):
            await message.reply_text(SLOW_DOWN)
        return
    await reply_answer(update, context, question)


# --- access ------------------------------------------------------------------------------


async def only_allowed_chats(update: Update, context: BotContext) -> None:
    """When NEWSBOT_ALLOWED_CHAT_IDS is set, refuse other chats once and drop their updates."""
    state = state_of(context)
    allowed = state.settings.allowed_chat_ids
    if not allowed:
        return
    chat = update.effective_chat
    if chat is not None and chat.id in allowed:
        return
    if chat is None and update.inline_query and update.inline_query.from_user.id in allowed:
        return
    if update.callback_query:
        await update.callback_query.answer(NOT_ALLOWED)
    elif update.inline_query:
        await update.inline_query.answer([], cache_time=60)
    elif chat is not None and chat.id not in state.refused_chats and update.effective_message:
        state.refused_chats.add(chat.id)
        await update.effective_message.reply_text(NOT_ALLOWED)
    raise ApplicationHandlerStop


# --- commands ----------------------------------------------------------------------------


def reply_with(command: commands.Command) -> Callback:
    """A command whose reply every face shares (/start, /help, /latest, /stats): built off the event loop,
    cut to Telegram's limit."""

    async def send(update: Update, context: BotContext) -> None:
        text = await asyncio.to_thread(command.reply, state_of(context).index, commands.TELEGRAM)
        await update.effective_message.reply_html(render.fit_html(text))

    return send


def admins_only(command: commands.Command, callback: Callback) -> Callback:
    """An admin command (`Command.admin`): refused to anyone not in NEWSBOT_ADMIN_IDS."""

    async def checked(update: Update, context: BotContext) -> None:
        user = update.effective_user
        if user is None or user.id not in state_of(context).settings.admin_ids:
            await update.effective_message.reply_text(command.refusal)
            return
        await callback(update, context)

    return checked


async def ask(update: Update, context: BotContext) -> None:
    """/ask <question>, in any chat (also /ask@botname in groups)."""
    await ask_if_allowed(update, context, " ".join(context.args or []))


async def reindex(update: Update, context: BotContext) -> None:
    """Rebuild the index in the background (one rebuild at a time; the table makes it admins only)."""
    state = state_of(context)
    if state.articles_dir is None:  # cli.watched_folder: the index names a folder the bot may not follow
        await update.effective_message.reply_text("No articles folder is set for this index: set NEWSBOT_ARTICLES_DIR.")
        return
    if state.rebuild_lock.locked():
        await update.effective_message.reply_text("A rebuild is already running; I'll report when it ends.")
        return
    await update.effective_message.reply_text("Rebuilding the index from the articles folder…")
    context.application.create_task(_run_reindex(update, context), update=update)


async def _run_reindex(update: Update, context: BotContext) -> None:
    state = state_of(context)
    async with state.rebuild_lock:
        try:
            summary = await asyncio.to_thread(rebuild, state.articles_dir, state.index.path)
        except RebuildError as error:
            text = f"Rebuild failed: {error}"
        else:
            text = replies.rebuild_text(summary, state.articles_dir, state.index.path, REINDEX_SKIPPED_SHOWN)
    await update.effective_message.reply_html(render.fit_html(html.escape(text, quote=False)))


# Telegram's handler for each command of the table without a face-neutral `reply`.
HANDLERS: dict[str, Callback] = {
    "ask": ask,
    "reindex": reindex,
    "follow": tg_follow.follow,
    "following": tg_follow.following,
    "unfollow": tg_follow.unfollow,
}


def handler_for(command: commands.Command) -> Callback:
    callback = reply_with(command) if command.reply is not None else HANDLERS[command.name]
    return admins_only(command, callback) if command.admin else callback


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not have (private chats only)."""
    await update.effective_message.reply_text("I don't know that command. Send /help for the list.")


# --- questions ---------------------------------------------------------------------------


async def private_text(update: Update, context: BotContext) -> None:
    """In a private chat any text is a question."""
    await ask_if_allowed(update, context, update.effective_message.text)


def addressed_question(update: Update, bot_id: int, username: str) -> str | None:
    """The question in a group message meant for the bot, or None for other chatter."""
    message = update.effective_message
    text = message.text or ""
    handle = f"@{username}".lower()
    mentions = [
        e for e in message.entities if e.type == MessageEntity.MENTION and message.parse_entity(e).lower() == handle
    ]
    reply_to = message.reply_to_message
    replying = bool(reply_to and reply_to.from_user and reply_to.from_user.id == bot_id)
    if not mentions and not replying:
        return None
    for entity in sorted(mentions, key=lambda e: e.offset, reverse=True):
        text = _cut_entity(text, entity)
    return text.strip()


def _cut_entity(text: str, entity: MessageEntity) -> str:
    units = text.encode("utf-16-le")
    start, end = entity.offset * 2, (entity.offset + entity.length) * 2
    return (units[:start] + units[end:]).decode("utf-16-le")


async def group_text(update: Update, context: BotContext) -> None:
    """In groups, answer mentions and replies to the bot; ignore everything else."""
    question = addressed_question(update, context.bot.id, context.bot.username)
    if question is None:
        return
    await ask_if_allowed(update, context, question)


async def more(update: Update, context: BotContext) -> None:
    """The "More" button: the next passages for the same question."""
    query = update.callback_query
    state = state_of(context)
    try:
        _, key, offset_text = query.data.split(":")
        offset = int(offset_text)
    except (AttributeError, ValueError):
        await query.answer("That button no longer works; please ask again.")
        return
    page = state.pages.get(key)
    if page is None or update.effective_chat is None:
        await query.answer("That question has expired; please ask it again.")
        return
    if offset not in page.issued:
        await query.answer("That button no longer works; please ask again.")
        return
    if offset in page.served:
        await query.answer("Those passages are already below.")
        return
    if not state.allow_question(query.from_user.id):
        await query.answer(SLOW_DOWN[:200])
        return
    page.served.add(offset)
    await query.answer()
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest:
        pass  # already without a button, or too old to edit
    await reply_answer(update, context, page.question, offset=offset, key=key)


async def stale_button(update: Update, context: BotContext) -> None:
    """Any other button (from an older version of the bot): answer it politely."""
    await update.callback_query.answer("That button no longer works; please ask again.")


async def inline_query(update: Update, context: BotContext) -> None:
    """@botname question: up to ten passages, each sent as a formatted quote."""
    query = update.inline_query
    question = query.query.strip()
    state = state_of(context)
    if not question:
        await query.answer(
            [_hint_result("Type a question about the news", commands.help_text(commands.TELEGRAM))], cache_time=300
        )
        return
    if not state.allow_question(query.from_user.id):
        await query.answer(
            [_hint_result("Too many questions; try again in a minute", html.escape(SLOW_DOWN))], cache_time=0
        )
        return
    try:
        replies.parse_request(question)
    except replies.RequestError as error:
        await query.answer([_hint_result("Check the date", html.escape(str(error)))], cache_time=0)
        return
    result = await _search(state, question, INLINE_RESULTS)
    if not result.passages:
        await query.answer(
            [_hint_result("No match in the articles", html.escape(render.notice_text(result)))], cache_time=30
        )
        return
    results = [
        InlineQueryResultArticle(
            id=f"s{p.sentence_id}",
            title=render.shorten(p.quote, 100),
            description=f"{p.date} · {render.shorten(p.title, 80)}",
            input_message_content=InputTextMessageContent(render.passage_html(p), parse_mode=ParseMode.HTML),
        )
        for p in result.passages
    ]
    await query.answer(results, cache_time=30)


def _hint_result(title: str, text_html: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id="hint", title=title, input_message_content=InputTextMessageContent(text_html, parse_mode=ParseMode.HTML)
    )


# --- errors and lifecycle ----------------------------------------------------------------


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure (never the token) and tell the user something went wrong."""
    error = context.error
    if isinstance(error, Forbidden):
        logger.info("Not delivered, the user blocked the bot or left the chat: %s", error)
        return
    if isinstance(error, Conflict):
        logger.error("Another process is polling with this bot token (409 Conflict); stopping this one.")
        state_of(context).exit_code = 3
        context.application.stop_running()
        return
    if update is None and isinstance(error, TelegramError):
        logger.warning("Problem while fetching updates, retrying: %s", error)
        return
    if isinstance(error, RetryAfter):
        logger.warning("Telegram's flood limit held a reply back too long; it was dropped: %s", error)
        return
    if isinstance(error, TimedOut):
        # The call may have gone through: say nothing more rather than risk a second answer or a "Sorry"
        # under one that was delivered.
        logger.warning("A Bot API call timed out; it may have been delivered, so it is not repeated: %s", error)
        return
    logger.error("Failed to handle an update", exc_info=error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query:
            await update.callback_query.answer(SORRY)
        elif update.effective_message and not isinstance(error, IndexUnavailable):
            await update.effective_message.reply_text(SORRY)
        elif update.effective_message:
            await update.effective_message.reply_text("The index is not available right now; please try later.")
    except TelegramError:
        logger.warning("Could not tell the user about the failure")


async def post_init(application: Application) -> None:
    """Register the command list shown in Telegram's menu; start watching the folder and the pushes."""
    await application.bot.set_my_commands([BotCommand(name, text) for name, text in commands.menu()])
    state: BotState = application.bot_data["state"]
    if state.live is not None and state.live.store.problem:
        logger.warning("%s", state.live.store.problem)  # the bot answers; /follow says it is unavailable
    if state.live is not None:
        loop, wakeup = asyncio.get_running_loop(), asyncio.Event()
        state.live.on_change = lambda: loop.call_soon_threadsafe(wakeup.set)  # the watcher applied a batch
        await asyncio.to_thread(state.live.start)  # the bot's place in the index's change log, then watching
        # Plain tasks, not application.create_task: an endless one of those would make stop() wait forever.
        # The push loop runs whether or not this process watches the folder (it reads the change log).
        state.background.append(asyncio.create_task(tg_follow.send_pushes(application, wakeup), name="pushes"))


async def post_stop(application: Application) -> None:
    """Stop the push sender, then the watcher (a push being sent stays `sending`: not repeated)."""
    state: BotState = application.bot_data["state"]
    for task in state.background:
        task.cancel()
    await asyncio.gather(*state.background, return_exceptions=True)
    state.background.clear()
    if state.live is not None:
        await asyncio.to_thread(state.live.stop)


def build_application(settings: Settings, index: Index, articles_dir: Path | None) -> Application:
    """The PTB Application with every handler registered."""
    application = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .context_types(CONTEXT_TYPES)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_url.replace("/bot", "/file/bot"))
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(PatientRateLimiter())
        .concurrent_updates(settings.concurrent_updates if settings.concurrent_updates > 1 else False)
        .connection_pool_size(max(8, settings.concurrent_updates * 2))
        .post_init(post_init)
        .post_stop(post_stop)
        .build()
    )
    application.bot_data["state"] = BotState(
        settings,
        index,
        articles_dir,
        live=Live(
            settings,
            index,
            articles_dir or settings.articles_dir,
            watch=None if articles_dir else False,
            serves=lambda chat_id: chat_id != CONSOLE_CHAT,
        ),
    )

    # Group -1: access control runs before everything else.
    application.add_handler(TypeHandler(Update, only_allowed_chats), group=-1)

    # Commands: one handler per row of the table that Telegram has (bot/chat/commands.py), the standing
    # questions' among them (follow.py); any other command, in private chats, is unknown.
    for command in commands.for_face(commands.TELEGRAM):
        application.add_handler(CommandHandler(command.names, handler_for(command)))
    application.add_handler(MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, unknown_command))

    # Questions: private text, group messages addressed to the bot, More buttons, inline mode.
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, private_text))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.GROUPS, group_text))
    application.add_handler(CallbackQueryHandler(more, pattern=r"^more:"))
    application.add_handler(CallbackQueryHandler(tg_follow.stop_button, pattern=r"^unf:"))
    application.add_handler(CallbackQueryHandler(stale_button))
    application.add_handler(InlineQueryHandler(inline_query))

    application.add_error_handler(on_error)
    return application


async def _check_token(application: Application) -> None:
    """Ask getMe once, so a bad token, an unreachable server or one that is not the Bot API is one clear
    line (ours: PTB's own log of the bad reply is held back), not a retry loop."""
    request_log = logging.getLogger("telegram.request")
    level = request_log.level
    request_log.setLevel(logging.CRITICAL)
    try:
        async with application.bot:
            pass
    finally:
        request_log.setLevel(level)


class BotStartError(Exception):
    """The bot cannot start; the message is one line for the user."""


def run_bot(settings: Settings, index: Index, articles_dir: Path | None, redact, webhook: dict | None = None) -> int:
    """Run until SIGTERM/SIGINT (exit status 0) or a fatal conflict (non-zero)."""
    from telegram.error import InvalidToken

    application = build_application(settings, index, articles_dir)
    try:
        asyncio.run(_check_token(application))
        if webhook:
            application.run_webhook(
                listen=webhook["listen"],
                port=webhook["port"],
                url_path=webhook["url_path"],
                webhook_url=webhook["url"],
                secret_token=webhook.get("secret_token"),
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        raise BotStartError("Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather") from None
    except (NetworkError, OSError) as error:
        base = settings.telegram_api_base_url
        raise BotStartError(redact(f"cannot reach the Bot API at {base}: {error}")) from None
    except (TelegramError, KeyError, TypeError, ValueError) as error:  # a reply that is not the Bot API's
        base = settings.telegram_api_base_url
        raise BotStartError(
            redact(f"the Bot API at {base} gave an answer newsbot cannot read ({type(error).__name__}: {error})"[:300])
        ) from None
    return application.bot_data["state"].exit_code
