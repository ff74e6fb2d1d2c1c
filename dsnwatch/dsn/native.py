"""Whether the reader runs compiled, and whether its compiled modules are current.

`make install` compiles the reader's hot modules with mypyc (see setup.py) into
extension modules beside their sources; Python then imports the extension. An
extension older than its source would run code that is no longer there, so the
test suite refuses to start on one.
"""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _extension(name: str) -> Path | None:
    for suffix in EXTENSION_SUFFIXES:
        path = _HERE / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def compiled_modules() -> list[str]:
    """The reader's modules that have a compiled extension beside their source."""
    return sorted(src.stem for src in _HERE.glob("*.py") if _extension(src.stem) is not None)


def stale_modules() -> list[str]:
    """Compiled modules whose source changed after they were compiled."""
    stale = []
    for name in compiled_modules():
        built = _extension(name)
        if built is not None and (_HERE / f"{name}.py").stat().st_mtime > built.stat().st_mtime:
            stale.append(name)
    return stale
