"""`newsbot eval`: answer quality on a question set, measured the same way for every choice.

A data set is a folder with `corpus/` (articles in the usual format) and
`questions.jsonl` lines `{id, question, answers: [str], gold_files: [str], question_date?}`.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from index.rebuild import rebuild
from index.search import Index

from .answer import Ranking, answer

_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})


class DatasetError(ValueError):
    """The data set folder is not usable; the message says why."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    gold_files: tuple[str, ...]
    question_date: str | None = None


@dataclass
class EvalReport:
    """The metrics `newsbot eval` prints."""

    dataset: str
    language: str
    questions: int
    sentence_hit_at_1: float
    sentence_hit_at_3: float
    quote_hit_at_1: float
    quote_hit_at_3: float
    mrr_at_10: float
    article_at_1: float
    mean_quote_chars: float
    mean_sentence_chars: float
    questions_per_second: float
    took_ms_median: float
    ranking: str
    answered: float = 1.0  # share of questions answered with passages (the rest: silent, or no match)
    silent: float = 0.0  # share the silence model left unanswered ("The articles don't mention that.")
    quote_hit_at_1_answered: float = 0.0  # quote_hit@1 among the questions answered

    def as_json(self) -> dict:
        data = asdict(self)
        return {k.replace("_at_", "@"): v for k, v in data.items()}


def normalise_for_match(text: str) -> str:
    """Case- and quote-insensitive form (NFKC, so é typed two ways is one letter), white space folded."""
    return " ".join(unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold().split())


def contains_answer(text: str, answers: tuple[str, ...]) -> bool:
    """Is one of the answer strings in the text? Quote marks around an answer are the quiz's typography
    ('"Mona Lisa"'), not part of the answer, so they are not required in the text."""
    haystack = normalise_for_match(text)
    for expected in answers:
        needle = normalise_for_match(expected).strip("\"'")
        if needle and needle in haystack:
            return True
    return False


def load_questions(path: Path) -> list[Question]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            questions.append(
                Question(
                    str(item["id"]),
                    item["question"],
                    tuple(item["answers"]),
                    tuple(item.get("gold_files", ())),
                    item.get("question_date"),
                )
            )
        except (ValueError, KeyError, TypeError):
            raise DatasetError(f"{path.name} line {number} is not a question object") from None
    return questions


def evaluate(
    dataset: Path,
    language: str = "en",
    as_of: bool = False,
    top: int = 10,
    ranking: Ranking | None = None,
    index_path: Path | None = None,
    questions_file: str | None = None,
    corpus: Path | None = None,
    asked_since: str | None = None,
    until: str | None = None,
) -> EvalReport:
    """Build a temporary index of the data set (or use `index_path`, building it there if missing) and
    score every question of questions.jsonl (or of `questions_file`, a file inside the data set).

    `corpus`: ask them of another folder of articles instead (one that cannot know the answers measures
    silence); `asked_since`: only the questions asked on or after that date; `until`: answer from the
    articles dated up to that date only."""
    dataset = Path(dataset)
    corpus = Path(corpus) if corpus else dataset / "corpus"
    questions_path = dataset / (questions_file or "questions.jsonl")
    if questions_file and (Path(questions_file).name != questions_file or questions_file.startswith(".")):
        raise DatasetError(f"--questions must name a file inside {dataset}, like archive.jsonl")
    if not corpus.is_dir() or not questions_path.is_file():
        raise DatasetError(f"{dataset} needs corpus/ and {questions_path.name}")
    questions = load_questions(questions_path)
    if asked_since:
        questions = [q for q in questions if (q.question_date or "") >= asked_since]
    ranking = ranking or Ranking()
    with tempfile.TemporaryDirectory() as scratch:
        path = index_path or Path(scratch) / "eval.db"
        if index_path is None or not index_path.exists():
            rebuild(corpus, path, language=language)
        report = score_questions(Index(path), questions, as_of=as_of, top=top, ranking=ranking, until=until)
    return replace(
        report, dataset=dataset.name + ("" if not questions_file else f"/{questions_path.name}"), language=language
    )


def score_questions(
    index: Index,
    questions: list[Question],
    as_of: bool = False,
    top: int = 10,
    ranking: Ranking | None = None,
    until: str | None = None,
) -> EvalReport:
    """The metrics of one ranking on some questions, over an index already built (a silent answer counts
    as a miss in every hit figure)."""
    ranking = ranking or Ranking()
    with index.snapshot() as snap:
        mean_sentence = snap.mean_sentence_length()
    hits = {"s1": 0, "s3": 0, "q1": 0, "q3": 0, "a1": 0}
    reciprocal, quote_chars, quote_count, took = 0.0, 0, 0, []
    answered = silent = 0
    started = time.perf_counter()
    for q in questions:
        result = answer(
            index, q.question, top=max(top, 3), until=until, as_of=q.question_date if as_of else None, ranking=ranking
        )
        took.append(result.took_ms)
        answered += bool(result.passages)
        silent += result.silent
        passages = result.passages
        sentence_hits = [contains_answer(p.sentence, q.answers) for p in passages]
        quote_hits = [contains_answer(p.quote, q.answers) for p in passages]
        hits["s1"] += any(sentence_hits[:1])
        hits["s3"] += any(sentence_hits[:3])
        hits["q1"] += any(quote_hits[:1])
        hits["q3"] += any(quote_hits[:3])
        hits["a1"] += bool(passages) and file_of(passages[0].source) in q.gold_files
        rank = next((i for i, hit in enumerate(quote_hits[:10], start=1) if hit), None)
        reciprocal += 1 / rank if rank else 0.0
        quote_chars += sum(len(p.quote) for p in passages[:3])
        quote_count += len(passages[:3])
    seconds = time.perf_counter() - started
    n = max(len(questions), 1)
    took.sort()
    return EvalReport(
        dataset="",
        language="",
        questions=len(questions),
        sentence_hit_at_1=hits["s1"] / n,
        sentence_hit_at_3=hits["s3"] / n,
        quote_hit_at_1=hits["q1"] / n,
        quote_hit_at_3=hits["q3"] / n,
        mrr_at_10=reciprocal / n,
        article_at_1=hits["a1"] / n,
        mean_quote_chars=quote_chars / max(quote_count, 1),
        mean_sentence_chars=mean_sentence,
        questions_per_second=len(questions) / max(seconds, 1e-9),
        took_ms_median=took[len(took) // 2] if took else 0.0,
        ranking=ranking.describe(),
        answered=answered / n,
        silent=silent / n,
        quote_hit_at_1_answered=hits["q1"] / max(answered, 1),
    )


def file_of(source: str) -> str:
    """The article file a passage's source names (`feed.jsonl#L12` → `feed.jsonl`), as gold_files name it."""
    return re.sub(r"#L\d+$", "", source).rsplit("/", 1)[-1]


def report_table(report: EvalReport) -> str:
    rows = [(k, v) for k, v in report.as_json().items()]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v:.3f}" if isinstance(v, float) else f"{k:<{width}}  {v}" for k, v in rows)
