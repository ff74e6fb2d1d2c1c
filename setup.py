"""Build step of the package: the DSN reader's hot modules compiled with mypyc.

The metadata lives in pyproject.toml. The reader reads every message of a large
first sync, so its modules are compiled to C extensions (the same source, about
a fifth faster); the .py files stay beside them and are what runs wherever the
extensions were not built. Set DSNWATCH_PURE_PYTHON=1 to skip compiling (no C
compiler, or while editing the reader without `make`).
"""

from __future__ import annotations

import os

from setuptools import setup

# The modules every message passes through; the scorer and the file walker are not hot.
COMPILED = (
    "addrlist",
    "fields",
    "gates",
    "lda",
    "listnotice",
    "mime",
    "providers",
    "reader",
    "reasons",
    "reporters",
    "sesjson",
    "smtp",
)


def extensions() -> list[object]:
    if os.environ.get("DSNWATCH_PURE_PYTHON"):
        return []
    from mypyc.build import mypycify

    return list(
        mypycify(
            [f"dsnwatch/dsn/{name}.py" for name in COMPILED],
            group_name="dsnwatch.dsn._compiled",
            opt_level="3",
        )
    )


setup(ext_modules=extensions())
