"""The test-bounce launcher: send a test that must bounce, follow it to a verdict.

`run_tests` sends one test per kind (local, remote, ses, complaint), follows each
through the Postfix and Dovecot log events and the central mailbox, and reports
stage by stage through a callback, so the command line and the console show the
same thing. Nothing here imports a user interface.
"""

from dsnwatch.tester.model import KINDS, Stage, TestResult, TestSpec
from dsnwatch.tester.run import TestError, run_tests
from dsnwatch.tester.settings import TesterSettings, tester_settings
from dsnwatch.tester.targets import TargetRefused, check_target

__all__ = [
    "KINDS",
    "Stage",
    "TargetRefused",
    "TestError",
    "TestResult",
    "TestSpec",
    "TesterSettings",
    "check_target",
    "run_tests",
    "tester_settings",
]
