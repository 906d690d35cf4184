"""Waiting for what a background thread or process does: bounded polling, never a wall-clock assert."""

from __future__ import annotations

import time
from pathlib import Path

from index.search import Index


def until(predicate, timeout: float = 15.0):
    """Wait for a condition by bounded polling; its value, or a failure naming what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met in {timeout} s")


def titles(index_path: Path) -> set[str]:
    """The titles of the articles an index holds now."""
    with Index(index_path).snapshot() as snap:
        return {article.title for article in snap.each_article()}
