"""The console's screens: help, confirmation, report detail, install, tests, doctor."""
