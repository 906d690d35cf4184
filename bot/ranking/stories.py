"""Questions without a topic ("What happened this week?", "any news today"): the main stories of the days.

Such a question is one with no words left once time words and generic news words are set aside
(`is_topicless`, through the index's own analyzer, so the same rule holds for English, Russian and
Arabic). Its answer is the main stories of its days (the days it names, else the 7 days up to the day
asked): the window's articles grouped into stories by single-pass clustering (each article, oldest
first, joins the story whose centroid is nearest by TF-IDF cosine over its title and lead, if at least
`join_at`, fitted by `bench/fit_stories.py` and shipped in `stories.json`, else starts a new one); a
story's size is how many distinct sources carried it (the URL's host, else the file's folder), then
how many articles. The biggest stories come first: the question asks what mattered, and each shows its
date. Each is shown by its most central article's lead: its first sentence of five words or more.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from urllib.parse import urlsplit

import numpy as np

from index.search import ArticleRow, Snapshot

from .features import lucene_idf

WINDOW_DAYS = 7  # a question that names no days asks about the last week
MAX_ARTICLES = 5000  # the newest of the window's articles that are grouped (bounds the work per question)
LEAD_WORDS = 5  # a lead shorter than this is a dateline or a caption, not the story
LEAD_SENTENCES = 4  # sentences read to find it
_YEAR = re.compile(r"^(19|20)\d\d$")

# Words that ask for news without naming a topic, with the time words; analysed with the index's
# analyzer, so that their stems are compared with the question's.
GENERIC_WORDS = {
    "english": """news new newest latest happen happened happening happens going story stories headline
        headlines update updates top main big biggest important major today tonight yesterday week weekend
        weeks month months year years day days recent recently lately now current currently anything something
        everything world tell show give say said me us please hi hello morning evening monday tuesday
        wednesday thursday friday saturday sunday january february march april may june july august september
        october november december past last this""",
    "russian": """новости новость новое новенького нового новые новостей последние последнее главное главные
        случилось произошло происходит происходило сегодня вчера неделя неделе недели неделю месяц месяце
        год году день дни сейчас недавно мире расскажи покажи какие какой какая каких что чего есть""",
    "arabic": """أخبار الأخبار اخبار خبر جديد الجديد جديدة حدث يحدث حصل اليوم أمس الأسبوع اسبوع الشهر السنة
        الآن مؤخرا العالم ما ماذا هل""",
}


@dataclass(frozen=True)
class Story:
    """One story of the window: its most central article and how widely it was carried."""

    title: str
    date: str
    source: str
    url: str
    lead: str
    articles: int  # articles in the story
    sources: int  # distinct sources that carried it
    newest: str  # the date of its newest article
    article_ids: tuple[int, ...] = ()  # its articles


@dataclass(frozen=True)
class Window:
    """The days asked about, ISO dates (both included)."""

    start: str
    end: str


def _generic_terms(snap: Snapshot) -> frozenset[str]:
    words = " ".join(GENERIC_WORDS.values())
    return frozenset(snap.analyzer.terms(words))


def is_topicless(snap: Snapshot, terms: list[str] | tuple[str, ...]) -> bool:
    """The question's terms (analysed) are all time words or generic news words."""
    generic = _generic_terms(snap)
    return bool(terms) and all(t in generic or _YEAR.match(t) for t in terms)


@cache
def join_at() -> float:
    """The fitted cosine from which an article joins a story (bot/ranking/stories.json)."""
    text = resources.files("bot.ranking").joinpath("stories.json").read_text(encoding="utf-8")
    return float(json.loads(text)["join_at"])


def source_of(article: ArticleRow) -> str:
    """Who carried it: the URL's host, else the folder the file is in (files at the top of the articles
    folder are all one source, "")."""
    host = urlsplit(article.url).netloc.lower().removeprefix("www.") if article.url else ""
    if host:
        return host
    path = article.source.split("#", 1)[0]
    return path.rsplit("/", 1)[0] if "/" in path else ""


def window_articles(snap: Snapshot, start_day: int, end_day: int) -> np.ndarray:
    """The ids of the articles dated within the days (days since 1970-01-01), at most MAX_ARTICLES newest."""
    days = snap.article_days
    ids = np.flatnonzero((days >= start_day) & (days <= end_day))
    if len(ids) > MAX_ARTICLES:
        ids = ids[np.argsort(-days[ids].astype(np.int64), kind="stable")[:MAX_ARTICLES]]
    return np.sort(ids)


def article_leads(snap: Snapshot, articles: dict[int, ArticleRow]) -> dict[int, str]:
    """Each article's lead: its first sentence of LEAD_WORDS words or more (else its first sentence)."""
    wanted = [a.first_sentence + k for a in articles.values() for k in range(1, min(a.sentences, LEAD_SENTENCES) + 1)]
    sentences = snap.sentences(wanted)
    leads = {}
    for article_id, a in articles.items():
        texts = [
            sentences[i].text
            for i in range(a.first_sentence + 1, a.first_sentence + 1 + LEAD_SENTENCES)
            if i in sentences
        ]
        leads[article_id] = next((t for t in texts if len(t.split()) >= LEAD_WORDS), texts[0] if texts else "")
    return leads


def tfidf_vectors(snap: Snapshot, texts: dict[int, str]) -> dict[int, dict[str, float]]:
    """Unit TF-IDF vectors (IDF over the index's sentences) of each text."""
    counts = {i: Counter(snap.analyzer.terms(t)) for i, t in texts.items()}
    vocabulary = sorted({t for c in counts.values() for t in c})
    df = snap.document_frequencies(vocabulary) if vocabulary else {}
    idf = dict(zip(vocabulary, lucene_idf(snap.stats.documents, np.array([df.get(t, 0) for t in vocabulary]))))
    vectors = {}
    for i, c in counts.items():
        v = {t: n * float(idf[t]) for t, n in c.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vectors[i] = {t: x / norm for t, x in v.items()}
    return vectors


def cluster(vectors: list[dict[str, float]], threshold: float) -> list[list[int]]:
    """Single-pass clustering: each vector, in order, joins the cluster whose centroid is nearest by
    cosine if at least `threshold`, else starts one. Returns the members (indexes) of each cluster."""
    centroids: list[dict[str, float]] = []
    norms: list[float] = []
    members: list[list[int]] = []
    by_term: dict[str, set[int]] = {}
    for index, vector in enumerate(vectors):
        dots: dict[int, float] = {}
        for term, x in vector.items():
            for c in by_term.get(term, ()):
                dots[c] = dots.get(c, 0.0) + x * centroids[c][term]
        best, best_cos = -1, -1.0
        for c, dot in dots.items():
            cos = dot / norms[c] if norms[c] else 0.0
            if cos > best_cos:
                best, best_cos = c, cos
        if best < 0 or best_cos < threshold:
            best = len(centroids)
            centroids.append({})
            members.append([])
            norms.append(0.0)
        centroid = centroids[best]
        for term, x in vector.items():
            centroid[term] = centroid.get(term, 0.0) + x
            by_term.setdefault(term, set()).add(best)
        norms[best] = math.sqrt(sum(x * x for x in centroid.values()))
        members[best].append(index)
    return members


def main_stories(snap: Snapshot, window: Window, limit: int = 10, threshold: float | None = None) -> tuple[Story, ...]:
    """The biggest stories of the window, biggest first (distinct sources, then articles, then newest)."""
    start, end = (np.datetime64(d, "D").astype(np.int64) for d in (window.start, window.end))
    ids = window_articles(snap, int(start), int(end))
    if not len(ids):
        return ()
    articles = snap.articles(ids.tolist())
    order = sorted(articles, key=lambda i: (articles[i].date, i))
    leads = article_leads(snap, articles)
    vectors = tfidf_vectors(snap, {i: f"{articles[i].title}\n{leads[i]}" for i in order})
    groups = cluster([vectors[i] for i in order], join_at() if threshold is None else threshold)
    stories = []
    for group in groups:
        members = [order[k] for k in group]
        stories.append(_story(members, articles, leads, vectors))
    stories.sort(key=lambda s: (s.sources, s.articles, s.newest), reverse=True)
    return tuple(stories[:limit])


def _story(
    members: list[int], articles: dict[int, ArticleRow], leads: dict[int, str], vectors: dict[int, dict[str, float]]
) -> Story:
    """A story shown by its medoid: the member nearest the others (by summed cosine)."""
    centroid: dict[str, float] = {}
    for m in members:
        for term, x in vectors[m].items():
            centroid[term] = centroid.get(term, 0.0) + x
    medoid = max(members, key=lambda m: (sum(x * centroid.get(t, 0.0) for t, x in vectors[m].items()), -m))
    shown = articles[medoid]
    return Story(
        title=shown.title,
        date=shown.date,
        source=shown.source,
        url=shown.url or "",
        lead=leads[medoid],
        articles=len(members),
        sources=len({source_of(articles[m]) for m in members}),
        newest=max(articles[m].date for m in members),
        article_ids=tuple(sorted(members)),
    )
