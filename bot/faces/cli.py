"""The `newsbot` command: a thin click layer over `index` and `bot.ranking.answer`.

python-telegram-bot and sqlite-utils are imported only by the commands that use
them (`run`, and the rebuild), so that `newsbot ask` starts quickly.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.__main__ import INTERRUPTED, forget_interrupt
from bot.chat import render
from bot.config import (
    DEFAULT_API_BASE_URL,
    MAX_TOP,
    Settings,
    SettingsError,
    default_index_for,
    load_settings,
    own_index,
    sample_articles_dir,
    samples_index,
    settings_help,
)
from bot.logsafe import printable, setup_logging
from bot.ranking.answer import Ranking, answer
from index.search import VARIANTS, Bm25Params, Index
from index.store import IndexOutdated, IndexUnavailable, is_stub, recorded_folder
from index.terms import language_name

if TYPE_CHECKING:
    from index.rebuild import RebuildSummary

MAX_SKIPPED_SHOWN = 20
MAX_BATCH_LINE = 64 * 1024  # bytes: a question longer than this is refused, not read whole
ARTICLE_FILES = (
    "An article is a .txt file whose first line is `date YYYY-MM-DD Title`, or a .jsonl file "
    'of {"date", "title", "text"} lines (README: "The article format").'
)


def echo(message: object = "", **kwargs) -> None:
    """click.echo for everything this command prints: `printable` (no terminal escapes from file names,
    articles or index files; the JSON lines hold none, escaped)."""
    click.echo(printable(str(message)), **kwargs)


class OneLineErrors(click.Group):
    """A group whose usage errors are one line on stderr (exit 2), like every other error (exit 1). A group
    typed bare (`newsbot`, `newsbot index`) prints its help, as --help does (exit 0); its subgroups are of
    this class too."""

    group_class = type

    def parse_args(self, ctx, args):
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            echo(ctx.get_help(), color=ctx.color)
            ctx.exit()
        return super().parse_args(ctx, args)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as error:
            path = " ".join(["newsbot", *error.ctx.command_path.split()[1:]]) if error.ctx else "newsbot"
            hint = f" (see `{path} --help`)"
            echo(f"Error: {error.format_message()}{hint}", err=True)
            sys.exit(2)
        except click.ClickException as error:
            echo(f"Error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except (click.Abort, KeyboardInterrupt):
            forget_interrupt()  # else the exit can be by SIGINT, not 130
            echo("Interrupted.", err=True)
            sys.exit(INTERRUPTED)


class IsoDate(click.ParamType):
    """A YYYY-MM-DD date."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        from bot.chat.replies import RequestError, read_date

        try:
            return read_date(str(value))
        except RequestError as error:
            self.fail(str(error).rstrip("."), param, ctx)


DATE = IsoDate()
index_option = click.option(
    "--index",
    "index_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Index file (default: NEWSBOT_INDEX, else samples.db or index.db in your data folder).",
)


def settings_of(ctx: click.Context) -> Settings:
    """Settings, loaded once per command."""
    root = ctx.find_root()
    if root.obj is None:
        try:
            root.obj = load_settings()
        except SettingsError as error:
            raise click.UsageError(str(error), ctx) from None
        root.meta["redact"] = setup_logging(root.obj.log_level, secrets=(root.obj.telegram_token,))
    return root.obj


def _progress():
    """A progress bar on stderr for each pass of a rebuild, labelled by the pass, when stderr is a terminal."""
    if not sys.stderr.isatty():
        return lambda items, total, step: items

    def wrap(items, total, step):
        with click.progressbar(items, length=total, label=step, file=sys.stderr, show_pos=True) as bar:
            for item in items:
                bar.update(1)
                yield item

    return wrap


def run_rebuild(articles: Path, index_path: Path, **kwargs) -> RebuildSummary:
    """Rebuild, turning every expected failure, Ctrl-C and SIGTERM into one line (exit 1)."""
    import signal

    from index.rebuild import RebuildError, rebuild

    existed = index_path.exists() and not is_stub(index_path)
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops a rebuild like Ctrl-C
    try:
        return rebuild(articles, index_path, progress=_progress(), **kwargs)
    except (RebuildError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        forget_interrupt()  # else the exit can be by SIGINT, not the 130 below
        kept = "the previous index is unchanged" if existed else "nothing was written"
        error = click.ClickException(f"rebuild of {index_path} interrupted; {kept}")
        error.exit_code = INTERRUPTED
        raise error from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def index_for(settings: Settings, index_path: Path | None, articles: Path | None = None) -> Path:
    """--index, else NEWSBOT_INDEX, else the index of the folder named (--articles, NEWSBOT_ARTICLES_DIR),
    else the user's own index once it exists, else the samples' index."""
    if index_path or settings.index_path:
        return index_path or settings.index_path
    if articles or "articles_dir" in settings.configured:
        return default_index_for(articles or settings.articles_dir)
    own = own_index()
    return own if own.exists() and not is_stub(own) else samples_index()


def _missing(path: Path) -> bool:
    return not path.exists() or is_stub(path)


def _build_hint(index: Path | None) -> str:
    return "newsbot index rebuild --articles DIR" + (f" --index {index}" if index else "")


def _no_index(path: Path) -> str:
    """Why there is nothing to answer from at `path` (a file not there, or an empty one), and the command that
    builds it."""
    there = f"{path} is empty, not an index yet" if path.exists() else f"no index at {path}"
    return f"{there}; build it with `{_build_hint(path)}`"


def _default_folder(ctx: click.Context, settings: Settings, path: Path, index_path: Path | None) -> Path:
    """The folder for an index that records none, when no --articles is given: the samples for samples.db,
    else NEWSBOT_ARTICLES_DIR. A new index named by --index or NEWSBOT_INDEX is never filled with the samples:
    with no folder set, that is a usage error asking for it. (A file that is there is left to the rebuild,
    which says when it is damaged.)"""
    if path == samples_index():
        return sample_articles_dir()
    if "articles_dir" in settings.configured or not _missing(path):
        return settings.articles_dir
    named, command = ("--index", _build_hint(path)) if index_path else ("NEWSBOT_INDEX", _build_hint(None))
    raise click.UsageError(
        f"which articles should {path} ({named}) hold? Give the folder: {command} (or set NEWSBOT_ARTICLES_DIR)", ctx
    )


def open_index(settings: Settings, index_path: Path | None) -> tuple[Index, str]:
    """The index to answer from, and a note saying which index and folder when that is not what the user
    configured. The configured index is built from the articles folder first if it is missing; an
    NEWSBOT_INDEX with no articles folder set is never filled with the samples: they answer meanwhile."""
    path = index_for(settings, index_path)
    if index_path is not None and _missing(path):
        raise click.ClickException(_no_index(path))
    note = ""
    if _missing(path) and path == settings.index_path and "articles_dir" not in settings.configured:
        note = (
            f"No index at {path} (NEWSBOT_INDEX) yet; build it with `newsbot index rebuild --articles DIR`. "
            "Answering from the bundled sample articles meanwhile."
        )
        path = samples_index()
    if _missing(path):
        articles = settings.articles_dir if path != samples_index() else sample_articles_dir()
        echo(f"No index at {path} yet; building it from {articles} …", err=True)
        summary = run_rebuild(articles, path, language=_new_index_language(settings))
        echo(summary.lines()[1], err=True)
    index = Index(path)
    try:
        index.meta()
    except IndexOutdated as error:
        # The configured index, built by an older newsbot from the configured folder: derived data, so
        # rebuild it (the old one answers until the new one commits) rather than stop the user.
        built_from = recorded_folder(path)
        if index_path is not None or built_from is None or built_from != settings.articles_dir.resolve():
            raise click.ClickException(f"{error}: `newsbot index rebuild --full --index {path}`") from None
        echo(f"{path} was built by another version of newsbot; rebuilding it from {built_from} …", err=True)
        echo(run_rebuild(built_from, path).lines()[1], err=True)
    except IndexUnavailable as error:
        raise click.ClickException(str(error)) from None
    return index, note or _which_index_note(settings, path)


def watched_folder(settings: Settings, path: Path) -> tuple[Path | None, str]:
    """The folder `console` and `run` watch (and /reindex reads) for the index at `path`, or None and a line
    naming the folder the index records when they may not follow it.

    An index file records its folder, and a file from elsewhere could name any folder (a crafted one: /etc,
    and the bot would quote it). So the recorded folder is followed only when it is the configured one
    (NEWSBOT_ARTICLES_DIR), or, with none configured, for the indexes newsbot keeps in its data folder
    (index.db; samples.db, from the samples only). Never another folder: that would replace the index's
    articles, which takes `newsbot index rebuild --full`."""
    recorded = recorded_folder(path)
    configured = "articles_dir" in settings.configured
    if recorded is None:
        return (settings.articles_dir if configured else None), ""
    resolved = path.resolve()
    if configured:
        followed = recorded.resolve() == settings.articles_dir.resolve()
    elif resolved == samples_index().resolve():
        followed = recorded.resolve() == sample_articles_dir().resolve()
    else:
        followed = resolved == own_index().resolve()
    if followed:
        return recorded, ""
    if not settings.watch:
        return None, ""
    return None, (
        f"Not watching {recorded}, the folder {path} names: newsbot follows only NEWSBOT_ARTICLES_DIR, or "
        f"the folder of its own index. To watch it, set NEWSBOT_ARTICLES_DIR={recorded}"
    )


def _new_index_language(settings: Settings) -> str:
    try:
        return settings.new_index_language()
    except SettingsError as error:
        raise click.UsageError(str(error)) from None


def _which_index_note(settings: Settings, path: Path) -> str:
    built_from = recorded_folder(path)
    if path == samples_index() and built_from and built_from == sample_articles_dir().resolve():
        return (
            f"Answering from the bundled sample articles ({path}). For your own: "
            "newsbot index rebuild --articles DIR (or set NEWSBOT_ARTICLES_DIR)."
        )
    if "articles_dir" in settings.configured and built_from and built_from != settings.articles_dir.resolve():
        return (
            f"Answering from {path}, built from {built_from}, not from NEWSBOT_ARTICLES_DIR ({settings.articles_dir})."
        )
    return ""


@click.group(
    cls=OneLineErrors,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="\b\nSettings (environment or .env; see .env.example):\n" + settings_help(),
)
@click.version_option(package_name="newsbot")
def cli():
    """Ask your news archive a question; get back the sentences that answer it.

    \b
    Quick start (bundled sample articles, no setup):
        newsbot console
    Your own articles:
        newsbot index rebuild --articles ~/news
        newsbot ask "When will the tram line open?"
    """


@cli.group("index", short_help="Build, watch and inspect the index.")
def index_group():
    """Build, watch and inspect the index: the SQLite file newsbot answers from.

    \b
    Examples:
        newsbot index rebuild --articles ~/news
        newsbot index watch
        newsbot index stats
    """


@index_group.command("rebuild", short_help="Bring the index up to date with the articles folder.")
@click.option(
    "--articles",
    type=click.Path(path_type=Path),
    help="Folder of .txt / .jsonl articles (default: the folder the index was built from, else "
    "NEWSBOT_ARTICLES_DIR; a new index needs one, except samples.db).",
)
@index_option
@click.option(
    "--language",
    help="Index language: auto (each word by its script), en, ru or ar "
    "(default: the index's own; a new index: NEWSBOT_LANGUAGE, else auto). Changing it rebuilds fully.",
)
@click.option("--full", is_flag=True, help="Re-read every file; needed to rebuild an index from another folder.")
@click.option(
    "--variant", type=click.Choice(VARIANTS), help="BM25 variant (default okapi); changing it rebuilds fully."
)
@click.option("--k1", type=float, help="BM25 k1 (default 1.5).")
@click.option("--b", "b", type=float, help="BM25 b (default 0.75).")
@click.pass_context
def rebuild_command(ctx, articles, index_path, language, full, variant, k1, b):
    """Bring the index up to date with the articles folder.

    Only new, changed and deleted files are applied unless --full is given. The
    previous index keeps answering until the rebuild commits. An index remembers
    the folder it was built from: later rebuilds need no --articles, and one from
    another folder needs --full.

    \b
    Example:
        newsbot index rebuild --articles ~/news --index ~/news.db
    """
    from bot.chat.replies import rebuild_text
    from index.rebuild import RebuildError, check_folder

    settings = settings_of(ctx)
    path = index_for(settings, index_path, articles)
    built_from = recorded_folder(path) if path.exists() else None
    if articles is None and built_from is not None:
        if not built_from.is_dir():
            raise click.ClickException(
                f"{path} was built from {built_from}, which is gone; "
                f"give the folder: newsbot index rebuild --articles DIR --index {path}"
            )
        articles = built_from
    try:
        lang = language_name(language) if language else (None if built_from else _new_index_language(settings))
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param_hint="'--language'") from None
    articles = articles or _default_folder(ctx, settings, path, index_path)
    try:
        check_folder(path, articles, full)
        params = None
        if variant or k1 is not None or b is not None:
            params = Bm25Params(variant or "okapi", 1.5 if k1 is None else k1, 0.75 if b is None else b)
    except RebuildError as error:
        raise click.ClickException(str(error)) from None
    except ValueError as error:
        raise click.UsageError(str(error), ctx) from None
    summary = run_rebuild(articles, path, language=lang, full=full, params=params)
    echo(rebuild_text(summary, articles.resolve(), path, MAX_SKIPPED_SHOWN))
    if not summary.articles and not summary.skipped:
        echo(f"Warning: no article files in {articles.resolve()}. {ARTICLE_FILES}", err=True)


@index_group.command("watch", short_help="Keep the index up to date as articles arrive.")
@click.option(
    "--articles",
    type=click.Path(path_type=Path),
    help="Folder to watch (default: the folder the index was built from, else NEWSBOT_ARTICLES_DIR).",
)
@index_option
@click.option(
    "--reconcile-minutes",
    type=click.IntRange(1, 1440),
    envvar="NEWSBOT_RECONCILE_MINUTES",
    show_envvar=True,
    help="A full check of the folder this often (default 15).",
)
@click.pass_context
def watch_command(ctx, articles, index_path, reconcile_minutes):
    """Keep the index up to date as articles arrive, until Ctrl-C.

    New, changed and removed files are applied within seconds, each batch in one
    transaction; a full check runs at start and every --reconcile-minutes. Not
    needed beside `newsbot run` or `newsbot console`, which watch the folder
    themselves (NEWSBOT_WATCH); useful when the bot runs elsewhere or for an
    index other tools read.

    \b
    Example:
        newsbot index watch --articles ~/news --index ~/news.db
    """
    import signal
    import threading

    from index.rebuild import RebuildError, check_folder
    from index.watch import FolderWatcher, unusable_index

    settings = settings_of(ctx)
    path = index_for(settings, index_path, articles)
    articles = (
        articles
        or (recorded_folder(path) if path.exists() else None)
        or _default_folder(ctx, settings, path, index_path)
    )
    try:
        check_folder(path, articles, False)
    except RebuildError as error:
        raise click.ClickException(str(error)) from None
    if not articles.is_dir():
        raise click.ClickException(f"no articles folder at {articles}")
    unusable = unusable_index(path) if path.exists() else None
    if unusable:
        raise click.ClickException(unusable)
    setup_logging(settings.log_level, secrets=(settings.telegram_token,), plain=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    minutes = reconcile_minutes or settings.reconcile_minutes
    watcher = FolderWatcher(articles, path, on_batch=_print_batch, reconcile_seconds=minutes * 60).start()
    echo(f"Checking {articles.resolve()} against {path} …", err=True)
    try:
        while not (watcher.ready.is_set() or watcher.failed) and not stopped.wait(0.2):
            pass
        if watcher.ready.is_set():
            echo(f"Watching {articles.resolve()} into {path} (Ctrl-C to stop)", err=True)
        while not watcher.failed and not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    if watcher.failed:  # the watcher has said why, in one line
        ctx.exit(1)
    echo("Stopped watching.", err=True)


def _print_batch(batch) -> None:
    """One plain line per applied batch, like the rebuild's summary."""
    s = batch.summary
    if batch.reconciliation and not (s.added or s.updated or s.removed):
        return
    kind = "checked the folder" if batch.reconciliation else "applied"
    skipped = f", {len(s.skipped)} skipped" if s.skipped else ""
    echo(
        f"{time.strftime('%H:%M:%S')} {kind}: {s.added} added, {s.updated} updated, {s.removed} removed"
        f"{skipped}; index holds {s.articles:,} article{'' if s.articles == 1 else 's'}"
    )
    for skip in s.skipped[:MAX_SKIPPED_SHOWN]:
        echo(f"  skipped {skip.source}: {skip.reason}")


@index_group.command("stats", short_help="What the index holds.")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def stats_command(ctx, index_path, as_json):
    """Show what the index holds: counts, dates, language, size, build time, folder.

    \b
    Example:
        newsbot index stats --json
    """
    from bot.chat.replies import stats_rows

    settings = settings_of(ctx)
    path = index_for(settings, index_path)
    if path.exists() and is_stub(path):
        raise click.ClickException(_no_index(path))
    index = Index(path)
    try:
        meta = index.meta()
    except IndexUnavailable as error:
        raise click.ClickException(str(error)) from None
    size = path.stat().st_size
    if as_json:
        echo(
            render.json_line(
                {
                    "index": str(path),
                    "articles": meta.articles,
                    "sentences": meta.sentences,
                    "first_date": meta.first_date,
                    "last_date": meta.last_date,
                    "language": meta.language,
                    "article_languages": meta.article_languages,
                    "terms": meta.vocabulary,
                    "furniture_lines": meta.furniture_lines,
                    "bm25": f"{meta.bm25.variant} k1={meta.bm25.k1} b={meta.bm25.b}",
                    "size_bytes": size,
                    "built_at": meta.built_at,
                    "articles_dir": meta.articles_dir,
                }
            )
        )
        return
    rows = [("Index", str(path)), *stats_rows(meta, size)]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        echo(f"{label + ':':<{width + 1}}  {value}")


def _batch_item(text: str) -> tuple[object, str, str | None, str | None]:
    """(id, question, as_of, error) from one stdin line."""
    from bot.chat.replies import RequestError, read_date

    if text.lstrip().startswith("{"):
        try:
            item = json.loads(text)
        except (ValueError, RecursionError):
            return None, text, None, "line is not valid JSON"
        if not isinstance(item, dict):
            return None, text, None, "a JSON line must be an object"
        id_ = item.get("id")
        try:  # NaN, Infinity (and 1e999, read as infinity) are Python's, not JSON: they are not echoed back
            json.dumps(id_, allow_nan=False)
        except (ValueError, RecursionError):
            return None, text, None, "'id' must be finite JSON (NaN and Infinity are not JSON)"
        if not isinstance(item.get("question"), str):
            return id_, "", None, "JSON line needs a string 'question'"
        as_of = item.get("as_of")
        if as_of is not None:
            try:
                as_of = read_date(str(as_of))
            except RequestError as error:
                return id_, item["question"], None, f"as_of: {error}"
        return id_, item["question"], as_of, None
    return None, text, None, None


def _stdin_lines():
    """Lines of stdin as text, each read with a bound: a huge line is skipped, not held in memory."""
    stream = sys.stdin.buffer
    while True:
        raw = stream.readline(MAX_BATCH_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_BATCH_LINE and not raw.endswith(b"\n"):
            while True:  # drop the rest of this line
                rest = stream.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield raw.decode("utf-8", "replace").rstrip("\r\n")


@cli.command("ask", short_help="Ask one question, or many from stdin.")
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON object (see README).")
@click.option("--top", type=click.IntRange(1, MAX_TOP), help="How many passages (default: NEWSBOT_TOP, else 3).")
@index_option
@click.option("--since", type=DATE, help="Only articles dated on or after this day.")
@click.option("--until", type=DATE, help="Only articles dated on or before this day.")
@click.option("--as-of", "as_of", type=DATE, help="Answer as if today were this day (later articles are left out).")
@click.option("--explain", is_flag=True, help="Show each passage's feature values and their part of its score.")
@click.option(
    "--no-silence", is_flag=True, help="Show the best passages even when they do not seem to answer the question."
)
@click.pass_context
def ask_command(ctx, question, as_json, top, index_path, since, until, as_of, explain, no_silence):
    """Ask one question, or many from stdin (one per line, JSON lines out).

    \b
    Examples:
        newsbot ask "When will the tram line open?"
        newsbot ask --json --top 5 "central bank interest rate"
        newsbot ask --explain "When will the tram line open?"
        newsbot ask --no-silence "who won the stanley cup"
        printf 'tram line\\n{"id": 7, "question": "heatwave record"}\\n' | newsbot ask
    """
    from bot.chat.replies import RequestError, check_dates

    settings = settings_of(ctx)
    top = top or settings.top
    ranking = Ranking(silence=not no_silence)
    try:
        check_dates(since, until)
    except RequestError as error:
        raise click.UsageError(str(error).rstrip(".")) from None
    if question is None and sys.stdin.isatty():
        raise click.UsageError("give a question, or pipe questions on stdin (one per line)")
    index, note = open_index(settings, index_path)
    if note:
        echo(note, err=True)
    try:
        if question is not None:
            result = answer(
                index, question, top=top, since=since, until=until, as_of=as_of, explain=explain, ranking=ranking
            )
            if explain:
                echo(render.explain_json(result) if as_json else render.explain_text(result))
            else:
                width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
                echo(render.json_line(result.as_json()) if as_json else render.plain_text(result, width))
            return
        for line in _stdin_lines():
            if line is None:
                echo(
                    render.json_line(
                        {
                            "id": None,
                            "question": "",
                            "took_ms": 0.0,
                            "passages": [],
                            "error": f"line longer than {MAX_BATCH_LINE // 1024} kB",
                        }
                    )
                )
                continue
            id_, text, line_as_of, error = _batch_item(line)
            if error:
                echo(
                    render.json_line(
                        {"id": id_, "question": text[:200], "took_ms": 0.0, "passages": [], "error": error}
                    )
                )
                continue
            result = answer(index, text, top=top, since=since, until=until, as_of=line_as_of or as_of, ranking=ranking)
            echo(render.json_line(result.as_json(id_)))
    except IndexUnavailable as error:
        raise click.ClickException(str(error)) from None


@cli.command("console", short_help="Try the bot in the terminal.")
@index_option
@click.option("--top", type=click.IntRange(1, MAX_TOP), help="Passages per answer (default: NEWSBOT_TOP, else 3).")
@click.pass_context
def console_command(ctx, index_path, top):
    """Try the bot in the terminal: the same answers Telegram gives, as plain text.

    Type a question; /more for further passages, /follow to keep a question, /help
    for commands, /quit or Ctrl-D to leave. With no settings it answers from the
    bundled sample articles. It watches the articles folder (NEWSBOT_WATCH) and
    prints what new articles say about the questions you follow.

    \b
    Example:
        newsbot console --index ~/news.db
    """
    from bot.live.follows import CONSOLE_CHAT
    from bot.live.runner import Live

    from .console import Printer, run_console

    if sys.stdin is None:  # `newsbot console <&-`: an error (exit 1), not an end of input as Ctrl-D is (exit 0)
        raise click.ClickException("standard input is closed; the console reads its questions from it")
    settings = settings_of(ctx)
    index, note = open_index(settings, index_path)
    articles, unfollowed = watched_folder(settings, index.path)
    note = "\n".join(line for line in (note, unfollowed) if line)
    live = Live(
        settings,
        index,
        articles or settings.articles_dir,
        deliver=Printer(),
        watch=None if articles else False,
        serves=lambda chat_id: chat_id == CONSOLE_CHAT,
        face="console",
    )
    if live.store.problem:  # one line; the console answers as ever and /follow says it is unavailable
        note = "\n".join(line for line in (note, live.store.problem) if line)
    try:
        live.start()
        run_console(index, top or settings.top, note, live.store)
    finally:
        live.stop()


@cli.command("run", short_help="Run the Telegram bot.")
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
        newsbot run --webhook-url https://bot.example.org/telegram --listen 0.0.0.0 --port 8443 \\
            --secret-token "$(openssl rand -hex 16)"
    """
    from telegram.error import TelegramError

    from bot.faces.telegram.app import BotStartError, run_bot

    settings = settings_of(ctx)
    webhook = _webhook(ctx, settings, webhook_url, listen, port, secret_token)
    # Expected faults of a server we do not control (a Telegram error, a reply that is not JSON): one log
    # line each, their tracebacks only at DEBUG.
    redact = setup_logging(
        settings.log_level, secrets=(settings.telegram_token,), quiet=(TelegramError, json.JSONDecodeError)
    )
    if not settings.telegram_token:
        raise click.ClickException(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in .env (see .env.example)"
        )
    index, note = open_index(settings, index_path)
    if note:
        echo(note, err=True)
    articles, unfollowed = watched_folder(settings, index.path)
    if unfollowed:
        echo(unfollowed, err=True)
    try:
        code = run_bot(settings, index, articles, redact, webhook)
    except BotStartError as error:
        raise click.ClickException(str(error)) from None
    if code:
        raise click.ClickException("stopped: another process is polling with the same bot token")


SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # Telegram's rule for setWebhook's secret_token


def _webhook(ctx, settings: Settings, url: str | None, listen: str, port: int, secret: str | None) -> dict | None:
    """`run`'s webhook options, checked at start-up as Telegram will check them (a usage error each, exit
    2); None for long polling, which takes none of them."""
    from urllib.parse import urlsplit

    from telegram.constants import SUPPORTED_WEBHOOK_PORTS

    def bad(option: str, message: str) -> click.BadParameter:
        return click.BadParameter(message, ctx, param_hint=f"'{option}'")

    if not url:
        given = [f"--{name.replace('_', '-')}" for name in ("listen", "port", "secret_token") if _typed(ctx, name)]
        if given:
            raise click.UsageError(
                f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} for webhook mode: give --webhook-url "
                "too (without it the bot uses long polling)",
                ctx,
            )
        return None
    try:
        parts = urlsplit(url)
        url_port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        parts, url_port = None, None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        raise bad("--webhook-url", "give a full URL such as https://bot.example.org/telegram")
    official = settings.telegram_api_base_url.rstrip("/") == DEFAULT_API_BASE_URL
    if official and parts.scheme != "https":  # a self-hosted Bot API server (--local) also posts to http
        raise bad("--webhook-url", "Telegram sends updates only to an https:// URL")
    if official and url_port is not None and url_port not in SUPPORTED_WEBHOOK_PORTS:
        ports = ", ".join(map(str, SUPPORTED_WEBHOOK_PORTS[:-1])) + f" or {SUPPORTED_WEBHOOK_PORTS[-1]}"
        raise bad("--webhook-url", f"Telegram sends updates only to ports {ports}, not {url_port}")
    if not secret:
        raise click.UsageError(
            "webhook mode needs --secret-token, or anyone who finds the URL can send the bot "
            'updates; e.g. --secret-token "$(openssl rand -hex 16)"',
            ctx,
        )
    if not SECRET_TOKEN.fullmatch(secret):
        raise bad("--secret-token", 'Telegram takes 1 to 256 of A-Z, a-z, 0-9, _ and -; e.g. "$(openssl rand -hex 16)"')
    return {"url": url, "listen": listen, "port": port, "url_path": parts.path.strip("/"), "secret_token": secret}


def _typed(ctx: click.Context, name: str) -> bool:
    """Was this option given on the command line (not its default)?"""
    return ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)


@cli.command("eval", short_help="Measure answer quality on a question set.")
@click.argument("dataset", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--questions",
    "questions_file",
    help="A question file inside DATASET other than questions.jsonl, e.g. archive.jsonl.",
)
@click.option("--language", default="en", show_default=True, help="Index language: en, ru, ar or auto.")
@click.option("--as-of", "as_of", is_flag=True, help="Answer each question as of its question_date.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(3, 50), help="Passages per question.")
@click.option(
    "--without",
    "without",
    default="",
    help="Comma-separated features or switches to turn off "
    "(ablation), or 'all' for BM25 alone (the same as --weights bm25).",
)
@click.option("--weights", help="Another ranking file (from bench/fit_ranking.py), 'hand-set' or 'bm25'.")
@click.option("--hard-window", is_flag=True, help="Answer only from inside a window the question names.")
@click.option(
    "--index",
    "index_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the data set's index in this file (built if missing) instead of a temporary one.",
)
@click.option(
    "--corpus",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Ask the questions of this folder of articles instead of DATASET/corpus (with --index: its index).",
)
@click.option("--asked-since", type=DATE, help="Only the questions asked on or after this date (YYYY-MM-DD).")
@click.option("--until", type=DATE, help="Answer from the articles dated up to this day only (YYYY-MM-DD).")
@click.option("--no-silence", is_flag=True, help="Always show passages, as if the articles knew every answer.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_command(
    dataset,
    questions_file,
    language,
    as_of,
    top,
    without,
    weights,
    hard_window,
    index_path,
    corpus,
    asked_since,
    until,
    no_silence,
    as_json,
):
    """Measure answer quality on a question set (corpus/ + questions.jsonl).

    Prints sentence_hit@1/@3, quote_hit@1/@3, mrr@10, article@1, mean quote and
    sentence length, questions per second, the median time per answer, the shares
    answered and silent, and quote_hit@1 among the answered.

    \b
    Examples:
        newsbot eval ../shared/data/realtimeqa-dev --as-of
        newsbot eval ../shared/data/realtimeqa-dev --as-of --questions archive.jsonl
        newsbot eval ../shared/data/xquad-ru --language ru --json
        newsbot eval ../shared/data/xquad-en --without redundancy,name_agreement
        newsbot eval ../shared/data/realtimeqa-dev --as-of --corpus ~/reuters/corpus
        newsbot eval ../shared/data/realtimeqa-dev --as-of --asked-since 2024-01-01 --until 2023-12-31
    """
    from bot.ranking.answer import PLAIN_BM25
    from bot.ranking.evaluate import DatasetError, evaluate, report_table
    from bot.ranking.model import model_named
    from index.rebuild import RebuildError

    try:
        lang = language_name(language)
        names = [n.strip() for n in without.split(",") if n.strip()]
        base = Ranking(model=model_named(weights), hard_window=hard_window, silence=not no_silence)
        plain = replace(PLAIN_BM25, hard_window=hard_window, silence=not no_silence)
        ranking = plain if names == ["all"] else base.without(names)
        report = evaluate(
            dataset,
            language=lang,
            as_of=as_of,
            top=top,
            ranking=ranking,
            index_path=index_path,
            questions_file=questions_file,
            corpus=corpus,
            asked_since=asked_since,
            until=until,
        )
    except (ValueError, DatasetError, RebuildError) as error:
        raise click.ClickException(str(error)) from None
    echo(json.dumps(report.as_json()) if as_json else report_table(report))
