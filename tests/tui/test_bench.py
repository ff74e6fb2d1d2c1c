"""The console's scaling series: one rate run in a process of its own, as `make bench` does."""

from __future__ import annotations

from dsnwatch.tui import bench


def test_one_rate_reports_latency_cpu_and_memory_and_the_table_shows_it() -> None:
    row = bench.at_rate(2_000, presses=3)
    assert 0 < row["median_ms"] <= row["p95_ms"] <= row["max_ms"]
    assert row["lines_per_s_shown"] > 0
    assert row["cpu_cores"] > 0 and 20 < row["rss_mb"] < 1_000
    table = bench.scaling_table([{"rate": 2_000, **row}])
    assert table[0].startswith("| log lines/s offered |")
    assert table[2].startswith("| 2,000 | ")
    assert f"{row['rss_mb']:.0f} MB |" in table[2]
