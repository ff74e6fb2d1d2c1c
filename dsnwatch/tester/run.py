"""Running tests: send each one, then follow the logs and the central mailbox to a verdict.

All tests of one run share one log follower and one IMAP session, so `all` takes
about as long as its slowest test. Progress goes to `on_update` (called from the
calling thread) every time a test's stages change; the console runs this in a
worker thread and turns each update into a message.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dsnwatch.config import Config, ConfigError, PostfixMode
from dsnwatch.dsn import read_report
from dsnwatch.logs.events import LogEvent
from dsnwatch.tester.model import KINDS, Route, TestResult, TestSpec
from dsnwatch.tester.send import SendError, SmtpServer, message_id_for, send_ses_api, submit
from dsnwatch.tester.settings import TesterSettings, tester_settings
from dsnwatch.tester.stages import MailboxHit, Observations, confirmed_queues, evaluate
from dsnwatch.tester.targets import TargetRefused, check_target, default_target

Update = Callable[[TestResult], None]
FETCH_LIMIT = 1_000_000
FOLLOW_WAIT = 15.0  # seconds to wait for the log streams before sending


class TestError(Exception):
    """The run cannot start (bad target, rate limit, missing settings); one line."""

    __test__ = False  # not a pytest class, whatever its name


def expand(kinds: Sequence[str]) -> list[str]:
    """The test kinds a command names (`all` is every kind), in the usual order."""
    wanted: list[str] = []
    for kind in kinds:
        for k in KINDS if kind == "all" else (kind,):
            if k not in KINDS:
                raise TestError(f"unknown test {k!r}: use local, remote, ses, complaint or all")
            if k not in wanted:
                wanted.append(k)
    return wanted


def _route(kind: str, settings: TesterSettings) -> Route:
    if kind in ("ses", "complaint") and settings.ses_route == "smtp":
        return "ses-smtp"
    if kind in ("ses", "complaint") and settings.ses_route == "api":
        return "ses-api"
    return "postfix"


def plan_tests(
    cfg: Config,
    settings: TesterSettings,
    kinds: Sequence[str],
    *,
    to: str | None = None,
) -> list[TestSpec]:
    """One spec per test, targets checked; TestError when a rule or a setting is missing."""
    if not settings.sender:
        raise TestError("no sender mailbox: set [smtp] user (or [tests] sender) in the config")
    if not cfg.mailbox:
        raise TestError("no central mailbox: set mailbox in the config")
    wanted = expand(kinds)
    if to is not None and len(wanted) != 1:
        raise TestError("--to needs exactly one test kind")
    own = (cfg.mailbox.rpartition("@")[2], settings.sender.rpartition("@")[2])
    specs = []
    for kind in wanted:
        token = secrets.token_hex(8)
        try:
            rcpt = to or default_target(
                kind,
                token,
                local_domain=settings.local_domain,
                remote_target=settings.remote_target,
            )
            rcpt = check_target(kind, rcpt, remote_target=settings.remote_target, own_domains=own)
        except TargetRefused as exc:
            raise TestError(str(exc)) from None
        specs.append(
            TestSpec(
                kind=kind,
                token=token,
                sender=settings.sender,
                recipient=rcpt,
                message_id=message_id_for(kind, token, settings.sender),
                monitor=cfg.mailbox,
                postfix_mode=cfg.postfix_mode,
                route=_route(kind, settings),
            )
        )
    return specs


def installed_postfix_mode(cfg: Config) -> PostfixMode:
    """The Postfix mode the server's managed blocks show, as `doctor` reads it.

    Install may have been run with --postfix-mode, so the server, not the configuration,
    says which copy to expect. When the server cannot be read (the logs and the sending
    will say why), the configured mode is kept.
    """
    from dsnwatch.install.doctor import installed_mode
    from dsnwatch.install.plan import layout_for
    from dsnwatch.runtime import make_runtime

    try:
        return installed_mode(make_runtime(cfg), layout_for(cfg), cfg)
    except Exception:
        return cfg.postfix_mode


def check_rate(store: Any, kinds: Sequence[str], min_interval: float, now: float) -> None:
    """TestError when a test of one of these kinds ran less than `min_interval` seconds ago."""
    if min_interval <= 0:
        return
    for row in store.table("test_runs", since=now - min_interval):
        if row["test"] in kinds:
            ago = now - float(row["started_at"])
            raise TestError(
                f"a {row['test']} test ran {ago:.0f}s ago; the next may run in "
                f"{min_interval - ago:.0f}s (tests.min_interval)"
            )


class _Mailbox:
    """New messages of the central mailbox since the run began, searched for tokens."""

    def __init__(self, cfg: Config) -> None:
        from dsnwatch.mailbox import MailboxError, connect

        self.error: str | None = None
        self.client: Any = None
        self.last_uid = 0
        self.folder = cfg.imap_folder
        try:
            self.client = connect(cfg.imap_settings())
            info = self.client.select_folder(self.folder, readonly=True)
            self.last_uid = int(info.get(b"UIDNEXT", 1)) - 1
        except (MailboxError, ConfigError) as exc:
            self.error = str(exc)
        except Exception as exc:
            self.error = f"cannot open {self.folder}: {exc}"

    def poll(self, specs: list[TestSpec], hits: dict[str, list[MailboxHit]]) -> None:
        if self.client is None:
            return
        try:
            self.client.noop()
            uids = sorted(
                u
                for u in self.client.search(["UID", f"{self.last_uid + 1}:*"])
                if u > self.last_uid
            )
            if not uids:
                return
            fetched = self.client.fetch(uids, [f"BODY.PEEK[]<0.{FETCH_LIMIT}>"])
        except Exception as exc:
            self.error = f"reading {self.folder} failed: {exc}"
            return
        now = time.time()
        for uid in uids:
            data = fetched.get(uid, {})
            raw = bytes(data.get(b"BODY[]<0>") or data.get(b"BODY[]") or b"")
            for spec in specs:
                if spec.token.encode() in raw:
                    report = read_report(raw, source=f"imap:{self.folder}/{uid}")
                    hits[spec.token].append(
                        MailboxHit(
                            uid=uid,
                            t=now,
                            message_id=report.message_id or "",
                            original_message_id=report.original_message_id or "",
                            subject=report.subject or "",
                            kind=report.kind,
                        )
                    )
        self.last_uid = uids[-1]
        self.error = None

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.logout()


def _followers(cfg: Config, settings: TesterSettings, queue: Any, since: float) -> list[Any]:
    from dsnwatch.logs.follow import DockerLogFollower, FileLogFollower

    if cfg.runtime == "host":
        return [FileLogFollower(Path(p), queue) for p in settings.log_files]
    from dsnwatch.runtime.docker import DockerRuntime

    runtime = DockerRuntime(cfg.compose_project, base_url=cfg.docker_host)
    return [DockerLogFollower(runtime, queue, since=since)]


def _send(spec: TestSpec, cfg: Config, settings: TesterSettings, ses_client: Any) -> None:
    own = (cfg.mailbox.rpartition("@")[2], settings.sender.rpartition("@")[2])
    try:
        if spec.route == "ses-api":
            send_ses_api(spec, region=settings.ses_region, client=ses_client)
            return
        if spec.route == "ses-smtp":
            ses = settings.ses_smtp
            server = SmtpServer(ses.host, ses.port, "starttls", ses.user, ses.password)
        else:
            server = SmtpServer(
                cfg.smtp_host,
                cfg.smtp_port,
                cfg.smtp_tls,
                cfg.smtp_user,
                cfg.smtp_password,
                cfg.smtp_ca,
            )
        submit(spec, server, remote_target=settings.remote_target, own_domains=own)
    except (SendError, TargetRefused) as exc:
        spec.submit_error = str(exc)


def run_tests(
    cfg: Config,
    kinds: Sequence[str],
    *,
    wait: float = 120.0,
    to: str | None = None,
    settings: TesterSettings | None = None,
    on_update: Update | None = None,
    stop: threading.Event | None = None,
    ses_client: Any = None,
) -> list[TestResult]:
    """Run the tests and return their results; each run is stored in the timeline.

    Raises TestError before anything is sent when a target breaks the rules, a test
    ran too recently, or a setting is missing.
    """
    from dsnwatch.logs.follow import LogQueue
    from dsnwatch.store import Store

    if wait <= 0:
        raise TestError("--wait must be a positive number of seconds")
    try:
        settings = settings or tester_settings(cfg)
    except ConfigError as exc:
        raise TestError(str(exc)) from None
    specs = plan_tests(cfg, settings, kinds, to=to)
    mode = installed_postfix_mode(cfg)
    for spec in specs:
        spec.postfix_mode = mode
    store = Store(cfg.store)
    try:
        check_rate(store, [s.kind for s in specs], settings.min_interval, time.time())
        queue = LogQueue()
        obs = Observations()
        followers = _followers(cfg, settings, queue, since=time.time() - 2)
        for follower in followers:
            follower.start()
        mailbox = _Mailbox(cfg)
        try:
            run = _Run(cfg, settings, specs, queue, obs, mailbox, ses_client)
            results = run.follow(wait, on_update, stop)
            for result in results:
                spec = result.spec
                store.add_test_run(
                    spec.kind,
                    spec.token,
                    spec.started,
                    result.finished or time.time(),
                    result.passed,
                    result.verdict,
                    [s.to_dict() for s in result.stages],
                )
            return results
        finally:
            mailbox.close()
            for follower in followers:
                follower.stop()
    finally:
        store.close()


class _Run:
    """One run's shared state: the log observations, the mailbox, the tests."""

    def __init__(
        self,
        cfg: Config,
        settings: TesterSettings,
        specs: list[TestSpec],
        queue: Any,
        obs: Observations,
        mailbox: _Mailbox,
        ses_client: Any,
    ) -> None:
        self.cfg = cfg
        self.settings = settings
        self.specs = specs
        self.queue = queue
        self.obs = obs
        self.mailbox = mailbox
        self.ses_client = ses_client

    def drain(self, wait: float) -> set[str]:
        """Take what the followers read; returns the log sources now following."""
        from dsnwatch.logs.follow import FollowerState, parse_docker_time

        following: set[str] = set()
        for item in self.queue.drain(wait=wait):
            if isinstance(item, FollowerState):
                self.obs.follower_state(item.source, item.state, item.detail)
                if item.state == "following":
                    following.add(item.source)
            elif isinstance(item, LogEvent):
                t = parse_docker_time(item.time) if item.time else time.time()
                self.obs.add(item, t)
        return following

    def follow(
        self, wait: float, on_update: Update | None, stop: threading.Event | None
    ) -> list[TestResult]:
        cfg, specs, obs = self.cfg, self.specs, self.obs
        # Send only once the log streams are open, so that no early line is missed.
        want = (
            {"postfix", "dovecot"}
            if cfg.runtime == "docker"
            else {Path(p).name for p in self.settings.log_files}
        )
        following: set[str] = set()
        until = time.monotonic() + FOLLOW_WAIT
        while not want <= following and time.monotonic() < until:
            following |= self.drain(0.2)
        results = [TestResult(spec) for spec in specs]
        for spec in specs:
            spec.started = time.time()
            spec.deadline = spec.started + wait
            _send(spec, cfg, self.settings, self.ses_client)
        hits: dict[str, list[MailboxHit]] = {s.token: [] for s in specs}
        shown: dict[str, list[tuple[str, str]]] = {}
        next_poll = 0.0
        while True:
            self.drain(0.25)
            if time.monotonic() >= next_poll:
                self.mailbox.poll(specs, hits)
                next_poll = time.monotonic() + 1.0
            now = time.time()
            cancelled = stop is not None and stop.is_set()
            mine = {s.token: confirmed_queues(s, obs, hits[s.token]) for s in specs}
            claimed = frozenset().union(*mine.values())
            for result in results:
                if result.finished is not None:
                    continue
                spec = result.spec
                result.stages = evaluate(
                    spec,
                    obs,
                    hits[spec.token],
                    max(now, spec.deadline) if cancelled else now,
                    claimed=claimed - mine[spec.token],
                    imap_error=self.mailbox.error,
                )
                if result.done:
                    result.finished = now
                key: list[tuple[str, str]] = [(s.state, s.detail) for s in result.stages]
                if shown.get(spec.token) != key:
                    shown[spec.token] = key
                    if on_update is not None:
                        on_update(result)
            if all(r.finished is not None for r in results):
                return results
