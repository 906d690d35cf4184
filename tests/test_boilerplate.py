"""Boilerplate learned from the folder: a prose line in FURNITURE_GROUPS unrelated articles is furniture,
never indexed or quoted; copies of one story count once; incremental rebuilds equal full ones."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.faces.cli import cli
from index import furniture, store
from index.articles import Article
from index.furniture import FURNITURE_GROUPS
from index.rebuild import COUNTING, READING, RebuildError, rebuild
from index.segments import REPEATED, article_segments, line_key, line_keys, normalise_line

from .conftest import write
from .test_rebuild import _state

PITCH = "Purchases you make through our links may earn us and our publishing partners a commission."
BIO = "Jane Roe covers city hall for the Daily Example. Follow her on Mastodon."
SAMPLES = Path(__file__).resolve().parents[1] / "bot" / "samples"
_WORDS = (
    "harbour council tram budget river school bridge museum festival storm league mayor station farm "
    "court hospital library airport vote market theatre forest rail port clinic tower park garden"
).split()


def _story(seed: int, extra: tuple[str, ...] = (), day: int = 1) -> str:
    """An article of its own: four sentences no other seed shares, and the `extra` lines as paragraphs."""
    rng = random.Random(seed)
    body = []
    for n in range(4):
        words = rng.sample(_WORDS, 6)
        body.append(
            f"The {words[0]} of story {seed} met the {words[1]} and the {words[2]} on day {n} near "
            f"the {words[3]}, {words[4]} and {words[5]} number {seed * 10 + n}."
        )
    paragraphs = body[:2] + list(extra) + body[2:]
    return f" date 2025-03-{day:02d} Story {seed} about the {rng.choice(_WORDS)}\n\n" + "\n\n".join(paragraphs) + "\n"


def _texts(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("select text from sentences")]


def _snapshot(path: Path):
    """Everything that must not depend on how the index was reached: each text's sentences (by text, not
    id; not its file either: of two files with one text, an incremental rebuild keeps the one indexed
    first), both line tables, and postings consistent with the sentences."""
    with sqlite3.connect(path) as conn:
        sql = "select text from sentences where article_id = ? order by position"
        articles = {
            content_hash: [row[0] for row in conn.execute(sql, [article_id])]
            for article_id, content_hash in conn.execute("select id, content_hash from articles")
        }
        lines = conn.execute("select hash, articles, furniture, holders from lines order by hash").fetchall()
        article_lines = conn.execute("select key, content_hash, lines from article_lines order by key").fetchall()
    return articles, lines, article_lines, _state(path)[2]


def _fresh(folder: Path, tmp_path: Path):
    fresh = tmp_path / "fresh.db"
    for leftover in tmp_path.glob("fresh.db*"):
        leftover.unlink()
    rebuild(folder, fresh)
    return _snapshot(fresh)


def test_lines_are_normalised_as_ccnet_does_but_keep_their_numbers():
    assert normalise_line("  Read: The 2024 Guide, “Updated”!  ") == "read the 2024 guide updated"
    assert line_key("story:Embattled 12") == line_key("Story: embattled 12")
    assert line_key("Shr 39 cts vs 50 cts") != line_key("Shr 12 cts vs 10 cts")  # another company's figures
    assert line_key("—") is None


def test_a_repeated_line_stands_alone_and_is_not_prose():
    opening = "The city council met on Tuesday evening and, after a long debate about the budget,"
    paragraphs = (opening + "\n" + PITCH + "\nvoted.", "Another paragraph.")
    keys = line_keys(paragraphs)
    assert line_key(PITCH) in keys
    segments = article_segments(paragraphs, frozenset({line_key(PITCH)}))[0]
    assert [s.kind for s in segments] == ["prose", REPEATED, "prose"]
    assert article_segments(paragraphs)[0][0].text == opening + " " + PITCH + " voted."


def test_a_line_in_enough_unrelated_articles_is_furniture(tmp_path):
    folder = tmp_path / "news"
    for seed in range(FURNITURE_GROUPS):
        write(folder, f"{seed:03d}.txt", _story(seed, (PITCH,) + ((BIO,) if seed < FURNITURE_GROUPS - 1 else ())))
    path = tmp_path / "i.db"
    summary = rebuild(folder, path)
    texts = _texts(path)
    assert PITCH not in texts and summary.furniture_lines == 1
    stats = CliRunner().invoke(cli, ["index", "stats", "--index", str(path)])
    assert "Repeated lines left out:  1" in stats.output  # what `newsbot index stats` and /stats show
    assert texts.count(BIO.split(". ")[0] + ".") == FURNITURE_GROUPS - 1  # one article short: still prose
    assert _state(path)[2]


def test_copies_of_one_story_count_once(tmp_path):
    """Ten files of one syndicated story (each with its own sign-off line) do not make its sentences
    furniture; the pitch the story carries with seven unrelated articles is furniture only once an eighth
    unrelated article holds it."""
    folder = tmp_path / "news"
    for copy in range(10):
        write(folder, f"copy{copy}.txt", _story(1000, (PITCH, f"Distributed by agency number {copy}.")))
    for seed in range(FURNITURE_GROUPS - 2):
        write(folder, f"{seed:03d}.txt", _story(seed, (PITCH,)))
    path = tmp_path / "i.db"
    rebuild(folder, path)
    assert PITCH in _texts(path)  # 10 copies + 6 others = 7 groups
    story = _story(1000).split("\n\n")[1]
    assert story in _texts(path)
    write(folder, "last.txt", _story(99, (PITCH,)))
    summary = rebuild(folder, path)
    assert PITCH not in _texts(path) and story in _texts(path)
    assert summary.redigested == 10 + FURNITURE_GROUPS - 2  # the holders already indexed, read again
    assert _snapshot(path) == _fresh(folder, tmp_path)


def test_incremental_equals_full_through_adds_removes_and_changes(tmp_path):
    folder = tmp_path / "news"
    for seed in range(FURNITURE_GROUPS - 1):
        write(folder, f"{seed:03d}.txt", _story(seed, (PITCH,), day=seed + 1))
    write(
        folder,
        "feed.jsonl",
        "".join(
            json.dumps({"date": "2025-04-01", "title": f"Feed {n}", "text": _story(500 + n).split("\n\n", 1)[1]}) + "\n"
            for n in range(3)
        ),
    )
    path = tmp_path / "i.db"
    rebuild(folder, path)
    assert PITCH in _texts(path) and _snapshot(path) == _fresh(folder, tmp_path)
    with sqlite3.connect(path) as conn:
        changes_before = conn.execute("select count(*) from changes").fetchone()[0]
        ids_before = dict(conn.execute("select content_hash, id from articles"))

    # An eighth holder, in a JSONL feed: the line crosses, and the seven .txt articles are digested again.
    with open(folder / "feed.jsonl", "a", encoding="utf-8") as feed:
        text = _story(600, (PITCH,)).split("\n\n", 1)[1]
        feed.write(json.dumps({"date": "2025-04-02", "title": "Feed pitch", "text": text}) + "\n")
    summary = rebuild(folder, path)
    assert (summary.added, summary.redigested) == (1, FURNITURE_GROUPS - 1)
    assert PITCH not in _texts(path) and _snapshot(path) == _fresh(folder, tmp_path)
    with sqlite3.connect(path) as conn:  # the same texts: no change logged for the articles digested again
        assert conn.execute("select count(*) from changes").fetchone()[0] == changes_before + 1
        assert set(dict(conn.execute("select content_hash, id from articles"))) >= set(ids_before)

    # Removing one holder brings the line back below: it is prose again everywhere.
    (folder / "003.txt").unlink()
    summary = rebuild(folder, path)
    assert summary.removed == 1 and summary.redigested == FURNITURE_GROUPS - 1
    assert PITCH in _texts(path) and _snapshot(path) == _fresh(folder, tmp_path)

    # A change that adds the pitch to a feed line (now in the feed twice), then one that takes another away.
    lines = (folder / "feed.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    record["text"] += "\n\n" + PITCH
    lines[0] = json.dumps(record)
    (folder / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rebuild(folder, path)
    assert PITCH not in _texts(path) and _snapshot(path) == _fresh(folder, tmp_path)
    write(folder, "001.txt", _story(1, day=2))
    rebuild(folder, path)
    assert PITCH in _texts(path) and _snapshot(path) == _fresh(folder, tmp_path)

    # A watcher's batch (only some paths) that pushes the line over reads the holders outside the batch too.
    write(folder, "new/a.txt", _story(700, (PITCH,)))
    summary = rebuild(folder, path, only=["new"])
    assert summary.redigested == FURNITURE_GROUPS - 1
    assert PITCH not in _texts(path) and _snapshot(path) == _fresh(folder, tmp_path)

    # A full rebuild of the same folder holds the same.
    snapshot = _snapshot(path)
    rebuild(folder, path, full=True)
    assert _snapshot(path) == snapshot


def test_a_copy_of_a_holder_arriving_with_the_crossing_line_keeps_the_original(tmp_path):
    """A new file with the same text as an indexed holder is skipped; the holder is still digested again."""
    folder = tmp_path / "news"
    for seed in range(FURNITURE_GROUPS - 1):
        write(folder, f"{seed:03d}.txt", _story(seed, (PITCH,)))
    path = tmp_path / "i.db"
    rebuild(folder, path)
    shutil.copy(folder / "003.txt", folder / "zz_copy.txt")
    write(folder, "100.txt", _story(100, (PITCH,)))
    summary = rebuild(folder, path)
    assert summary.added == 1 and [s.source for s in summary.skipped] == ["zz_copy.txt"]
    assert PITCH not in _texts(path) and _snapshot(path) == _fresh(folder, tmp_path)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequences_of_changes_keep_incremental_equal_to_full(tmp_path, monkeypatch, seed):
    """Files added, removed, changed, copied and moved at random, each step a rebuild (some of a watcher's
    paths only, then its reconciliation), with a low threshold so that lines cross it both ways often."""
    monkeypatch.setattr(furniture, "FURNITURE_GROUPS", 3)
    rng = random.Random(seed)
    folder, path = tmp_path / "news", tmp_path / "i.db"
    pitches = (PITCH, BIO, "Sign-off line of the desk: thanks for reading the Example.")
    folder.mkdir()
    for step in range(14):
        files = sorted(p.name for p in folder.glob("*.txt"))
        actions = ["add", "add", "remove", "change", "copy", "move"] if len(files) > 1 else ["add"]
        action = rng.choice(actions)  # never the last file: the rebuild refuses to empty an index
        touched = []
        if action == "add" or action == "change":
            name = f"{rng.randrange(40):03d}.txt" if action == "add" else rng.choice(files)
            extra = tuple(p for p in pitches if rng.random() < 0.6)
            write(folder, name, _story(rng.randrange(30), extra, day=rng.randrange(1, 28)))
            touched.append(name)
        elif action == "remove":
            name = rng.choice(files)
            (folder / name).unlink()
            touched.append(name)
        elif action == "copy":
            name = rng.choice(files)
            shutil.copy(folder / name, folder / f"copy{step}.txt")
            touched.append(f"copy{step}.txt")
        else:
            name = rng.choice(files)
            (folder / name).rename(folder / f"moved{step}.txt")
            touched += [name, f"moved{step}.txt"]
        if rng.random() < 0.5 and path.exists():
            rebuild(folder, path, only=touched)
            # A copy skipped as a duplicate outside the batch is the watcher's reconciliation's to index; the
            # articles the batch left alone are not read again by it (unchanged files).
            rebuild(folder, path)
        else:
            rebuild(folder, path)
        assert _snapshot(path) == _fresh(folder, tmp_path), (step, action)


def test_small_folders_are_untouched(tmp_path):
    """The bundled samples and a folder of three articles: no line is furniture, the sentences are those
    of the rules alone."""
    path = tmp_path / "samples.db"
    summary = rebuild(SAMPLES, path)
    assert summary.furniture_lines == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("select count(*) from lines where furniture = 1").fetchone()[0] == 0
    folder = tmp_path / "three"
    for seed in range(3):
        write(folder, f"{seed}.txt", _story(seed, (PITCH, BIO)))
    rebuild(folder, tmp_path / "three.db")
    assert PITCH in _texts(tmp_path / "three.db")


def test_files_that_change_between_the_count_and_the_digest_roll_back(tmp_path, monkeypatch):
    folder = tmp_path / "news"
    for seed in range(3):
        write(folder, f"{seed}.txt", _story(seed))
    path = tmp_path / "i.db"
    rebuild(folder, path)
    before = store.fingerprint(path)
    write(folder, "3.txt", _story(3))

    def changed(conn, touched=None):
        raise furniture.FolderChanged("files changed")

    monkeypatch.setattr(furniture, "check", changed)
    with pytest.raises(RebuildError, match="kept changing"):
        rebuild(folder, path)
    assert store.fingerprint(path) == before
    shutil.rmtree(folder)


@pytest.mark.parametrize("only", [None, ["3.txt"]])
def test_a_file_rewritten_between_the_count_and_the_digest_is_counted_again(tmp_path, only):
    """The check after an incremental rebuild looks only at the texts it touched: a new file rewritten
    after its lines were counted still sends the rebuild back to count, and the index ends whole."""
    folder = tmp_path / "news"
    for seed in range(3):
        write(folder, f"{seed}.txt", _story(seed))
    path = tmp_path / "i.db"
    rebuild(folder, path)
    write(folder, "3.txt", _story(3))
    passes = []

    def progress(items, total, step):
        passes.append(step)
        if passes == [COUNTING, READING]:  # once: the lines counted are not the text digested
            write(folder, "3.txt", _story(4))
        yield from items

    summary = rebuild(folder, path, progress=progress, only=only)
    assert passes == [COUNTING, READING, COUNTING, READING] and summary.added == 1
    with sqlite3.connect(path) as conn:
        furniture.check(conn)  # every text, not only the touched ones
    texts = _texts(path)
    assert any("of story 4 met" in text for text in texts) and not any("of story 3 met" in text for text in texts)


def test_the_article_identity_is_the_text_not_its_furniture():
    article = Article("a.txt", "2025-03-01", "Title", (PITCH, "News."))
    assert article.content_hash == Article("a.txt", "2025-03-01", "Title", (PITCH, "News.")).content_hash
