"""What every benchmark reports: one row per figure, with its peer and target."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Figure:
    """One measured figure, the peer measured in the same run, and the target."""

    area: str
    measure: str
    value: float
    unit: str
    peer: str = ""
    peer_value: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Ours over the peer's (what "ratio" means depends on the unit: see the table)."""
        if self.peer_value in (None, 0):
            return None
        assert self.peer_value is not None
        return self.value / self.peer_value


def fmt(value: float | None, unit: str = "") -> str:
    """A figure as the table shows it."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def table(figures: list[Figure]) -> list[str]:
    """Markdown table lines."""
    lines = [
        "| area | measure | dsnwatch | peer | peer's figure | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        met = "" if f.met is None else ("yes" if f.met else "**no**")
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
        peer = (f.peer or "-").replace("|", "\\|")  # a shell pipe, not a new column
        lines.append(
            f"| {f.area} | {f.measure} | {fmt(f.value, f.unit)} | {peer} |"
            f" {fmt(f.peer_value, f.unit) if f.peer_value is not None else '-'} | {ratio} |"
            f" {f.target or '-'} | {met} |"
        )
    return lines
