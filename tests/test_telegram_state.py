"""Telegram's shared state and retry policy, as units (the end-to-end tests drive them through the fake server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from telegram.error import BadRequest, RetryAfter, TimedOut

from bot.config import Settings
from bot.faces.telegram.ratelimit import PatientRateLimiter
from bot.faces.telegram.state import MAX_PAGES_KEPT, BotState


def state(**settings) -> BotState:
    return BotState(Settings(**settings), index=None, articles_dir=Path("."))


def test_questions_per_minute_are_counted_per_user():
    shared = state(questions_per_minute=2)
    assert shared.allow_question(1) and shared.allow_question(1) and not shared.allow_question(1)
    assert shared.allow_question(2)


def test_a_user_is_told_to_slow_down_once_a_minute():
    shared = state()
    assert shared.should_warn(7) and not shared.should_warn(7) and shared.should_warn(8)


def test_pages_for_more_are_kept_up_to_a_bound():
    shared = state()
    first = shared.remember("first question")
    for n in range(MAX_PAGES_KEPT):
        shared.remember(f"question {n}")
    assert first not in shared.pages and len(shared.pages) == MAX_PAGES_KEPT


class Calls:
    """A Bot API call that fails with the given errors in turn, then succeeds."""

    def __init__(self, *errors: Exception):
        self.errors, self.count = list(errors), 0

    async def __call__(self, *args, **kwargs):
        self.count += 1
        if self.errors:
            raise self.errors.pop(0)
        return "sent"


def run(limiter: PatientRateLimiter, call: Calls):
    return asyncio.run(limiter.process_request(call, (), {}, "sendMessage", {"chat_id": 1}, None))


def test_a_flood_limit_is_waited_out_and_the_message_sent_once():
    call = Calls(RetryAfter(0))
    assert run(PatientRateLimiter(), call) == "sent" and call.count == 2


@pytest.mark.parametrize("error", [TimedOut(), BadRequest("message is too long")])
def test_a_timeout_or_a_bad_request_is_never_sent_again(error):
    call = Calls(error)
    with pytest.raises(type(error)):
        run(PatientRateLimiter(), call)
    assert call.count == 1
