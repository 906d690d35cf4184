import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import click
import pytest

from bot.config import SETTINGS, data_dir, sample_articles_dir
from bot.faces.cli import cli
from index.rebuild import rebuild
from index.search import Index

from .conftest import FESTIVAL, VISIT, write

ROOT = Path(__file__).resolve().parents[1]


def all_commands(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [p for p, _ in all_commands(cli)], ids=" ".join)
def test_every_command_has_help_with_an_example(runner, path):
    result = runner.invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    command = dict(all_commands(cli))[path]
    assert command.help and len(command.help.strip()) > 20
    if not isinstance(command, click.Group):
        assert "Example" in result.output


def test_rebuild_stats_and_ask(runner, articles_dir, tmp_path):
    db = tmp_path / "cli.db"
    result = runner.invoke(cli, ["index", "rebuild", "--articles", str(articles_dir), "--index", str(db)])
    assert result.exit_code == 0, result.output
    assert "4 added" in result.output and "index holds 4 articles" in result.output

    stats = runner.invoke(cli, ["index", "stats", "--index", str(db), "--json"])
    info = json.loads(stats.output)
    assert info["articles"] == 4 and info["language"] == "auto" and info["terms"] > 10

    ask = runner.invoke(cli, ["ask", "--index", str(db), "When will President Kallas visit Norland?"])
    assert ask.exit_code == 0
    assert "President Mara Kallas is set to visit Norland" in ask.output and "2025-06-26" in ask.output


def test_ask_json_contract(runner, index_path):
    result = runner.invoke(cli, ["ask", "--json", "--top", "2", "--index", str(index_path), "central bank rate"])
    data = json.loads(result.output)
    assert set(data) == {"id", "question", "took_ms", "passages"}
    assert len(data["passages"]) == 2
    assert set(data["passages"][0]) == {"sentence", "quote", "title", "date", "source", "url", "score"}
    assert data["passages"][0]["url"] is None
    assert isinstance(data["took_ms"], float)


def test_ask_json_says_silent_whenever_there_are_no_passages(runner, tmp_path):
    write(tmp_path / "visit", "002_visit.txt", VISIT)
    db = tmp_path / "visit.db"
    rebuild(tmp_path / "visit", db)
    question = "What did the central bank decide?"  # no word in common with the one article
    text = runner.invoke(cli, ["ask", question, "--index", str(db)])
    assert text.exit_code == 0 and text.stdout.startswith("The articles don't mention that.")
    data = json.loads(runner.invoke(cli, ["ask", question, "--json", "--index", str(db)]).stdout)
    assert data["passages"] == [] and data["silent"] is True and data["nearest"] is None
    typed = ["🙂", "visit Norland", json.dumps({"id": 2, "question": "visit", "as_of": "2025-01-01"}), "{broken"]
    batch = runner.invoke(cli, ["ask", "--index", str(db)], input="\n".join(typed) + "\n")
    no_words, answered, too_early, broken = (json.loads(line) for line in batch.stdout.splitlines())
    assert no_words["passages"] == [] and no_words["silent"] is True
    assert answered["passages"] and "silent" not in answered and "nearest" not in answered
    assert too_early["passages"] == [] and too_early["silent"] is True and too_early["nearest"] is None
    assert "error" in broken and "silent" not in broken  # a line that cannot be used says so with `error`


def test_ask_batch_from_stdin_in_order(runner, index_path):
    lines = [
        "tram line",
        json.dumps({"id": "x1", "question": "interest rate", "as_of": "2025-10-01"}),
        "",
        "{broken",
        "🙂",
        json.dumps({"id": 3, "question": "visit", "as_of": "soon"}),
    ]
    result = runner.invoke(cli, ["ask", "--index", str(index_path)], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["question"] == "tram line" and out[0]["passages"]
    assert out[1]["id"] == "x1" and all(p["date"] <= "2025-10-01" for p in out[1]["passages"])
    assert out[2]["passages"] == [] and out[4]["passages"] == []
    assert "error" in out[3] and "as_of" in out[5]["error"]


def test_bad_input_is_one_line_and_non_zero(runner, tmp_path, index_path):
    missing = runner.invoke(cli, ["index", "stats", "--index", str(tmp_path / "none.db")])
    assert missing.exit_code != 0 and "no index at" in missing.output
    typo = runner.invoke(cli, ["ask", "--index", str(tmp_path / "typo.db"), "tram"])
    assert typo.exit_code == 1 and "no index at" in typo.output and not (tmp_path / "typo.db").exists()
    bad_date = runner.invoke(cli, ["ask", "--index", str(index_path), "--since", "June", "x"])
    assert bad_date.exit_code == 2 and "not a date" in bad_date.output
    bad_folder = runner.invoke(
        cli, ["index", "rebuild", "--articles", str(tmp_path / "nope"), "--index", str(tmp_path / "y.db")]
    )
    assert bad_folder.exit_code == 1 and "does not exist" in bad_folder.output
    # An index built from another folder: a missing folder is named as missing, not as a replacement to --full.
    typo_folder = runner.invoke(
        cli, ["index", "rebuild", "--articles", str(tmp_path / "nope"), "--index", str(index_path)]
    )
    assert typo_folder.exit_code == 1 and "does not exist" in typo_folder.output and "--full" not in typo_folder.output
    bad_lang = runner.invoke(cli, ["index", "rebuild", "--language", "xx", "--index", str(tmp_path / "z.db")])
    assert bad_lang.exit_code == 2 and "unknown language" in bad_lang.output
    for result in (missing, typo, bad_date, bad_folder, typo_folder, bad_lang):
        assert "Traceback" not in result.output


def test_bad_setting_is_reported(runner, monkeypatch):
    monkeypatch.setenv("NEWSBOT_TOP", "lots")
    result = runner.invoke(cli, ["ask", "x"])
    assert result.exit_code == 2 and "NEWSBOT_TOP" in result.output


def test_first_ask_builds_the_sample_index(runner):
    result = runner.invoke(cli, ["ask", "When will the first trams run?"])
    assert result.exit_code == 0, result.output
    assert "spring of 2028" in result.output


def test_console_session(runner, index_path):
    session = "When will President Kallas visit Norland?\n/more\n/latest\n/stats\n/help\n/nope\n/quit\n"
    result = runner.invoke(cli, ["console", "--index", str(index_path), "--top", "1"], input=session)
    assert result.exit_code == 0, result.output
    assert "President Mara Kallas is set to visit" in result.output
    assert "Newest articles" in result.output and "Articles: 4" in result.output
    assert "/ask <question>" in result.output and "Unknown command /nope" in result.output


def test_console_takes_the_same_date_options(runner, index_path):
    session = (
        "central bank interest rate --until 2025-10-01\n"
        "central bank interest rate --since=2025-10-01 --as-of 2025-12-31\n"
        "central bank interest rate --since 2025-12-01 --until 2025-01-01\n/quit\n"
    )
    result = runner.invoke(cli, ["console", "--index", str(index_path), "--top", "1"], input=session)
    assert result.exit_code == 0, result.output
    answers = result.output.split("\n> ")[1:]
    assert "Cuts Interest Rate" in answers[0] and "Holds" not in answers[0]
    assert "Holds Interest Rate" in answers[1] and "Cuts" not in answers[1]
    assert answers[2].startswith("--since 2025-12-01 is after --until 2025-01-01")


def test_parse_request():
    from bot.chat.replies import Request, RequestError, parse_request

    assert parse_request("When? --since 2025-06-01") == Request("When?", since="2025-06-01")
    assert parse_request("—as-of 2025-07-01 rates –until=2025-06-30") == Request(
        "rates", until="2025-06-30", as_of="2025-07-01"
    )
    assert parse_request("well-known --sincerely") == Request("well-known --sincerely")
    with pytest.raises(RequestError, match="--until: 'June' is not a date like"):
        parse_request("rates --until June")
    with pytest.raises(RequestError, match="--since: 2025-02-30 is an impossible date"):
        parse_request("rates --since 2025-02-30")


def test_console_ctrl_d_exits_cleanly(runner, index_path):
    result = runner.invoke(cli, ["console", "--index", str(index_path)], input="")
    assert result.exit_code == 0


def test_env_settings_and_dotenv(runner, tmp_path, articles_dir):
    db = tmp_path / "from_env.db"
    (tmp_path / ".env").write_text(f"NEWSBOT_ARTICLES_DIR={articles_dir}\nNEWSBOT_INDEX={db}\n")
    result = runner.invoke(cli, ["index", "rebuild"])
    assert result.exit_code == 0, result.output
    assert db.exists() and "4 added" in result.output


def outdate(db: Path) -> None:
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("update meta set value = '5' where key = 'schema_version'")
        conn.commit()


def test_configured_index_from_an_older_version_is_rebuilt_on_use(runner, tmp_path, articles_dir):
    db = tmp_path / "configured.db"
    (tmp_path / ".env").write_text(f"NEWSBOT_ARTICLES_DIR={articles_dir}\nNEWSBOT_INDEX={db}\n")
    assert runner.invoke(cli, ["index", "rebuild"]).exit_code == 0
    outdate(db)
    result = runner.invoke(cli, ["ask", "When will the first trams run?"])
    assert result.exit_code == 0, result.output
    assert "built by another version of newsbot; rebuilding" in result.output
    assert "Council Approves Harbour Tram Line" in result.output


def test_older_index_given_explicitly_or_from_elsewhere_is_not_touched(runner, tmp_path, articles_dir, index_path):
    outdate(index_path)
    before = index_path.read_bytes()
    result = runner.invoke(cli, ["ask", "--index", str(index_path), "tram"])
    assert result.exit_code == 1 and "schema 5, this newsbot reads" in result.output
    (tmp_path / ".env").write_text(f"NEWSBOT_INDEX={index_path}\n")  # configured, but the samples are not its folder
    result = runner.invoke(cli, ["ask", "tram"])
    assert result.exit_code == 1 and "rebuild --full" in result.output
    assert index_path.read_bytes() == before


def test_python_dash_m_bot(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0 and "newsbot" in result.stdout


def test_rebuild_reports_skipped_files(runner, articles_dir, tmp_path):
    write(articles_dir, "bad.txt", "no header")
    result = runner.invoke(
        cli, ["index", "rebuild", "--articles", str(articles_dir), "--index", str(tmp_path / "s.db")]
    )
    assert result.exit_code == 0 and "skipped bad.txt: first line is not" in result.output


def test_rebuild_names_the_file_a_skipped_copy_repeats(runner, tmp_path):
    good = " date 2025-01-01 Good News\n\nA good thing happened in town today.\n"
    write(tmp_path / "news", "good.txt", good)
    write(tmp_path / "news", "dup_of_good.txt", good)
    result = runner.invoke(cli, ["index", "rebuild", "--articles", str(tmp_path / "news"), "--index", "news.db"])
    assert result.exit_code == 0 and "1 added" in result.output
    assert "skipped good.txt: same text as dup_of_good.txt" in result.output.splitlines()


def test_ask_explain_shows_features_in_text_and_json(runner, index_path):
    text = runner.invoke(cli, ["ask", "--explain", "--index", str(index_path), "tram line cost"])
    assert text.exit_code == 0 and "passage features" in text.output and "article_bm25" in text.output
    data = json.loads(
        runner.invoke(cli, ["ask", "--explain", "--json", "--index", str(index_path), "tram line cost"]).output
    )
    features = data["passages"][0]["features"]
    assert "passage.sentence_bm25" in features and set(features["article.article_bm25"]) == {"value", "contribution"}


def test_the_index_you_built_is_the_one_every_command_uses(runner, articles_dir):
    from bot.config import data_dir

    assert runner.invoke(cli, ["index", "rebuild", "--articles", str(articles_dir)]).exit_code == 0
    own = data_dir() / "index.db"
    asked = runner.invoke(cli, ["ask", "--json", "harbour tram line"])
    assert asked.exit_code == 0 and json.loads(asked.stdout)["passages"][0]["source"] == "001_tram.txt"
    stats = runner.invoke(cli, ["index", "stats", "--json"])
    assert json.loads(stats.stdout)["index"] == str(own)
    plain = runner.invoke(cli, ["index", "rebuild"])
    assert plain.exit_code == 0 and f"into {own}" in plain.output
    assert not (data_dir() / "samples.db").exists()


def test_a_configured_index_is_not_filled_with_the_samples(runner, tmp_path, articles_dir, monkeypatch):
    from bot.config import data_dir

    new = tmp_path / "new.db"
    monkeypatch.setenv("NEWSBOT_INDEX", str(new))
    asked = runner.invoke(cli, ["ask", "When will the first trams run?"])
    assert asked.exit_code == 0 and "Lakeshore" in asked.stdout
    assert f"No index at {new} (NEWSBOT_INDEX) yet" in asked.stderr and "--articles DIR" in asked.stderr
    assert not new.exists() and (data_dir() / "samples.db").exists()
    plain = runner.invoke(cli, ["index", "rebuild"])
    assert plain.exit_code == 2 and "--articles DIR" in plain.stderr and not new.exists()
    built = runner.invoke(cli, ["index", "rebuild", "--articles", str(articles_dir)])  # no --full needed
    assert built.exit_code == 0 and f"into {new}" in built.output


def test_a_new_index_given_with_dash_dash_index_is_not_filled_with_the_samples(runner, tmp_path, articles_dir):
    fresh = tmp_path / "fresh.db"
    asked = runner.invoke(cli, ["index", "rebuild", "--index", str(fresh)])
    assert asked.exit_code == 2 and not fresh.exists()
    assert asked.stderr.splitlines() == [
        f"Error: which articles should {fresh} (--index) hold? Give the folder: newsbot index rebuild --articles DIR "
        f"--index {fresh} (or set NEWSBOT_ARTICLES_DIR) (see `newsbot index rebuild --help`)"
    ]
    watched = runner.invoke(cli, ["index", "watch", "--index", str(fresh)])
    assert watched.exit_code == 2 and "which articles should" in watched.stderr and not fresh.exists()
    built = runner.invoke(cli, ["index", "rebuild", "--articles", str(articles_dir), "--index", str(fresh)])
    assert built.exit_code == 0 and "4 added" in built.output and f"into {fresh}" in built.output
    samples = runner.invoke(cli, ["index", "rebuild"])  # with nothing named, the samples' own index
    assert samples.exit_code == 0 and f"into {data_dir() / 'samples.db'}" in samples.output


def test_a_folder_with_no_article_files_gets_a_warning(runner, tmp_path):
    empty = tmp_path / "empty"
    write(empty, "notes.md", "# not an article")
    result = runner.invoke(cli, ["index", "rebuild", "--articles", str(empty), "--index", str(tmp_path / "e.db")])
    assert result.exit_code == 0 and "no article files in" in result.stderr
    assert "first line is `date YYYY-MM-DD Title`" in result.stderr


@pytest.mark.parametrize("how", ["unmounted", "half"])
def test_an_incremental_rebuild_never_empties_an_index_by_accident(runner, tmp_path, how):
    folder, path = tmp_path / "news", tmp_path / "news.db"
    for n in range(30):
        write(folder, f"{n:03}.txt", f" date 2025-03-{n % 28 + 1:02} Story {n}\n\nStory number {n} happened.\n")
    assert runner.invoke(cli, ["index", "rebuild", "--articles", str(folder), "--index", str(path)]).exit_code == 0
    doomed = sorted(folder.iterdir()) if how == "unmounted" else sorted(folder.iterdir())[:16]
    for file in doomed:
        file.unlink()
    refused = runner.invoke(cli, ["index", "rebuild", "--index", str(path)])
    assert refused.exit_code == 1 and "the index is unchanged" in refused.stderr and "--full" in refused.stderr
    assert json.loads(runner.invoke(cli, ["index", "stats", "--json", "--index", str(path)]).stdout)["articles"] == 30
    full = runner.invoke(cli, ["index", "rebuild", "--index", str(path), "--full"])
    assert full.exit_code == 0 and ("0 articles" in full.output if how == "unmounted" else "14 articles" in full.output)


def test_a_few_removals_are_applied_incrementally(runner, tmp_path, articles_dir, index_path):
    (articles_dir / "002_visit.txt").unlink()
    result = runner.invoke(cli, ["index", "rebuild", "--index", str(index_path)])
    assert result.exit_code == 0 and "1 removed" in result.output


@pytest.mark.parametrize(
    "args, env",
    [
        (["index", "rebuild", "--language", "fr"], {}),
        (["ask", "--top", "0", "tram"], {}),
        (["ask", "tram"], {"NEWSBOT_TOP": "0"}),
        (["index", "stats"], {"NEWSBOT_WATCH": "maybe"}),
        (["ask", "tram"], {"NEWSBOT_ADMIN_IDS": "me"}),
    ],
)
def test_one_exit_code_per_kind_of_mistake(runner, args, env, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(cli, args)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.output


def test_the_language_setting_only_matters_when_an_index_is_built(runner, tmp_path, index_path, monkeypatch):
    monkeypatch.setenv("NEWSBOT_LANGUAGE", "fr")
    asked = runner.invoke(cli, ["ask", "--index", str(index_path), "tram line"])
    assert asked.exit_code == 0 and "Tram" in asked.stdout
    built = runner.invoke(
        cli,
        ["index", "rebuild", "--articles", str(index_path.parent / "articles"), "--index", str(tmp_path / "other.db")],
    )
    assert built.exit_code == 2 and "NEWSBOT_LANGUAGE" in built.stderr and not (tmp_path / "other.db").exists()


def test_ctrl_c_while_python_imports_is_one_line(tmp_path):
    """A KeyboardInterrupt raised while the CLI's modules load (here: by a stand-in for click)."""
    (tmp_path / "click.py").write_text("raise KeyboardInterrupt\n")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", "from bot.__main__ import main; main()", "ask", "tram"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": f"{tmp_path}:{root}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 130 and result.stderr == "Interrupted.\n", result.stderr


def test_ctrl_c_during_a_command_is_one_line(runner, monkeypatch, index_path):
    import bot.faces.cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bot.faces.cli, "answer", interrupted)
    result = runner.invoke(cli, ["ask", "--index", str(index_path), "tram"])
    assert result.exit_code == 130 and result.stderr.strip() == "Interrupted."


def test_shared_data_skips_say_why_in_words(monkeypatch):
    from . import conftest

    monkeypatch.setattr(conftest, "SHARED", Path("/nonexistent/shared"))
    with pytest.raises(pytest.skip.Exception, match=r"needs the research data in \.\./shared") as skipped:
        conftest.shared_path("data", "xquad-en")
    assert "/nonexistent" not in str(skipped.value)


def test_index_watch_on_an_unusable_index_is_one_line(runner, tmp_path, articles_dir):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"\x8f not an sqlite file " * 300)
    result = runner.invoke(cli, ["index", "watch", "--articles", str(articles_dir), "--index", str(broken)])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "damaged or not a newsbot index" in result.stderr and "Watching" not in result.stderr


def test_own_folder_goes_to_its_own_index_and_later_rebuilds_keep_it(runner, tmp_path, articles_dir):
    first = runner.invoke(cli, ["index", "rebuild", "--articles", str(articles_dir)])
    assert first.exit_code == 0, first.output
    own = data_dir() / "index.db"
    assert own.exists() and not (data_dir() / "samples.db").exists()
    assert f"from {articles_dir.resolve()} into {own}" in first.output
    write(articles_dir, "005_new.txt", FESTIVAL)
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


def test_an_empty_index_file_is_named_as_empty_with_the_command_that_builds_it(runner, tmp_path, articles_dir):
    (tmp_path / "empty.db").write_bytes(b"")
    hint = (
        "Error: empty.db is empty, not an index yet; "
        "build it with `newsbot index rebuild --articles DIR --index empty.db`"
    )
    for args in (["ask", "flu", "--index", "empty.db"], ["index", "stats", "--index", "empty.db"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1 and result.stderr.splitlines() == [hint], result.output
    built = runner.invoke(cli, ["index", "rebuild", "--articles", str(articles_dir), "--index", "empty.db"])
    assert built.exit_code == 0 and "4 added" in built.output
    assert runner.invoke(cli, ["ask", "tram line", "--index", "empty.db"]).exit_code == 0


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


def test_help_texts(runner):
    top = runner.invoke(cli, ["--help"])
    assert "…" not in top.output and "..." not in top.output.split("Commands:")[1]
    for setting in SETTINGS:
        assert setting.env in top.output
    index_help = runner.invoke(cli, ["index", "--help"])
    assert "Example" in index_help.output
    for command in (["ask"], ["console"]):
        assert "1<=x<=50" in runner.invoke(cli, [*command, "--help"]).output


@pytest.mark.parametrize("group", [[], ["index"]], ids=["newsbot", "newsbot index"])
def test_a_group_typed_bare_prints_its_help_like_dash_dash_help(runner, group):
    bare = runner.invoke(cli, group)
    assert bare.exit_code == 0 and bare.stderr == ""
    assert bare.stdout == runner.invoke(cli, [*group, "--help"]).stdout
    assert bare.stdout.startswith("Usage: ") and "Commands:" in bare.stdout and "Error" not in bare.stdout


def test_bad_option_is_one_line(runner):
    result = runner.invoke(cli, ["ask", "--top", "0", "x"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "see `newsbot ask --help`" in result.output


@pytest.mark.parametrize(
    "args, error",
    [
        (
            ["--port", "8443"],
            "--port is for webhook mode: give --webhook-url too (without it the bot uses long polling)",
        ),
        (["--secret-token", "abc"], "--secret-token is for webhook mode: give --webhook-url too"),
        (["--listen", "0.0.0.0", "--port", "80"], "--listen and --port are for webhook mode"),
        (
            ["--webhook-url", "http://bot.example.org/t", "--secret-token", "abc"],
            "Invalid value for '--webhook-url': Telegram sends updates only to an https:// URL",
        ),
        (
            ["--webhook-url", "https://bot.example.org:8000/t", "--secret-token", "abc"],
            "Telegram sends updates only to ports 443, 80, 88 or 8443, not 8000",
        ),
        (["--webhook-url", "bot.example.org/t", "--secret-token", "abc"], "give a full URL such as https://"),
        (
            ["--webhook-url", "https://bot.example.org/t", "--secret-token", "bad!token"],
            "Invalid value for '--secret-token': Telegram takes 1 to 256 of A-Z, a-z, 0-9, _ and -",
        ),
        (["--webhook-url", "https://bot.example.org/t", "--secret-token", "x" * 257], "1 to 256 of A-Z"),
    ],
)
def test_run_checks_its_webhook_options_at_start_up(runner, monkeypatch, args, error):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:" + "a" * 35)  # never used: the options fail first
    result = runner.invoke(cli, ["run", *args])
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and error in line and "bad!token" not in line


def test_a_self_hosted_bot_api_server_may_post_to_http(runner, monkeypatch):
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/bot")
    args = ["run", "--webhook-url", "http://127.0.0.1:9000/t", "--secret-token", "s3cret"]
    result = runner.invoke(cli, args)  # the options pass; then the missing token ends it (exit 1)
    assert result.exit_code == 1 and "TELEGRAM_BOT_TOKEN is not set" in result.stderr


def rebuild_one(folder: Path) -> list[str]:
    write(folder / "one", "a.txt", " date 2025-01-01 One\n\nOne story.")
    return rebuild(folder / "one", folder / "one.db").lines()


def test_stats_speak_like_the_bot(runner, index_path):
    result = runner.invoke(cli, ["index", "stats", "--index", str(index_path)])
    assert "Size on disk:" in result.output and "MB" in result.output and "size_bytes" not in result.output
    assert "index holds 1 article," in "\n".join(rebuild_one(Path(index_path).parent))


def test_top_setting_has_bounds(runner, monkeypatch):
    monkeypatch.setenv("NEWSBOT_TOP", "500")
    result = runner.invoke(cli, ["ask", "x"])
    assert result.exit_code == 2 and "NEWSBOT_TOP must be a whole number from 1 to 50" in result.output


def test_ask_does_not_import_telegram_or_sqlite_utils(tmp_path, index_path):
    code = (
        "import sys; from bot.faces.cli import cli\n"
        "try:\n    cli(['ask', '--index', sys.argv[1], 'tram'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('telegram', 'sqlite_utils') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(index_path)], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def test_terminal_escapes_from_files_articles_and_index_never_reach_the_terminal(runner, tmp_path):
    folder = tmp_path / "news"
    write(folder, "\x1b]0;OWNED\x07\x1b[2J\x1b[31mRED.txt", "no header")
    record = {
        "date": "2025-01-02",
        "title": "Port\u009b2J \u009d0;OWNED\x07 reopens",
        "text": "The port\u009b31m reopened.",
    }
    write(folder, "feed.jsonl", json.dumps(record) + "\n")
    db = tmp_path / "news.db"
    built = runner.invoke(cli, ["index", "rebuild", "--articles", str(folder), "--index", str(db)])
    assert built.exit_code == 0 and "skipped ]0;OWNED[2J[31mRED.txt" in built.output
    asked = runner.invoke(cli, ["ask", "--index", str(db), "port reopened"])
    console = runner.invoke(cli, ["console", "--index", str(db)], input="port reopened\n/stats\n/quit\n")
    assert "Port 2J 0;OWNED reopens" in asked.output and "Port 2J 0;OWNED reopens" in console.output
    with closing(sqlite3.connect(db)) as conn:  # a crafted index: ESC in its titles and meta
        conn.execute("update articles set title = 'Port\x1b]0;OWNED\x07\x1b[2J reopens'")
        conn.execute("update meta set value = '\x1b[2Jenglish 1' where key = 'article_languages'")
        conn.commit()
    outputs = [built.output, asked.output, console.output]
    outputs += [runner.invoke(cli, ["ask", "--index", str(db), "port reopened"]).output]
    outputs += [runner.invoke(cli, ["console", "--index", str(db)], input="port reopened\n/stats\n/quit\n").output]
    stats = runner.invoke(cli, ["index", "stats", "--index", str(db)])
    assert "[2Jenglish 1" in stats.output
    outputs += [stats.output, runner.invoke(cli, ["index", "stats", "--json", "--index", str(db)]).output]
    for output in outputs:
        assert not TERMINAL_CONTROLS.search(output), repr(output)
    assert json.loads(outputs[-1])["article_languages"] == "\x1b[2Jenglish 1"  # JSON keeps the value, escaped


def test_batch_ids_must_be_finite_json_and_each_answer_is_one_line(runner, index_path):
    lines = [
        '{"id": NaN, "question": "tram"}',
        '{"id": Infinity, "question": "tram"}',
        '{"id": [1e999], "question": "tram"}',
        '{"id": 7, "question": "harbour\u2028tram\u2029line\u0085construction"}',
    ]
    result = runner.invoke(cli, ["ask", "--index", str(index_path)], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()  # splits at U+2028, U+2029 and U+0085 too, as line readers do
    assert len(out) == len(lines)
    got = [json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} is not JSON")) for line in out]
    assert [g["id"] for g in got] == [None, None, None, 7]
    assert all("finite" in g["error"] for g in got[:3])
    assert got[3]["question"] == "harbour\u2028tram\u2029line\u0085construction" and got[3]["passages"]


def test_a_newer_index_is_refused_not_rebuilt_down(runner, tmp_path, articles_dir):
    db = tmp_path / "configured.db"
    (tmp_path / ".env").write_text(f"NEWSBOT_ARTICLES_DIR={articles_dir}\nNEWSBOT_INDEX={db}\n")
    assert runner.invoke(cli, ["index", "rebuild"]).exit_code == 0
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("update meta set value = '99' where key = 'schema_version'")
        conn.commit()
    before = db.read_bytes()
    asked = runner.invoke(cli, ["ask", "tram"])
    assert asked.exit_code == 1 and len(asked.output.splitlines()) == 1
    assert "built by a newer newsbot" in asked.output and "upgrade newsbot, or rebuild it with --full" in asked.output
    plain = runner.invoke(cli, ["index", "rebuild"])
    assert plain.exit_code == 1 and "built by a newer newsbot" in plain.output
    assert db.read_bytes() == before
    assert runner.invoke(cli, ["index", "rebuild", "--full"]).exit_code == 0
    assert runner.invoke(cli, ["ask", "tram"]).exit_code == 0


def test_a_crafted_index_gives_the_one_line_damaged_message(runner, index_path):
    with closing(sqlite3.connect(index_path)) as conn:
        conn.execute("update meta set value = '100000000000' where key = 'max_sentence_id'")
        conn.commit()
    for command in (["ask", "tram"], ["index", "stats"], ["console"]):
        result = runner.invoke(cli, [*command, "--index", str(index_path)], input="/quit\n")
        assert result.exit_code == 1 and result.output.startswith("Error: ")
        assert "is damaged or not a newsbot index" in result.output and "Traceback" not in result.output


def test_a_folder_an_index_names_is_followed_only_when_it_is_yours(runner, tmp_path, articles_dir, monkeypatch):
    from bot.config import load_settings, own_index
    from bot.faces.cli import watched_folder

    secrets = tmp_path / "secrets"
    write(secrets, "keys.txt", " date 2025-01-01 Keys\n\nThe root password is hunter2.")
    crafted = tmp_path / "shared.db"
    rebuild(articles_dir, crafted)
    with closing(sqlite3.connect(crafted)) as conn:
        conn.execute("update meta set value = ? where key = 'articles_dir'", [str(secrets)])
        conn.commit()
    result = runner.invoke(cli, ["console", "--index", str(crafted)], input="/quit\n")
    assert result.exit_code == 0 and f"Not watching {secrets}, the folder {crafted} names" in result.output
    folder, line = watched_folder(load_settings({}), crafted)
    assert folder is None and f"NEWSBOT_ARTICLES_DIR={secrets}" in line
    folder, line = watched_folder(load_settings({"NEWSBOT_ARTICLES_DIR": str(articles_dir)}), crafted)
    assert folder is None and line  # the configured folder is not the one it names either
    folder, line = watched_folder(load_settings({"NEWSBOT_ARTICLES_DIR": str(secrets)}), crafted)
    assert folder == secrets and line == ""  # named by the user: followed
    rebuild(articles_dir, own_index())
    assert watched_folder(load_settings({}), own_index()) == (articles_dir.resolve(), "")
    assert watched_folder(load_settings({"NEWSBOT_WATCH": "false"}), crafted) == (None, "")


def test_a_finished_command_ignores_a_late_ctrl_c(monkeypatch):
    """Python's shutdown restores the default SIGINT handler: a Ctrl-C then would end a finished command by the
    signal (exit -2, no word). main() leaves SIGINT ignored once the command has ended."""
    import contextlib
    import signal

    from bot.__main__ import main

    before = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(sys, "argv", ["newsbot", "--help"])
    try:
        with contextlib.suppress(SystemExit):
            main()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
