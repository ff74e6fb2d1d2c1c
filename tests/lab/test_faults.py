"""A short fault run against the lab: container restarts, a host log rotation and the
IMAP session dropped in the middle of a sync of a few hundred reports.

The engine is never stopped here (only `make faults` does that); the table is
printed, so a failure shows which check failed and why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dsnwatch.faults.run import SHORT, FaultRun, Plan, format_table
from dsnwatch.lab import Lab

pytestmark = pytest.mark.lab


@pytest.mark.timeout(420)
def test_short_fault_run_loses_and_repeats_nothing(lab: Lab, tmp_path: Path) -> None:
    plan = Plan(faults=SHORT, reports=300, install=False, fault_timeout=60.0, settle=5.0)
    plan.run_dir = tmp_path
    assert "engine-restart" not in plan.faults
    run = FaultRun(lab, plan, say=print)
    try:
        outcome = run.run()
    finally:
        user = lab.settings.address("dsn-monitor")
        lab.exec("dovecot", ["doveadm", "expunge", "-u", user, "mailbox", "INBOX", "all"])
    table = format_table(outcome)
    print(table)
    failed = [f"{c.what}: {c.seen} ({c.detail})" for c in outcome.checks if not c.ok]
    assert not failed, "\n".join(failed)
    faults = {r.fault for r in outcome.recoveries}
    assert faults == set(SHORT)
    # Each fault disturbed the observer it aims at, and that observer came back.
    hit = {(r.fault, r.observer) for r in outcome.recoveries if r.disturbed}
    assert {
        ("restart-dovecot", "console"),
        ("restart-dovecot", "tail"),
        ("restart-postfix", "tail"),
        ("rotate-log", "tail-file"),
        ("imap-drop", "console"),
    } <= hit
