"""The console face: `newsbot console`'s replies, wrapping and commands."""

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
