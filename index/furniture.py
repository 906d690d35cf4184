"""Boilerplate learned from the folder itself: a prose line found in many unrelated articles is furniture.

The rules of index/segments.py know furniture by its look (links, captions, datelines). A site's own
template lines ("Purchases you make through our links may earn us a commission.", a columnist's
biography, "Here's what you need to know to Start Your Week Smart.") look like prose; only their
recurrence gives them away. Every line is normalised as CCNet does (`segments.normalise_line`) and
keyed by its hash (all lines are counted; only where the rules call one prose does its count matter).
The index keeps, per key, the articles holding it (table ``lines``) and, per article, its keys (table
``article_lines``), both keyed by the article's text (its content hash), never by its id, so that an
incremental rebuild and a full one of the same folder hold the same rows.

**The rule.** A line is furniture when the articles holding it include at least FURNITURE_GROUPS that
are not copies of one another. Copies are counted once: syndicated or re-filed versions of one story
(the same article in several files, a live page saved twice) share most of their lines, and their own
sentences must not turn into furniture by being copied. Two articles are copies when the Jaccard
similarity of their line sets is at least NEAR_IDENTICAL (0.5): half of their distinct lines
shared. Unrelated articles sharing a line share almost nothing else (a template's few lines against an
article's dozens); the holders are taken in the order of their content keys, each joining the first
earlier holder it copies, so the count is a function of the set of holders alone.

**Why 8.** A story's own wording does recur in articles that are not copies: its follow-ups repeat a
background paragraph ("Hunter Biden has five children…") while it is news. newsbot takes news to last
7 days (standing questions send only articles of the last 7 days); a story followed with one new article
a day for its week repeats a paragraph in up to 7 unrelated articles. A line must be in more unrelated
articles than that: 8. The folder's sources (hosts, top-level folders) are not asked for: a template is
one site's, so its lines recur within one source, while a story's lines are the ones that cross sources.
A folder of fewer than 8 articles never has any.

**Kept by every rebuild.** Before digesting anything, the rebuild reads the line keys of the articles it
is about to add (`ingest`'s `lines_only` pass) and plans the change (`plan`): holders +1 per added
article, -1 per removed one, for the lines of those articles only. A line that crosses the threshold
either way changes the articles that hold it and are not being digested anyway: `LinePlan.redo` names
them, and the same rebuild digests them again. So an incremental rebuild equals a full one, and an
article that arrives makes only the holders of the lines it pushes over the threshold be read again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .store import each_in

FURNITURE_GROUPS = 8
NEAR_IDENTICAL = 0.5
KEY_DTYPE = np.dtype("<i8")


class FolderChanged(Exception):
    """Files changed between the rebuild's two readings: what was counted is not what was indexed."""


def content_key(content_hash: str) -> int:
    """An article's key in these tables: the first 64 bits of its content hash, as a signed integer."""
    value = int(content_hash[:16], 16)
    return value - (1 << 64) if value >= 1 << 63 else value


def _array(blob: bytes | None) -> np.ndarray:
    return np.frombuffer(blob or b"", KEY_DTYPE)


_EMPTY = np.zeros(0, KEY_DTYPE)


@dataclass
class LinePlan:
    """What one rebuild does to the two tables, worked out before it digests anything. The changed lines'
    rows stay as arrays (a full rebuild of realtimeqa-dev has 475,000): `line_rows` makes them one by one."""

    furniture: frozenset[int] = frozenset()  # every furniture line's key once the rebuild is applied
    redo: set[str] = field(default_factory=set)  # content hashes of indexed articles to digest again
    gone_lines: list[int] = field(default_factory=list)
    added: dict[str, bytes] = field(default_factory=dict)  # content hash -> line keys, of the articles new to it
    gone_hashes: list[str] = field(default_factory=list)  # content hashes of the articles whose rows go
    flipped: int = 0  # lines that crossed the threshold, either way
    lines: np.ndarray = field(default_factory=lambda: _EMPTY)  # each changed line once, ascending
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.intp))  # where its holders start
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.intp))  # how many hold it
    flags: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # 1: furniture
    holders: np.ndarray = field(default_factory=lambda: _EMPTY)  # the holders of all of them, line by line

    @property
    def gone_articles(self) -> list[int]:
        return [content_key(h) for h in self.gone_hashes]

    def article_rows(self) -> Iterator[tuple[int, str, bytes]]:
        """(key, content hash, lines) of every article new to the tables."""
        for content_hash, lines in self.added.items():
            yield content_key(content_hash), content_hash, lines

    def line_rows(self) -> Iterator[tuple[int, int, int, bytes]]:
        """(hash, articles, furniture, holders) of every line whose holders changed."""
        for line, start, count, flag in zip(
            self.lines.tolist(), self.starts.tolist(), self.counts.tolist(), self.flags.tolist()
        ):
            yield line, count, flag, self.holders[start : start + count].tobytes()


def current_furniture(conn: sqlite3.Connection) -> frozenset[int]:
    """The furniture lines' keys of an index (none when it has no such table yet)."""
    try:
        return frozenset(row[0] for row in conn.execute("select hash from lines where furniture = 1"))
    except sqlite3.OperationalError:
        return frozenset()


def _held(conn: sqlite3.Connection, hashes: list[str]) -> dict[str, np.ndarray]:
    """content hash -> its line keys, for those of these articles the table holds."""
    rows = each_in(conn, "select content_hash, lines from article_lines where content_hash in ({marks})", hashes)
    return {content_hash: _array(lines) for content_hash, lines in rows}


def plan(
    conn: sqlite3.Connection,
    incoming: dict[str, bytes],
    outgoing: set[str],
    kept: set[str],
    full: bool,
) -> LinePlan:
    """The change to the line tables when the articles of `outgoing` (content hashes of indexed articles in
    files that changed or are gone) leave and those of `incoming` (content hash -> its line keys as
    little-endian int64 bytes: the articles to be digested) and `kept` (indexed lines of a changed feed, unchanged)
    arrive. With `full` the tables are taken as empty (a full rebuild drops them)."""
    result = LinePlan()
    held = {} if full else _held(conn, sorted(outgoing | set(incoming)))
    # The new articles' keys are kept as given (bytes), not as an array each: at 1.45M articles the arrays,
    # their dictionaries and copies held some 600 MB through the whole rebuild.
    plus = incoming if not held else {h: lines for h, lines in incoming.items() if h not in held}
    minus = {h: held[h] for h in outgoing - set(incoming) - kept if h in held}
    result.added = plus
    result.gone_hashes = list(minus)
    before = frozenset() if full else current_furniture(conn)
    if not plus and not minus:
        result.furniture = before
        return result
    plus_sets = _LineSets(plus)
    plus_keys = plus_sets.keys
    plus_lines = np.frombuffer(b"".join(plus.values()), KEY_DTYPE)
    plus_holders = np.repeat(plus_keys, [len(lines) // KEY_DTYPE.itemsize for lines in plus.values()])
    minus_keys = np.fromiter((content_key(h) for h in minus), KEY_DTYPE, len(minus))
    old_flag: dict[int, int] = {}
    old_lines, old_holders = [_EMPTY], [_EMPTY]
    if not full:
        wanted = np.unique(np.concatenate([plus_lines, *minus.values(), _EMPTY])).tolist()
        for line, flag, holders in each_in(
            conn, "select hash, furniture, holders from lines where hash in ({marks})", wanted
        ):
            old_flag[line] = flag
            holders = _array(holders)
            old_lines.append(np.full(len(holders), line, KEY_DTYPE))
            old_holders.append(holders)
    lines, holders = np.concatenate(old_lines), np.concatenate(old_holders)
    keep = ~np.isin(holders, minus_keys)
    lines = np.concatenate([lines[keep], plus_lines])
    holders = np.concatenate([holders[keep], plus_holders])
    order = np.lexsort((holders, lines))
    lines, holders = lines[order], holders[order]
    starts = np.flatnonzero(np.r_[True, lines[1:] != lines[:-1]]) if len(lines) else np.zeros(0, np.intp)
    counts = np.diff(np.r_[starts, len(lines)])
    flags = np.zeros(len(starts), np.int8)
    cache: dict[int, frozenset[int]] = {}
    for i in np.flatnonzero(counts >= FURNITURE_GROUPS).tolist():
        owners = holders[starts[i] : starts[i] + counts[i]]
        flags[i] = _groups(owners, plus_sets, cache, conn) >= FURNITURE_GROUPS
    result.lines, result.starts, result.counts, result.flags, result.holders = (
        lines[starts],
        starts,
        counts,
        flags,
        holders,
    )
    present = set(result.lines.tolist()) if old_flag else set()
    result.gone_lines = [line for line in old_flag if line not in present]
    flagged = set(result.lines[flags == 1].tolist())
    settled = present | set(result.gone_lines) if not full else set()  # the lines whose holders changed
    result.furniture = frozenset(line for line in before if line not in settled) | frozenset(flagged)
    flipped = [line for line in old_flag if old_flag[line] != (line in flagged)]
    flipped += [line for line in flagged if line not in old_flag]
    result.flipped = len(flipped)
    if not full and flipped:
        # Digested anyway: texts new to the index, and texts that move to another file. A text already held
        # elsewhere (the new file is a duplicate, skipped) stays as it is, so it is digested again if need be.
        digested = {content_key(h) for h in incoming if h in plus or h in outgoing}
        index = {line: i for i, line in enumerate(result.lines.tolist())} if flipped else {}
        others = set()
        for line in flipped:
            if line in index:
                i = index[line]
                others.update(holders[starts[i] : starts[i] + counts[i]].tolist())
        result.redo = set(_content_hashes(conn, sorted(others - digested)))
    return result


class _LineSets:
    """The line keys of the articles being added, by content key, read from their bytes when asked for."""

    def __init__(self, added: dict[str, bytes]):
        self._lines = list(added.values())
        self.keys = np.fromiter((content_key(h) for h in added), KEY_DTYPE, len(added))
        self._order = np.argsort(self.keys, kind="stable")
        self._sorted = self.keys[self._order]

    def __contains__(self, key: int) -> bool:
        at = int(np.searchsorted(self._sorted, key))
        return at < len(self._sorted) and int(self._sorted[at]) == key

    def __getitem__(self, key: int) -> np.ndarray:
        at = int(np.searchsorted(self._sorted, key))
        if at == len(self._sorted) or int(self._sorted[at]) != key:
            raise KeyError(key)
        return _array(self._lines[self._order[at]])


def _content_hashes(conn: sqlite3.Connection, keys: list[int]) -> list[str]:
    return [row[0] for row in each_in(conn, "select content_hash from article_lines where key in ({marks})", keys)]


def _groups(owners: np.ndarray, plus: _LineSets, cache: dict[int, frozenset[int]], conn: sqlite3.Connection) -> int:
    """How many of these articles (content keys, ascending) are not copies of an earlier one, counted up to
    FURNITURE_GROUPS: each joins the first group whose first article it copies (Jaccard of their line
    sets at least NEAR_IDENTICAL), else starts a group. Line sets come from `plus` (the articles being
    added) or the table, a batch at a time: a template's line held by thousands of articles is settled by
    its first few."""
    keys = owners.tolist()
    firsts: list[frozenset[int]] = []
    for start in range(0, len(keys), 64):
        batch = keys[start : start + 64]
        for key in batch:
            if key not in cache and key in plus:
                cache[key] = frozenset(plus[key].tolist())
        missing = [key for key in batch if key not in cache]
        if missing:
            rows = each_in(conn, "select key, lines from article_lines where key in ({marks})", missing)
            cache.update((key, frozenset(_array(lines).tolist())) for key, lines in rows)
        for key in batch:
            mine = cache.get(key, frozenset())
            if not any(_copies(mine, first) for first in firsts):
                firsts.append(mine)
                if len(firsts) >= FURNITURE_GROUPS:
                    return len(firsts)
    return len(firsts)


def _copies(a: frozenset[int], b: frozenset[int]) -> bool:
    union = len(a | b)
    return bool(union) and len(a & b) >= NEAR_IDENTICAL * union


def write(conn: sqlite3.Connection, plan: LinePlan) -> None:
    """Apply a plan to the tables, in the caller's transaction."""
    for _ in each_in(conn, "delete from article_lines where key in ({marks})", plan.gone_articles):
        pass
    conn.executemany(
        "insert or replace into article_lines (key, content_hash, lines) values (?, ?, ?)", plan.article_rows()
    )
    for _ in each_in(conn, "delete from lines where hash in ({marks})", plan.gone_lines):
        pass
    conn.executemany(
        "insert or replace into lines (hash, articles, furniture, holders) values (?, ?, ?, ?)", plan.line_rows()
    )


def check(conn: sqlite3.Connection, touched: set[str] | None = None) -> None:
    """Raise FolderChanged unless ``article_lines`` holds exactly the indexed articles' texts: all of them,
    or only the `touched` texts (those an incremental rebuild added or removed in either table, the others
    having been checked by the rebuild that wrote them; the whole check took 7.8 s at 1.45M articles)."""
    if touched is not None:
        for content_hash in touched:
            held = conn.execute("select 1 from articles where content_hash = ? limit 1", [content_hash]).fetchone()
            counted = conn.execute("select 1 from article_lines where content_hash = ?", [content_hash]).fetchone()
            if bool(held) != bool(counted):
                raise FolderChanged("files changed while the rebuild read them")
        return
    articles = conn.execute("select count(*) from articles").fetchone()[0]
    counted = conn.execute("select count(*) from article_lines").fetchone()[0]
    missing = conn.execute(
        "select count(*) from articles where content_hash not in (select content_hash from article_lines)"
    ).fetchone()[0]
    if articles != counted or missing:
        raise FolderChanged("files changed while the rebuild read them")
