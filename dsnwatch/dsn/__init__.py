"""The DSN reader: bytes of one message in, a classified report out (no UI imports)."""

from dsnwatch.dsn.reader import read_report

__all__ = ["read_report"]
