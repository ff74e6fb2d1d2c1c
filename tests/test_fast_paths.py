"""The reader's fast paths hold to the plain formulations they replace.

Each pattern here was reordered (the digits before the look-behind, so a search
can skip to them) or is matched against lower-cased text instead of
case-insensitively; the plain forms below are the readable definitions, and the
properties check that both find the same thing on any text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsnwatch.dsn import mime, reader
from dsnwatch.dsn.gates import LiteralIndex
from dsnwatch.dsn.reader import RecipientReport

PLAIN_REPLY_CODE = re.compile(r"(?:^|[\s:(\[\"'])([245][0-5]\d)(?=[ -]|$|\])", re.M)
PLAIN_STATUS = re.compile(r"(?<![\w.])([245]\.\d{1,3}\.\d{1,3})(?!\.?\d|-\d|/\d)")
PLAIN_REPLIED = re.compile(r"(?<![\w.])[45]\d\d[ -]['\"]?([45]\.\d{1,3}\.\d{1,3})(?!\.?\d)")

# Text made of the pieces these patterns care about, in any order.
_PIECES = st.sampled_from(
    [
        "5",
        "4",
        "2",
        "0",
        "1",
        "9",
        ".",
        "-",
        " ",
        "\n",
        ":",
        "(",
        "[",
        "]",
        '"',
        "'",
        "/",
        "a",
        "Z",
        "_",
        "550",
        "5.1.1",
        "4.4.7",
        "host",
        "HOST",
        "Server",
        "mx",
        "said",
        "refused",
        "by",
        "from",
        "while talking to",
        "mx.Example.ORG",
        "[192.0.2.1]",
        "é",
        "K",
        "ſ",
        "original message",
        "--",
        "Original Message",
        "\t",
    ]
)
TEXT = st.lists(_PIECES, max_size=40).map("".join)


def _groups(pattern: re.Pattern[str], text: str) -> list[tuple[str, int]]:
    return [(m.group(1), m.start(1)) for m in pattern.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_reordered_patterns_find_what_the_plain_ones_find(text: str) -> None:
    assert _groups(reader.REPLY_CODE, text) == _groups(PLAIN_REPLY_CODE, text)
    assert _groups(reader.STATUS, text) == _groups(PLAIN_STATUS, text)
    assert _groups(reader._REPLIED, text) == _groups(PLAIN_REPLIED, text)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_remote_host_is_read_as_written_in_any_case(text: str) -> None:
    entry = RecipientReport(recipient="x@example.org")
    reader._remote_mta(entry, text)
    m = reader._REMOTE_ANY_CASE.search(text)
    assert entry.remote_mta == (m.group(1).rstrip(".") if m else None)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_original_markers_cut_where_the_case_insensitive_pattern_does(text: str) -> None:
    m = mime.ORIGINAL_MARKERS.search(text)
    expected = (text, "") if m is None else (text[: m.start()], text[m.end() :].partition("\n")[2])
    assert mime.split_inline_original(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Feedback-Type: abuse\nUser-Agent: x\n",
        "FEEDBACK-TYPE: abuse\nVersion: 1\n",
        "feedbac\u212a-type: abuse\nversion: 1\n",  # the Kelvin sign matches k case-insensitively
        "Feedback-Type:\nVersion: 1\n",
        "no report here\n",
    ],
)
def test_the_complaint_gate_agrees_with_the_field_patterns(text: str) -> None:
    plain = bool(re.search(r"^feedback-type:\s*\S", text, re.I | re.M)) and bool(
        re.search(
            r"^(?:user-agent|version|original-rcpt-to|original-mail-from):", text, re.I | re.M
        )
    )
    assert reader._looks_arf(text) == plain


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet="abc é\u00df", min_size=1, max_size=4), max_size=12),
    st.text(alphabet="abc é\u00df\n", max_size=60),
)
def test_literal_index_finds_exactly_the_literals_in_the_text(
    literals: list[str], text: str
) -> None:
    index = LiteralIndex()
    gates = [index.gate([literal]) for literal in literals]
    found = index.found(text)
    for literal, gate in zip(literals, gates, strict=True):
        assert gate is not None
        assert (not gate.isdisjoint(found)) == (literal in text), (literal, text)


def test_literal_index_gates() -> None:
    index = LiteralIndex()
    assert index.gate(None) is None
    unknown = index.gate(["unknown", "no such"])
    full = index.gate(["full"])
    assert index.found("") == set()
    present = index.found("550 user unknown; mailbox full")
    assert unknown is not None and full is not None
    assert not unknown.isdisjoint(present) and not full.isdisjoint(present)
    assert unknown.isdisjoint(index.found("mailbox full"))
    with pytest.raises(RuntimeError):
        index.gate(["late"])
    assert LiteralIndex().found("anything") == set()


PLAIN_QUEUE_ID = re.compile(r"([0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}): ")


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(["A", "F", "G", "a", "b", "e", "0", "9", "Z", ":", " ", ": ", "to=<x>"]),
        max_size=16,
    ).map("".join)
)
def test_the_queue_id_is_what_the_plain_pattern_takes(text: str) -> None:
    from dsnwatch.logs import readers

    m = PLAIN_QUEUE_ID.match(text)
    expected = (m.group(1), text[m.end() :]) if m else None
    assert readers._queue_id(text) == expected


@pytest.mark.parametrize(
    "text",
    ["4F2A81C03D: to=<a@b>", "4dL2xk1Bq9zWp: removed", "ABCDE: x", "4F2A81C03D:x", "NOQUEUE: x"],
)
def test_the_queue_id_on_real_shapes(text: str) -> None:
    from dsnwatch.logs import readers

    m = PLAIN_QUEUE_ID.match(text)
    assert readers._queue_id(text) == ((m.group(1), text[m.end() :]) if m else None)


def _compiled_or_skip() -> None:
    import os

    from dsnwatch.native import compiled_modules

    if not compiled_modules():
        if os.environ.get("CI") == "true":
            pytest.fail("nothing is compiled: make install compiles the readers")
        pytest.skip("nothing is compiled here (DSNWATCH_PURE_PYTHON or no make install)")


def test_the_readers_run_compiled_after_make_install() -> None:
    import ast

    from dsnwatch.logs import readers
    from dsnwatch.native import compiled_modules

    setup = ast.parse((Path(__file__).resolve().parent.parent / "setup.py").read_text())
    listed = next(
        ast.literal_eval(node.value)
        for node in setup.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "COMPILED"
    )
    _compiled_or_skip()
    assert compiled_modules() == sorted(
        path.removeprefix("dsnwatch/")[:-3].replace("/", ".") for path in listed
    )
    for module in (reader, readers):
        assert module.__file__ is not None and not module.__file__.endswith(".py")


def _on_sources(args: list[str], stdin: str) -> str:
    """`python ARGS` on the .py sources only; its standard output."""
    from dsnwatch.bench.common import run_on_sources

    done = run_on_sources(args, stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_compiled_reader_reads_the_corpus_as_its_sources_do(corpus: Path) -> None:
    """mypyc compiles the same source; this holds it to the same output, message by message."""
    import json

    from dsnwatch.dsn import read_report
    from dsnwatch.dsn.reader import clear_caches

    _compiled_or_skip()
    # Absolute: the other process runs in the copy's folder.
    files = sorted(str(p.resolve()) for p in (corpus / "maildir").rglob("*.eml"))
    assert len(files) > 400
    clear_caches()
    compiled = [json.dumps(read_report(Path(f).read_bytes(), source=f).to_dict()) for f in files]
    script = (
        "import json, sys; from pathlib import Path; from dsnwatch.dsn import read_report;"
        "[print(json.dumps(read_report(Path(f).read_bytes(), source=f).to_dict()))"
        " for f in json.load(sys.stdin)]"
    )
    sources = _on_sources(["-c", script], json.dumps(files)).splitlines()
    assert len(sources) == len(files)
    for mine, theirs in zip(compiled, sources, strict=True):
        assert json.loads(mine) == json.loads(theirs)


def test_the_compiled_log_readers_read_lines_as_their_sources_do() -> None:
    import json

    from dsnwatch.bench.logs import SAMPLE
    from dsnwatch.logs.readers import read_line

    _compiled_or_skip()
    here = Path(__file__).parent
    whole = (here / "tui" / "data" / "mailcow.log").read_text().splitlines() + SAMPLE
    whole += [
        "Dec  3 16:00:00 h postfix/smtp[9]: 4dL2xk1Bq9zWp: to=<a@b.example>, relay=none,"
        " dsn=5.4.4, status=bounced (Host or domain name not found)",
        "Dec  3 16:00:00 h postfix/qmgr[9]: warning: ABCDEF1: \x1b[31mred\x1b[0m [b]x[/b]",
        "lmtp(u@x)<1><s>: Error: sieve: msgid=<m@x>: failed to redirect to <a@b>: loop",
        "",
        "\udcff\udcfe not utf-8",
    ]
    # Every line whole and cut short at many places: each branch of the readers sees
    # the ends of its fields.
    lines = [line[:cut] for line in whole for cut in (*range(0, len(line), 5), len(line))]
    script = (
        "import json, sys; from dsnwatch.logs.readers import read_line;"
        "[print(json.dumps(read_line(x).to_dict())) for x in json.load(sys.stdin)]"
    )
    sources = _on_sources(["-c", script], json.dumps(lines))
    compiled = [read_line(line).to_dict() for line in lines]
    assert [json.loads(x) for x in sources.splitlines()] == compiled
