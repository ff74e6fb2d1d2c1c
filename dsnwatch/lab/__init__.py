"""The lab: a mailcow-shaped mail stack on the Docker Engine API.

`Lab(...).up()` builds the image once (cached by a hash of its recipe) and
starts real Postfix and Dovecot containers named and labelled like mailcow's,
a "remote provider" Postfix and an Amazon SES stand-in, all on loopback ports.
"""

from dsnwatch.lab.engine import Engine, EngineError, find_engine
from dsnwatch.lab.settings import LabError, LabSettings
from dsnwatch.lab.stack import SERVICES, Lab, Service, ServiceStatus, UpResult

__all__ = [
    "SERVICES",
    "Engine",
    "EngineError",
    "Lab",
    "LabError",
    "LabSettings",
    "Service",
    "ServiceStatus",
    "UpResult",
    "find_engine",
]
