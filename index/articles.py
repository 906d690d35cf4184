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
import functools
import hashlib
import json
import os
import re
import stat
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
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 (white space aside), DEL, C1
_INVISIBLE = re.compile("[\ufeff\u200b\u2060]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Article:
    """One parsed article; `paragraphs` excludes the title and the byline, and keeps a paragraph's hard-wrapped
    lines apart ("\n"), so that furniture can be told from prose line by line (`index.segments`)."""

    source: str
    date: str
    title: str
    paragraphs: tuple[str, ...]
    byline: str = ""
    url: str = ""
    encoding_note: str = ""

    @functools.cached_property  # the rebuild asks for it several times an article, in two processes
    def content_hash(self) -> str:
        """Identifies the article's text, whatever file it came from (white space collapsed, so an index built
        when wrapped lines were joined at parse time gives its articles the same identity)."""
        paragraphs = (" ".join(p.split()) for p in self.paragraphs)
        text = "\x1e".join((self.date, self.title, self.byline, self.url, *paragraphs))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Skipped:
    """A file (or JSONL line) that was not indexed, and why."""

    source: str
    reason: str


class ArticleError(ValueError):
    """The text is not a usable article; the message says why in one line."""


def clean_text(text: str) -> str:
    """Collapse runs of white space and drop control characters, C0 and C1 (and lone surrogates, which a JSON
    escape like \\ud800 can make and no file or database can store)."""
    if _SURROGATE.search(text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _SPACES.sub(" ", _CONTROL.sub(" ", _INVISIBLE.sub("", text))).strip()


def parse_date(value: object) -> str:
    """Return an ISO date string, or raise `ArticleError`."""
    if value is None or isinstance(value, str) and not value.strip():  # a JSONL record without its "date"
        raise ArticleError('the date is missing (want "date": "YYYY-MM-DD")')
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ArticleError(f"malformed date {str(value)[:30]!r} (want YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ArticleError(f"impossible date {value.strip()!r}") from None


def split_paragraphs(body: str) -> list[str]:
    """Blank lines separate paragraphs; each line is cleaned, and the wrapped lines of one are kept apart
    by "\n" (joined, or not, by `index.segments`)."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    chunks = ("\n".join(filter(None, map(clean_text, chunk.split("\n")))) for chunk in _BLANK_LINE.split(body))
    return [p for p in chunks if p]


def _take_byline(paragraphs: list[str]) -> tuple[str, list[str]]:
    if paragraphs and paragraphs[0].startswith("By ") and len(paragraphs[0]) <= 200:
        return clean_text(paragraphs[0]), paragraphs[1:]
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


_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (BOM allowed), UTF-16 or UTF-32 with a BOM (Windows Notepad's "Unicode"), else
    Windows-1252; returns (text, note)."""
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), f"{name} with a byte order mark, read as text"
            except UnicodeDecodeError:
                raise ArticleError(f"not valid {name} text after its byte order mark") from None
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


def printable_name(name: str) -> str:
    """A file name as it can be shown and stored: undecodable bytes as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_article_name(name: str) -> bool:
    """Whether a file of this name is read as articles: not hidden, ending in .txt or .jsonl (any case).

    The one rule for file names, shared by the rebuild's walk and the folder watcher. It is also what
    keeps editors', downloaders' and copy tools' temporary files out: x.txt.swp, x.txt~, #x.txt#, vim's
    4913, x.txt.part, x.txt.tmp, x.txt.crdownload, rsync's .x.txt.AbC123. It applies to files only.
    """
    return not name.startswith(".") and name.lower().endswith(ARTICLE_SUFFIXES)


def is_article_folder(name: str) -> bool:
    """Whether the rebuild's walk enters a real (not symlinked) folder of this name: any but a hidden one
    (.git, .Trash-1000, a producer's .incoming). Names that would be temporary as file names (4913,
    drafts.bak, issue~, story.part) are ordinary folders. Symlinked folders are never entered."""
    return not name.startswith(".")


def article_entry(root: Path | str, relative: str) -> str | None:
    """What the rebuild's walk of `root` makes of the entry at `relative` (a '/'-separated path below it):
    "folder" for a folder it enters, "file" for a file it reads as articles (a symlinked file too: reading
    checks where it leads), None for anything it never reads: nothing there, a hidden part, a part that is
    a symlinked folder or not a folder, a symlinked folder itself, or a file not named as an article
    (`is_article_name`). The rule for one path, as `article_files` is the rule for a whole folder."""
    parts = relative.split("/")
    if not relative or any(not part or part in (".", "..") for part in parts):
        return None
    path = os.fspath(root)
    for part in parts[:-1]:
        if not is_article_folder(part):
            return None
        path = os.path.join(path, part)
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return None  # a symlinked folder (never entered), a file, or gone
        except OSError:
            return None
    path = os.path.join(path, parts[-1])
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISDIR(info.st_mode):
        return "folder" if is_article_folder(parts[-1]) else None
    if stat.S_ISLNK(info.st_mode) and os.path.isdir(path):
        return None  # a symlinked folder: listed by the walk, never entered
    return "file" if is_article_name(parts[-1]) else None


def article_files(
    root: Path | str, problems: list[Skipped] | None = None, unreadable: list[str] | None = None
) -> Iterator[tuple[str, str]]:
    """Yield (path, source) for article files below root, in a stable order.

    Hidden entries are passed over. Symlinked folders are not entered and
    symlinked files are read only when they resolve inside root. Plain strings,
    not Path objects: a rebuild walks every file, and at 100k files pathlib
    alone took seconds. Files whose names are not valid UTF-8 (they cannot be
    stored) are left out and, like folders that cannot be read, added to
    `problems`; the unreadable folders' prefixes also go to `unreadable`.
    """
    root = os.fspath(root)

    def cannot_read(error: OSError) -> None:
        relative = os.path.relpath(error.filename or root, root)
        folder = "" if relative == "." else printable_name(relative.replace(os.sep, "/")) + "/"
        if unreadable is not None:
            unreadable.append(folder)
        if problems is not None:
            problems.append(
                Skipped(
                    folder or "./",
                    f"folder cannot be read ({error.strerror or error}); its articles are kept as they were",
                )
            )

    for folder, dirs, files in os.walk(root, followlinks=False, onerror=cannot_read):
        dirs[:] = sorted(d for d in dirs if is_article_folder(d))
        relative = os.path.relpath(folder, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in sorted(files):
            if not is_article_name(name):
                continue
            source = prefix + name
            try:
                source.encode("utf-8")
            except UnicodeEncodeError:
                if problems is not None:
                    problems.append(Skipped(printable_name(source), "file name is not valid UTF-8; rename it"))
                continue
            yield os.path.join(folder, name), source


def leads_outside(path: Path, root_real: str) -> bool:
    """True for a symlink (or a path through one) that resolves outside the articles folder."""
    real = os.path.realpath(path)
    return not (real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep))


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_checked(path: Path | str, limit: int):
    """The file opened for reading, once the open file itself (fstat) shows a regular file of 1 to
    `limit` bytes; else ArticleError. Opened without blocking, so a pipe with no writer cannot hang the
    rebuild, and checked before a byte is read, so a device or a huge sparse file costs nothing."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ArticleError(f"not a regular file: {_kind(info.st_mode)}")
        if info.st_size == 0:
            raise ArticleError("empty file")
        if info.st_size > limit:
            raise ArticleError(f"larger than {limit // 2**20} MB")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_checked(path: Path | str, limit: int | None = None) -> bytes:
    """A regular file's bytes (see `open_checked`), never more than `limit` (default MAX_TXT_BYTES) even if
    it grows meanwhile."""
    limit = MAX_TXT_BYTES if limit is None else limit
    with open_checked(path, limit) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ArticleError(f"larger than {limit // 2**20} MB")
    return data


def read_file(path: Path, source: str, root_real: str, data: bytes | None = None) -> Iterator[Article | Skipped]:
    """Parse one file into articles (one for .txt, many for .jsonl) or skips; `data` if already read."""
    try:
        if leads_outside(path, root_real):
            yield Skipped(source, "symlink leads outside the articles folder")
            return
        if path.suffix.lower() == ".jsonl":
            with open_checked(path, MAX_JSONL_BYTES) as handle:
                yield from read_jsonl_lines(handle, source)
            return
        text, note = decode(read_checked(path) if data is None else data)
        article = parse_txt(text, source)
        yield dataclasses.replace(article, encoding_note=note) if note else article
    except ArticleError as error:
        yield Skipped(source, str(error))
    except OSError as error:
        yield Skipped(source, f"cannot read: {error.strerror or error}")


def jsonl_lines(handle, first_line: int = 1, end: int | None = None) -> Iterator[tuple[int, bytes | None]]:
    """(line number, raw line) from the handle's position up to byte `end`; None for a line over
    MAX_LINE_CHARS, whose rest is skipped unread into memory."""
    number = first_line
    while end is None or handle.tell() < end:
        raw = handle.readline(MAX_LINE_CHARS + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_CHARS and not raw.endswith(b"\n"):
            while True:
                rest = handle.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            raw = None
        yield number, raw
        number += 1


def parse_jsonl_line(raw: bytes | None, source: str) -> Article | Skipped | None:
    """One JSONL line as an article, a skip with its reason, or None for a blank line."""
    if raw is not None and not raw.strip():
        return None
    try:
        if raw is None:
            raise ArticleError("line too long")
        text, _ = decode(raw)
        return parse_json_article(json.loads(text), source)
    except ArticleError as error:
        return Skipped(source, str(error))
    except (ValueError, RecursionError):
        return Skipped(source, "not valid JSON")


def read_jsonl_lines(handle, source: str) -> Iterator[Article | Skipped]:
    for number, raw in jsonl_lines(handle):
        item = parse_jsonl_line(raw, f"{source}#L{number}")
        if item is not None:
            yield item


def read_articles(root: Path | str) -> Iterator[Article | Skipped]:
    """Every article below root, then skips, in file-name order."""
    root = Path(root)
    root_real = os.path.realpath(root)
    for path, source in article_files(root):
        yield from read_file(Path(path), source, root_real)
