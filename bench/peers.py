"""One engine, in its own process: build over the index's sentences, time each question.

    python bench/peers.py ENGINE --index IDX --tokens TOKENS.npz --questions Q.jsonl [Q2.jsonl …] [--limit N]

ENGINE: newsbot (this project's postings search), rank-bm25, bm25s, bm25s-numba, fts5.
Every engine sees the same documents (the index's sentences and titles) and,
except FTS5 (its own porter tokenizer on the raw text), the same tokens.
Prints one JSON object: build seconds, RSS added by the build, and per question
file its per-question milliseconds and top-10 (ids, scores).
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from index.search import Index
from index.terms import Analyzer


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_tokens(path: Path) -> tuple[np.ndarray, list[list[str]]]:
    data = np.load(path, allow_pickle=False)
    vocab = data["vocab"].tolist()
    flat, offsets = data["flat"], data["offsets"]
    docs = [[vocab[t] for t in flat[a:b]] for a, b in zip(offsets[:-1], offsets[1:])]
    return data["ids"], docs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("engine")
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--tokens", type=Path, required=True)
    parser.add_argument("--questions", type=Path, nargs="+", required=True)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    sets = [[json.loads(line)["question"] for line in path.open()] for path in args.questions]
    if args.limit:
        sets = [questions[: args.limit] for questions in sets]
    analyzer = Analyzer("en")
    engine = args.engine
    base = rss_mb()
    started = time.perf_counter()
    if engine in ("newsbot", "newsbot-answer"):
        search = (newsbot_engine if engine == "newsbot" else answer_engine)(args.index)
        ids = None
    else:
        ids, docs = load_tokens(args.tokens)
        base = rss_mb()
        started = time.perf_counter()
        search = {
            "rank-bm25": rank_engine,
            "bm25s": bm25s_engine,
            "bm25s-numba": bm25s_numba_engine,
            "fts5": fts5_engine,
        }[engine](docs, ids, args.index, analyzer)
    build = time.perf_counter() - started
    added = rss_mb() - base  # while the shared token lists are still held, so they are not counted
    first = next(q for q in sets if q)
    search(analyzer.terms(first[0]), first[0])  # warm-up (numba compiles on first call)
    results = []
    for questions in sets:
        times, tops = [], []
        for question in questions:
            query = analyzer.terms(question)
            t0 = time.perf_counter()
            top = search(query, question)
            times.append((time.perf_counter() - t0) * 1000)
            tops.append(top)
        results.append({"times_ms": times, "tops": tops})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"engine": engine, "build_s": build, "rss_added_mb": added, "peak_rss_mb": peak, "sets": results}))


def _top(ids: np.ndarray, scores: np.ndarray, k: int = 10) -> list:
    if len(scores) == 0:
        return []
    part = np.argpartition(-scores, min(k, len(scores) - 1))[:k] if len(scores) > k else np.arange(len(scores))
    order = part[np.lexsort((ids[part], -scores[part]))]
    return [[int(ids[i]), float(scores[i])] for i in order]


def newsbot_engine(index_path: Path):
    index = Index(index_path)

    def search(query, question):
        with index.snapshot() as snap:
            return [[sid, score] for sid, score in snap.candidates(query, k=10).top(10)]

    return search


def answer_engine(index_path: Path):
    """The whole answer (`answer()`: articles, their sentences, quotes), timed like the searches."""
    from bot.ranking.answer import answer

    index = Index(index_path)

    def search(query, question):
        return [[p.sentence_id, p.score] for p in answer(index, question, top=10).passages]

    return search


def rank_engine(docs, ids, index_path, analyzer):
    import rank_bm25

    model = rank_bm25.BM25Okapi(docs)

    def search(query, question):
        return _top(ids, np.asarray(model.get_scores(query)))

    return search


def _bm25s(docs, backend):
    import bm25s

    model = bm25s.BM25(method="atire", idf_method="robertson", backend=backend)
    model.index(docs, show_progress=False)
    vocabulary = set(model.vocab_dict)
    return model, vocabulary


def bm25s_engine(docs, ids, index_path, analyzer, backend="numpy"):
    model, vocabulary = _bm25s(docs, backend)

    def search(query, question):
        known = [t for t in query if t in vocabulary]
        if not known:
            return []
        found, scores = model.retrieve([known], k=10, show_progress=False, backend_selection=backend, n_threads=1)
        return [[int(ids[d]), float(s)] for d, s in zip(found[0], scores[0])]

    return search


def bm25s_numba_engine(docs, ids, index_path, analyzer):
    return bm25s_engine(docs, ids, index_path, analyzer, backend="numba")


def fts5_engine(docs, ids, index_path, analyzer):
    folder = tempfile.mkdtemp()
    db = sqlite3.connect(Path(folder) / "fts.db")  # the peer's own database, not the index
    db.execute("pragma journal_mode=wal")
    db.execute("create virtual table s using fts5(text, tokenize='porter unicode61')")
    with Index(index_path).snapshot() as snap:
        db.executemany("insert into s(rowid, text) values (?, ?)", ((r.id, r.text) for r in snap.each_sentence()))
    db.commit()

    def search(query, question):
        words = [w for w in question.replace('"', " ").split() if analyzer.terms(w)]
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        rows = db.execute("select rowid, -bm25(s) from s where s match ? order by rank limit 10", [match])
        return [[int(r), float(s)] for r, s in rows]

    return search


if __name__ == "__main__":
    main()
