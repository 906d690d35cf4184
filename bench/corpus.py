"""Benchmark collections of a given number of sentences, made from Reuters-21578.

Method (deterministic, seed 1987): the real articles come first, in archive
order, until the size is reached. Past the ~80k sentences of the real archive,
each further article copies a random real article's title and paragraph
structure, moves it forward by 1-30 years, and re-mixes it: every sentence is
kept with probability 1/2, otherwise replaced by a random sentence from the
whole archive; then every sentence is reworded (`reword`), so that no line is
repeated verbatim across unrelated articles. Without that, a made article's
one-sentence paragraphs recurred in dozens of articles and newsbot's furniture
rule (a line in 8 or more unrelated articles is page furniture, not news) rightly
dropped them: the "1M" collection indexed 619k sentences. Sentences are counted
with newsbot's own splitter, titles excluded.

Questions: 100 article titles and 100 five-word questions made of the first
five content words of random sentences, drawn from the collection itself; and
natural ones (`natural_questions`): 200 of xquad-en and 200 of realtimeqa-dev.
The same articles can be written as .txt folders or as JSONL feed files.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import tarfile
from dataclasses import dataclass
from pathlib import Path

from index.articles import ArticleError, parse_txt
from index.sentences import split_sentences
from index.terms import Analyzer

SEED = 1987


@dataclass
class Source:
    title: str
    date: str
    paragraphs: list[list[str]]  # sentences per paragraph

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.paragraphs)


def load_reuters(archive: Path) -> list[Source]:
    found = []
    with tarfile.open(archive) as tar:  # read in archive order: seeking back in a .tar.gz re-decompresses
        for member in tar:
            if member.isfile() and member.name.endswith(".txt"):
                found.append((member.name, tar.extractfile(member).read().decode("utf-8", "replace")))
    sources = []
    for name, text in sorted(found):
        try:
            article = parse_txt(text, name)
        except ArticleError:
            continue
        paragraphs = [split_sentences(p) for p in article.paragraphs]
        sources.append(Source(article.title, article.date, [p for p in paragraphs if p]))
    return sources


REWORD_SHARE = 0.25  # lower-case words replaced, drawn from the archive's own word frequencies


@dataclass
class Vocabulary:
    """The archive's lower-case words with their counts, to draw replacements as often as they occur."""

    words: list[str]
    cumulative: list[int]

    @classmethod
    def of(cls, sources: list[Source]) -> Vocabulary:
        counts: dict[str, int] = {}
        for src in sources:
            for p in src.paragraphs:
                for s in p:
                    for w in s.split():
                        if w.isalpha() and w.islower():
                            counts[w] = counts.get(w, 0) + 1
        words = sorted(counts)
        return cls(words, list(itertools.accumulate(counts[w] for w in words)))

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.words, cum_weights=self.cumulative)[0]


def reword(sentence: str, vocabulary: Vocabulary, rng: random.Random) -> str:
    """The sentence with a quarter of its lower-case words (at least one) replaced and the digits of its
    numbers re-drawn: the same shape, length and splitting (no word with a full stop is touched), with
    term frequencies that stay the archive's."""
    words = sentence.split(" ")
    plain = [i for i, w in enumerate(words) if w.isalpha() and w.islower()]
    chosen = {i for i in plain if rng.random() < REWORD_SHARE}
    if plain and not chosen:
        chosen.add(rng.choice(plain))
    for i in chosen:
        words[i] = vocabulary.draw(rng)
    for i, w in enumerate(words):
        if w.isdigit():
            words[i] = str(rng.randint(1, 10 ** len(w) - 1))
    return " ".join(words)


def _text(source: Source, date: str) -> str:
    body = "\n\n".join(" ".join(p) for p in source.paragraphs)
    return f" date {date} {source.title}\n\n{body}\n"


JSONL_ARTICLES_PER_FILE = 7_500  # a feed file of a day or two, as a wire service would export


def make_collection(sources: list[Source], sentences: int, out: Path, fmt: str = "txt") -> dict:
    """Write a collection of about `sentences` sentences below `out`, as .txt files (1,000 a folder) or
    as JSONL feed files (`fmt="jsonl"`, the same articles); returns its description."""
    rng = random.Random(SEED)
    pool = [s for src in sources for p in src.paragraphs for s in p]
    vocabulary = Vocabulary.of(sources)
    out.mkdir(parents=True, exist_ok=True)
    written = total = 0
    chosen: list[Source] = []
    feed = None
    while total < sentences:
        if written < len(sources):
            source, date = sources[written], sources[written].date
        else:
            template = rng.choice(sources)
            years = rng.randint(1, 30)
            day = dt.date.fromisoformat(template.date)
            date = (
                day.replace(year=day.year + years).isoformat()
                if not (day.month == 2 and day.day == 29)
                else day.replace(year=day.year + years, day=28).isoformat()
            )
            paragraphs = [
                [reword(s if rng.random() < 0.5 else rng.choice(pool), vocabulary, rng) for s in p]
                for p in template.paragraphs
            ]
            source = Source(template.title, date, paragraphs)
        if fmt == "jsonl":
            if written % JSONL_ARTICLES_PER_FILE == 0:
                if feed:
                    feed.close()
                feed = (out / f"feed-{written // JSONL_ARTICLES_PER_FILE:04d}.jsonl").open("w", encoding="utf-8")
            body = "\n\n".join(" ".join(p) for p in source.paragraphs)
            feed.write(json.dumps({"date": date, "title": source.title, "text": body}) + "\n")
        else:
            shard = out / f"{written // 1000:04d}"
            shard.mkdir(exist_ok=True)
            (shard / f"{written:07d}.txt").write_text(_text(source, date), encoding="utf-8")
        chosen.append(source)
        total += source.size
        written += 1
    if feed:
        feed.close()
    questions = make_questions(chosen, rng)
    (out.parent / f"{out.name}.questions.jsonl").write_text(
        "".join(json.dumps({"id": i, "question": q}) + "\n" for i, q in enumerate(questions)), encoding="utf-8"
    )
    return {"articles": written, "sentences": total, "questions": len(questions)}


def natural_questions(shared: Path, each: int = 200) -> list[str]:
    """Questions people ask, in words (not drawn from the collection): the first `each` of xquad-en and of
    realtimeqa-dev. On the Reuters collection they test cost, not quality: long questions of common words
    are what makes a search slow."""
    found = []
    for name in ("xquad-en", "realtimeqa-dev"):
        path = shared / "data" / name / "questions.jsonl"
        if path.exists():
            with path.open(encoding="utf-8") as lines:
                found += [json.loads(line)["question"] for _, line in zip(range(each), lines)]
    return found


def make_questions(sources: list[Source], rng: random.Random, each: int = 100) -> list[str]:
    analyzer = Analyzer("en")
    titles = rng.sample([s.title for s in sources], min(each, len(sources)))
    phrases: list[str] = []
    while len(phrases) < each:
        source = rng.choice(sources)
        sentence = rng.choice([s for p in source.paragraphs for s in p])
        words = [w for w in sentence.replace(",", " ").split() if analyzer.terms(w)]
        if len(words) >= 5:
            phrases.append(" ".join(words[:5]))
    return titles + phrases
