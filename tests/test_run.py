"""`newsbot run` as a real process against the fake Bot API server."""

from __future__ import annotations

import json
import signal
import socket
import time
import urllib.error
import urllib.request

import pytest

from bench.fake_bot_api import FakeBotApi

from .support.bot_process import QUESTION, start_bot

pytestmark = pytest.mark.slow  # each test runs `newsbot run` as a real process


@pytest.fixture
def fake():
    server = FakeBotApi().start()
    yield server
    server.stop()


def test_run_answers_and_stops_cleanly_on_sigterm_without_leaking_the_token(fake, index_path, articles_dir, tmp_path):
    process = start_bot(fake, index_path, articles_dir, tmp_path)
    try:
        fake.wait_for(lambda calls: fake.calls_to("setMyCommands"), timeout=30)
        fake.fail("sendMessage", 502, "Bad Gateway")  # an error path with a logged traceback
        fake.send_text(QUESTION, user_id=5)
        fake.wait_for(lambda calls: ("sendMessage", 502) in fake.failed)
        fake.send_text(QUESTION, user_id=6)
        fake.wait_for(lambda calls: fake.sent_to(6))
        assert "Kallas" in fake.sent_to(6)[0]["text"]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-2000:]
    assert "DEBUG" in err  # the log really was at DEBUG
    assert fake.token not in out + err
    assert fake.token.split(":")[1] not in out + err


def test_missing_token_is_one_line(tmp_path, index_path, articles_dir, fake):
    process = start_bot(fake, index_path, articles_dir, tmp_path, token=" ")
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert err.strip().splitlines() == [
        "Error: TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in .env "
        "(see .env.example)"
    ]


def test_rejected_token_is_one_line_without_the_token(tmp_path, index_path, articles_dir, fake):
    wrong = "987654321:wrong-token-for-tests"
    process = start_bot(fake, index_path, articles_dir, tmp_path, token=wrong, level="WARNING")
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert err.strip().splitlines()[-1] == "Error: Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather"
    assert "Traceback" not in err and wrong not in err


def test_second_instance_conflict_exits_plainly(tmp_path, index_path, articles_dir, fake):
    fake.fail(
        "getUpdates",
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        times=3,
    )
    process = start_bot(fake, index_path, articles_dir, tmp_path, level="WARNING")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "another process is polling with the same bot token" in err
    assert "Traceback" not in err


def test_missing_index_is_built_before_polling(tmp_path, articles_dir, fake):
    index_path = tmp_path / "fresh" / "index.db"
    process = start_bot(fake, index_path, articles_dir, tmp_path, level="WARNING")
    try:
        fake.wait_for(lambda calls: fake.calls_to("getMe"), timeout=30)
        assert index_path.exists()
        fake.send_text("tram line", user_id=8)
        fake.wait_for(lambda calls: fake.sent_to(8), timeout=15)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webhook_mode(tmp_path, index_path, articles_dir, fake):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    process = start_bot(
        fake,
        index_path,
        articles_dir,
        tmp_path,
        level="WARNING",
        args=["--webhook-url", url, "--port", str(port), "--secret-token", "s3cret"],
    )
    try:
        (call,) = fake.wait_for(lambda calls: fake.calls_to("setWebhook"), timeout=30)
        assert call.params["url"] == url and call.params["secret_token"] == "s3cret"
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "text": "tram line",
                "chat": {"id": 21, "type": "private", "first_name": "Ada"},
                "from": {"id": 21, "is_bot": False, "first_name": "Ada"},
            },
        }
        deadline = time.monotonic() + 15
        while (wrong := _post(url, update, "wrong")) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)  # the webhook server is still starting
        assert wrong == 403
        assert _post(url, update, "s3cret") == 200
        fake.wait_for(lambda calls: fake.sent_to(21), timeout=15)
        assert "tram" in fake.sent_to(21)[0]["text"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


def _post(url, payload, secret) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0
