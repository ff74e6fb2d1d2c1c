"""The fault run (`make faults`): mail and bounces flow through the lab while it breaks.

Containers are restarted and re-created, the Docker engine is stopped and started,
the IMAP session is dropped in the middle of a large sync and a host log file is
rotated; afterwards the run checks that every report and every log line reached
dsnwatch exactly once and that the console and `dsnwatch tail` recovered by
themselves. `python -m dsnwatch.faults --help` lists the options.
"""
