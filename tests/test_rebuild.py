import shutil
import sqlite3

import numpy as np
import pytest
import rank_bm25

from bot.ranking.answer import answer
from index import store
from index.rebuild import COUNTING, READING, RebuildError, rebuild, rebuild_lock
from index.search import Index
from index.terms import Analyzer

from .conftest import FESTIVAL, TRAM, VISIT, write


def _state(path):
    """(sources, sentence count, both postings tables consistent with the sentences)."""
    db = store.connect(path, readonly=True)
    sources = sorted(r[0] for r in db.execute("select source from articles"))
    sentences = {r[0]: (r[1], r[2]) for r in db.execute("select id, article_id, text from sentences")}
    analyzer = Analyzer("en")
    expected: dict[str, set[int]] = {}
    expected_articles: dict[str, dict[int, int]] = {}
    article_lengths: dict[int, int] = {}
    for sid, (article_id, text) in sentences.items():
        terms = analyzer.terms(text)
        article_lengths[article_id] = article_lengths.get(article_id, 0) + len(terms)
        for term in terms:
            expected.setdefault(term, set()).add(sid)
            counts = expected_articles.setdefault(term, {})
            counts[article_id] = counts.get(article_id, 0) + 1
    actual = {
        term: set(np.frombuffer(ids, store.ID_DTYPE).tolist())
        for term, ids in db.execute("select term, ids from postings")
    }
    actual_articles, lengths_ok = {}, True
    for term, ids, tfs, lengths in db.execute("select term, ids, tfs, lengths from article_postings"):
        ids = np.frombuffer(ids, store.ID_DTYPE).tolist()
        actual_articles[term] = dict(zip(ids, np.frombuffer(tfs, store.COUNT_DTYPE).tolist()))
        lengths_ok &= [article_lengths[i] for i in ids] == np.frombuffer(lengths, store.LENGTH_DTYPE).tolist()
    db.close()
    consistent = actual == expected and actual_articles == expected_articles and lengths_ok
    return sources, len(sentences), consistent


def test_incremental_add_change_delete_unchanged(tmp_path, articles_dir):
    path = tmp_path / "i.db"
    first = rebuild(articles_dir, path)
    assert (first.added, first.full) == (4, True)

    again = rebuild(articles_dir, path)
    assert (again.added, again.updated, again.removed, again.unchanged, again.full) == (0, 0, 0, 4, False)

    write(articles_dir, "005_new.txt", TRAM.replace("harbour", "airport").replace("Harbour", "Airport"))
    (articles_dir / "002_visit.txt").write_text(VISIT.replace("next month", "in May"))
    (articles_dir / "sub" / "003_rates.txt").unlink()
    summary = rebuild(articles_dir, path)
    assert (summary.added, summary.updated, summary.removed, summary.unchanged) == (1, 1, 1, 2)
    sources, _, consistent = _state(path)
    assert sources == ["001_tram.txt", "002_visit.txt", "005_new.txt", "sub/004_rates_later.txt"]
    assert consistent

    full = rebuild(articles_dir, path, full=True)
    assert full.full and full.added == 4
    assert _state(path)[0] == sources and _state(path)[2]


def test_each_pass_over_the_files_is_named_to_the_progress_bar(tmp_path, articles_dir):
    passes = []

    def progress(items, total, step):
        passes.append((step, total))
        yield from items

    rebuild(articles_dir, tmp_path / "i.db", progress=progress)
    assert passes == [(COUNTING, 4), (READING, 4)]


def test_incremental_index_scores_like_a_fresh_one(tmp_path, articles_dir):
    path = tmp_path / "i.db"
    rebuild(articles_dir, path)
    (articles_dir / "sub" / "003_rates.txt").unlink()
    write(articles_dir, "006.txt", TRAM.replace("tram", "metro"))
    rebuild(articles_dir, path)
    index = Index(path)
    with index.snapshot() as snap:
        rows = list(snap.each_sentence())
        corpus = [Analyzer("en").terms(r.text) for r in rows]
        reference = rank_bm25.BM25Okapi(corpus)
        for query in (["metro", "line"], ["interest", "rate"], ["visit"]):
            got = dict(zip(*(a.tolist() for a in (snap.candidates(query).ids, snap.candidates(query).scores))))
            expected = reference.get_scores(query)
            for i, row in enumerate(rows):
                if row.id in got:
                    assert got[row.id] == pytest.approx(expected[i], rel=1e-6)


def test_duplicate_text_under_two_names_is_indexed_once_and_the_skip_names_the_copy_kept(tmp_path, articles_dir):
    write(articles_dir, "copy_of_tram.txt", TRAM)
    summary = rebuild(articles_dir, tmp_path / "d.db")
    assert summary.added == 4
    assert [(s.source, s.reason) for s in summary.skipped] == [("copy_of_tram.txt", "same text as 001_tram.txt")]
    write(articles_dir, "later/tram_again.txt", TRAM)  # a copy arriving later: the holder is already indexed
    later = rebuild(articles_dir, tmp_path / "d.db")
    assert ("later/tram_again.txt", "same text as 001_tram.txt") in [(s.source, s.reason) for s in later.skipped]


def test_skipped_files_are_named_and_the_index_is_written(tmp_path, articles_dir):
    write(articles_dir, "broken.txt", "no header")
    write(articles_dir, "empty.txt", "")
    summary = rebuild(articles_dir, tmp_path / "s.db")
    assert {s.source for s in summary.skipped} == {"broken.txt", "empty.txt"}
    assert summary.articles == 4
    assert any("skipped broken.txt" in line for line in summary.lines())


def test_language_is_stored_and_a_change_rebuilds_fully(tmp_path, articles_dir):
    path = tmp_path / "l.db"
    rebuild(articles_dir, path, language="en")
    assert Index(path).meta().language == "english"
    summary = rebuild(articles_dir, path, language="ru")
    assert summary.full and Index(path).meta().language == "russian"


def test_auto_language_indexes_a_mixed_collection(tmp_path, articles_dir):
    write(
        articles_dir,
        "005_ru.txt",
        " date 2025-07-01 Путин посетит Иран\n\n"
        "Президент России Владимир Путин посетит Тегеран в октябре. Визит готовят министры.\n",
    )
    write(
        articles_dir,
        "006_ar.txt",
        " date 2025-07-02 بوتين يزور طهران\n\n"
        "قال مسؤولون إن الرئيس الروسي سيزور طهران في أكتوبر. وتستعد الوزارات للزيارة.\n",
    )
    path = tmp_path / "auto.db"
    rebuild(articles_dir, path, language="auto")
    meta = Index(path).meta()
    assert meta.language == "auto"
    assert meta.article_languages == "english 4, arabic 1, russian 1"
    index = Index(path)
    assert answer(index, "Когда Путин посетит Тегеран?").passages[0].title == "Путин посетит Иран"
    assert answer(index, "متى يزور الرئيس الروسي طهران؟").passages[0].title == "بوتين يزور طهران"
    assert answer(index, "When will the tram line open?").passages[0].title == "Council Approves Harbour Tram Line"


def test_other_schema_version_gives_one_clear_line(index_path):
    db = sqlite3.connect(index_path)
    db.execute("update meta set value = '999' where key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(store.IndexUnavailable, match=r"schema 999.*newsbot index rebuild"):
        Index(index_path).meta()


def test_refuses_to_overwrite_a_database_that_is_not_an_index(tmp_path, articles_dir):
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("create table precious (x)")
    db.commit()
    db.close()
    with pytest.raises(RebuildError, match="not a newsbot index"):
        rebuild(articles_dir, other)
    assert sqlite3.connect(other).execute("select name from sqlite_master").fetchall() == [("precious",)]


def test_refuses_a_file_that_is_not_sqlite(tmp_path, articles_dir):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(
        RebuildError,
        match=r"damaged or not a newsbot index.*mv .*junk.db.broken.*"
        r"newsbot index rebuild --articles DIR --index .*junk.db",
    ):
        rebuild(articles_dir, junk)
    assert junk.read_bytes() == b"this is not a database" * 100


def test_a_first_build_that_fails_leaves_no_file(tmp_path, articles_dir, monkeypatch):
    import index.rebuild as module

    path = tmp_path / "first.db"

    def explode(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(module, "_apply", explode)
    with pytest.raises(RebuildError, match="nothing was written"):
        rebuild(articles_dir, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["articles", "first.db.lock"]


@pytest.mark.parametrize("stub", ["empty file", "empty meta"])
def test_a_stub_left_by_a_failed_first_build_is_built_over(tmp_path, articles_dir, stub):
    path = tmp_path / "stub.db"
    if stub == "empty file":
        path.write_bytes(b"")
    else:
        db = sqlite3.connect(path)
        db.execute("create table meta (key text primary key, value text)")
        db.commit()
        db.close()
    summary = rebuild(articles_dir, path)
    assert summary.added == 4 and Index(path).meta().articles == 4


def test_an_index_keeps_its_folder_unless_full(tmp_path, articles_dir):
    from index.rebuild import check_folder, recorded_folder

    path = tmp_path / "kept.db"
    rebuild(articles_dir, path)
    assert recorded_folder(path) == articles_dir.resolve()
    check_folder(path, articles_dir, full=False)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(RebuildError, match=r"holds the articles of .*articles; rebuilding it from .*other.*--full"):
        check_folder(path, other, full=False)
    check_folder(path, other, full=True)


def test_missing_articles_folder(tmp_path):
    with pytest.raises(RebuildError, match="does not exist"):
        rebuild(tmp_path / "nope", tmp_path / "x.db")


def test_second_rebuild_at_once_refuses(tmp_path, articles_dir):
    path = tmp_path / "lock.db"
    with rebuild_lock(path):
        with pytest.raises(RebuildError, match="another rebuild"):
            rebuild(articles_dir, path)


def test_failed_rebuild_leaves_previous_index(tmp_path, articles_dir, monkeypatch):
    path = tmp_path / "keep.db"
    rebuild(articles_dir, path)
    before = _state(path)
    write(articles_dir, "005_new.txt", TRAM.replace("tram", "ferry"))

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("index.store.write_postings", explode)
    with pytest.raises(RuntimeError):
        rebuild(articles_dir, path)
    assert _state(path) == before


def test_incremental_equals_fresh_when_a_duplicate_becomes_unique(tmp_path):
    """A copy skipped as a duplicate is indexed once its original changes, as a fresh rebuild would."""
    folder = tmp_path / "dups"
    write(folder, "a_copy.txt", TRAM)
    write(folder, "b_original.txt", TRAM)
    path = tmp_path / "dups.db"
    first = rebuild(folder, path)
    assert first.added == 1 and len(first.skipped) == 1
    write(folder, "b_original.txt", TRAM.replace("620 million", "700 million"))
    rebuild(folder, path)
    fresh = tmp_path / "fresh.db"
    rebuild(folder, fresh)

    def texts(p):
        db = store.connect(p, readonly=True)
        return sorted(r[0] for r in db.execute("select content_hash from articles"))

    assert texts(path) == texts(fresh) and len(texts(path)) == 2
    assert _state(path)[2]


def test_a_rebuild_of_some_paths_touches_only_those(tmp_path, articles_dir):
    path = tmp_path / "only.db"
    rebuild(articles_dir, path)
    write(articles_dir, "new/005.txt", FESTIVAL)
    (articles_dir / "001_tram.txt").unlink()
    (articles_dir / "002_visit.txt").write_text(VISIT.replace("next month", "in May"))
    summary = rebuild(articles_dir, path, only=["new", "sub"])  # the tram and visit changes are not looked at
    assert (summary.added, summary.removed, summary.updated) == (1, 0, 0)
    assert _state(path)[2]
    summary = rebuild(articles_dir, path, only=["001_tram.txt", "002_visit.txt", ".hidden.txt"])
    assert (summary.added, summary.removed, summary.updated) == (0, 1, 1)
    shutil.rmtree(articles_dir / "sub")
    summary = rebuild(articles_dir, path, only=["sub"])
    assert summary.removed == 2 and _state(path)[2]
    assert _state(path)[:2] == _state_of_fresh(articles_dir, tmp_path)[:2]


def _state_of_fresh(folder, tmp_path):
    fresh = tmp_path / "fresh.db"
    rebuild(folder, fresh)
    return _state(fresh)


def test_postings_built_in_runs_on_disk_equal_those_built_in_memory(tmp_path, articles_dir, monkeypatch):
    rebuild(articles_dir, tmp_path / "memory.db")
    monkeypatch.setattr(store, "RUN_TOKENS", 7)  # a run every few sentences
    rebuild(articles_dir, tmp_path / "runs.db")
    tables = (
        "select term, df, max_tf, min_length, frontier, ids, codes, tfs, lengths from postings order by term",
        "select term, df, max_tf, min_length, frontier, ids, codes, tfs, lengths from article_postings order by term",
    )
    for sql in tables:
        with sqlite3.connect(tmp_path / "memory.db") as a, sqlite3.connect(tmp_path / "runs.db") as b:
            assert a.execute(sql).fetchall() == b.execute(sql).fetchall()
    assert not list(tmp_path.glob(".*.runs-*"))  # the scratch file is gone
    write(articles_dir, "005.txt", " date 2025-12-24 Festival\n\nThe harbour festival returns to the tram line.")
    rebuild(articles_dir, tmp_path / "runs.db")
    assert _state(tmp_path / "runs.db")[2]


def test_a_folder_and_files_below_it_in_one_batch_are_read_once(tmp_path, articles_dir):
    path = tmp_path / "nested.db"
    rebuild(articles_dir, path)
    (articles_dir / "sub" / "003_rates.txt").unlink()
    summary = rebuild(articles_dir, path, only=["sub", "sub/003_rates.txt", "sub"])
    assert (summary.added, summary.removed, summary.updated) == (0, 1, 0)
    write(articles_dir, "sub/deeper/005.txt", FESTIVAL)
    summary = rebuild(articles_dir, path, only=["sub/deeper/005.txt", "sub/deeper", "sub"])
    assert (summary.added, summary.removed, summary.updated) == (1, 0, 0)
    assert _state(path)[:2] == _state_of_fresh(articles_dir, tmp_path)[:2]


def test_a_watchers_batch_of_new_files_only_keeps_the_other_articles_postings(tmp_path, articles_dir):
    """A batch naming only new files (the watcher's commonest) merges its postings into the index's: it was
    taken for a first build, and every term the new article shared lost the other articles' postings."""
    path = tmp_path / "only-new.db"
    rebuild(articles_dir, path)
    write(articles_dir, "005_new.txt", TRAM.replace("harbour", "airport").replace("Harbour", "Airport"))
    summary = rebuild(articles_dir, path, only=["005_new.txt"])
    assert summary.added == 1 and _state(path)[2]
    assert _state(path)[:2] == _state_of_fresh(articles_dir, tmp_path)[:2]


def test_a_rebuild_stopped_in_its_digest_leaves_no_scratch_file(tmp_path, articles_dir, monkeypatch):
    monkeypatch.setattr(store, "RUN_TOKENS", 5)  # every few terms spill a sorted run to a file beside the index
    added = store.PostingsBuilder.add
    calls = []

    def add(self, *args):
        calls.append(1)
        if len(calls) == 4:  # Ctrl-C in the middle of the digest, runs already spilled
            assert list(tmp_path.glob(".news.db.runs-*"))
            raise KeyboardInterrupt
        return added(self, *args)

    monkeypatch.setattr(store.PostingsBuilder, "add", add)
    with pytest.raises(KeyboardInterrupt):
        rebuild(articles_dir, tmp_path / "news.db")
    assert len(calls) == 4
    assert not list(tmp_path.glob(".news.db.runs-*"))  # before: left beside the index, 500 MB at 10M


def test_a_rebuild_removes_the_scratch_file_a_killed_one_left(tmp_path, articles_dir):
    rebuild(articles_dir, tmp_path / "news.db")
    killed = tmp_path / ".news.db.runs-k1ll3d.db"  # what a SIGKILLed rebuild leaves: it runs no cleanup
    other = tmp_path / ".other.db.runs-x.db"  # another index's, whose rebuild may be running
    killed.write_bytes(b"runs")
    other.write_bytes(b"runs")
    rebuild(articles_dir, tmp_path / "news.db")
    assert not killed.exists() and other.exists()


def test_a_rebuild_leaves_the_index_whole_in_its_own_file(tmp_path, articles_dir):
    """The write-ahead log is emptied into the file, though a reader is open (between its reads it holds no
    view): the file alone holds every article, and a read-only reader closing last leaves no log behind."""
    path = tmp_path / "whole.db"
    rebuild(articles_dir, path)
    reader = store.open_reader(path)
    write(articles_dir, "005_new.txt", FESTIVAL)
    rebuild(articles_dir, path)
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    reader.close()
    copy = tmp_path / "copy.db"
    shutil.copyfile(path, copy)  # the file alone, as a user copies it
    with sqlite3.connect(copy) as conn:
        assert conn.execute("select count(*) from articles").fetchone()[0] == 5


def test_a_reader_holding_an_older_view_does_not_hold_up_a_rebuild(tmp_path, articles_dir):
    path = tmp_path / "held.db"
    rebuild(articles_dir, path)
    reader = store.open_reader(path)
    reader.execute("begin")
    assert reader.execute("select count(*) from articles").fetchone()[0] == 4
    write(articles_dir, "005_new.txt", FESTIVAL)
    assert rebuild(articles_dir, path).added == 1  # the log cannot be emptied under the reader: it stays
    assert path.with_name(path.name + "-wal").stat().st_size > 0
    assert reader.execute("select count(*) from articles").fetchone()[0] == 4
    reader.rollback()
    assert reader.execute("select count(*) from articles").fetchone()[0] == 5
    reader.close()


def test_emptying_the_log_under_an_older_view_leaves_it_and_keeps_the_busy_timeout(tmp_path, articles_dir):
    path = tmp_path / "wait.db"
    rebuild(articles_dir, path)
    reader = store.open_reader(path)
    reader.execute("begin")
    reader.execute("select count(*) from articles").fetchone()
    writer = sqlite3.connect(path)
    writer.execute("insert into meta values ('note', 'written after the reader began')")
    writer.commit()
    wal = path.with_name(path.name + "-wal")
    store.empty_wal(writer)  # the reader's view needs the file as it was: the log stays
    assert wal.stat().st_size > 0
    assert writer.execute("pragma busy_timeout").fetchone()[0] == store.BUSY_TIMEOUT_MS
    reader.rollback()
    store.empty_wal(writer)
    assert wal.stat().st_size == 0
    reader.close()
    writer.close()
