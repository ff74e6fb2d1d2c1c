"""Log benchmarks: the readers alone, and end to end through the Docker Engine API.

* readers: lines per second on one core over a recorded stream (the lab's own
  Postfix and Dovecot lines when the lab runs, repeated to a million lines);
* end to end: a container that printed one million mailcow-style lines, read by
  dsnwatch through the Engine API (every line read into an event), against
  `docker logs <container> | grep -c dsn-monitor` in the same run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any

from dsnwatch.bench.common import Figure, compiled_label, rate_from_sources
from dsnwatch.logs.follow import LogStream
from dsnwatch.logs.readers import read_line

BENCH_CONTAINER = "dsnwatch-bench-logs"
LINES = 1_000_000

# Verbatim-shaped lines of a mailcow server (what a recorded stream holds when no lab runs).
SAMPLE = [
    "2026-12-03T16:00:09.123456789Z Dec  3 16:00:09 a3865add0dfb dovecot: lmtp(carol@example.org)"
    "<24497><AEoiGwmSEWuxXwAAg+zDdQ>: sieve: msgid=<20240101000000.T3@mx.example.org>: redirect"
    " action: forwarded to <dsn-monitor@example.org>",
    "2026-12-03T16:00:09.223456789Z Dec  3 16:00:09 a3865add0dfb dovecot: lmtp(carol@example.org)"
    "<24497><AEoiGwmSEWuxXwAAg+zDdQ>: sieve: msgid=<20240101000000.T3@mx.example.org>: stored"
    " mail into mailbox 'INBOX'",
    "2026-12-03T16:00:09.323456789Z Jan 23 22:11:07 050ddf1649f8 postfix/smtp[706]: 890EB3023EB:"
    " to=<nobody@remote.test>, relay=mx.remote.test[127.0.0.1]:2525, delay=0.1,"
    " delays=0/0/0/0.1, dsn=5.1.1, status=bounced (host mx.remote.test[127.0.0.1] said: 550"
    " 5.1.1 <nobody@remote.test>: Recipient address rejected: User unknown (in reply to RCPT TO"
    " command))",
    "2026-12-03T16:00:09.423456789Z Mar 24 09:00:41 9ce45b3dd19e postfix/smtps/smtpd[386]:"
    " disconnect from unknown[194.169.175.10] ehlo=1 auth=0/1 quit=1 commands=2/3",
    "2026-12-03T16:00:09.523456789Z Jun 14 13:40:39 0b10bd82d601 dovecot: managesieve-login:"
    " Disconnected: Connection closed (no auth attempts in 0 secs): user=<>, rip=172.22.1.9,"
    " lip=172.22.1.250",
]


def recorded_stream(client: Any | None, project: str = "mailcowdockerized") -> list[str]:
    """The lab's own log lines (with Docker timestamps), or the built-in sample."""
    lines: list[str] = []
    if client is not None:
        for ctr in client.containers.list(
            filters={"label": f"com.docker.compose.project={project}"}
        ):
            raw = ctr.logs(timestamps=True, tail=5000).decode("utf-8", "replace")
            lines.extend(line.rstrip("\r") for line in raw.split("\n") if line.strip())
    return lines if len(lines) >= 50 else list(SAMPLE)


def bench_readers(stream: list[str], total: int = LINES) -> float:
    """Lines per second of `read_line` over `total` lines cycled from `stream`."""
    lines = (stream * (total // len(stream) + 1))[:total]
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for line in lines:
            read_line(line)
        best = max(best, total / (time.perf_counter() - start))
    return best


_PRINTER = (
    "for my $i (1..{n}) {{ my $u = ($i % 10 == 0) ? 'dsn-monitor' : 'user' . ($i % 97);"
    ' print "Dec  3 16:00:09 a3865add0dfb dovecot: lmtp($u\\@example.org)<24497>'
    "<AEoiGwmSEWuxXwAA$i>: sieve: msgid=<$i\\@mx.example.org>: stored mail into mailbox"
    " 'INBOX'\\n\"; }}"
)


def million_line_container(client: Any, image: str, total: int = LINES) -> Any:
    """A finished container whose log holds `total` lines (made once, then reused)."""
    import docker.errors

    try:
        ctr = client.containers.get(BENCH_CONTAINER)
        if ctr.labels.get("dsnwatch.bench.lines") == str(total) and ctr.status == "exited":
            return ctr
        ctr.remove(force=True)
    except docker.errors.NotFound:
        pass
    ctr = client.containers.run(
        image,
        ["perl", "-e", _PRINTER.format(n=total)],
        name=BENCH_CONTAINER,
        detach=True,
        network_mode="none",
        labels={"dsnwatch.bench.lines": str(total)},
    )
    ctr.wait(timeout=600)
    ctr.reload()
    return ctr


def bench_docker_end_to_end(client: Any, ctr: Any, docker_host: str) -> tuple[float, float, int]:
    """(dsnwatch seconds, docker logs | grep seconds, lines with dsn-monitor)."""
    start = time.perf_counter()
    hits = 0
    for lines in LogStream(ctr, follow=False).batches():
        for line in lines:
            event = read_line(line)
            if "dsn-monitor" in event.raw:
                hits += 1
    ours = time.perf_counter() - start
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        return ours, float("nan"), hits
    env = dict(os.environ)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    start = time.perf_counter()
    done = subprocess.run(
        f"{docker_cli} logs {ctr.name} 2>&1 | grep -c dsn-monitor",
        shell=True,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    theirs = time.perf_counter() - start
    if done.stdout.strip() != str(hits):
        raise RuntimeError(f"counts differ: dsnwatch {hits}, grep {done.stdout.strip()}")
    return ours, theirs, hits


def run(client: Any | None, image: str | None, docker_host: str) -> list[Figure]:
    """The log figures; end to end only when an engine and the lab image are there."""
    stream = recorded_stream(client)
    rate = bench_readers(stream)
    source = "the lab's logs" if stream is not SAMPLE else "built-in sample lines"
    pure = rate_from_sources(
        "from dsnwatch.bench.logs import bench_readers; print(bench_readers(DATA))", stream
    )
    figures = [
        Figure(
            "log readers",
            f"lines/s, one core ({LINES:,} lines from {source}{compiled_label('logs.readers')})",
            rate,
            "lines/s",
            target=">= 300,000 lines/s",
            met=rate >= 300_000,
        ),
    ]
    if pure is not None:
        figures.append(
            Figure(
                "log readers",
                "lines/s, the same on the .py sources (where nothing was compiled)",
                pure,
                "lines/s",
            )
        )
    if client is None or image is None:
        return figures
    ctr = million_line_container(client, image)
    ours, theirs, hits = bench_docker_end_to_end(client, ctr, docker_host)
    figures.append(
        Figure(
            "logs via Docker API",
            f"seconds to read {LINES:,} lines ({hits:,} with dsn-monitor)",
            ours,
            "s",
            peer="docker logs | grep -c",
            peer_value=theirs,
            target="<= 1.5x the peer",
            met=ours <= 1.5 * theirs,
        )
    )
    return figures
