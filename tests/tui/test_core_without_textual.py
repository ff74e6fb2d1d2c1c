"""The core never imports Textual: only dsnwatch.tui may (the console is one interface of many)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import dsnwatch


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(dsnwatch.__path__, prefix="dsnwatch."):
        if info.name == "dsnwatch.tui" or info.name.startswith("dsnwatch.tui."):
            continue
        if info.name == "dsnwatch.__main__":
            continue  # running it starts the command line
        names.append(info.name)
    return names


def test_every_core_module_imports_without_textual() -> None:
    names = core_modules()
    assert "dsnwatch.store" in names and "dsnwatch.cli" in names
    program = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(leaked))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "", f"the core imported Textual: {done.stdout.strip()}"
