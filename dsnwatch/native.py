"""Whether the hot modules run compiled, and whether their compiled forms are current.

`make install` compiles the DSN reader's and the log readers' hot modules with
mypyc (see setup.py) into extension modules beside their sources; Python then
imports the extension. An extension older than its source would run code that
is no longer there, so the test suite refuses to start on one.
"""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_COMPILED_PACKAGES = ("dsn", "logs")


def _extension(source: Path) -> Path | None:
    for suffix in EXTENSION_SUFFIXES:
        path = source.with_name(source.stem + suffix)
        if path.exists():
            return path
    return None


def _sources() -> list[Path]:
    return [src for sub in _COMPILED_PACKAGES for src in sorted((_PACKAGE / sub).glob("*.py"))]


def compiled_modules() -> list[str]:
    """The modules (`dsn.reader`, `logs.readers`) with a compiled extension beside their source."""
    return sorted(
        f"{src.parent.name}.{src.stem}" for src in _sources() if _extension(src) is not None
    )


def stale_modules() -> list[str]:
    """Compiled modules whose source changed after they were compiled."""
    stale = []
    for src in _sources():
        built = _extension(src)
        if built is not None and src.stat().st_mtime > built.stat().st_mtime:
            stale.append(f"{src.parent.name}.{src.stem}")
    return sorted(stale)
