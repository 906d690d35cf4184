"""The console face: `newsbot console`'s replies, wrapping and commands."""

import sys

import pytest

from bot.chat import commands
from bot.faces.cli import cli
from bot.faces.console import reply
from index.search import Index


def test_console_wraps_quotes_and_help_lists_every_command(index_path):
    index = Index(index_path)
    state = {"question": "", "offset": 0}
    text = reply(index, "When will President Kallas visit Norland?", state, 2, columns=40)
    assert all(len(line) <= 40 for line in text.splitlines())
    assert "“" not in text and text.startswith("│ ")
    help_text = reply(index, "/help", state, 2, columns=100)
    for command in commands.for_face(commands.CONSOLE):
        assert f"/{command.name}" in help_text
    assert "/reindex" not in help_text and "/start" in help_text


def test_console_quit_with_words_after_it(runner, index_path):
    result = runner.invoke(cli, ["console", "--index", str(index_path)], input="/quit now\nnever asked\n")
    assert result.exit_code == 0 and "never asked" not in result.output.split("/quit")[-1]


# --- standing questions when the state file cannot be used -------------------------------------------------


def _console_process(index_path, tmp_path, stdin, preexec_fn=None, **env):
    import subprocess

    from .support.terminal import NEWSBOT, user_env

    return subprocess.run(
        [*NEWSBOT, "console", "--index", str(index_path)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=user_env(tmp_path, NEWSBOT_WATCH="false", XDG_DATA_HOME=str(tmp_path / "xdg"), **env),
        preexec_fn=preexec_fn,
        timeout=60,
    )


def test_console_with_a_damaged_state_file_says_so_once_and_answers(runner, index_path, tmp_path, monkeypatch):
    from bot.faces.follow_replies import UNAVAILABLE

    state = tmp_path / "state.db"
    state.write_bytes(b"\x13\x37 not an SQLite file " * 200)
    monkeypatch.setenv("NEWSBOT_STATE", str(state))
    monkeypatch.setenv("NEWSBOT_WATCH", "false")
    typed = (
        "/follow When will the tram line open?\n/following\n/unfollow 1\nWhen will President Kallas visit Norland?\n"
    )
    result = runner.invoke(cli, ["console", "--index", str(index_path)], input=typed)
    assert result.exit_code == 0 and "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if str(state) in line]
    assert line.startswith("Standing questions are off") and "move it aside" in line
    assert result.output.count(UNAVAILABLE) == 3
    assert "Mara Kallas is set to visit Norland" in result.output


@pytest.mark.skipif(sys.platform != "linux", reason="drops a Linux capability to make root obey file modes")
def test_console_with_a_read_only_state_file_replies_politely_and_goes_on(index_path, tmp_path):
    from bot.faces.follow_replies import UNAVAILABLE
    from bot.live.follows import FollowStore

    from .test_reliability import without_root_override

    state = tmp_path / "state.db"
    store = FollowStore(state)
    store.add(0, 0, "When will the tram line open?")
    store.close()
    state.chmod(0o444)
    typed = "/follow When will the harbour tram line open?\nWhen will President Kallas visit Norland?\n/quit\n"
    done = _console_process(index_path, tmp_path, typed, without_root_override, NEWSBOT_STATE=str(state))
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    (line,) = [line for line in (done.stdout + done.stderr).splitlines() if str(state) in line]
    assert "make it writable" in line
    assert UNAVAILABLE in done.stdout and "Mara Kallas is set to visit Norland" in done.stdout


def test_console_with_stdin_closed_is_one_line_and_exit_1(index_path, tmp_path):
    import subprocess

    from .support.terminal import NEWSBOT, user_env

    done = subprocess.run(
        ["sh", "-c", 'exec "$@" <&-', "sh", *NEWSBOT, "console", "--index", str(index_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=user_env(tmp_path, NEWSBOT_WATCH="false", XDG_DATA_HOME=str(tmp_path / "xdg")),
        timeout=60,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == "Error: standard input is closed; the console reads its questions from it\n"


def test_console_refuses_a_question_to_follow_over_the_limit(tmp_path, index):
    from bot.faces import console
    from bot.live.follows import FollowStore

    store, state = FollowStore(tmp_path / "s.db"), {"question": "", "offset": 0}
    text = console.reply(index, "/follow " + "tram " * 2000, state, 3, store=store)
    assert text == "A question to follow can have at most 500 characters, and this one has 9,999; please shorten it."
    assert store.of_chat(0) == []


def test_console_follow_refuses_what_a_question_could_not_ask_and_keeps_it_out_of_the_limit(tmp_path, index):
    from bot.chat.render import NO_WORDS_TEXT
    from bot.faces import console
    from bot.live.follows import FollowStore

    store, state = FollowStore(tmp_path / "s.db", max_per_chat=1), {"question": "", "offset": 0}
    assert console.reply(index, "🙂", state, 3) == NO_WORDS_TEXT  # asked, it has no words to search for
    assert console.reply(index, "/follow 🙂", state, 3, store=store) == NO_WORDS_TEXT
    dated = console.reply(index, "/follow bridge --since 2026-12-01", state, 3, store=store)
    assert dated == (
        "A standing question takes no dates (--since, --until, --as-of): it follows new articles as they arrive. "
        "Send /follow bridge instead."
    )
    for typed in ("/follow tram line —until 2026-01-01", "/follow tram --as-of=2025-07-01", "/follow tram --since"):
        assert console.reply(index, typed, state, 3, store=store).startswith("A standing question takes no dates")
    assert store.of_chat(0) == []
    kept = console.reply(index, "/follow tram line", state, 3, store=store)  # the one question the chat may keep
    assert kept.startswith("Following ‘tram line’.") and [f.question for f in store.of_chat(0)] == ["tram line"]
