"""Logging that never writes the bot token.

httpx logs request URLs, and a Bot API URL holds the token; exception texts can
hold it too. `setup_logging` quiets httpx/httpcore and puts a redacting filter
on every root handler, so no record leaves the process with a token in it.
`printable` is the one rule for text printed for a person (the filter, the CLI, the console).
"""

from __future__ import annotations

import logging
import re

# Anything shaped like a Telegram bot token: "<bot id>:<35 url-safe characters>".
TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
REDACTED = "<redacted>"
# What a terminal would act on rather than show: C0 controls but tab and newline, DEL, and C1 (U+009B is a
# CSI, U+009D an OSC on terminals that read them).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text as it may be printed for a person (CLI, console, logs): control characters removed, so that an
    escape sequence in a file name, an article or an index file cannot retitle or clear the terminal."""
    return _CONTROLS.sub("", text)


class Redactor:
    """Replaces known secrets and anything token-shaped."""

    def __init__(self, secrets: tuple[str, ...] = ()):
        self.secrets = tuple(s for s in secrets if s)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return TOKEN_SHAPE.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """A handler filter: message, arguments, traceback and stack, redacted and `printable`."""

    def __init__(self, redact: Redactor, quiet: tuple[type[BaseException], ...] = ()):
        super().__init__()
        self.redact = redact
        self.quiet = quiet
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        error = record.exc_info[1] if record.exc_info else None
        if self.quiet and isinstance(error, self.quiet):
            # An expected fault (network, Telegram refusing a call): one line, no traceback.
            message = f"{message} ({type(error).__name__}: {error})"
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = printable(self.redact(message)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = printable(self.redact(record.exc_text))
        if record.stack_info:
            record.stack_info = printable(self.redact(record.stack_info))
        return True


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PLAIN_FORMAT = "%(message)s"  # for a person at a terminal: the CLI's own way of speaking
OWN_HANDLER = "newsbot"  # the handler setup_logging adds (others, such as a test's, keep their format)


def setup_logging(
    level: str | int = "WARNING",
    secrets: tuple[str, ...] = (),
    stream=None,
    quiet: tuple[type[BaseException], ...] = (),
    plain: bool = False,
) -> Redactor:
    """Configure the root logger once, with redaction on every handler.

    Exceptions of the `quiet` types are logged as one line unless the level is DEBUG. `plain`: messages
    alone, without time, level and logger name (a command a person watches, not a service's log).
    """
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(stream)
        handler.name = OWN_HANDLER
        root.addHandler(handler)
    for handler in root.handlers:
        if handler.name == OWN_HANDLER:
            handler.setFormatter(logging.Formatter(PLAIN_FORMAT if plain else LOG_FORMAT))
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # "N changes detected" for every event
    redact = Redactor(secrets)
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(RedactingFilter(redact, () if root.level <= logging.DEBUG else quiet))
    return redact
