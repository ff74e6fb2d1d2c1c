"""Shared fixtures: where the corpus and our own sample messages are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    from dsnwatch.native import stale_modules

    stale = stale_modules()
    if stale:
        pytest.exit(
            f"a compiled module is older than its source ({', '.join(stale)}): "
            "run make install to compile it again",
            returncode=2,
        )


def corpus_path() -> Path:
    """The DSN corpus: $DSNWATCH_CORPUS, else ../shared/dsn-corpus beside the checkout."""
    return Path(os.environ.get("DSNWATCH_CORPUS", ROOT.parent / "shared" / "dsn-corpus"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_path()
    if not (path / "expected.json").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the DSN corpus is missing at {path}")
        pytest.skip(f"the DSN corpus is not at {path}")
    return path


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
