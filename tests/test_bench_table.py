"""The benchmark table: one cell per column whatever a peer's name holds."""

from __future__ import annotations

from dsnwatch.bench.common import Figure, table
from dsnwatch.bench.scale import Row
from dsnwatch.bench.scale import table as scale_table


def _cells(line: str) -> list[str]:
    # Split on the pipes markdown sees: not on an escaped one.
    return [c.strip() for c in line.replace("\\|", "\x00").strip("|").split("|")]


def test_a_shell_pipe_in_a_peer_name_stays_in_its_cell() -> None:
    figure = Figure("logs", "seconds", 11.0, "s", peer="docker logs | grep -c", peer_value=10.0)
    header, _rule, row = table([figure])
    assert len(_cells(row)) == len(_cells(header)) == 8
    assert _cells(row)[3] == "docker logs \x00 grep -c"
    assert _cells(row)[5] == "1.10"


def test_scaling_rows_give_time_per_thousand_and_both_memories() -> None:
    rows = [
        Row(1_000, 0.9, 35.0, 21.0, 1_000, 1.2, 9.0),
        Row(100_000, 60.0, 51.0, 0.0, 100_000, None, None),
    ]
    header, _rule, small, large = scale_table(rows)
    assert len(_cells(small)) == len(_cells(header)) == len(_cells(large)) == 7
    assert _cells(small) == ["1,000", "0.90 s", "0.90 s", "35 MB; 21 MB", "1.20 s", "9 MB", "0.75"]
    assert _cells(large) == ["100,000", "60.00 s", "0.60 s", "51 MB", "-", "-", "-"]


def test_the_stolen_share_is_the_steal_ticks_over_all_ticks() -> None:
    from dsnwatch.bench.__main__ import cpu_ticks, stolen_share

    assert stolen_share((10, 1_000), (60, 2_000)) == (
        " The host took 5.0% of this machine's CPU time during the run (steal)."
    )
    assert stolen_share(None, (60, 2_000)) == ""
    assert stolen_share((10, 1_000), (10, 1_000)) == ""  # no time passed
    ticks = cpu_ticks()  # this machine's own /proc/stat
    assert ticks is not None and 0 <= ticks[0] <= ticks[1]


def test_the_sources_only_figure_runs_on_the_py_files_with_its_data() -> None:
    from dsnwatch.bench.common import rate_from_sources

    # The copy imports the .py readers (the code asserts it first) and gets DATA.
    assert rate_from_sources("print(len(DATA) * 1.5)", ["a", "b"]) == 3.0
    assert rate_from_sources("raise SystemExit(1)", []) is None


def test_the_compiled_label_says_what_runs() -> None:
    from dsnwatch.bench.common import compiled_label
    from dsnwatch.logs import readers

    expected = ", not compiled" if readers.__file__.endswith(".py") else ", compiled"
    assert compiled_label("logs.readers") == expected
