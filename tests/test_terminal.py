"""Every command that prints for a person, run in a pseudo-terminal from an empty HOME, as a user sees it."""

from __future__ import annotations

import signal
import sys

import pytest

from .conftest import TRAM, write
from .support.terminal import NEWSBOT, in_terminal, user_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


def clean(screen) -> None:
    assert "Traceback" not in screen.text and "Error" not in screen.text, screen.text


def test_ask_in_a_terminal_answers_wrapped_to_its_width(home):
    screen = in_terminal([*NEWSBOT, "ask", "When will the first trams run?"], user_env(home), home, columns=60)
    clean(screen)
    words = " ".join(screen.text.replace("│", " ").split())
    assert screen.returncode == 0 and "first trams should run in the spring of 2028" in words, screen.text
    quoted = [line for line in screen.text.splitlines() if line.startswith("│")]
    assert len(quoted) > 1 and all(len(line) <= 60 for line in quoted), screen.text


def test_console_in_a_terminal_answers_and_quits(home):
    screen = in_terminal(
        [*NEWSBOT, "console"], user_env(home), home, wait_for="> ", typed="When will the first trams run?\n/quit\n"
    )
    clean(screen)
    assert screen.returncode == 0 and "Lakeshore Tram Line" in screen.text


def test_rebuild_and_stats_in_a_terminal(home):
    write(home / "news", "001_tram.txt", TRAM)
    built = in_terminal([*NEWSBOT, "index", "rebuild", "--articles", str(home / "news")], user_env(home), home)
    clean(built)
    assert built.returncode == 0 and "index holds 1 article" in built.text
    stats = in_terminal([*NEWSBOT, "index", "stats"], user_env(home), home)
    clean(stats)
    assert stats.returncode == 0 and "Articles:" in stats.text and "index.db" in stats.text


def test_watch_in_a_terminal_stops_on_ctrl_c(home):
    write(home / "news", "001_tram.txt", TRAM)
    screen = in_terminal(
        [*NEWSBOT, "index", "watch", "--articles", str(home / "news")],
        user_env(home),
        home,
        wait_for="Watching",
        then_signal=signal.SIGINT,
    )
    clean(screen)
    assert screen.returncode == 0 and screen.text.rstrip().endswith("Stopped watching."), screen.text


def test_help_in_a_terminal(home):
    screen = in_terminal([*NEWSBOT, "--help"], user_env(home), home)
    clean(screen)
    assert screen.returncode == 0 and "Quick start" in screen.text
