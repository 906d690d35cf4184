"""What a new user meets on day one, through the CLI: where the index goes, what it holds, the messages."""

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.chat import commands
from bot.chat.replies import example_questions
from bot.config import SETTINGS, data_dir, sample_articles_dir
from bot.faces.cli import cli
from bot.faces.console import reply
from index.rebuild import rebuild
from index.search import Index

from .conftest import write

ROOT = Path(__file__).resolve().parents[1]


def test_own_folder_goes_to_its_own_index_and_later_rebuilds_keep_it(runner, tmp_path, articles_dir):
    first = runner.invoke(cli, ["index", "rebuild", "--articles", str(articles_dir)])
    assert first.exit_code == 0, first.output
    own = data_dir() / "index.db"
    assert own.exists() and not (data_dir() / "samples.db").exists()
    assert f"from {articles_dir.resolve()} into {own}" in first.output
    write(articles_dir, "005_new.txt", " date 2025-12-24 Harbour Festival\n\nThe harbour festival returns.")
    again = runner.invoke(cli, ["index", "rebuild", "--index", str(own)])  # no --articles: the index's folder
    assert again.exit_code == 0 and "1 added, 0 updated, 0 removed" in again.output, again.output
    samples = runner.invoke(cli, ["index", "rebuild", "--index", str(own), "--articles", str(sample_articles_dir())])
    assert samples.exit_code == 1 and "would replace them" in samples.output and "--full" in samples.output
    assert Index(own).meta().articles == 5


def test_samples_index_is_only_ever_built_from_the_samples(runner, tmp_path, articles_dir):
    assert runner.invoke(cli, ["ask", "When will the first trams run?"]).exit_code == 0  # builds samples.db
    before = Index(data_dir() / "samples.db").meta().articles
    runner.invoke(cli, ["index", "rebuild", "--articles", str(articles_dir)])
    assert Index(data_dir() / "samples.db").meta().articles == before
    assert Index(data_dir() / "index.db").meta().articles == 4


def test_ask_and_console_say_which_index_they_answer_from(runner, tmp_path, articles_dir, index_path):
    sample = runner.invoke(cli, ["ask", "When will the first trams run?"])
    assert "Answering from the bundled sample articles" in sample.output
    (tmp_path / ".env").write_text(f"NEWSBOT_ARTICLES_DIR={tmp_path}\n")
    other = runner.invoke(cli, ["console", "--index", str(index_path)], input="/quit\n")
    assert f"built from {articles_dir.resolve()}, not from NEWSBOT_ARTICLES_DIR" in other.output
    (tmp_path / ".env").write_text(f"NEWSBOT_ARTICLES_DIR={articles_dir}\n")
    same = runner.invoke(cli, ["ask", "--index", str(index_path), "tram"])
    assert "Answering from" not in same.output


def test_an_index_keeps_its_language_until_asked(runner, tmp_path, articles_dir):
    db = tmp_path / "lang.db"
    assert (
        runner.invoke(
            cli, ["index", "rebuild", "--articles", str(articles_dir), "--index", str(db), "--language", "en"]
        ).exit_code
        == 0
    )
    kept = runner.invoke(cli, ["index", "rebuild", "--index", str(db)])
    assert kept.exit_code == 0 and kept.output.startswith("incremental") and Index(db).meta().language == "english"
    changed = runner.invoke(cli, ["index", "rebuild", "--index", str(db), "--language", "auto"])
    assert changed.output.startswith("full") and Index(db).meta().language == "auto"


def test_new_indexes_read_each_word_by_its_script(runner, tmp_path, articles_dir):
    write(articles_dir, "kazan.txt", " date 2025-05-01 Саммит в Казани\n\nЛидеры встретятся в Казани в октябре.")
    db = tmp_path / "auto.db"
    assert runner.invoke(cli, ["index", "rebuild", "--articles", str(articles_dir), "--index", str(db)]).exit_code == 0
    result = runner.invoke(cli, ["ask", "--index", str(db), "Когда встреча в Казань?"])
    assert "Лидеры встретятся в Казани" in result.output


def test_error_hints_name_the_exact_command(runner, tmp_path, index_path):
    missing = runner.invoke(cli, ["ask", "--index", str(tmp_path / "nope.db"), "tram"])
    assert missing.exit_code == 1
    assert f"newsbot index rebuild --articles DIR --index {tmp_path / 'nope.db'}" in missing.output
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 300)
    for args in (["ask", "--index", str(junk), "tram"], ["index", "rebuild", "--index", str(junk)]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1 and f"mv {junk} {junk}.broken" in result.output, result.output
        assert f"--index {junk}" in result.output and len(result.output.strip().splitlines()) == 1


def test_a_bad_language_setting_leaves_no_stub_and_fixing_it_works(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBOT_LANGUAGE", "klingon")
    bad = runner.invoke(cli, ["ask", "tram"])
    assert bad.exit_code == 2 and "NEWSBOT_LANGUAGE" in bad.output
    assert not (data_dir() / "samples.db").exists()
    monkeypatch.setenv("NEWSBOT_LANGUAGE", "en")
    assert runner.invoke(cli, ["ask", "When will the first trams run?"]).exit_code == 0


def test_a_stub_from_an_older_failed_first_build_is_rebuilt(runner, tmp_path):
    stub = data_dir() / "samples.db"
    stub.parent.mkdir(parents=True)
    stub.write_bytes(b"")
    result = runner.invoke(cli, ["ask", "When will the first trams run?"])
    assert result.exit_code == 0 and "spring of 2028" in result.output


def test_utf16_and_utf32_files_with_a_bom_are_read(runner, tmp_path, articles_dir):
    text = " date 2025-02-02 Notepad Story\n\nThe lighthouse keeper retired after forty years.\n"
    (articles_dir / "utf16.txt").write_bytes(text.encode("utf-16"))
    (articles_dir / "utf32.txt").write_bytes(" date 2025-02-03 Other\n\nThe ferry sailed at dawn.\n".encode("utf-32"))
    db = tmp_path / "bom.db"
    result = runner.invoke(cli, ["index", "rebuild", "--articles", str(articles_dir), "--index", str(db)])
    assert "6 added" in result.output and "note utf16.txt: UTF-16" in result.output, result.output
    assert "lighthouse keeper retired" in runner.invoke(cli, ["ask", "--index", str(db), "lighthouse keeper"]).output


@pytest.mark.skipif(os.name != "posix", reason="folder modes")
def test_an_unreadable_subfolder_is_named_and_its_articles_kept(tmp_path, articles_dir):
    from .test_reliability import without_root_override

    db = tmp_path / "perm.db"
    rebuild(articles_dir, db)
    (articles_dir / "sub").chmod(0o000)
    try:
        code = (
            "import sys; from index.rebuild import rebuild; "
            f"print('\\n'.join(rebuild({str(articles_dir)!r}, {str(db)!r}).lines()))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, preexec_fn=without_root_override
        )
    finally:
        (articles_dir / "sub").chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert "0 removed" in result.stdout and "skipped sub/: folder cannot be read" in result.stdout
    assert Index(db).meta().articles == 4


def test_readme_first_example_works_on_the_bundled_samples(runner):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```\n\$ newsbot ask \"([^\"]+)\"\n(.+?)\n", readme)
    assert block, "README starts with a newsbot ask example"
    result = runner.invoke(cli, ["ask", block.group(1)])
    assert result.exit_code == 0 and block.group(2).strip() in result.output


def test_dates_are_explained_when_they_leave_everything_out(runner, index_path):
    outside = runner.invoke(cli, ["ask", "--index", str(index_path), "--since", "2025-06-01", "tram line"])
    assert re.search(
        r"Nothing between 2025-06-01 and today: \d+ matching articles? lies? outside those dates", outside.output
    ), outside.output
    assert "don't mention" not in outside.output
    backwards = runner.invoke(
        cli, ["ask", "--index", str(index_path), "--since", "2025-06-02", "--until", "2025-06-01", "tram"]
    )
    assert backwards.exit_code == 2 and "is after --until" in backwards.output
    impossible = runner.invoke(cli, ["ask", "--index", str(index_path), "--until", "2025-02-30", "tram"])
    assert impossible.exit_code == 2 and "2025-02-30 is an impossible date" in impossible.output
    assert len(impossible.output.strip().splitlines()) == 1


def test_start_examples_are_answered_from_their_own_articles():
    index_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"samples-{os.getpid()}.db"
    rebuild(sample_articles_dir(), index_path)
    index = Index(index_path)
    questions = example_questions(index)
    assert len(questions) == 3 and all(q.endswith("?") and "…" not in q for q in questions)
    index_path.unlink()


def test_json_url_and_batch_ids(runner, tmp_path):
    folder = tmp_path / "feed"
    write(
        folder,
        "feed.jsonl",
        json.dumps(
            {
                "date": "2025-01-01",
                "title": "Port Reopens",
                "text": "The port reopened on Monday.",
                "url": "https://example.org/port",
            }
        )
        + "\n",
    )
    db = tmp_path / "feed.db"
    rebuild(folder, db)
    data = json.loads(runner.invoke(cli, ["ask", "--json", "--index", str(db), "port reopened"]).output)
    assert data["passages"][0]["url"] == "https://example.org/port"
    lines = [
        json.dumps({"id": 9}),
        json.dumps({"id": 4, "question": "port", "as_of": "2025-02-30"}),
        '{"id":1,"question":"\\ud800 port"}',
        "x" * 70_000,
        "port",
    ]
    out = runner.invoke(cli, ["ask", "--index", str(db)], input="\n".join(lines) + "\n").output.splitlines()
    got = [json.loads(line) for line in out]
    assert [g["id"] for g in got] == [9, 4, 1, None, None]
    assert "question" in got[0]["error"] and "impossible" in got[1]["error"]
    assert got[2]["passages"] and "longer than" in got[3]["error"] and got[4]["passages"]


def test_console_wraps_quotes_and_help_lists_every_command(index_path):
    index = Index(index_path)
    state = {"question": "", "offset": 0}
    text = reply(index, "When will President Kallas visit Norland?", state, 2, columns=40)
    assert all(len(line) <= 40 for line in text.splitlines())
    assert "“" not in text and text.startswith("│ ")
    help_text = reply(index, "/help", state, 2, columns=100)
    for command in commands.for_face(commands.CONSOLE):
        assert f"/{command.name}" in help_text
    assert "/reindex" not in help_text and "/start" in help_text


def test_console_quit_with_words_after_it(runner, index_path):
    result = runner.invoke(cli, ["console", "--index", str(index_path)], input="/quit now\nnever asked\n")
    assert result.exit_code == 0 and "never asked" not in result.output.split("/quit")[-1]


def test_help_texts(runner):
    top = runner.invoke(cli, ["--help"])
    assert "…" not in top.output and "..." not in top.output.split("Commands:")[1]
    for setting in SETTINGS:
        assert setting.env in top.output
    index_help = runner.invoke(cli, ["index", "--help"])
    assert "Example" in index_help.output
    for command in (["ask"], ["console"]):
        assert "1<=x<=50" in runner.invoke(cli, [*command, "--help"]).output


def test_bad_option_is_one_line(runner):
    result = runner.invoke(cli, ["ask", "--top", "0", "x"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "see `newsbot ask --help`" in result.output


def test_stats_speak_like_the_bot(runner, index_path):
    result = runner.invoke(cli, ["index", "stats", "--index", str(index_path)])
    assert "Size on disk:" in result.output and "MB" in result.output and "size_bytes" not in result.output
    assert "index holds 1 article," in "\n".join(rebuild_one(Path(index_path).parent))


def rebuild_one(folder: Path) -> list[str]:
    write(folder / "one", "a.txt", " date 2025-01-01 One\n\nOne story.")
    return rebuild(folder / "one", folder / "one.db").lines()


def test_top_setting_has_bounds(runner, monkeypatch):
    monkeypatch.setenv("NEWSBOT_TOP", "500")
    result = runner.invoke(cli, ["ask", "x"])
    assert result.exit_code == 2 and "NEWSBOT_TOP must be a whole number from 1 to 50" in result.output


def test_env_example_and_readme_list_exactly_the_settings():
    example = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    assert names == {s.env for s in SETTINGS}
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1]
    for setting in SETTINGS:
        assert f"`{setting.env}`" in table, setting.env


def test_ask_does_not_import_telegram_or_sqlite_utils(tmp_path, index_path):
    code = (
        "import sys; from bot.faces.cli import cli\n"
        "try:\n    cli(['ask', '--index', sys.argv[1], 'tram'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('telegram', 'sqlite_utils') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(index_path)], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_the_sqlite_file_stays_a_plain_database(index_path):
    conn = sqlite3.connect(index_path)
    tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    assert {"articles", "sentences", "postings", "article_postings", "arrays", "meta"} <= tables
