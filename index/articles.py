"""Step 1: read article files into `Article` objects.

Two formats are read, recursively below an articles folder:

* ``.txt``: first line ``date YYYY-MM-DD Title`` (leading whitespace allowed), an
  optional ``By ...`` byline paragraph, then paragraphs separated by blank lines.
  Hard-wrapped lines inside a paragraph are joined.
* ``.jsonl``: one article per line, ``{"date", "title", "text", "byline"?, "url"?}``.

Nothing here raises on bad input: a file that cannot be used becomes a `Skipped`
with a one-line reason, so a rebuild can report it and carry on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_TXT_BYTES = 10 * 1024 * 1024
MAX_JSONL_BYTES = 512 * 1024 * 1024
MAX_LINE_CHARS = 10 * 1024 * 1024
ARTICLE_SUFFIXES = (".txt", ".jsonl")

_HEADER = re.compile(r"^\s*date\s+(\S+)\s*(.*?)\s*$", re.IGNORECASE)
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v\u00a0]*\n")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INVISIBLE = re.compile("[\ufeff\u200b\u2060]")


@dataclass(frozen=True)
class Article:
    """One parsed article; `paragraphs` excludes the title and the byline."""

    source: str
    date: str
    title: str
    paragraphs: tuple[str, ...]
    byline: str = ""
    url: str = ""
    encoding_note: str = ""

    @property
    def content_hash(self) -> str:
        """Identifies the article's text, whatever file it came from."""
        text = "\x1e".join((self.date, self.title, self.byline, self.url, *self.paragraphs))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Skipped:
    """A file (or JSONL line) that was not indexed, and why."""

    source: str
    reason: str


class ArticleError(ValueError):
    """The text is not a usable article; the message says why in one line."""


def clean_text(text: str) -> str:
    """Collapse runs of white space and drop control characters."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", _INVISIBLE.sub("", text))).strip()


def parse_date(value: object) -> str:
    """Return an ISO date string, or raise `ArticleError`."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ArticleError(f"missing or malformed date {str(value)[:30]!r} (want YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ArticleError(f"impossible date {value.strip()!r}") from None


def split_paragraphs(body: str) -> list[str]:
    """Blank lines separate paragraphs; wrapped lines inside one are joined."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    return [p for p in (clean_text(chunk) for chunk in _BLANK_LINE.split(body)) if p]


def _take_byline(paragraphs: list[str]) -> tuple[str, list[str]]:
    if paragraphs and paragraphs[0].startswith("By ") and len(paragraphs[0]) <= 200:
        return paragraphs[0], paragraphs[1:]
    return "", paragraphs


def parse_txt(text: str, source: str) -> Article:
    """Parse one article in the seed format."""
    text = text.lstrip("\ufeff")
    first, _, body = text.lstrip("\r\n").partition("\n")
    header = _HEADER.match(first)
    if not header:
        raise ArticleError("first line is not 'date YYYY-MM-DD Title'")
    date = parse_date(header.group(1))
    title = clean_text(header.group(2))
    byline, paragraphs = _take_byline(split_paragraphs(body))
    if not paragraphs:
        raise ArticleError("no article text after the title")
    return Article(source, date, title or "(untitled)", tuple(paragraphs), byline)


def parse_json_article(record: object, source: str) -> Article:
    """Parse one JSONL record."""
    if not isinstance(record, dict):
        raise ArticleError("not a JSON object")
    date = parse_date(record.get("date"))
    text = record.get("text")
    if not isinstance(text, str):
        raise ArticleError("missing 'text'")
    title = clean_text(str(record.get("title") or "")) or "(untitled)"
    byline = clean_text(str(record.get("byline") or ""))
    url = clean_text(str(record.get("url") or ""))
    if url and not re.match(r"https?://", url, re.IGNORECASE):
        url = ""
    paragraphs = split_paragraphs(text)
    if not byline:
        byline, paragraphs = _take_byline(paragraphs)
    if not paragraphs:
        raise ArticleError("no article text")
    return Article(source, date, title, tuple(paragraphs), byline, url)


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (BOM allowed), else Windows-1252; returns (text, note)."""
    if b"\x00" in data[:8192]:
        raise ArticleError("binary file (NUL bytes)")
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "not UTF-8, read as Windows-1252"
    except UnicodeDecodeError:
        raise ArticleError("not UTF-8 or Windows-1252 text") from None


def article_files(root: Path | str) -> Iterator[tuple[str, str]]:
    """Yield (path, source) for article files below root, in a stable order.

    Hidden entries are passed over. Symlinked folders are not entered and
    symlinked files are read only when they resolve inside root. Plain strings,
    not Path objects: a rebuild walks every file, and at 100k files pathlib
    alone took seconds.
    """
    root = os.fspath(root)
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        relative = os.path.relpath(folder, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(ARTICLE_SUFFIXES):
                continue
            yield os.path.join(folder, name), prefix + name


def leads_outside(path: Path, root_real: str) -> bool:
    """True for a symlink (or a path through one) that resolves outside the articles folder."""
    real = os.path.realpath(path)
    return not (real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep))


def read_file(path: Path, source: str, root_real: str, data: bytes | None = None) -> Iterator[Article | Skipped]:
    """Parse one file into articles (one for .txt, many for .jsonl) or skips; `data` if already read."""
    try:
        if leads_outside(path, root_real):
            yield Skipped(source, "symlink leads outside the articles folder")
            return
        if not path.is_file():
            yield Skipped(source, "not a regular file")
            return
        size = path.stat().st_size
        if size == 0:
            yield Skipped(source, "empty file")
            return
        if path.suffix.lower() == ".jsonl":
            if size > MAX_JSONL_BYTES:
                yield Skipped(source, f"larger than {MAX_JSONL_BYTES // 2**20} MB")
                return
            yield from _read_jsonl(path, source)
            return
        if size > MAX_TXT_BYTES:
            yield Skipped(source, f"larger than {MAX_TXT_BYTES // 2**20} MB")
            return
        text, note = decode(path.read_bytes() if data is None else data)
        article = parse_txt(text, source)
        yield dataclasses.replace(article, encoding_note=note) if note else article
    except ArticleError as error:
        yield Skipped(source, str(error))
    except OSError as error:
        yield Skipped(source, f"cannot read: {error.strerror or error}")


def _read_jsonl(path: Path, source: str) -> Iterator[Article | Skipped]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            line_source = f"{source}#L{number}"
            if not raw.strip():
                continue
            try:
                if len(raw) > MAX_LINE_CHARS:
                    raise ArticleError("line too long")
                text, _ = decode(raw)
                yield parse_json_article(json.loads(text), line_source)
            except ArticleError as error:
                yield Skipped(line_source, str(error))
            except (ValueError, RecursionError):
                yield Skipped(line_source, "not valid JSON")


def read_articles(root: Path | str) -> Iterator[Article | Skipped]:
    """Every article below root, then skips, in file-name order."""
    root = Path(root)
    root_real = os.path.realpath(root)
    for path, source in article_files(root):
        yield from read_file(Path(path), source, root_real)
