"""A Bot API server newsbot does not control: slow, flooded, forged, odd. No duplicates, no stalls."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bench.fake_bot_api import BOT_USER
from bench.telegram_harness import running_bot
from index.rebuild import rebuild

from .conftest import write
from .support.bot_process import QUESTION, start_bot


@pytest.mark.slow
def test_a_slow_server_gets_one_answer_and_no_sorry(index_path, articles_dir):
    """Every sendMessage answered after 7 s (PTB gives up after 5): the message went out once."""
    with running_bot(index_path, articles_dir) as (fake, app):
        fake.fail("sendMessage", 0, delay=7.0, times=5)
        fake.send_text(QUESTION, user_id=31)
        fake.wait_for(lambda calls: fake.sent_to(31), timeout=15)
        time.sleep(9)  # room for any retry or "Sorry" to arrive
        sent = fake.sent_to(31)
        assert len(sent) == 1 and "Kallas" in sent[0]["text"], [m["text"][:40] for m in sent]


@pytest.mark.slow
def test_one_users_flood_does_not_hold_up_another(index_path, articles_dir):
    """Telegram's per-chat limit emulated: 60 messages from one user, then one from another."""
    with running_bot(index_path, articles_dir) as (fake, app):
        fake.per_chat_interval = 1.0
        for _ in range(60):
            fake.send_text("central bank interest rate", user_id=41)
        time.sleep(0.5)
        asked = time.monotonic()
        fake.send_text(QUESTION, user_id=42)
        fake.wait_for(lambda calls: fake.sent_to(42), timeout=15)
        waited = next(c.at for c in fake.calls_to("sendMessage") if str(c.params["chat_id"]) == "42") - asked
        assert waited < 5.0
        time.sleep(2)
        to_flooder = [m["text"] for m in fake.sent_to(41)]
        assert sum("faster than I can read" in t for t in to_flooder) <= 1
        assert len(to_flooder) <= 10 + 1  # NEWSBOT_QUESTIONS_PER_MINUTE answers and one "slow down"


def test_more_presses_are_limited_and_forged_offsets_refused(index_path, articles_dir):
    with running_bot(index_path, articles_dir, top=1, questions_per_minute=3) as (fake, app):
        fake.send_text("central bank interest rate governor", user_id=51)
        (first,) = fake.wait_for(lambda calls: fake.sent_to(51))
        key = first["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[1]
        message = {
            "message_id": 2,
            "date": int(time.time()),
            "chat": {"id": 51, "type": "private"},
            "from": BOT_USER,
            "text": first["text"],
        }
        fake._messages[(51, 2)] = {**message, "reply_markup": first["reply_markup"]}
        fake.press(message, f"more:{key}:100000", user_id=51)  # an offset the bot never offered
        answers = fake.wait_for(lambda calls: fake.calls_to("answerCallbackQuery"))
        assert "no longer works" in answers[0].params.get("text", "")
        assert len(fake.sent_to(51)) == 1  # nothing was searched or sent
        for _ in range(3):
            fake.send_text("tram line", user_id=51)
        fake.wait_for(lambda calls: len(fake.sent_to(51)) >= 3)
        fake.press(message, first["reply_markup"]["inline_keyboard"][0][0]["callback_data"], user_id=51)
        answers = fake.wait_for(
            lambda calls: len(fake.calls_to("answerCallbackQuery")) >= 2 and fake.calls_to("answerCallbackQuery")
        )
        assert "faster than I can read" in answers[1].params.get("text", "")


def test_replies_built_from_long_titles_and_echoed_input_fit(tmp_path):
    folder = tmp_path / "articles"
    title = "Very " * 1000 + "Long Title"
    write(folder, "long.txt", f" date 2025-01-01 {title}\n\nThe long title story is about ferries.")
    write(folder, "other.txt", " date 2025-01-02 Ferries\n\nThe ferry sailed at dawn.")
    rebuild(folder, tmp_path / "i.db")
    with running_bot(tmp_path / "i.db", folder) as (fake, app):
        for text in ("/latest", "/start", "ferries --since " + "9" * 4000, "ferry long title story"):
            fake.send_text(text, user_id=61)
        fake.wait_for(lambda calls: len(fake.sent_to(61)) >= 4, timeout=15)
        texts = [m["text"] for m in fake.sent_to(61)]
        assert not any("Sorry" in t for t in texts)
        assert not [f for f in fake.failed if f[0] == "sendMessage"]


@pytest.mark.slow
def test_a_malformed_getme_is_one_line_and_exit_1(index_path, articles_dir, tmp_path):
    from bench.fake_bot_api import FakeBotApi

    for raw in (b"<html><body>502 Bad Gateway</body></html>", b'{"ok": true, "result": {"id": 1}}'):
        fake = FakeBotApi().start()
        try:
            fake.fail("getMe", 0, raw=raw, times=10)
            process = start_bot(fake, index_path, articles_dir, tmp_path, level="WARNING")
            out, err = process.communicate(timeout=60)
        finally:
            fake.stop()
        assert process.returncode == 1, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err and lines[0].startswith("Error: "), err


@pytest.mark.slow
def test_invalid_json_from_getupdates_is_one_log_line(index_path, articles_dir, tmp_path):
    from bench.fake_bot_api import FakeBotApi

    fake = FakeBotApi().start()
    process = start_bot(fake, index_path, articles_dir, tmp_path, level="WARNING")
    try:
        fake.wait_for(lambda calls: fake.calls_to("setMyCommands"), timeout=30)
        fake.fail("getUpdates", 0, raw=b"not json at all", times=2)
        time.sleep(4)
        fake.send_text(QUESTION, user_id=71)
        fake.wait_for(lambda calls: fake.sent_to(71), timeout=20)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert "Traceback" not in err, err[-3000:]
    assert 1 <= sum("fetching updates" in line for line in err.splitlines()) <= 4, err[-2000:]


def test_webhook_mode_needs_a_secret_token(index_path, articles_dir, tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))},
        "TELEGRAM_BOT_TOKEN": "123456789:" + "a" * 35,
        "NEWSBOT_INDEX": str(index_path),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--webhook-url", "https://bot.example.org/t"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2 and "needs --secret-token" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
