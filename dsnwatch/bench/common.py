"""What every benchmark reports: one row per figure, with its peer and target."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


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


def compiled_label(module: str) -> str:
    """ ", compiled" when `module` (`dsn.reader`, `logs.readers`) runs compiled here."""
    from dsnwatch.native import compiled_modules

    return ", compiled" if module in compiled_modules() else ", not compiled"


@contextlib.contextmanager
def sources_only() -> Iterator[Path]:
    """A folder holding a copy of the package without its compiled modules.

    Python run with this folder first on its path (as its working directory) runs
    the .py files: what a machine without a C compiler runs.
    """
    import shutil
    import tempfile

    import dsnwatch

    package = Path(dsnwatch.__file__).resolve().parent
    with tempfile.TemporaryDirectory(prefix="dsnwatch-sources-") as tmp:
        shutil.copytree(
            package,
            Path(tmp) / "dsnwatch",
            ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"),
        )
        yield Path(tmp)


def run_on_sources(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`python ARGS` on the .py sources only (see sources_only), `stdin` on its input."""
    with sources_only() as root:
        return subprocess.run(
            [sys.executable, *args],
            cwd=root,  # the copy comes first on sys.path
            env={**os.environ, "PYTHONPATH": str(root)},
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )


def rate_from_sources(code: str, data: object) -> float | None:
    """Run `code` on the .py sources only; the float it prints last.

    `data` reaches the code as DATA (JSON on its standard input). None when the copy
    imported something compiled after all, or the code failed.
    """
    check = (
        "import json, sys, dsnwatch.dsn.reader as r, dsnwatch.logs.readers as l;"
        "assert r.__file__.endswith('.py') and l.__file__.endswith('.py'), 'compiled';"
        "DATA = json.load(sys.stdin);"
    )
    done = run_on_sources(["-c", check + code], json.dumps(data))
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
