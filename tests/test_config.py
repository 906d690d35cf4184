"""Settings, declared once: the table, .env.example and README agree."""

import re
from pathlib import Path

from bot.config import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def test_env_example_and_readme_list_exactly_the_settings():
    example = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    assert names == {s.env for s in SETTINGS}
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1]
    for setting in SETTINGS:
        assert f"`{setting.env}`" in table, setting.env
