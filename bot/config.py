"""Settings, declared once: the environment first, then a `.env` file, then defaults.

`SETTINGS` is the one table of them: the loader reads it, `.env.example` and
README's table are checked against it by the tests, and `newsbot --help` lists it.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
LANGUAGE_CHOICES = ("en", "ru", "ar", "auto")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_TOP = 50


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


def samples_index() -> Path:
    """The bundled samples' own index: it only ever holds the samples."""
    return data_dir() / "samples.db"


def own_index() -> Path:
    """The index of the user's own articles when no other file is set."""
    return data_dir() / "index.db"


def default_index_for(articles_dir: Path) -> Path:
    """The index file of a folder when none is set: one for the bundled samples, one for any other folder."""
    samples = articles_dir.expanduser().resolve() == sample_articles_dir().resolve()
    return samples_index() if samples else own_index()


# --- parsers: (setting name, raw text) -> value, or SettingsError ------------------------


def _path(name: str, value: str) -> Path:
    return Path(value).expanduser()


def _text(name: str, value: str) -> str:
    return value


def _ids(name: str, value: str) -> frozenset[int]:
    try:
        return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
    except ValueError:
        raise SettingsError(f"{name} must be comma-separated numeric ids, got {value!r}") from None


def _count(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise SettingsError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
        return number

    return parse


def _choice(choices: tuple[str, ...], upper: bool = False) -> Callable[[str, str], str]:
    def parse(name: str, value: str) -> str:
        value = value.upper() if upper else value.lower()
        if value not in choices:
            raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    return parse


def _language(name: str, value: str) -> str:
    # Checked only when an index is built (`Settings.new_index_language`): an index keeps its own.
    return value.lower()


def _flag(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {value!r}")


@dataclass(frozen=True)
class Setting:
    """One setting: the `Settings` field it fills, its environment variable, how its text is read,
    its default as a person reads it, and what it does."""

    field: str
    env: str
    parse: Callable[[str, str], object]
    default: str
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "articles_dir",
        "NEWSBOT_ARTICLES_DIR",
        _path,
        "the bundled samples",
        "folder of articles (.txt, .jsonl), read recursively",
    ),
    Setting(
        "index_path",
        "NEWSBOT_INDEX",
        _path,
        "index.db in the data folder once built, else samples.db",
        "the index file (SQLite)",
    ),
    Setting(
        "language",
        "NEWSBOT_LANGUAGE",
        _language,
        "auto",
        "language of a new index: auto (each word by its script), en, ru or ar",
    ),
    Setting("log_level", "NEWSBOT_LOG_LEVEL", _choice(LOG_LEVELS, upper=True), "WARNING", "log level"),
    Setting("top", "NEWSBOT_TOP", _count(1, MAX_TOP), "3", f"passages per answer (1 to {MAX_TOP})"),
    Setting("telegram_token", "TELEGRAM_BOT_TOKEN", _text, "none", "the bot token from @BotFather", secret=True),
    Setting(
        "telegram_api_base_url",
        "TELEGRAM_API_BASE_URL",
        _text,
        DEFAULT_API_BASE_URL,
        "Bot API base URL (a self-hosted Bot API server)",
    ),
    Setting("admin_ids", "NEWSBOT_ADMIN_IDS", _ids, "nobody", "Telegram user ids allowed to run /reindex"),
    Setting("allowed_chat_ids", "NEWSBOT_ALLOWED_CHAT_IDS", _ids, "every chat", "chat ids that get answers"),
    Setting(
        "questions_per_minute",
        "NEWSBOT_QUESTIONS_PER_MINUTE",
        _count(1, 10_000),
        "10",
        "questions (and More presses, /follow, /unfollow) one user may ask per minute",
    ),
    Setting(
        "concurrent_updates", "NEWSBOT_CONCURRENT_UPDATES", _count(1, 256), "32", "Telegram updates handled at once"
    ),
    Setting(
        "watch",
        "NEWSBOT_WATCH",
        _flag,
        "true",
        "run and console apply new, changed and deleted article files as they appear",
    ),
    Setting(
        "reconcile_minutes",
        "NEWSBOT_RECONCILE_MINUTES",
        _count(1, 1440),
        "15",
        "while watching, a full check of the folder this often (catches missed events)",
    ),
    Setting(
        "state_path",
        "NEWSBOT_STATE",
        _path,
        "<index>.state.db",
        "the file of standing questions (/follow) and what was sent for them",
    ),
    Setting("max_follows", "NEWSBOT_MAX_FOLLOWS", _count(1, 1000), "20", "standing questions per chat"),
    Setting(
        "max_follows_total",
        "NEWSBOT_MAX_FOLLOWS_TOTAL",
        _count(1, 1_000_000),
        "1000",
        "standing questions kept in all chats together (each new article is asked every one of them)",
    ),
)


@dataclass(frozen=True)
class Settings:
    """Everything newsbot can be told, with its defaults (see `SETTINGS`)."""

    articles_dir: Path = field(default_factory=sample_articles_dir)
    index_path: Path | None = None
    language: str = "auto"
    log_level: str = "WARNING"
    top: int = 3
    telegram_token: str = field(default="", repr=False)
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    admin_ids: frozenset[int] = frozenset()
    allowed_chat_ids: frozenset[int] = frozenset()
    questions_per_minute: int = 10
    concurrent_updates: int = 32
    watch: bool = True
    reconcile_minutes: int = 15
    state_path: Path | None = None
    max_follows: int = 20
    max_follows_total: int = 1000
    configured: frozenset[str] = frozenset()  # the fields set in the environment or .env

    def state_for(self, index: Path) -> Path:
        """The standing questions' file: as set, or beside the index."""
        return self.state_path or index.with_name(index.name + ".state.db")

    def new_index_language(self) -> str:
        """The language a new index is built in; a bad NEWSBOT_LANGUAGE is an error only here, since an
        existing index keeps the language it was built in."""
        return _choice(LANGUAGE_CHOICES)("NEWSBOT_LANGUAGE", self.language)


def read_env_file(path: Path) -> dict[str, str]:
    """The settings in a `.env` file, or SettingsError naming the file and the first line that cannot be read
    (python-dotenv would only log it and go on without that line). The error never quotes the line: it may
    hold the token."""
    where = path.absolute()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"{where} could not be read: it is not UTF-8 text") from None
    except OSError as error:
        raise SettingsError(f"{where} could not be read: {error.strerror or error}") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise SettingsError(
                f"{where} line {binding.original.line} could not be read: write it as NAME=value, with any quote closed"
            )
    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


def load_settings(environ: dict[str, str] | None = None, env_file: str | Path = ".env") -> Settings:
    """Read settings from the environment, falling back to `.env` in the current folder."""
    env = read_env_file(Path(env_file)) if Path(env_file).is_file() else {}
    env.update(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    for setting in SETTINGS:
        raw = env.get(setting.env, "").strip()
        if raw:
            values[setting.field] = setting.parse(setting.env, raw)
    return Settings(**values, configured=frozenset(values))


def settings_help() -> str:
    """The settings as a table for `--help`."""
    width = max(len(s.env) for s in SETTINGS)
    return "\n".join(f"{s.env:<{width}}  {s.help} (default: {s.default})" for s in SETTINGS)
