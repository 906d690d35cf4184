import json
from html.parser import HTMLParser

from bot.chat import render
from bot.ranking.answer import NO_MATCH, NO_WORDS, Answer, Passage


def passage(quote="Prices < 5 & rising > now.", title="A <b>bold</b> title & more", **kw):
    return Passage(sentence=quote, quote=quote, title=title, date="2025-01-02", source="a.txt", score=1.5, **kw)


class TagChecker(HTMLParser):
    allowed = {"b", "i", "a", "blockquote"}

    def __init__(self):
        super().__init__()
        self.stack, self.text = [], []

    def handle_starttag(self, tag, attrs):
        assert tag in self.allowed, tag
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack.pop() == tag

    def handle_data(self, data):
        self.text.append(data)


def check_html(message: str) -> str:
    checker = TagChecker()
    checker.feed(message)
    checker.close()
    assert checker.stack == []
    return "".join(checker.text)


def test_article_text_is_escaped_and_words_bolded():
    p = passage(highlights=((0, 6), (13, 19)))
    (message,) = render.html_messages(Answer("q", (p,)))
    assert "<b>Prices</b> &lt; 5 &amp; <b>rising</b> &gt; now." in message
    assert "A &lt;b&gt;bold&lt;/b&gt; title &amp; more" in message
    visible = check_html(message)
    assert "Prices < 5 & rising > now." in visible and "2025-01-02" in visible


def test_url_becomes_a_link():
    (message,) = render.html_messages(Answer("q", (passage(url='https://x.test/?a=1&b="2"'),)))
    assert '<a href="https://x.test/?a=1&amp;b=&quot;2&quot;">' in message
    check_html(message)


def test_long_answers_are_split_between_passages():
    passages = tuple(passage(quote=f"Sentence {i} " + "word " * 250) for i in range(12))
    messages = render.html_messages(Answer("q", passages))
    assert len(messages) > 1
    for message in messages:
        assert render.utf16_len(message) <= render.TELEGRAM_LIMIT
        check_html(message)
    assert sum(m.count("<blockquote>") for m in messages) == 12


def test_utf16_counting():
    assert render.utf16_len("😀") == 2 and render.utf16_len("abc") == 3


def test_plain_text_has_the_same_content():
    answer = Answer("q", (passage(highlights=((0, 6),)),))
    (message,) = render.html_messages(answer)
    plain = render.plain_text(answer)
    visible = check_html(message)
    for piece in ("Prices < 5 & rising > now.", "A <b>bold</b> title & more", "2025-01-02"):
        assert piece in visible and piece in plain


def test_notices():
    assert "don't mention" in render.plain_text(Answer("q", notice=NO_MATCH))
    assert "words to search" in render.html_messages(Answer("q", notice=NO_WORDS))[0]


def test_json_contract():
    line = json.loads(render.json_line(Answer("q", (passage(),), took_ms=1.23456).as_json(7)))
    assert line == {
        "id": 7,
        "question": "q",
        "took_ms": 1.235,
        "passages": [
            {
                "sentence": "Prices < 5 & rising > now.",
                "quote": "Prices < 5 & rising > now.",
                "title": "A <b>bold</b> title & more",
                "date": "2025-01-02",
                "source": "a.txt",
                "url": None,
                "score": 1.5,
            }
        ],
    }


# --- pushes look like answers; skip reasons say what is wrong ------------------------------------


def test_a_pushed_passage_is_laid_out_as_an_asked_one(capsys):
    from bot.faces import console
    from bot.live.follows import Follow, Push

    p = passage(quote="The tram line opens in March 2028.", title="Tram", highlights=((4, 8),))
    push = Push(Follow(1, 0, "When will the tram open?"), (p,), ("k",))
    console.Printer()([push])
    printed = capsys.readouterr().out
    assert render.passage_text(p, console.width()) in printed and "│ The tram line opens" in printed
    assert printed.lstrip().startswith("New for your question ‘When will the tram open?’:")
    (message,) = render.push_messages(push)
    assert message.endswith(render.passage_html(p)) and "<blockquote>" in message
    assert not hasattr(console, "push_text")  # one push layout, in render


def test_a_record_without_a_date_is_skipped_saying_the_date_is_missing():
    import pytest

    from index.articles import ArticleError, parse_json_article

    with pytest.raises(ArticleError) as missing:
        parse_json_article({"title": "T", "text": "Body."}, "feed.jsonl#L1")
    assert str(missing.value).startswith("the date is missing") and "None" not in str(missing.value)
    with pytest.raises(ArticleError, match="malformed date '2025/01/02'"):
        parse_json_article({"date": "2025/01/02", "title": "T", "text": "Body."}, "feed.jsonl#L1")


def test_printable_strips_what_a_terminal_would_act_on():
    crafted = "\x1b]0;OWNED\x07\x1b[2J\x1b[31mRED\u009b2J\u009d0;T\x07\x7f\r\tkept\nnext"
    assert render.printable(crafted) == "]0;OWNED[2J[31mRED2J0;T\tkept\nnext"
    assert render.printable("Ünïcödé — “quotes” 🙂") == "Ünïcödé — “quotes” 🙂"


def test_a_json_line_is_one_line_for_any_line_reader():
    data = {"question": "a\u2028b\u2029c\u0085d\u009be\x1bf\x7fg", "took_ms": 0.5}
    line = render.json_line(data)
    assert len(line.splitlines()) == 1
    assert not any(ch in line for ch in "\u2028\u2029\u0085\u009b\x1b\x7f")
    assert json.loads(line) == data
    assert render.json_line({"q": "é 🙂"}) == '{"q": "é 🙂"}'  # the rest stays readable UTF-8


def test_log_records_are_printable_too():
    import io
    import logging

    from bot.logsafe import RedactingFilter, Redactor

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor()))
    logger = logging.getLogger("newsbot.test.printable")
    logger.addHandler(handler)
    try:
        logger.warning("skipped %s: not an article", "\x1b]0;OWNED\x07\x1b[2J\u009b31mRED.txt")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "skipped ]0;OWNED[2J31mRED.txt: not an article\n"
