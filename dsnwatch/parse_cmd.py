"""`dsnwatch parse`: read messages from files, folders, mailboxes or standard input."""

from __future__ import annotations

import json
import sys
from pathlib import PurePath

from dsnwatch.dsn import read_report
from dsnwatch.dsn.sources import iter_messages
from dsnwatch.model import Report
from dsnwatch.text import clean


def run_parse(paths: list[str], *, json_out: bool) -> int:
    """Read every message under `paths`; 0 when all could be read, 1 otherwise."""
    failed = False
    reports: list[Report] = []
    for item in iter_messages(paths):
        if item.data is None:
            report = Report(kind="error", source=item.source, error=item.error)
        else:
            report = read_report(item.data, source=item.source)
        failed = failed or report.kind == "error"
        if json_out:
            sys.stdout.write(json.dumps(report.to_dict()) + "\n")
        else:
            reports.append(report)
    if not json_out:
        _print_table(reports)
    return 1 if failed else 0


def _print_table(reports: list[Report]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    table = Table(show_edge=False, pad_edge=False, expand=False)
    for name in ("source", "kind", "reporter", "recipient", "status", "reason", "bounce"):
        table.add_column(name, overflow="fold", no_wrap=name in ("status", "bounce"))
    errors: list[Report] = []
    for report in reports:
        if report.kind == "error":
            errors.append(report)
            continue
        # The table names files briefly; --json keeps the whole path.
        cells = [PurePath(report.source).name or report.source, report.kind, report.reporter or "-"]
        if not report.reports:
            table.add_row(*(Text(clean(c)) for c in [*cells, "-", "-", "-", "-"]))
        for entry in report.reports:
            bounce = "hard" if entry.hard_bounce else "soft"
            if entry.reason in ("vacation", "delivered", "feedback"):
                bounce = "-"
            row = [*cells, entry.recipient, entry.status or "-", entry.reason, bounce]
            table.add_row(*(Text(clean(c)) for c in row))
    console.print(table)
    for report in errors:
        console.print(Text(f"{clean(report.source)}: {clean(report.error)}"), style="red")
