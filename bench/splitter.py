"""Sentence splitter benchmark: golden-rules accuracy and single-core throughput.

    python bench/splitter.py [--shared ../shared] [--peers]

Accuracy: exact sentence lists on ../shared/data/golden_rules_en.json.
Throughput: sentences per second on one core, splitting every paragraph of the
Reuters-21578 collection (../shared/data/reuters-21578.tar.gz). With --peers,
pySBD (if installed) is timed on the same paragraphs. Long paragraphs: the time
to split one paragraph of 1 MB and of 10 MB (a hard-wrapped transcript with no
blank lines), which must grow linearly.
"""

from __future__ import annotations

import argparse
import json
import tarfile
import time
from pathlib import Path

from index.articles import ArticleError, parse_txt
from index.sentences import split_sentences


def reuters_paragraphs(archive: Path, limit: int | None = None) -> list[str]:
    paragraphs: list[str] = []
    with tarfile.open(archive) as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".txt"):
                continue
            text = tar.extractfile(member).read().decode("utf-8", "replace")
            try:
                paragraphs.extend(parse_txt(text, member.name).paragraphs)
            except ArticleError:
                continue
            if limit and len(paragraphs) >= limit:
                break
    return paragraphs


def throughput(split, paragraphs: list[str]) -> tuple[int, float]:
    started = time.process_time()
    count = sum(len(split(p)) for p in paragraphs)
    return count, count / max(time.process_time() - started, 1e-9)


def long_paragraph(size: int, paragraphs: list[str]) -> str:
    """Reuters paragraphs run together into one paragraph of about `size` characters."""
    out, total = [], 0
    while total < size:
        for p in paragraphs:
            out.append(p)
            total += len(p) + 1
            if total >= size:
                break
    return " ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--peers", action="store_true", help="also time pySBD")
    args = parser.parse_args()
    cases = json.loads((args.shared / "data" / "golden_rules_en.json").read_text(encoding="utf-8"))
    exact = sum(split_sentences(c["text"]) == c["expected"] for c in cases)
    print(f"golden rules: {exact}/{len(cases)} exact")
    paragraphs = reuters_paragraphs(args.shared / "data" / "reuters-21578.tar.gz")
    count, rate = throughput(split_sentences, paragraphs)
    print(
        f"newsbot splitter: {count} sentences from {len(paragraphs)} Reuters paragraphs, "
        f"{rate:,.0f} sentences/s (CPU time, one core)"
    )
    for size in (1 << 20, 10 << 20):
        text = long_paragraph(size, paragraphs)
        started = time.process_time()
        pieces = split_sentences(text)
        print(
            f"one paragraph of {len(text) / 2**20:.0f} MB: {len(pieces):,} sentences in "
            f"{time.process_time() - started:.2f} s"
        )
    if args.peers:
        try:
            import pysbd
        except ImportError:
            print("pysbd not installed: pip install pysbd")
            return
        segmenter = pysbd.Segmenter(language="en", clean=False)
        sample = paragraphs[:3000]
        count, rate = throughput(segmenter.segment, sample)
        print(f"pySBD: {count} sentences from {len(sample)} paragraphs, {rate:,.0f} sentences/s")
        exact = sum([s.strip() for s in segmenter.segment(c["text"])] == c["expected"] for c in cases)
        print(f"pySBD golden rules: {exact}/{len(cases)} exact")


if __name__ == "__main__":
    main()
