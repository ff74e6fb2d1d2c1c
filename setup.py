"""Build step of the package: the hot modules compiled with mypyc.

The metadata lives in pyproject.toml. The DSN reader reads every message of a
large first sync and the log readers every line a busy server writes, so their
modules are compiled to C extensions (the same source, a fifth to a half
faster); the .py files stay beside them and are what runs wherever the
extensions were not built. Set DSNWATCH_PURE_PYTHON=1 to skip compiling (no C
compiler, or while editing those modules without `make`).
"""

from __future__ import annotations

import os

from setuptools import setup

# The modules every message or log line passes through; the scorer, the file
# walker and the followers are not hot.
COMPILED = (
    "dsnwatch/dsn/addrlist.py",
    "dsnwatch/dsn/fields.py",
    "dsnwatch/dsn/gates.py",
    "dsnwatch/dsn/lda.py",
    "dsnwatch/dsn/listnotice.py",
    "dsnwatch/dsn/mime.py",
    "dsnwatch/dsn/providers.py",
    "dsnwatch/dsn/reader.py",
    "dsnwatch/dsn/reasons.py",
    "dsnwatch/dsn/reporters.py",
    "dsnwatch/dsn/sesjson.py",
    "dsnwatch/dsn/smtp.py",
    "dsnwatch/logs/events.py",
    "dsnwatch/logs/readers.py",
)


def extensions() -> list[object]:
    if os.environ.get("DSNWATCH_PURE_PYTHON"):
        return []
    from mypyc.build import mypycify

    return list(
        mypycify(
            list(COMPILED),
            group_name="dsnwatch._compiled",
            opt_level="3",
        )
    )


setup(ext_modules=extensions())
