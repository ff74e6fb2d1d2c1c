"""The ratchet: the reader may only get better on the corpus.

The floors are the figures reached so far; raise them when the reader improves.
"""

from __future__ import annotations

import json
from pathlib import Path

from dsnwatch.dsn.score import score

FLOORS = json.loads((Path(__file__).parent / "accuracy_floor.json").read_text())


def test_reader_meets_the_floors_on_the_corpus(corpus: Path) -> None:
    ratios = score(corpus).ratios()
    below = {k: (ratios[k], v) for k, v in FLOORS.items() if ratios[k] < v}
    assert not below, f"fell below the floor (got, floor): {below}"


def test_every_line_ending_twin_reads_like_its_original(corpus: Path) -> None:
    result = score(corpus)
    assert result.twins > 0
    assert result.twins_same == result.twins, [m for m in result.misses if "twin" in m]


def test_every_mbox_message_is_read(corpus: Path) -> None:
    from dsnwatch.dsn import read_report
    from dsnwatch.dsn.sources import iter_messages

    items = list(iter_messages([str(corpus / "mailbox")]))
    assert len(items) > 5
    kinds = [read_report(i.data or b"").kind for i in items]
    assert "error" not in kinds
    assert kinds.count("delivery-status") >= len(kinds) * 0.8


def test_parse_reads_every_corpus_file_as_the_scorer_does(corpus: Path) -> None:
    """`dsnwatch parse` finds its messages through sources.iter_messages; the scorer
    hands the reader each file's bytes. Both must see the same bounce in every file,
    whatever its line endings (three CR-only files once lost everything after their
    envelope line)."""
    from dsnwatch.dsn import read_report
    from dsnwatch.dsn.sources import iter_messages

    files = sorted((corpus / "maildir").rglob("*.eml"))
    items = list(iter_messages([str(f) for f in files]))
    assert [i.source for i in items] == [str(f) for f in files]
    for path, item in zip(files, items, strict=True):
        whole = read_report(path.read_bytes())
        parsed = read_report(item.data or b"")
        assert (parsed.kind, [r.recipient for r in parsed.reports]) == (
            whole.kind,
            [r.recipient for r in whole.reports],
        ), path.name
