"""The Telegram bot end to end: real PTB Application, HTTP, fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import io
import logging
import time

import pytest

from bench.fake_bot_api import BOT_USER, visible_length
from bench.telegram_harness import running_bot
from bot.chat.render import to_plain
from bot.logsafe import setup_logging
from index.rebuild import rebuild
from index.search import Index

from .conftest import write

QUESTION = "When will President Kallas visit Norland?"


def visible(html_text: str) -> str:
    return to_plain(html_text)


def messages_to(fake, chat_id, count=1, timeout=10):
    return fake.wait_for(lambda calls: (sent := fake.sent_to(chat_id)) and len(sent) >= count and sent, timeout)


def test_private_question_gets_quote_bold_words_title_and_date(index_path, articles_dir, monkeypatch):
    import bot.faces.telegram.app

    monkeypatch.setattr(bot.faces.telegram.app, "TYPING_AFTER", 0.0)  # show "typing…" even for a fast search
    with running_bot(index_path, articles_dir) as (fake, app):
        fake.wait_for(lambda calls: fake.calls_to("setMyCommands"))
        fake.send_text(QUESTION, user_id=1001)
        (reply,) = messages_to(fake, 1001)
        text = reply["text"]
        assert reply["parse_mode"] == "HTML"
        assert text.startswith("<blockquote><b>President</b> Mara <b>Kallas</b> is set to <b>visit</b> <b>Norland</b>")
        assert "— <i>President Kallas to Visit Norland Soon</i>, 2025-06-26" in text
        actions = fake.calls_to("sendChatAction")
        assert actions and actions[0].params["action"] == "typing"
        assert actions[0].at <= fake.calls_to("sendMessage")[0].at
        commands = {c["command"] for c in fake.calls_to("setMyCommands")[0].params["commands"]}
        from bot.chat.commands import menu

        assert commands == {name for name, _ in menu()} and {"ask", "follow", "reindex"} <= commands


def test_no_match_gets_a_friendly_hint(index_path, articles_dir):
    with running_bot(index_path, articles_dir) as (fake, app):
        fake.send_text("quidditch tournament", user_id=5)
        (reply,) = messages_to(fake, 5)
        assert "don't mention" in reply["text"] and "fewer words" in reply["text"]


@pytest.mark.slow
def test_more_button_pages_and_survives_double_press_and_restart(index_path, articles_dir):
    with running_bot(index_path, articles_dir, top=1) as (fake, app):
        fake.send_text("central bank interest rate governor", user_id=7)
        (first,) = messages_to(fake, 7)
        button = first["reply_markup"]["inline_keyboard"][0][0]
        assert button["text"] == "More ▸" and len(button["callback_data"].encode()) <= 64
        bot_message = next(c for c in fake.calls if c.method == "sendMessage")
        message = {
            "message_id": 2,
            "date": int(time.time()),
            "chat": {"id": 7, "type": "private"},
            "from": BOT_USER,
            "text": bot_message.params["text"],
        }
        fake._messages[(7, 2)] = {**message, "reply_markup": first["reply_markup"]}
        fake.press(message, button["callback_data"], user_id=7)
        sent = messages_to(fake, 7, count=2)
        assert sent[1]["text"] != sent[0]["text"] and "<blockquote>" in sent[1]["text"]
        fake.press(message, button["callback_data"], user_id=7)  # pressed twice
        fake.press(message, "more:deadbeef:3", user_id=7)  # a button from before a restart
        fake.press(message, "something-else", user_id=7)
        answers = fake.wait_for(
            lambda calls: len(fake.calls_to("answerCallbackQuery")) >= 4 and fake.calls_to("answerCallbackQuery")
        )
        texts = [a.params.get("text", "") for a in answers]
        assert any("already" in t for t in texts)
        assert any("expired" in t for t in texts)
        assert any("no longer works" in t for t in texts)
        assert not fake.unanswered_callbacks
        assert len(fake.sent_to(7)) == 2


@pytest.mark.slow
def test_groups_answer_mentions_replies_and_ask_and_ignore_chatter(index_path, articles_dir):
    group = -100123
    with running_bot(index_path, articles_dir) as (fake, app):
        fake.send_text("anyone seen the football?", user_id=1, chat_id=group, chat_type="supergroup")
        fake.send_text("/ask@other_bot tram line", user_id=1, chat_id=group, chat_type="supergroup")
        fake.send_text(
            "@news_test_bot when will the tram construction start?", user_id=1, chat_id=group, chat_type="supergroup"
        )
        (reply,) = messages_to(fake, group)
        assert "Construction starts in September 2025" in visible(reply["text"])
        fake.send_text(
            "/ask@news_test_bot central bank interest rate", user_id=2, chat_id=group, chat_type="supergroup"
        )
        replies = messages_to(fake, group, count=2)
        assert "interest rate" in visible(replies[1]["text"])
        bot_message = {
            "message_id": 99,
            "date": int(time.time()),
            "chat": {"id": group, "type": "supergroup"},
            "from": BOT_USER,
            "text": "…",
        }
        fake.send_text("and the mayor?", user_id=3, chat_id=group, chat_type="supergroup", reply_to=bot_message)
        replies = messages_to(fake, group, count=3)
        assert "Mayor Helena Varga" in visible(replies[2]["text"])
        time.sleep(0.5)
        assert len(fake.sent_to(group)) == 3  # chatter and /ask@other_bot got nothing
        assert all(r.get("reply_parameters") for r in replies)  # group answers reply to the question


@pytest.mark.slow
def test_date_options_in_a_question(index_path, articles_dir):
    with running_bot(index_path, articles_dir) as (fake, app):
        # A phone turns "--" into "—"; both work.
        fake.send_text("/ask central bank interest rate —since 2025-10-01", user_id=8)
        (reply,) = messages_to(fake, 8)
        assert "Holds Interest Rate" in reply["text"] and "Cuts Interest Rate" not in reply["text"]
        fake.send_text("central bank interest rate --until 2025-10-01", user_id=8)
        replies = messages_to(fake, 8, count=2)
        assert "Cuts Interest Rate" in replies[1]["text"] and "Holds Interest Rate" not in replies[1]["text"]
        fake.send_text("central bank interest rate --as-of 2025-13-40", user_id=8)
        replies = messages_to(fake, 8, count=3)
        assert replies[2]["text"] == "--as-of: 2025-13-40 is an impossible date."


@pytest.mark.slow
def test_inline_mode(index_path, articles_dir):
    with running_bot(index_path, articles_dir) as (fake, app):
        fake.inline("tram line", user_id=4)
        fake.inline("", user_id=4)
        fake.inline("zzzz unknown", user_id=4)
        calls = fake.wait_for(
            lambda c: len(fake.calls_to("answerInlineQuery")) >= 3 and fake.calls_to("answerInlineQuery")
        )
        by_query = {c.params["inline_query_id"]: c.params["results"] for c in calls}
        results = list(by_query.values())
        found = next(r for r in results if r and r[0]["id"] != "hint")
        assert 1 <= len(found) <= 10
        assert "<blockquote>" in found[0]["input_message_content"]["message_text"]
        assert "2025-03-04" in found[0]["description"]
        hints = [r[0]["title"] for r in results if r and r[0]["id"] == "hint"]
        assert any("Type a question" in h for h in hints) and any("No match" in h for h in hints)


@pytest.mark.slow
def test_article_text_with_markup_characters_is_escaped(tmp_path):
    folder = tmp_path / "a"
    write(
        folder,
        "x.txt",
        " date 2025-01-01 Prices <b>up</b> & down\n\nThe index rose 5% as x < y & y > z in Q&A <script> tests.",
    )
    rebuild(folder, tmp_path / "x.db")
    with running_bot(tmp_path / "x.db", folder) as (fake, app):
        fake.send_text("index rose", user_id=9)
        (reply,) = messages_to(fake, 9)
        assert "x &lt; y &amp; y &gt; z in Q&amp;A &lt;script&gt;" in reply["text"]
        assert "Prices &lt;b&gt;up&lt;/b&gt; &amp; down" in reply["text"]


@pytest.mark.slow
def test_very_long_answer_is_split_in_parts(tmp_path):
    folder = tmp_path / "long"
    sentence = "The zeppelin " + " ".join(f"word{i}" for i in range(160)) + "."
    for i in range(12):
        write(folder, f"{i}.txt", f" date 2025-01-{i + 1:02d} Story {i}\n\n{sentence.replace('word1 ', f'w{i} ')}")
    rebuild(folder, tmp_path / "long.db")
    with running_bot(tmp_path / "long.db", folder, top=12) as (fake, app):
        fake.send_text("zeppelin", user_id=11)
        fake.wait_for(lambda calls: sum(m["text"].count("<blockquote>") for m in fake.sent_to(11)) == 12)
        sent = fake.sent_to(11)
        assert len(sent) >= 2
        assert all(visible_length(m["text"], "HTML") <= 4096 for m in sent)


@pytest.mark.slow
def test_retry_after_delays_but_delivers(index_path, articles_dir):
    with running_bot(index_path, articles_dir) as (fake, app):
        fake.wait_for(lambda calls: fake.calls_to("setMyCommands"))
        fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        asked = time.monotonic()
        fake.send_text(QUESTION, user_id=12)
        (reply,) = messages_to(fake, 12)
        assert "Kallas" in reply["text"]
        assert fake.calls_to("sendMessage")[0].at - asked >= 1.0
        assert ("sendMessage", 429) in fake.failed


@pytest.mark.slow
def test_blocked_user_is_logged_not_retried(index_path, articles_dir, caplog):
    caplog.set_level(logging.INFO, logger="bot.faces.telegram.app")
    with running_bot(index_path, articles_dir) as (fake, app):
        fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
        fake.send_text(QUESTION, user_id=13)
        fake.wait_for(lambda calls: ("sendMessage", 403) in fake.failed)
        fake.send_text(QUESTION, user_id=14)
        messages_to(fake, 14)
        assert [f for f in fake.failed if f[0] == "sendMessage"] == [("sendMessage", 403)]
        assert not fake.sent_to(13)
    assert any("blocked" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)


@pytest.mark.slow
def test_reindex_admin_only_and_hot_reload(index_path, articles_dir):
    with running_bot(index_path, articles_dir, admin_ids=frozenset({42})) as (fake, app):
        built = Index(index_path).meta().built_at
        write(
            articles_dir,
            "009_zoo.txt",
            " date 2025-12-24 Zoo Welcomes Panda\n\nThe city zoo welcomed a panda named Bao.",
        )
        fake.send_text("/reindex", user_id=1001)
        (refusal,) = messages_to(fake, 1001)
        assert "only the bot's admins" in refusal["text"]
        time.sleep(0.3)
        assert Index(index_path).meta().built_at == built and Index(index_path).meta().articles == 4
        fake.send_text("/reindex", user_id=42)
        done = fake.wait_for(lambda calls: [m for m in fake.sent_to(42) if "incremental rebuild" in m["text"]])
        assert "1 added" in done[0]["text"]
        fake.send_text("panda at the zoo", user_id=42)
        answer = fake.wait_for(lambda calls: [m for m in fake.sent_to(42) if "<blockquote>" in m["text"]])
        assert "<b>panda</b> named Bao" in answer[0]["text"]
        # A rebuild from outside (the CLI) is picked up without a restart too.
        write(articles_dir, "010_owl.txt", " date 2025-12-25 Owl Found\n\nA snowy owl was found in the library.")
        rebuild(articles_dir, index_path)
        fake.send_text("snowy owl", user_id=42)
        answer = fake.wait_for(lambda calls: [m for m in fake.sent_to(42) if "snowy" in m["text"]])
        assert "library" in answer[0]["text"]


@pytest.mark.slow
def test_allowed_chats_get_answers_others_one_refusal(index_path, articles_dir):
    with running_bot(index_path, articles_dir, allowed_chat_ids=frozenset({1001})) as (fake, app):
        fake.send_text(QUESTION, user_id=2002)
        fake.send_text(QUESTION, user_id=2002)
        fake.send_text(QUESTION, user_id=1001)
        messages_to(fake, 1001)
        time.sleep(0.3)
        refusals = fake.sent_to(2002)
        assert len(refusals) == 1 and "only answers in the chats" in refusals[0]["text"]


def test_rate_limit_checked_before_search(index_path, articles_dir, monkeypatch):
    import bot.faces.telegram.app

    searches = []
    real_search = bot.faces.telegram.app._search

    async def counted(*args, **kwargs):
        searches.append(args[1])
        return await real_search(*args, **kwargs)

    monkeypatch.setattr(bot.faces.telegram.app, "_search", counted)
    with running_bot(index_path, articles_dir, questions_per_minute=2) as (fake, app):
        for _ in range(3):
            fake.send_text("tram line", user_id=15)
        sent = messages_to(fake, 15, count=3)
        assert sum("faster than I can read" in m["text"] for m in sent) == 1
        assert len(searches) == 2


def test_commands_start_help_latest_stats(index_path, articles_dir):
    with running_bot(index_path, articles_dir) as (fake, app):
        for command in ("/start", "/help", "/latest", "/stats", "/bogus"):
            fake.send_text(command, user_id=16)
            messages_to(fake, 16, count=len(fake.sent_to(16)) + 1)
        start, help_, latest, stats, bogus = (m["text"] for m in fake.sent_to(16))
        assert start.count("• What's the latest on") >= 2 and "…" not in start
        assert "/ask &lt;question&gt;" in help_ and "/reindex" in help_ and "/quit" not in help_
        assert "2025-12-11 — Central Bank Holds Interest Rate" in latest
        assert "Articles: 4" in stats
        assert "don't know that command" in bogus


@pytest.mark.slow
def test_token_never_in_debug_logs(index_path, articles_dir):
    stream = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    old_level = root.level
    try:
        with running_bot(index_path, articles_dir) as (fake, app):
            setup_logging("DEBUG", secrets=(fake.token,))
            logging.getLogger("httpx").setLevel(logging.DEBUG)  # even if someone turns it back on
            fake.fail("sendMessage", 502, "Bad Gateway")
            fake.send_text(QUESTION, user_id=17)
            fake.wait_for(lambda calls: ("sendMessage", 502) in fake.failed)
            fake.send_text(QUESTION, user_id=18)
            messages_to(fake, 18)
            logging.getLogger("test").error("token in a message %s", fake.token)
        log = stream.getvalue()
        assert "getUpdates" in log or "sendMessage" in log  # DEBUG logging really ran
        assert fake.token not in log and fake.token.split(":")[1] not in log
        assert "<redacted>" in log
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        logging.getLogger("httpx").setLevel(logging.WARNING)
