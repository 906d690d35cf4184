import json
import os

import pytest

from index.articles import Article, ArticleError, Skipped, parse_txt, read_articles

from .conftest import TRAM, shared_path, write


def test_seed_format_with_byline_and_wrapped_lines():
    article = parse_txt(TRAM, "001_tram.txt")
    assert article.date == "2025-03-04"
    assert article.title == "Council Approves Harbour Tram Line"
    assert article.byline == "By City Desk"
    assert article.paragraphs[0] == (  # wrapped lines kept apart: index.segments joins them
        "The city council voted on Tuesday to build the harbour tram line, a 14-kilometre\n"
        "route from the central station to the university."
    )
    assert len(article.paragraphs) == 3


def test_users_seed_article():
    path = shared_path("seed", "000_15a01e1fcb45f449.txt")
    article = parse_txt(path.read_text(encoding="utf-8"), path.name)
    assert article.date == "2025-06-26"
    assert article.title == "Russia’s President Putin to Visit Iran Soon"
    assert article.byline == "By Staff, Agencies"
    assert article.paragraphs[0].startswith("Vladimir Putin, the President of the Russian Federation")


def test_bom_and_crlf():
    text = "\ufeff date 2024-01-02 Title here\r\n\r\nFirst para\r\nwrapped.\r\n\r\nSecond.\r\n"
    article = parse_txt(text, "x.txt")
    assert article.paragraphs == ("First para\nwrapped.", "Second.")


@pytest.mark.parametrize(
    "text, reason",
    [
        ("no header here\n\nbody", "first line"),
        (" date 2024-02-30 Bad day\n\nbody", "impossible date"),
        (" date yesterday Title\n\nbody", "malformed date"),
        (" date 2024-01-01 Title only\n\n", "no article text"),
    ],
)
def test_bad_articles_raise_one_line_errors(text, reason):
    with pytest.raises(ArticleError, match=reason):
        parse_txt(text, "x.txt")


def test_folder_reading_skips_bad_files_with_reasons(tmp_path):
    root = tmp_path / "a"
    write(root, "good.txt", TRAM)
    write(root, "empty.txt", "")
    write(root, "binary.txt", b"\x00\x01\x02 date 2024-01-01 x")
    write(root, "nodate.txt", "Just text\n\nmore")
    write(root, "cp1252.txt", " date 2024-01-01 Caf\xe9 news\n\nThe caf\xe9 opened.".encode("cp1252"))
    write(root, "notes.md", "ignored: not an article suffix")
    write(root, ".hidden.txt", TRAM)
    outside = write(tmp_path, "outside.txt", TRAM)
    os.symlink(outside, root / "link_out.txt")
    os.symlink(root / "good.txt", root / "link_in.txt")
    results = {r.source: r for r in read_articles(root)}
    assert isinstance(results["good.txt"], Article)
    assert isinstance(results["link_in.txt"], Article)
    assert results["empty.txt"] == Skipped("empty.txt", "empty file")
    assert "binary" in results["binary.txt"].reason
    assert "first line" in results["nodate.txt"].reason
    assert "outside" in results["link_out.txt"].reason
    cafe = results["cp1252.txt"]
    assert cafe.title == "Café news" and "Windows-1252" in cafe.encoding_note
    assert "notes.md" not in results and ".hidden.txt" not in results


def test_oversized_file_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr("index.articles.MAX_TXT_BYTES", 100)
    write(tmp_path, "big.txt", TRAM)
    (result,) = read_articles(tmp_path)
    assert isinstance(result, Skipped) and "larger than" in result.reason


def test_jsonl_articles_and_bad_lines(tmp_path):
    lines = [
        json.dumps({"date": "2025-01-05", "title": "A", "text": "One. Two.\n\nThree.", "url": "https://x.test/a"}),
        json.dumps({"date": "2025-13-01", "title": "B", "text": "x"}),
        "{not json",
        json.dumps({"title": "C", "text": "no date"}),
        "",
        json.dumps({"date": "2025-01-06", "title": "D", "text": "Body.", "byline": "By Me", "url": "javascript:x"}),
    ]
    write(tmp_path, "feed.jsonl", "\n".join(lines))
    results = list(read_articles(tmp_path))
    articles = [r for r in results if isinstance(r, Article)]
    skips = {r.source: r.reason for r in results if isinstance(r, Skipped)}
    assert [a.title for a in articles] == ["A", "D"]
    assert articles[0].paragraphs == ("One. Two.", "Three.") and articles[0].url == "https://x.test/a"
    assert articles[1].byline == "By Me" and articles[1].url == ""
    assert set(skips) == {"feed.jsonl#L2", "feed.jsonl#L3", "feed.jsonl#L4"}
    assert "impossible date" in skips["feed.jsonl#L2"]


def test_same_text_has_same_content_hash():
    assert parse_txt(TRAM, "a.txt").content_hash == parse_txt(TRAM, "b.txt").content_hash
    assert parse_txt(TRAM, "a.txt").content_hash != parse_txt(TRAM.replace("620", "621"), "a.txt").content_hash


def test_ingest_removes_c0_and_c1_controls_from_titles_and_text(tmp_path):
    record = {"date": "2025-01-02", "title": "Rates\u009b2J \u009d0;OWNED\x07 rise", "text": "Up\x1b[31m 2\u0085%.\x00"}
    write(tmp_path, "feed.jsonl", json.dumps(record) + "\n")
    write(tmp_path, "a.txt", " date 2025-01-03 Title\x1b]0;T\x07 here\n\nBody\u009b31m text.\n")
    articles = [a for a in read_articles(tmp_path) if isinstance(a, Article)]
    assert len(articles) == 2
    for article in articles:
        for text in (article.title, *article.paragraphs):
            assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text), repr(text)
    assert {a.title for a in articles} == {"Rates 2J 0;OWNED rise", "Title ]0;T here"}
