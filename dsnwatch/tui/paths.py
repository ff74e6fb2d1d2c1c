"""Where the console's styles are: the top-level `css/` of a checkout, or inside the package.

`dsnwatch/tui/css` is a symbolic link to the top-level `css/`: a wheel carries
the files there as package data, an editable install reads them through the
link. Where the link did not survive (a checkout without symbolic links), the
checkout's own `css/` is used.
"""

from __future__ import annotations

from pathlib import Path, PurePath

CSS_FILES = ("dsnwatch.tcss",)
_HERE = Path(__file__).resolve().parent


def css_dir() -> Path:
    """The directory holding the `.tcss` files."""
    for candidate in (_HERE / "css", _HERE.parents[1] / "css"):
        if all((candidate / name).is_file() for name in CSS_FILES):
            return candidate
    raise FileNotFoundError(
        f"the console's styles ({', '.join(CSS_FILES)}) are missing; reinstall dsnwatch"
    )


def css_paths() -> list[str | PurePath]:
    """The style sheets, in the order they apply."""
    base = css_dir()
    return [base / name for name in CSS_FILES]
