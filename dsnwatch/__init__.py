"""dsnwatch: every delivery failure of a mailcow server, in one place, live."""

__version__ = "0.1.0"
