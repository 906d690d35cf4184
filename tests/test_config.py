"""Settings, declared once: the table, .env.example and README agree; a .env that cannot be read."""

import json
import re
from pathlib import Path

import pytest

from bot.config import SETTINGS
from bot.faces.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def test_env_example_and_readme_list_exactly_the_settings():
    example = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    assert names == {s.env for s in SETTINGS}
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1]
    for setting in SETTINGS:
        assert f"`{setting.env}`" in table, setting.env


@pytest.mark.parametrize(
    "env_text, line",
    [
        ('TELEGRAM_BOT_TOKEN="123456789:secret-of-the-bot\n', 1),
        ('# my bot\nNEWSBOT_TOP=3\nTELEGRAM_BOT_TOKEN="123456789:secret-of-the-bot\nNEWSBOT_WATCH=false\n', 3),
    ],
)
def test_a_dotenv_that_cannot_be_parsed_is_one_line_naming_it_without_the_token(runner, tmp_path, env_text, line):
    (tmp_path / ".env").write_text(env_text)
    result = runner.invoke(cli, ["run"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {tmp_path / '.env'} line {line} could not be read: write it as NAME=value, with any quote closed "
        "(see `newsbot run --help`)"
    ]
    assert "secret-of-the-bot" not in result.output


def test_a_dotenv_that_is_not_utf8_is_one_line(runner, tmp_path):
    (tmp_path / ".env").write_bytes(b"TELEGRAM_BOT_TOKEN=123456789:caf\xe9\n")
    result = runner.invoke(cli, ["ask", "tram"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith(f"Error: {tmp_path / '.env'} could not be read: it is not UTF-8 text")


def test_a_dotenv_with_quotes_comments_and_a_multi_line_value_is_read(runner, tmp_path, index_path):
    (tmp_path / ".env").write_text(f'export NEWSBOT_INDEX="{index_path}"  # mine\nNOTE="two\nlines"\nNEWSBOT_TOP=1\n')
    result = runner.invoke(cli, ["ask", "--json", "central bank rate"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["passages"]) == 1
