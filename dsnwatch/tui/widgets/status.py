"""The header (server, connection states, pipeline health) and the summary strip."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from textual.content import Content
from textual.widgets import Static

from dsnwatch.tui.safe import plain

# A source's state word -> how it reads at a glance.
_GOOD = {"following", "idle", "polling", "ok"}
_BUSY = {"connecting", "syncing", "reconnecting", "checking", "starting", "waiting"}


def _tone(state: str) -> str:
    if state in _GOOD:
        return "$text-success"
    if state in _BUSY:
        return "$text-warning"
    return "$text-error"


@dataclass(slots=True)
class Health:
    """What the header shows; the app updates it from the workers' messages."""

    server: str = ""
    logs: dict[str, str] = field(default_factory=dict)  # source -> state
    logs_detail: str = ""
    imap: str = "starting"
    imap_detail: str = ""
    pipeline: str = "checking"  # ok, checking, or "N failing"
    pipeline_detail: str = ""


class HeaderBar(Static):
    """One line: the server, the log followers, the mailbox, the pipeline."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.health = Health()

    def refresh_health(self) -> None:
        self.update(header_content(self.health))


def header_content(health: Health) -> Content:
    """The header line, built from plain strings (server names come from configuration)."""
    parts: list[str | tuple[str, str]] = [(" dsnwatch ", "bold reverse $primary"), " "]
    parts.append((plain(health.server, 32), "bold"))
    parts.append("  logs ")
    if health.logs:
        states = set(health.logs.values())
        summary = states.pop() if len(states) == 1 else "partial"
        if summary == "partial":
            bad = [f"{k} {v}" for k, v in sorted(health.logs.items()) if v != "following"]
            summary = ", ".join(bad)
        parts.append((plain(summary, 30), _tone(summary.split()[-1] if summary else "")))
    else:
        parts.append(("off", "$text-muted"))
    parts.append("  imap ")
    parts.append((plain(health.imap, 20), _tone(health.imap)))
    parts.append("  pipeline ")
    parts.append(
        (
            plain(health.pipeline, 20),
            _tone(health.pipeline if health.pipeline != "checking" else "checking"),
        )
    )
    return Content.assemble(*parts)


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    """Bars for a list of counts (all low bars when every count is zero)."""
    top = max(values) if values else 0
    if top == 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, round(v * (len(SPARK) - 1) / top))] for v in values)


def _top(counter: Counter[str], n: int) -> str:
    items = counter.most_common(n)
    shown = " · ".join(f"{plain(name, 24)} {count}" for name, count in items)
    rest = len(counter) - len(items)
    return shown + (f" · +{rest} more" if rest > 0 else "")


def summary_content(rows: list[dict[str, Any]], now: float, width: int = 80) -> Content:
    """Two lines: counts per reason and per reporter, then the hourly trend over a day."""
    hour = [r for r in rows if r["reported_at"] >= now - 3600]
    day = [r for r in rows if r["reported_at"] >= now - 86400]
    n = 3 if width < 120 else 6
    reasons = Counter(r["reason"] for r in day)
    reporters = Counter(r["reporter"] or r["recipient_domain"] or "-" for r in day)
    buckets = [0] * 24
    for r in day:
        age = int((now - r["reported_at"]) // 3600)
        if 0 <= age < 24:
            buckets[23 - age] += 1
    previous = buckets[22]
    current = buckets[23]
    if current > previous:
        trend = (f"↑ {current - previous} on the hour before", "$text-error")
    elif current < previous:
        trend = (f"↓ {previous - current} on the hour before", "$text-success")
    else:
        trend = ("= the hour before", "$text-muted")
    first: list[str | tuple[str, str]] = [
        ("last hour ", "$text-muted"),
        (str(len(hour)), "bold"),
        ("  day ", "$text-muted"),
        (str(len(day)), "bold"),
        ("  reasons ", "$text-muted"),
        _top(reasons, n) or "-",
        ("  reporters ", "$text-muted"),
        _top(reporters, n) or "-",
    ]
    second: list[str | tuple[str, str]] = [
        ("bounces/hour, 24h ", "$text-muted"),
        (sparkline(buckets), "$text-accent"),
        "  ",
        trend,
    ]
    return Content.assemble(*first).append("\n").append(Content.assemble(*second))


class SummaryStrip(Static):
    """Counts per reason and provider over the last hour and day, and the trend."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)

    def show(self, rows: list[dict[str, Any]], now: float) -> None:
        self.update(summary_content(rows, now, self.size.width or 80))
