"""The lab as an install target: install, uninstall (whole or one service) and restore.

Shared by the installer's and the launcher's lab tests, so both break and mend the
pipeline the same way, with the installer's own functions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from dsnwatch.config import Config, load_config
from dsnwatch.install import carry_out, prepare_install, prepare_uninstall
from dsnwatch.install.apply import apply_plan
from dsnwatch.install.plan import MAILCOW
from dsnwatch.runtime.base import Service
from dsnwatch.runtime.docker import DockerRuntime

# Every file install may change, as (service, path).
PIPELINE_FILES: list[tuple[Service, str]] = [
    ("postfix", MAILCOW.settings_file),
    ("postfix", MAILCOW.master_cf),
    ("postfix", f"{MAILCOW.postfix_dir}/dsnwatch_bcc.regexp"),
    ("postfix", f"{MAILCOW.postfix_dir}/dsnwatch_mark.regexp"),
    ("dovecot", MAILCOW.sieve_before),
    ("dovecot", MAILCOW.sieve_before_active),
    ("dovecot", MAILCOW.sieve_after),
    ("dovecot", MAILCOW.sieve_after_active),
]


def unavailable(reason: str) -> None:
    """Skip without a lab; fail under CI=true, so CI never passes without it."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the lab must run in CI but cannot: {reason}", pytrace=False)
    pytest.skip(f"lab not available: {reason}")


class LabTarget:
    """The lab as the installer sees it, and the means to break and mend its pipeline."""

    def __init__(self, lab: Any, cfg: Config, runtime: DockerRuntime) -> None:
        self.lab = lab
        self.cfg = cfg
        self.runtime = runtime
        # The files as the lab had them before install, when a test recorded them.
        self.pristine: dict[tuple[Service, str], bytes | None] = {}

    def config(self, tmp_path: Path, **changes: Any) -> Config:
        """The lab's settings with a store of the test's own (the rate limit is per store)."""
        cfg = load_config(lab=True)
        cfg.store = str(tmp_path / "dsnwatch.sqlite")
        for key, value in changes.items():
            setattr(cfg, key, value)
        return cfg

    def settle(self) -> None:
        """Wait until every service answers again after a restart."""
        self.lab.wait_healthy(120)

    def install(self, **changes: Any) -> None:
        """Install with the lab's settings (fields of Config overridden by `changes`)."""
        cfg = replace(self.cfg, **changes) if changes else self.cfg
        prepared = prepare_install(cfg, self.runtime)
        if not prepared.plan.empty:
            restarts = prepared.plan.restart_postfix or prepared.plan.restart_dovecot
            carry_out(prepared, log=lambda _m: None)
            if restarts:
                self.settle()

    def uninstall(self, service: Service | None = None) -> None:
        """Take out every managed part, or only the Postfix or the Dovecot one."""
        prepared = prepare_uninstall(self.cfg, self.runtime)
        plan = prepared.plan
        if service is not None:
            plan.changes = [c for c in plan.changes if c.service == service]
            if service != "postfix":
                plan.restart_postfix = plan.reload_postfix = False
            if service != "dovecot":
                plan.restart_dovecot = False
        if plan.empty:
            return
        restarts = plan.restart_postfix or plan.restart_dovecot
        apply_plan(self.runtime, prepared.layout, plan, lambda _m: None)
        if restarts:
            self.settle()

    def installed(self, **changes: Any) -> bool:
        cfg = replace(self.cfg, **changes) if changes else self.cfg
        return prepare_install(cfg, self.runtime).plan.empty

    def any_installed(self) -> bool:
        """Whether any managed part is in place (in whichever mode)."""
        return not prepare_uninstall(self.cfg, self.runtime).plan.empty

    def snapshot(self) -> dict[tuple[Service, str], bytes | None]:
        """The bytes of every file install may change (None for a missing one)."""
        return {(s, p): self.runtime.read_file(s, p) for s, p in PIPELINE_FILES}


def lab_target() -> Iterator[LabTarget]:
    """The running lab as a target; leaves it installed or not, as it found it."""
    from dsnwatch.lab import EngineError, Lab, LabError, LabSettings, find_engine

    try:
        lab = Lab(LabSettings.load(), find_engine())
        lab.up()
        cfg = load_config(lab=True)
    except (EngineError, LabError) as exc:
        unavailable(str(exc))
    except Exception as exc:
        unavailable(f"{type(exc).__name__}: {exc}")
    target = LabTarget(lab, cfg, DockerRuntime(cfg.compose_project, cfg.docker_host))
    was_installed = target.any_installed()
    yield target
    if was_installed:
        target.install()
    else:
        target.uninstall()
