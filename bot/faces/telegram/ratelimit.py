"""Sending to the Bot API: PTB's rate limiter, with retries that cannot send twice or hold up other chats."""

from __future__ import annotations

import asyncio
import logging

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)


class PatientRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter (30 messages a second, 20 a minute per group), with retries that cannot send
    twice and cannot hold up other chats.

    * A 429 is waited out by the call that got it, alone (PTB's own retry pauses every request of the
      bot), at most RETRIES times and MAX_WAIT seconds each.
    * A 5xx or a refused connection is retried: Telegram did not take the message.
    * A timeout is not retried, except on getUpdates: the message may have been delivered, and sending it
      again is how one question got four answers from a slow server.
    """

    RETRIES = 3
    MAX_WAIT = 10.0
    FINAL = (BadRequest, Forbidden, InvalidToken, Conflict, ChatMigrated)

    def __init__(self):
        super().__init__(max_retries=0)

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        for attempt in range(self.RETRIES + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except self.FINAL:
                raise
            except RetryAfter as error:
                wait = (
                    error.retry_after.total_seconds()
                    if hasattr(error.retry_after, "total_seconds")
                    else float(error.retry_after)
                )
                if attempt == self.RETRIES or wait > self.MAX_WAIT:
                    raise
                logger.info(
                    "Bot API call %s: flood limit, waiting %.1f s (%d of %d)", endpoint, wait, attempt + 1, self.RETRIES
                )
                await asyncio.sleep(wait + 0.1)
            except TimedOut:
                raise  # maybe delivered: never sent again
            except NetworkError:  # the updater retries getUpdates itself
                if attempt == self.RETRIES or endpoint == "getUpdates":
                    raise
                logger.info("Bot API call %s failed, retrying (%d of %d)", endpoint, attempt + 1, self.RETRIES)
                await asyncio.sleep(0.25 * 2**attempt)
        raise AssertionError("unreachable")
