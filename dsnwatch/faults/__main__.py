"""`python -m dsnwatch.faults`: the fault run against the lab (`make faults`)."""

from __future__ import annotations

import argparse
import sys

from dsnwatch.faults.engine import EngineControlError
from dsnwatch.faults.run import FULL, SHORT, FaultRunError, Plan, format_table, run_faults
from dsnwatch.lab import EngineError, LabError


def main(argv: list[str] | None = None) -> int:
    """Run the faults, print the table; 0 when every check passes, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m dsnwatch.faults", description=__doc__)
    parser.add_argument(
        "--short", action="store_true", help="container restarts, rotation and the IMAP drop only"
    )
    parser.add_argument(
        "--reports", type=int, default=None, help="reports to fill the mailbox with (20,000)"
    )
    parser.add_argument("--no-engine", action="store_true", help="leave the Docker engine alone")
    parser.add_argument(
        "--no-install", action="store_true", help="do not install the DSN pipeline in the lab"
    )
    parser.add_argument(
        "--fault", action="append", choices=FULL, help="only these faults (repeatable)"
    )
    args = parser.parse_args(argv)
    faults = tuple(args.fault) if args.fault else (SHORT if args.short else FULL)
    if args.no_engine:
        faults = tuple(f for f in faults if f != "engine-restart")
    plan = Plan(
        faults=faults,
        reports=args.reports if args.reports is not None else (300 if args.short else 20_000),
        install=not args.no_install,
    )
    try:
        outcome = run_faults(plan)
    except (FaultRunError, EngineControlError, EngineError, LabError) as exc:
        print(f"faults: {exc}", file=sys.stderr)
        return 1
    print(format_table(outcome))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
