"""What a person is shown for a sentence: the sentence, with the neighbours it needs.

The sentence before is taken in when the sentence leans on it ("It was the first
time …") or is very short; otherwise the neighbour that matches the question
better, when it fits. The whole quote stays within `MAX_QUOTE_CHARS`, so a long
sentence is quoted alone.
"""

from __future__ import annotations

import re

MAX_QUOTE_CHARS = 450
SHORT_SENTENCE = 60

# A sentence that opens with one of these leans on the one before it.
_LEANS_BACK = re.compile(
    r"^[\"“‘']?(it|this|that|these|those|he|she|they|his|her|their|its|there|but|however|"
    r"also|meanwhile|still|yet|so|then|such|both|the two|the move|the decision|the visit|"
    r"the deal|the agreement|the statement)\b",
    re.IGNORECASE,
)


def leans_back(text: str) -> bool:
    return bool(_LEANS_BACK.match(text)) or len(text) < SHORT_SENTENCE


def wanted_neighbours(
    text: str, position: int, before_matches: float, after_matches: float, with_matches: bool = True
) -> list[int]:
    """Positions of the neighbours to try, most wanted first: the one before when the sentence leans on
    it, then the one that matches the question better (the answer is often next to the sentence that
    matches best: measured, taking the better neighbour whenever it fits raised quote_hit@1 by about
    3 points on dated news)."""
    order: list[int] = []
    if position > 1 and leans_back(text):
        order.append(position - 1)
    if with_matches:
        options = [(before_matches, position - 1), (after_matches, position + 1)]
        order += [pos for score, pos in sorted(options, reverse=True) if pos not in order]
    return order


def build_quote(text: str, position: int, neighbours: dict[int, str], order: list[int]) -> tuple[str, frozenset[int]]:
    """The quote and the positions of the sentences in it; `neighbours` maps position -> text (body only)."""
    before, after, length, positions = [], [], len(text), {position}
    for pos in order:
        neighbour = neighbours.get(pos)
        if not neighbour or length + len(neighbour) + 1 > MAX_QUOTE_CHARS:
            continue
        length += len(neighbour) + 1
        positions.add(pos)
        (before if pos < position else after).append(neighbour)
    return " ".join([*before, text, *after]), frozenset(positions)
