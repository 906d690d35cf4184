"""index: from a folder of articles to a BM25 index in one SQLite file, and the typed read API over it.

The pipeline, one module a step: articles → sentences → terms → store → search, plus the watcher.
Only this package knows the index's tables; everything else reads through `Index` and `Snapshot`.

    >>> from index import Index, rebuild
    >>> rebuild("~/news", "news.db")            # doctest: +SKIP
    >>> Index("news.db").meta().articles        # doctest: +SKIP

Names are imported on first use, so `import index` costs nothing (`newsbot ask` never loads
sqlite-utils, which only the rebuild needs).
"""

from importlib import import_module

_HOME = {
    "Article": "index.articles",
    "ArticleError": "index.articles",
    "Skipped": "index.articles",
    "parse_txt": "index.articles",
    "read_articles": "index.articles",
    "split_sentences": "index.sentences",
    "Analyzer": "index.terms",
    "language_name": "index.terms",
    "ArticleRow": "index.store",
    "SentenceRow": "index.store",
    "IndexUnavailable": "index.store",
    "IndexOutdated": "index.store",
    "Bm25Params": "index.search",
    "Index": "index.search",
    "IndexMeta": "index.search",
    "Snapshot": "index.search",
    "RebuildError": "index.rebuild",
    "RebuildSummary": "index.rebuild",
    "rebuild": "index.rebuild",
    "FolderWatcher": "index.watch",
    "Batch": "index.watch",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
