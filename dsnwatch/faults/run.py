"""The fault run: observers up, traffic flowing, faults one after the other, then the checks.

Every wait has a deadline, so a run that hangs fails instead; the whole run takes a
few minutes. The checks compare what the lab holds (the central mailbox, each
container's own log) with what the observers took in, so "exactly once" is measured
against the truth, not against another copy of dsnwatch's own view.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dsnwatch.config import Config, config_from_lab
from dsnwatch.faults.engine import EngineControl, engine_control
from dsnwatch.faults.observe import Observer, Recovery, child_env, python_argv
from dsnwatch.faults.traffic import MailStream, RotatingLog, fill
from dsnwatch.lab import Lab, LabError, LabSettings
from dsnwatch.logs.follow import parse_docker_time
from dsnwatch.mailbox import ImapSettings, connect

FULL = (
    "restart-dovecot",
    "restart-postfix",
    "recreate-postfix",
    "rotate-log",
    "imap-drop",
    "engine-restart",
)
SHORT = ("restart-dovecot", "restart-postfix", "rotate-log", "imap-drop")
LOG_SERVICES = ("dovecot", "postfix")
STAGING = "FaultsStaging"

# Which observer sources a fault is expected to disturb.
AFFECTS: dict[str, dict[str, tuple[str, ...]]] = {
    "restart-dovecot": {"console": ("dovecot", "imap"), "tail": ("dovecot",)},
    "restart-postfix": {"console": ("postfix",), "tail": ("postfix",)},
    "recreate-postfix": {"console": ("postfix",), "tail": ("postfix",)},
    "rotate-log": {"tail-file": ("host.log",)},
    "imap-drop": {"console": ("imap",)},
    "engine-restart": {"console": ("dovecot", "postfix", "imap"), "tail": ("dovecot", "postfix")},
}


class FaultRunError(Exception):
    """The run could not be carried out (not a failed check); one line."""


@dataclass(slots=True)
class Plan:
    """What one run does."""

    faults: tuple[str, ...] = FULL
    reports: int = 20_000
    install: bool = True  # the DSN pipeline, so that real bounces reach the central mailbox
    clear: bool = True  # empty the central mailbox first
    mail_interval: float = 1.5
    mail_limit: int = 400
    fault_timeout: float = 120.0
    settle: float = 10.0
    run_dir: Path | None = None


@dataclass(slots=True)
class Check:
    """One row of the result table."""

    what: str
    expected: str
    seen: str
    ok: bool
    detail: str = ""


@dataclass(slots=True)
class Outcome:
    """Everything a run measured."""

    checks: list[Check] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)


def _say(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    """Poll until true or the deadline passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


class FaultRun:
    """One run against the lab."""

    def __init__(self, lab: Lab, plan: Plan, say: Callable[[str], None] = _say) -> None:
        self.lab = lab
        self.plan = plan
        self.say = say
        self.token = f"f{uuid.uuid4().hex[:10]}"
        self.run_dir = plan.run_dir or lab.settings.lab_dir / "faults" / self.token
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.cfg: Config = config_from_lab(lab.settings.to_toml(), source="lab")
        self.outcome = Outcome()
        self.observers: dict[str, Observer] = {}
        self.stream: MailStream | None = None
        self.hostlog = RotatingLog(self.run_dir / "host.log", self.token)
        # Lines of containers removed during the run, kept before they went.
        self.removed_logs: dict[str, list[str]] = {s: [] for s in LOG_SERVICES}
        self.t0 = 0.0
        self.final: tuple[int, dict[int, str]] = (0, {})  # the mailbox at the end

    # -- setting up ---------------------------------------------------------------

    def imap(self, folder: str = "") -> ImapSettings:
        base = self.cfg.imap_settings()
        return ImapSettings(
            host=base.host,
            port=base.port,
            user=base.user,
            password=base.password,
            tls=base.tls,
            ca=base.ca,
            folder=folder or base.folder,
            verify=base.verify,
        )

    def _install(self) -> None:
        from dsnwatch.install import carry_out, prepare_install
        from dsnwatch.runtime.docker import DockerRuntime

        runtime = DockerRuntime(self.cfg.compose_project, base_url=self.cfg.docker_host)
        prepared = prepare_install(self.cfg, runtime)
        if prepared.plan.empty:
            return
        self.say("installing the DSN pipeline in the lab (bounces to the central mailbox)")
        carry_out(prepared, log=lambda _m: None)
        self.lab.wait_healthy(120)

    def _clear(self) -> None:
        """Empty the central mailbox (and the staging folder), so each run starts alike."""
        user = self.cfg.imap_user or self.cfg.mailbox
        for folder in (self.cfg.imap_folder, STAGING):
            try:
                self.lab.exec(
                    "dovecot", ["doveadm", "expunge", "-u", user, "mailbox", folder, "all"]
                )
            except LabError as exc:
                if "doesn't exist" not in str(exc):
                    raise  # a fresh lab has no staging folder yet; anything else is real

    def _start_observers(self) -> None:
        logs = self.run_dir / "observers.log"
        console = Observer(
            "console",
            python_argv("-m", "dsnwatch.tui.observed"),
            child_env(self.run_dir / "console.sqlite"),
            logs,
        )
        tail = Observer(
            "tail",
            python_argv("-m", "dsnwatch", "--lab", "tail", "--json"),
            child_env(self.run_dir / "tail.sqlite"),
            logs,
        )
        tail_file = Observer(
            "tail-file",
            python_argv(
                "-m", "dsnwatch", "--lab", "tail", "--json", "--file", str(self.hostlog.path)
            ),
            child_env(self.run_dir / "tail-file.sqlite"),
            logs,
        )
        self.observers = {"console": console, "tail": tail, "tail-file": tail_file}
        self.hostlog.path.touch()
        for observer in self.observers.values():
            observer.start()
        wanted = {
            "console": ("dovecot", "postfix", "imap"),
            "tail": ("dovecot", "postfix"),
            "tail-file": ("host.log",),
        }
        started = time.monotonic()
        if not wait_until(
            lambda: (
                all(self.observers[n].ready(s) for n, s in wanted.items())
                and self.observers["console"].latest().get("imap", None) is not None
                and self.observers["console"].latest()["imap"].state == "idle"
            ),
            120,
        ):
            states = {
                n: {k: v.state for k, v in o.latest().items()} for n, o in self.observers.items()
            }
            raise FaultRunError(f"the observers did not start within 120s: {states}")
        self.outcome.timings["observers ready"] = time.monotonic() - started

    # -- faults -------------------------------------------------------------------------

    def fault_restart(self, key: str) -> None:
        container = self.lab.container(key)
        if container is None:
            raise FaultRunError(f"no {key} container")
        container.restart(timeout=10)
        self.lab.wait_healthy(120)

    def fault_recreate(self, key: str) -> None:
        def keep(old: Any) -> None:
            self.removed_logs[key].extend(_log_lines(old, self.t0))

        self.lab.recreate(key, before_remove=keep)

    def fault_rotate(self) -> None:
        self.hostlog.rotate()
        time.sleep(1.0)

    def fault_imap_drop(self) -> str:
        """Fill the mailbox, let the console start reading it, then drop its session."""
        staging = self.imap(STAGING)
        client = connect(staging)
        try:
            if not client.folder_exists(STAGING):
                client.create_folder(STAGING)
        finally:
            client.logout()
        started = time.monotonic()
        count = fill(staging, self.token, self.plan.reports)
        self.outcome.timings[f"multiappend of {count:,} reports"] = time.monotonic() - started
        console = self.observers["console"]
        mark = time.time()
        # One MOVE: the console sees every report at once, so its sync is one large one.
        client = connect(staging)
        try:
            client.select_folder(STAGING)
            client.move("1:*", self.cfg.imap_folder)
        finally:
            client.logout()

        def progress() -> tuple[int, int]:
            for item in reversed(console.snapshot()):
                if item.source == "imap-progress" and item.t >= mark:
                    done, _, total = item.detail.partition("/")
                    return int(done), int(total)
            return 0, 0

        # Dovecot may announce the moved messages in parts: wait for a sync that reads
        # at least half of them, and drop the session while it is under way.
        large = max(1, self.plan.reports // 2)
        if not wait_until(
            lambda: progress()[1] >= large and 0 < progress()[0] < progress()[1], 60, step=0.01
        ):
            self.outcome.notes.append("the IMAP drop came after the large sync, not during it")
        done, total = progress()
        dovecot = self.lab.container("dovecot")
        if dovecot is None:
            raise FaultRunError("no dovecot container")
        code, out = dovecot.exec_run(["doveadm", "kick", self.cfg.imap_user or self.cfg.mailbox])
        if code not in (0, 68):  # 68: nobody was connected to kick
            raise FaultRunError(
                f"doveadm kick failed: {out.decode('utf-8', 'replace').strip()[:200]}"
            )
        where = f"at {done:,}/{total:,} of the sync" if total else "(no sync seen)"
        if code == 68:
            where += ", but no session was open"
        self.say(f"dropped the console's IMAP session {where}")
        return where

    def fault_engine(self, control: EngineControl) -> None:
        control.stop()
        time.sleep(2.0)
        control.start()
        self.lab.wait_healthy(180)

    # -- the run ------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Set up, inject every fault, settle, check; observers are always stopped."""
        control: EngineControl | None = None
        if "engine-restart" in self.plan.faults:
            control = engine_control(self.lab.engine.url)
        self.lab.settings.docker_host = self.lab.engine.url
        self.cfg = config_from_lab(self.lab.settings.to_toml(), source="lab")
        self.cfg.store = str(self.run_dir / "unused.sqlite")
        if self.plan.install:
            self._install()
        if self.plan.clear:
            self._clear()
        try:
            self.say(f"starting the console, dsnwatch tail and tail --file ({self.run_dir})")
            self._start_observers()
            self.t0 = time.time() + 0.5
            self.hostlog.start()
            self.stream = MailStream(
                self.cfg, self.token, interval=self.plan.mail_interval, limit=self.plan.mail_limit
            )
            self.stream.start()
            time.sleep(3.0)
            for fault in self.plan.faults:
                self._inject(fault, control)
            self.say("stopping the traffic and letting everything arrive")
            self.stream.stop()
            self._settle()
            self._final_listing()
            t_end = time.time() - 3.0
            time.sleep(1.0)
        finally:
            if self.stream is not None:
                self.stream.stop()
            self.hostlog.stop()
            for observer in self.observers.values():
                observer.stop()
        self.say("checking")
        self._check_reports()
        self._check_logs(t_end)
        self._check_file()
        self._check_recoveries()
        self._write_json()
        return self.outcome

    def _inject(self, fault: str, control: EngineControl | None) -> None:
        self.say(f"fault: {fault}")
        begun = time.time()
        detail = ""
        if fault == "restart-dovecot":
            self.fault_restart("dovecot")
        elif fault == "restart-postfix":
            self.fault_restart("postfix")
        elif fault == "recreate-postfix":
            self.fault_recreate("postfix")
        elif fault == "rotate-log":
            self.fault_rotate()
        elif fault == "imap-drop":
            detail = self.fault_imap_drop()
            begun = time.time()  # the drop itself, not the filling before it
        elif fault == "engine-restart":
            assert control is not None
            self.fault_engine(control)
        else:
            raise FaultRunError(f"unknown fault {fault!r}")
        self.outcome.timings[f"fault {fault}"] = time.time() - begun
        affected = AFFECTS[fault]

        def settled() -> bool:
            waited = time.time() - begun
            for name, observer in self.observers.items():
                sources = _sources(name)
                if not observer.ready(sources):
                    return False
                hit = observer.recovery(fault, begun, affected.get(name, ()))
                if waited < 15 and len(hit.disturbed) < len(affected.get(name, ())):
                    return False  # not noticed yet: give it time before calling it undisturbed
            return True

        wait_until(settled, self.plan.fault_timeout, step=0.1)
        for name, observer in self.observers.items():
            result = observer.recovery(fault, begun, _sources(name))
            if detail and name == "console":
                result.detail = f"{result.detail}; dropped {detail}".lstrip("; ")
            self.outcome.recoveries.append(result)
            shown = "-" if result.seconds is None else f"{result.seconds:.1f}s"
            self.say(
                f"  {name}: {'back' if result.recovered else 'NOT BACK'} {shown}"
                f" {','.join(result.disturbed)} {result.detail}"
            )

    def _settle(self) -> None:
        """Wait until the mailbox stops growing and the console has stored all of it."""
        store = self.run_dir / "console.sqlite"

        def counts() -> tuple[int, int]:
            client = connect(self.imap())
            try:
                have = int(client.folder_status(self.cfg.imap_folder, ["MESSAGES"])[b"MESSAGES"])
            finally:
                client.logout()
            return have, _count(store, "SELECT count(*) FROM messages")

        last = (-1, -1)
        stable_since = time.monotonic()
        deadline = time.monotonic() + max(60.0, self.plan.settle * 6)
        while time.monotonic() < deadline:
            now = counts()
            if now != last:
                last, stable_since = now, time.monotonic()
            elif now[0] == now[1] and time.monotonic() - stable_since >= self.plan.settle:
                break
            time.sleep(1.0)

    # -- checks ----------------------------------------------------------------------

    def _listing(self) -> tuple[int, dict[int, str]]:
        """The central mailbox now: UIDVALIDITY and each UID's Message-ID."""
        client = connect(self.imap())
        try:
            info = client.select_folder(self.cfg.imap_folder, readonly=True)
            uidvalidity = int(info[b"UIDVALIDITY"])
            uids = sorted(client.search(["ALL"]))
            ids: dict[int, str] = {}
            for start in range(0, len(uids), 2000):
                part = uids[start : start + 2000]
                for uid, data in client.fetch(
                    part, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]
                ).items():
                    raw = next((v for k, v in data.items() if k.startswith(b"BODY")), b"")
                    ids[uid] = _message_id(bytes(raw))
        finally:
            client.logout()
        return uidvalidity, ids

    def _final_listing(self) -> None:
        """Take the mailbox's contents while the console still runs; let it store them all."""
        self.final = self._listing()
        uidvalidity, ids = self.final
        store = self.run_dir / "console.sqlite"
        wanted = set(ids)

        def stored() -> bool:
            rows = _rows_safe(
                store,
                f"SELECT uid FROM messages WHERE mailbox='{self.cfg.imap_folder}'"
                f" AND uidvalidity={uidvalidity}",
            )
            return wanted <= {uid for (uid,) in rows}

        wait_until(stored, 30, step=0.5)

    def _check_reports(self) -> None:
        folder = self.cfg.imap_folder
        uidvalidity, ids = self.final
        uids = sorted(ids)
        db = sqlite3.connect(self.run_dir / "console.sqlite")
        try:
            stored = Counter(
                uid
                for (uid,) in db.execute(
                    "SELECT uid FROM messages WHERE mailbox=? AND uidvalidity=?",
                    (folder, uidvalidity),
                )
            )
            rows = db.execute(
                "SELECT uid, recipient, message_id FROM reports WHERE mailbox=? AND uidvalidity=?",
                (folder, uidvalidity),
            ).fetchall()
        finally:
            db.close()
        in_mailbox = set(uids)
        missing = sorted(in_mailbox - set(stored))
        # A bounce that arrived after the final listing is not in it: not an extra.
        late = {uid for uid in stored if uid not in in_mailbox and uid > max(in_mailbox, default=0)}
        extra = sorted(set(stored) - in_mailbox - late)
        stored = Counter({uid: n for uid, n in stored.items() if uid not in late})
        rows = [row for row in rows if row[0] not in late]
        twice = [uid for uid, n in stored.items() if n > 1]
        per_row = Counter((uid, rcpt) for uid, rcpt, _ in rows)
        twice += [uid for (uid, _), n in per_row.items() if n > 1]
        wrong_id = sorted(
            {uid for uid, _, mid in rows if mid and ids.get(uid) and mid != ids.get(uid)}
        )
        detail = []
        if missing:
            detail.append(f"missing UIDs {missing[:5]}")
        if extra:
            detail.append(f"UIDs not in the mailbox {extra[:5]}")
        if twice:
            detail.append(f"stored twice {sorted(set(twice))[:5]}")
        if wrong_id:
            detail.append(f"Message-ID differs for UIDs {wrong_id[:5]}")
        bounces = sum(1 for mid in ids.values() if "report-" not in mid)
        if late:
            detail.append(f"{len(late)} arrived after the final listing (not counted)")
        self.outcome.checks.append(
            Check(
                "reports in the central mailbox → console's store, once each",
                f"{len(uids):,} messages",
                f"{sum(stored.values()):,} stored, {len(rows):,} report rows",
                not (missing or extra or twice or wrong_id) and bool(uids),
                "; ".join([*detail, f"{bounces} delivered by the lab, the rest appended"]),
            )
        )

    def _truth(self, service: str, t_end: float) -> list[str]:
        container = self.lab.container(service)
        lines = list(self.removed_logs[service])
        if container is not None:
            lines += _log_lines(container, self.t0)
        return [line for line in lines if self.t0 <= _stamp(line) <= t_end]

    def _check_logs(self, t_end: float) -> None:
        console_raw = [
            raw for (raw,) in _rows(self.run_dir / "console.sqlite", "SELECT raw FROM events")
        ]
        tail_raw = [str(e.get("raw", "")) for e in self.observers["tail"].events]
        truths = {service: Counter(self._truth(service, t_end)) for service in LOG_SERVICES}
        known: set[str] = set()
        for truth in truths.values():
            known.update(truth)
        for name, raws in (("console", console_raw), ("tail", tail_raw)):
            seen_all = Counter(r for r in raws if self.t0 <= _stamp(r) <= t_end)
            for service, truth in truths.items():
                seen = Counter({line: n for line, n in seen_all.items() if line in truth})
                missing = sum((truth - seen).values())
                repeated = sum(n - 1 for n in seen.values() if n > 1)
                detail = []
                if missing:
                    first = min(truth - seen)
                    detail.append(f"{missing} missing, first: {first[:100]}")
                if repeated:
                    detail.append(f"{repeated} repeated")
                self.outcome.checks.append(
                    Check(
                        f"{service} log lines → {name}, once each",
                        f"{sum(truth.values()):,} lines",
                        f"{sum(seen.values()):,} lines",
                        not (missing or repeated) and bool(truth),
                        "; ".join(detail),
                    )
                )
            strangers = Counter({line: n for line, n in seen_all.items() if line not in known})
            self.outcome.checks.append(
                Check(
                    f"lines {name} showed that no container printed",
                    "0",
                    str(sum(strangers.values())),
                    not strangers,
                    next(iter(strangers))[:100] if strangers else "",
                )
            )

    def _check_file(self) -> None:
        written = Counter(self.hostlog.written)
        raws = Counter(str(e.get("raw", "")) for e in self.observers["tail-file"].events)
        missing = sum((written - raws).values())
        repeated = sum(n - 1 for n in raws.values() if n > 1)
        strangers = sum(n for line, n in raws.items() if line not in written)
        detail = []
        if missing:
            detail.append(f"{missing} missing, first: {next(iter(written - raws))[-40:]}")
        if repeated:
            detail.append(f"{repeated} repeated")
        if strangers:
            detail.append(f"{strangers} never written")
        self.outcome.checks.append(
            Check(
                f"host log lines across {self.hostlog.rotations} rotation(s) → tail --file, once each",
                f"{sum(written.values()):,} lines",
                f"{sum(raws.values()):,} lines",
                not (missing or repeated or strangers) and bool(written),
                "; ".join(detail),
            )
        )

    def _check_recoveries(self) -> None:
        for item in self.outcome.recoveries:
            shown = "-" if item.seconds is None else f"{item.seconds:.1f} s"
            self.outcome.checks.append(
                Check(
                    f"{item.fault}: {item.observer} recovered by itself",
                    "back",
                    f"back after {shown}" if item.recovered else "not back",
                    item.recovered,
                    (f"disturbed: {', '.join(item.disturbed)}; " if item.disturbed else "")
                    + item.detail,
                )
            )
        stream = self.stream
        if stream is not None:
            self.outcome.notes.append(
                "mail stream: "
                + ", ".join(f"{k} {v}" for k, v in stream.counts.sent.items())
                + f" sent; {stream.counts.failed} refused while the lab was down"
            )

    def _write_json(self) -> None:
        data = {
            "token": self.token,
            "ok": self.outcome.ok,
            "checks": [asdict(c) for c in self.outcome.checks],
            "recoveries": [asdict(r) for r in self.outcome.recoveries],
            "timings": self.outcome.timings,
            "notes": self.outcome.notes,
        }
        (self.run_dir / "result.json").write_text(json.dumps(data, indent=1), encoding="utf-8")


def _sources(observer: str) -> tuple[str, ...]:
    return {
        "console": ("dovecot", "postfix", "imap"),
        "tail": ("dovecot", "postfix"),
        "tail-file": ("host.log",),
    }[observer]


def _log_lines(container: Any, since: float) -> list[str]:
    """A container's log since a time, as the followers see it: stamp, space, line."""
    raw = container.logs(timestamps=True, since=since - 1).decode("utf-8", "replace")
    return [line.rstrip("\r") for line in raw.split("\n") if line.rstrip("\r")]


def _stamp(line: str) -> float:
    try:
        return parse_docker_time(line.partition(" ")[0])
    except ValueError:
        return 0.0


def _message_id(header: bytes) -> str:
    text = header.decode("ascii", "replace")
    _, _, value = text.partition(":")
    return value.strip()


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _rows_safe(path: Path, sql: str) -> list[tuple[Any, ...]]:
    try:
        return _rows(path, sql)
    except sqlite3.Error:
        return []


def _count(path: Path, sql: str) -> int:
    if not path.exists():
        return 0
    try:
        return int(_rows(path, sql)[0][0])
    except sqlite3.Error:
        return 0


def format_table(outcome: Outcome) -> str:
    """The result as a plain text table (what `make faults` prints)."""
    headers = ("check", "expected", "seen", "result", "detail")
    rows = [
        (c.what, c.expected, c.seen, "pass" if c.ok else "FAIL", c.detail) for c in outcome.checks
    ]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    widths[4] = min(widths[4], 80)
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(cell[:w].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        )
    for name, seconds in outcome.timings.items():
        lines.append(f"  {name}: {seconds:.1f} s")
    lines.extend(f"  {note}" for note in outcome.notes)
    lines.append(f"result: {'every check passed' if outcome.ok else 'FAILED'}")
    return "\n".join(lines)


def run_faults(plan: Plan, lab: Lab | None = None) -> Outcome:
    """Run the faults against the lab (started if needed)."""
    lab = lab or Lab(LabSettings.load())
    lab.up()
    return FaultRun(lab, plan).run()
