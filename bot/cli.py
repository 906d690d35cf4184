"""The `newsbot` command: a thin click layer over `index` and `bot.answer`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import click

from index.rebuild import RebuildError, RebuildSummary, rebuild
from index.search import VARIANTS, Bm25Params, Index
from index import store
from index.store import IndexOutdated, IndexUnavailable
from index.terms import language_name

from . import render
from .answer import answer
from .config import Settings, SettingsError, load_settings
from .logsafe import setup_logging

MAX_SKIPPED_SHOWN = 20


class IsoDate(click.ParamType):
    """A YYYY-MM-DD date."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            self.fail(f"{value!r} is not a date like 2025-06-26", param, ctx)


DATE = IsoDate()
index_option = click.option(
    "--index", "index_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Index file (default: NEWSBOT_INDEX, else one in your data folder).",
)


def settings_of(ctx: click.Context) -> Settings:
    """Settings, loaded once per command."""
    root = ctx.find_root()
    if root.obj is None:
        try:
            root.obj = load_settings()
        except SettingsError as error:
            raise click.ClickException(str(error)) from None
        from telegram.error import TelegramError

        root.meta["redact"] = setup_logging(root.obj.log_level, secrets=(root.obj.telegram_token,),
                                            quiet=(TelegramError,))
    return root.obj


def _progress(label: str):
    if not sys.stderr.isatty():
        return lambda items, total: items

    def wrap(items, total):
        with click.progressbar(items, length=total, label=label, file=sys.stderr, show_pos=True) as bar:
            for item in items:
                bar.update(1)
                yield item

    return wrap


def run_rebuild(settings: Settings, articles: Path, index_path: Path, **kwargs) -> RebuildSummary:
    """Rebuild, turning every expected failure into a one-line ClickException."""
    try:
        return rebuild(articles, index_path, progress=_progress("Reading articles"), **kwargs)
    except (RebuildError, ValueError) as error:
        raise click.ClickException(str(error)) from None


def open_index(settings: Settings, index_path: Path | None) -> Index:
    """The index to answer from; the configured one is built first from the articles folder if missing."""
    path = index_path or settings.index
    if not path.exists() and index_path is not None:
        raise click.ClickException(f"no index at {path}; build it with `newsbot index rebuild --index {path}`")
    if not path.exists():
        click.echo(f"No index at {path} yet; building it from {settings.articles_dir} …", err=True)
        summary = run_rebuild(settings, settings.articles_dir, path, language=settings.language)
        click.echo(summary.lines()[1], err=True)
    index = Index(path)
    try:
        index.meta()
    except IndexOutdated as error:
        # The configured index, built by an older newsbot from the configured folder: derived data, so
        # rebuild it (the old one answers until the new one commits) rather than stop the user.
        if index_path is not None or _built_from(path) != str(settings.articles_dir.resolve()):
            raise click.ClickException(str(error)) from None
        click.echo(f"{path} was built by another version of newsbot; rebuilding it from {settings.articles_dir} …",
                   err=True)
        click.echo(run_rebuild(settings, settings.articles_dir, path).lines()[1], err=True)
    except IndexUnavailable as error:
        raise click.ClickException(str(error)) from None
    return index


def _built_from(path: Path) -> str | None:
    """The articles folder an index records, whatever its schema."""
    with closing(store.open_reader(path)) as conn:
        return store.read_meta(conn).get("articles_dir")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsbot")
def cli():
    """Ask your news archive a question; get back the sentences that answer it.

    \b
    Quick start (bundled sample articles, no setup):
        newsbot console
    Your own articles:
        newsbot index rebuild --articles ~/news
        newsbot ask "When will Putin visit Iran?"
    """


@cli.group("index")
def index_group():
    """Build and inspect the index."""


@index_group.command("rebuild")
@click.option("--articles", type=click.Path(path_type=Path),
              help="Folder of .txt / .jsonl articles (default: NEWSBOT_ARTICLES_DIR, else the samples).")
@index_option
@click.option("--language", help="Index language: en, ru, ar, or auto to analyse each word by its script "
              "(default: NEWSBOT_LANGUAGE, else en).")
@click.option("--full", is_flag=True, help="Re-read every file instead of only new and changed ones.")
@click.option("--variant", type=click.Choice(VARIANTS), help="BM25 variant (default okapi); changing it rebuilds fully.")
@click.option("--k1", type=float, help="BM25 k1 (default 1.5).")
@click.option("--b", "b", type=float, help="BM25 b (default 0.75).")
@click.pass_context
def rebuild_command(ctx, articles, index_path, language, full, variant, k1, b):
    """Bring the index up to date with the articles folder.

    Only new, changed and deleted files are applied unless --full is given.
    The previous index keeps answering until the rebuild commits.

    \b
    Example:
        newsbot index rebuild --articles ~/news --index ~/news.db
    """
    settings = settings_of(ctx)
    articles = articles or settings.articles_dir
    index_path = index_path or settings.index
    try:
        lang = language_name(language or settings.language)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    params = None
    if variant or k1 is not None or b is not None:
        try:
            params = Bm25Params(variant or "okapi", 1.5 if k1 is None else k1, 0.75 if b is None else b)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
    summary = run_rebuild(settings, articles, index_path, language=lang, full=full, params=params)
    lines = summary.lines()
    shown = lines[: 2 + MAX_SKIPPED_SHOWN]
    click.echo("\n".join(shown))
    if len(lines) > len(shown):
        click.echo(f"… and {len(lines) - len(shown)} more skipped or noted files")
    click.echo(f"index: {index_path}")


@index_group.command("stats")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def stats_command(ctx, index_path, as_json):
    """Show what the index holds: counts, dates, language, size, build time.

    \b
    Example:
        newsbot index stats --json
    """
    settings = settings_of(ctx)
    path = index_path or settings.index
    index = Index(path)
    try:
        meta = index.meta()
    except IndexUnavailable as error:
        raise click.ClickException(str(error)) from None
    info = {
        "index": str(path),
        "articles": int(meta.get("articles", 0)),
        "sentences": int(meta.get("sentences", 0)),
        "first_date": meta.get("first_date", ""),
        "last_date": meta.get("last_date", ""),
        "language": meta.get("language", ""),
        "article_languages": meta.get("article_languages", ""),
        "terms": int(meta.get("vocabulary", 0)),
        "bm25": f"{meta.get('bm25_variant')} k1={meta.get('bm25_k1')} b={meta.get('bm25_b')}",
        "size_bytes": path.stat().st_size,
        "built_at": meta.get("built_at", ""),
        "articles_dir": meta.get("articles_dir", ""),
    }
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            click.echo(f"{key:<{width}}  {value}")


def _batch_item(line: str) -> tuple[object, str, str | None, str | None]:
    """(id, question, as_of, error) from one stdin line."""
    text = line.rstrip("\r\n")
    if text.lstrip().startswith("{"):
        try:
            item = json.loads(text)
        except ValueError:
            return None, text, None, "line is not valid JSON"
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            return None, text, None, "JSON line needs a string 'question'"
        as_of = item.get("as_of")
        if as_of is not None:
            try:
                as_of = dt.date.fromisoformat(str(as_of)).isoformat()
            except ValueError:
                return item.get("id"), item["question"], None, "as_of must be YYYY-MM-DD"
        return item.get("id"), item["question"], as_of, None
    return None, text, None, None


@cli.command("ask")
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON object (see README).")
@click.option("--top", type=click.IntRange(1, 200), help="How many passages (default 3).")
@index_option
@click.option("--since", type=DATE, help="Only articles dated on or after this day.")
@click.option("--until", type=DATE, help="Only articles dated on or before this day.")
@click.option("--as-of", "as_of", type=DATE, help="Answer as if today were this day (later articles are left out).")
@click.option("--explain", is_flag=True, help="Show each passage's feature values and their part of its score.")
@click.pass_context
def ask_command(ctx, question, as_json, top, index_path, since, until, as_of, explain):
    """Ask one question, or many from stdin (one per line, JSON lines out).

    \b
    Examples:
        newsbot ask "When will Putin visit Iran?"
        newsbot ask --json --top 5 "central bank interest rate"
        newsbot ask --explain "When will the tram line open?"
        printf 'tram line\\n{"id": 7, "question": "heatwave record"}\\n' | newsbot ask
    """
    settings = settings_of(ctx)
    top = top or settings.top
    index = open_index(settings, index_path)
    try:
        if question is not None:
            result = answer(index, question, top=top, since=since, until=until, as_of=as_of, explain=explain)
            if explain:
                click.echo(render.explain_json(result) if as_json else render.explain_text(result))
            else:
                click.echo(render.json_line(result) if as_json else render.plain_text(result))
            return
        if sys.stdin.isatty():
            raise click.UsageError("give a question, or pipe questions on stdin (one per line)")
        for line in sys.stdin:
            id_, text, line_as_of, error = _batch_item(line)
            if error:
                click.echo(json.dumps({"id": id_, "question": text, "took_ms": 0.0, "passages": [], "error": error},
                                      ensure_ascii=False))
                continue
            result = answer(index, text, top=top, since=since, until=until, as_of=line_as_of or as_of)
            click.echo(render.json_line(result, id_))
    except IndexUnavailable as error:
        raise click.ClickException(str(error)) from None


@cli.command("console")
@index_option
@click.option("--top", type=click.IntRange(1, 50), help="Passages per answer (default 3).")
@click.pass_context
def console_command(ctx, index_path, top):
    """Try the bot in the terminal: the same answers Telegram gives, as plain text.

    Type a question; /more for further passages, /help for commands, /quit or
    Ctrl-D to leave. With no settings it answers from the bundled sample articles.

    \b
    Example:
        newsbot console --index ~/news.db
    """
    from .console import run_console

    settings = settings_of(ctx)
    index = open_index(settings, index_path)
    run_console(index, top or settings.top)


@cli.command("run")
@index_option
@click.option("--webhook-url", help="Serve a webhook at this public https URL instead of long polling.")
@click.option("--listen", default="127.0.0.1", show_default=True, help="Webhook mode: address to listen on.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(1, 65535), help="Webhook mode: port.")
@click.option("--secret-token", help="Webhook mode: secret Telegram sends in X-Telegram-Bot-Api-Secret-Token.")
@click.pass_context
def run_command(ctx, index_path, webhook_url, listen, port, secret_token):
    """Run the Telegram bot (long polling; a webhook with --webhook-url).

    The token comes from TELEGRAM_BOT_TOKEN (environment or .env). The index is
    built first if it is missing; Ctrl-C or SIGTERM stops the bot cleanly.

    \b
    Examples:
        newsbot run
        newsbot run --webhook-url https://bot.example.org/telegram --listen 0.0.0.0 --port 8443
    """
    from urllib.parse import urlsplit

    from .tg_app import BotStartError, run_bot

    settings = settings_of(ctx)
    if not settings.telegram_token:
        raise click.ClickException(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in .env (see .env.example)"
        )
    index = open_index(settings, index_path)
    webhook = None
    if webhook_url:
        path = urlsplit(webhook_url).path.strip("/")
        webhook = {"url": webhook_url, "listen": listen, "port": port, "url_path": path, "secret_token": secret_token}
    redact = ctx.find_root().meta["redact"]
    try:
        code = run_bot(settings, index, settings.articles_dir, redact, webhook)
    except BotStartError as error:
        raise click.ClickException(str(error)) from None
    if code:
        raise click.ClickException("stopped: another process is polling with the same bot token")


@cli.command("eval")
@click.argument("dataset", type=click.Path(file_okay=False, path_type=Path))
@click.option("--questions", "questions_file", help="A question file inside DATASET other than questions.jsonl, "
              "e.g. archive.jsonl.")
@click.option("--language", default="en", show_default=True, help="Index language: en, ru, ar or auto.")
@click.option("--as-of", "as_of", is_flag=True, help="Answer each question as of its question_date.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(3, 50), help="Passages per question.")
@click.option("--without", "without", default="", help="Comma-separated features or switches to turn off "
              "(ablation), or 'all' for BM25 alone.")
@click.option("--weights", help="Another ranking file (from bench/fit_ranking.py), or 'hand-set'.")
@click.option("--hard-window", is_flag=True, help="Answer only from inside a window the question names.")
@click.option("--index", "index_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep the data set's index in this file (built if missing) instead of a temporary one.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_command(dataset, questions_file, language, as_of, top, without, weights, hard_window, index_path, as_json):
    """Measure answer quality on a question set (corpus/ + questions.jsonl).

    Prints sentence_hit@1/@3, quote_hit@1/@3, mrr@10, article@1, mean quote and
    sentence length, questions per second and the median time per answer.

    \b
    Examples:
        newsbot eval ../shared/data/realtimeqa-dev --as-of
        newsbot eval ../shared/data/realtimeqa-dev --as-of --questions archive.jsonl
        newsbot eval ../shared/data/xquad-ru --language ru --json
        newsbot eval ../shared/data/xquad-en --without redundancy,name_agreement
    """
    from .answer import PLAIN_BM25, Ranking
    from .evaluate import DatasetError, evaluate
    from .model import model_named

    try:
        lang = language_name(language)
        names = [n.strip() for n in without.split(",") if n.strip()]
        base = Ranking(model=model_named(weights), hard_window=hard_window)
        ranking = replace(PLAIN_BM25, model=base.model, hard_window=hard_window) if names == ["all"] \
            else base.without(names)
        report = evaluate(dataset, language=lang, as_of=as_of, top=top, ranking=ranking, index_path=index_path,
                          questions_file=questions_file)
    except (ValueError, DatasetError, RebuildError) as error:
        raise click.ClickException(str(error)) from None
    from .evaluate import report_table

    click.echo(json.dumps(report.as_json()) if as_json else report_table(report))
