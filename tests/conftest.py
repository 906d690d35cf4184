"""Fixtures chain from a folder of articles to a built index to an `Index` and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings as hypothesis_settings

from bot.config import SETTINGS
from index.rebuild import rebuild
from index.search import Index

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

# Property tests: a few hundred examples in the fast tier; .ci/run runs them again with
# HYPOTHESIS_PROFILE=full (5,000 examples each).
hypothesis_settings.register_profile("fast", max_examples=200)
hypothesis_settings.register_profile("full", max_examples=5000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

TRAM = """ date 2025-03-04 Council Approves Harbour Tram Line

By City Desk

The city council voted on Tuesday to build the harbour tram line, a 14-kilometre
route from the central station to the university.

Construction starts in September 2025. It will be the first new tram line in
fifty years, said Mayor Helena Varga.

The line will cost 620 million euros.
"""

VISIT = """ date 2025-06-26 President Kallas to Visit Norland Soon

By Staff, Agencies

President Mara Kallas is set to visit Norland next month, according to Norland's
ambassador, Teo Brandt.

"We will soon witness the visit of Mrs. Kallas to our capital," the ambassador said.

Relations between the two countries have improved since the treaty of 2023.
"""

RATES = """ date 2025-09-11 Central Bank Cuts Interest Rate

The central bank cut its main interest rate to 3.25 percent on Thursday.

Governor Paul Adeyemi said inflation was close to the 2 percent target.
"""

RATES_LATER = """ date 2025-12-11 Central Bank Holds Interest Rate

The central bank kept its main interest rate at 3.25 percent on Thursday.

Governor Paul Adeyemi said the next move could be a cut.
"""

FESTIVAL = " date 2025-12-24 Harbour Festival\n\nThe harbour festival returns."  # a fifth article, added by tests


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def articles_dir(tmp_path) -> Path:
    """A small folder of articles written for these tests."""
    folder = tmp_path / "articles"
    write(folder, "001_tram.txt", TRAM)
    write(folder, "002_visit.txt", VISIT)
    write(folder, "sub/003_rates.txt", RATES)
    write(folder, "sub/004_rates_later.txt", RATES_LATER)
    return folder


@pytest.fixture
def index_path(tmp_path, articles_dir) -> Path:
    """The fixture articles, indexed."""
    path = tmp_path / "index.db"
    rebuild(articles_dir, path)
    return path


@pytest.fixture
def index(index_path) -> Index:
    return Index(index_path)


@pytest.fixture
def runner(tmp_path, monkeypatch) -> CliRunner:
    """A CLI runner with no settings from the machine: data folder in tmp, no .env."""
    monkeypatch.chdir(tmp_path)
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return CliRunner()


def shared_path(*parts: str) -> Path:
    """A path in ../shared, or skip the test when it is absent (a user's clone)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the research data in ../shared ({'/'.join(parts)}), which a user's clone does not have")
    return path
