"""README's own blocks, run as written, in the order a user types them, from an empty HOME."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from bot.faces.cli import cli

from .conftest import RATES, TRAM, VISIT, write
from .support.terminal import user_env

README = Path(__file__).resolve().parents[1] / "README.md"


def shell_block(after_heading: str) -> list[str]:
    """The commands of the first ```sh block under a README heading, comments dropped."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(after_heading) :]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def run_as_user(command: str, home: Path, typed: str = "/quit\n") -> subprocess.CompletedProcess:
    """One README line through the shell, with `newsbot` the code under test."""
    assert command.startswith("newsbot "), command
    line = f"{shlex.quote(sys.executable)} -m bot {command.removeprefix('newsbot ')}"
    return subprocess.run(
        ["bash", "-c", line], env=user_env(home), cwd=home, input=typed, text=True, capture_output=True, timeout=120
    )


def own_articles(home: Path) -> None:
    write(home / "news", "001_tram.txt", TRAM)
    write(home / "news", "002_visit.txt", VISIT)
    write(home / "news", "2025/003_rates.txt", RATES)


def test_using_it_with_your_own_articles_as_written(tmp_path):
    home = tmp_path / "home"
    own_articles(home)
    commands = shell_block("## Using it with your own articles")
    assert [c.split()[:3] for c in commands] == [
        ["newsbot", "index", "rebuild"],
        ["newsbot", "ask", '"When'],
        ["newsbot", "console"],
    ]
    rebuilt = run_as_user(commands[0], home)
    assert rebuilt.returncode == 0 and "index holds 3 articles" in rebuilt.stdout, rebuilt.stderr
    asked = run_as_user(commands[1], home)
    assert asked.returncode == 0 and "Council Approves Harbour Tram Line" in asked.stdout, asked.stdout
    assert "sample" not in asked.stderr and "building" not in asked.stderr, asked.stderr
    console = run_as_user(commands[2], home, typed="/stats\n/quit\n")
    assert console.returncode == 0 and "Articles: 3" in console.stdout, console.stdout
    plain = run_as_user("newsbot index rebuild", home)  # a plain rebuild (cron) goes to the same index
    assert plain.returncode == 0 and "3 unchanged" in plain.stdout and "/news into" in plain.stdout, plain.stdout
    assert not (home / ".local/share/newsbot/samples.db").exists()


def test_the_quick_start_in_newsbot_help_as_written(tmp_path, runner):
    home = tmp_path / "home"
    own_articles(home)
    shown = runner.invoke(cli, ["--help"]).output
    block = shown[shown.index("Your own articles:") :].split("\n\n")[0].splitlines()[1:]
    commands = [line.strip() for line in block if line.strip().startswith("newsbot ")]
    assert len(commands) == 2
    assert run_as_user(commands[0], home).returncode == 0
    asked = run_as_user(commands[1], home)
    assert asked.returncode == 0 and "Council Approves Harbour Tram Line" in asked.stdout, asked.stdout


def test_the_quickstart_console_needs_no_setup(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    command = shell_block("## Quickstart")[0].split("&&")[1].strip()
    assert command == "newsbot console"
    console = run_as_user(command, home, typed="When will the first trams run?\n/quit\n")
    shown = " ".join(console.stdout.replace("│", " ").split())
    assert console.returncode == 0 and "spring of 2028" in shown, console.stdout + console.stderr
