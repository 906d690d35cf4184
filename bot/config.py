"""Settings, in one place: the environment first, then a `.env` file, then defaults.

Every setting is documented in `.env.example`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names it."""


def data_dir() -> Path:
    """Where newsbot keeps its index by default (XDG data home on Linux)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "newsbot"


def sample_articles_dir() -> Path:
    """The bundled sample articles."""
    return Path(str(resources.files("bot.samples")))


def _ids(name: str, value: str) -> frozenset[int]:
    try:
        return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
    except ValueError:
        raise SettingsError(f"{name} must be comma-separated numeric ids, got {value!r}") from None


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise SettingsError(f"{name} must be a positive whole number, got {value!r}")
    return number


@dataclass(frozen=True)
class Settings:
    """Everything newsbot can be told, with its defaults."""

    articles_dir: Path = field(default_factory=sample_articles_dir)
    index_path: Path | None = None
    language: str = "en"
    log_level: str = "WARNING"
    top: int = 3
    telegram_token: str = field(default="", repr=False)
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    admin_ids: frozenset[int] = frozenset()
    allowed_chat_ids: frozenset[int] = frozenset()
    questions_per_minute: int = 10
    concurrent_updates: int = 32

    @property
    def uses_samples(self) -> bool:
        return self.articles_dir.resolve() == sample_articles_dir().resolve()

    @property
    def index(self) -> Path:
        """The index file: as set, or in the data folder (one for the samples, one for your articles)."""
        if self.index_path:
            return self.index_path
        return data_dir() / ("samples.db" if self.uses_samples else "index.db")


def load_settings(environ: dict[str, str] | None = None, env_file: str | Path = ".env") -> Settings:
    """Read settings from the environment, falling back to `.env` in the current folder."""
    env = {k: v for k, v in dotenv_values(env_file).items() if v is not None} if Path(env_file).is_file() else {}
    env.update(os.environ if environ is None else environ)

    def get(name: str) -> str:
        return env.get(name, "").strip()

    kwargs: dict = {}
    if get("NEWSBOT_ARTICLES_DIR"):
        kwargs["articles_dir"] = Path(get("NEWSBOT_ARTICLES_DIR")).expanduser()
    if get("NEWSBOT_INDEX"):
        kwargs["index_path"] = Path(get("NEWSBOT_INDEX")).expanduser()
    if get("NEWSBOT_LANGUAGE"):
        kwargs["language"] = get("NEWSBOT_LANGUAGE")
    if get("NEWSBOT_LOG_LEVEL"):
        level = get("NEWSBOT_LOG_LEVEL").upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise SettingsError(f"NEWSBOT_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level!r}")
        kwargs["log_level"] = level
    if get("NEWSBOT_TOP"):
        kwargs["top"] = _positive_int("NEWSBOT_TOP", get("NEWSBOT_TOP"))
    if get("TELEGRAM_BOT_TOKEN"):
        kwargs["telegram_token"] = get("TELEGRAM_BOT_TOKEN")
    if get("TELEGRAM_API_BASE_URL"):
        kwargs["telegram_api_base_url"] = get("TELEGRAM_API_BASE_URL")
    if get("NEWSBOT_ADMIN_IDS"):
        kwargs["admin_ids"] = _ids("NEWSBOT_ADMIN_IDS", get("NEWSBOT_ADMIN_IDS"))
    if get("NEWSBOT_ALLOWED_CHAT_IDS"):
        kwargs["allowed_chat_ids"] = _ids("NEWSBOT_ALLOWED_CHAT_IDS", get("NEWSBOT_ALLOWED_CHAT_IDS"))
    if get("NEWSBOT_QUESTIONS_PER_MINUTE"):
        kwargs["questions_per_minute"] = _positive_int("NEWSBOT_QUESTIONS_PER_MINUTE", get("NEWSBOT_QUESTIONS_PER_MINUTE"))
    if get("NEWSBOT_CONCURRENT_UPDATES"):
        kwargs["concurrent_updates"] = _positive_int("NEWSBOT_CONCURRENT_UPDATES", get("NEWSBOT_CONCURRENT_UPDATES"))
    return Settings(**kwargs)
