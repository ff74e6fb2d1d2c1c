"""The test-bounce launcher: send a test that must bounce, follow it to a verdict.

`run_tests` sends one test per kind (local, remote, ses, complaint), follows each
through the Postfix and Dovecot log events and the central mailbox, and reports
stage by stage through a callback, so the command line and the console show the
same thing. Nothing here imports a user interface.
"""

# Submodules are imported where they are used: `dsnwatch --help` must not load the reader.
