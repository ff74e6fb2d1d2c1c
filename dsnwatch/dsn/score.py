"""Score the DSN reader against a corpus with expected results (`make accuracy`).

Usage: python -m dsnwatch.dsn.score [CORPUS] [--json] [--misses]
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsnwatch.dsn import read_report
from dsnwatch.dsn.reasons import canonical
from dsnwatch.model import Report

_PSEUDO = re.compile(r"^\d\.(?:0\.9\d\d|9\.\d{3})$")


@dataclass
class Score:
    """Agreement of the reader with the expected results, field by field."""

    files: int = 0
    expected: int = 0
    found: int = 0
    reason: int = 0
    status_total: int = 0
    status: int = 0
    reply_total: int = 0
    reply: int = 0
    hard: int = 0
    twins: int = 0
    twins_same: int = 0
    negatives: int = 0
    negatives_clean: int = 0
    misses: list[str] = field(default_factory=list)

    def ratios(self) -> dict[str, float]:
        def pct(a: int, b: int) -> float:
            return round(100.0 * a / b, 2) if b else 100.0

        return {
            "recipients": pct(self.found, self.expected),
            "reason": pct(self.reason, self.expected),
            "status": pct(self.status, self.status_total),
            "reply_code": pct(self.reply, self.reply_total),
            "hard_bounce": pct(self.hard, self.expected),
            "twins": pct(self.twins_same, self.twins),
            "negatives": pct(self.negatives_clean, self.negatives),
        }


def _key(report: Report) -> list[tuple[str, str | None, str, bool]]:
    return sorted((r.recipient.lower(), r.status, r.reason, r.hard_bounce) for r in report.reports)


def score(corpus: Path) -> Score:
    """Read every sample of the corpus and compare with expected.json."""
    expected_all: dict[str, Any] = json.loads((corpus / "expected.json").read_text())
    result = Score()
    by_name: dict[str, Report] = {}
    for name, sample in sorted(expected_all["samples"].items()):
        path = corpus / sample["path"]
        if not path.exists():
            continue
        report = read_report(path.read_bytes(), source=name)
        by_name[name] = report
        expected = sample.get("expected")
        if not expected:
            continue
        result.files += 1
        got = {r.recipient.lower(): r for r in report.reports}
        for want in expected:
            result.expected += 1
            names = [want["recipient"], *sample.get("alternative_recipients", [])]
            entry = next((got[n.lower()] for n in names if n.lower() in got), None)
            if entry is None:
                result.misses.append(f"{name}: recipient {want['recipient']} not found")
                continue
            result.found += 1
            if canonical(want["reason"]) == canonical(entry.reason):
                result.reason += 1
            else:
                result.misses.append(
                    f"{name}: reason {entry.reason} != {want['reason']}"
                    f" (status {entry.status}, want {want['status']})"
                )
            if want["status"] and not _PSEUDO.match(want["status"]):
                result.status_total += 1
                if entry.status == want["status"]:
                    result.status += 1
                else:
                    result.misses.append(f"{name}: status {entry.status} != {want['status']}")
            if want.get("replycode"):
                result.reply_total += 1
                if entry.reply_code == want["replycode"]:
                    result.reply += 1
            if bool(want["hardbounce"]) == entry.hard_bounce:
                result.hard += 1
    for variant, twin in expected_all.get("line_ending_variants", {}).items():
        if twin is None or twin not in by_name or not (corpus / variant).exists():
            continue
        result.twins += 1
        report = read_report((corpus / variant).read_bytes(), source=variant)
        if _key(report) == _key(by_name[twin]):
            result.twins_same += 1
        else:
            result.misses.append(f"{variant}: differs from its twin {twin}")
    for negative in expected_all.get("negatives", []):
        path = corpus / negative
        if not path.exists():
            continue
        result.negatives += 1
        report = read_report(path.read_bytes(), source=negative)
        if not any(r.reason not in ("vacation", "delivered") for r in report.reports):
            result.negatives_clean += 1
        else:
            result.misses.append(f"{negative}: a non-bounce gave failed recipients")
    return result


TARGETS = {
    "recipients": 99.0,
    "reason": 96.0,
    "status": 99.0,
    "hard_bounce": 98.0,
    "twins": 100.0,
    "negatives": 100.0,
}


def main(argv: list[str] | None = None) -> int:
    """Print per-field agreement; exit 0 always (the ratchet lives in the tests)."""
    args = list(sys.argv[1:] if argv is None else argv)
    show_misses = "--misses" in args
    as_json = "--json" in args
    paths = [a for a in args if not a.startswith("--")]
    corpus = Path(paths[0] if paths else "../shared/dsn-corpus")
    if not (corpus / "expected.json").exists():
        print(f"dsnwatch: no expected.json in {corpus}: give the corpus folder", file=sys.stderr)
        return 2
    result = score(corpus)
    ratios = result.ratios()
    if as_json:
        print(json.dumps({"ratios": ratios, "files": result.files}, indent=1))
    else:
        print(f"corpus: {corpus} ({result.files} files, {result.expected} expected recipients)")
        print(f"{'field':<12} {'agreement':>10} {'target':>8}")
        for name, value in ratios.items():
            target = TARGETS.get(name)
            mark = "" if target is None else ("ok" if value >= target else "below")
            tstr = f"{target:.1f}%" if target is not None else "-"
            print(f"{name:<12} {value:>9.2f}% {tstr:>8} {mark}")
    if show_misses:
        for line in result.misses:
            print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
