"""No secret is committed: nothing token-shaped in the repository, .env ignored, .env.example empty."""

import subprocess
from pathlib import Path

import pytest

from bot.logsafe import TOKEN_SHAPE

ROOT = Path(__file__).resolve().parents[1]


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / line for line in out.splitlines() if line]


def test_no_token_shaped_string_is_committed():
    found = []
    for path in tracked_files():
        if not path.is_file() or path.suffix in {".png", ".npz", ".db"}:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        found += [f"{path.relative_to(ROOT)}: {m.group()[:12]}…" for m in TOKEN_SHAPE.finditer(text)]
    assert found == []


def test_env_is_ignored_and_example_has_no_values_for_secrets():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode == 0
    assert ignored
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "TELEGRAM_BOT_TOKEN=\n" in example
