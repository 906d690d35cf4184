"""`newsbot run` as a real process against the fake Bot API server."""

from __future__ import annotations

import os
import subprocess
import sys

QUESTION = "When will President Kallas visit Norland?"


def start_bot(fake, index_path, articles_dir, tmp_path, token=None, level="DEBUG", args=(), env=None):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))},
        "TELEGRAM_BOT_TOKEN": token or fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "NEWSBOT_INDEX": str(index_path),
        "NEWSBOT_ARTICLES_DIR": str(articles_dir),
        "NEWSBOT_LOG_LEVEL": level,
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
