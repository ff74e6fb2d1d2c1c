"""Target rules: where a test bounce may go, so that nothing reaches a real person.

- local: a fresh address in an `.invalid` domain (RFC 2606), which no server owns;
- remote: a fresh address at the one configured remote target domain;
- ses: the SES mailbox simulator's `bounce@`, complaint: its `complaint@`
  (labels such as `bounce+x@` allowed, as SES accepts them).

Every way a recipient can be chosen (defaults, the configuration, `--to`) ends in
`check_target`, and the sender checks again right before the envelope is written.
"""

from __future__ import annotations

import re

SES_SIMULATOR = "simulator.amazonses.com"
_LOCAL_PART = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,63}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


class TargetRefused(ValueError):
    """A recipient outside the launcher's rules; the message says which rule."""


def _split(address: str) -> tuple[str, str]:
    local, at, domain = address.strip().rpartition("@")
    local, domain = local.lower(), domain.lower().rstrip(".")
    if not at or not _LOCAL_PART.match(local) or not _DOMAIN.match(domain):
        raise TargetRefused(f"{address!r} is not a plain address (local@domain)")
    return local, domain


def check_local_domain(domain: str) -> str:
    """The domain of local tests: it must end in `.invalid`."""
    domain = domain.strip().lower().rstrip(".")
    if not _DOMAIN.match(domain) or not domain.endswith(".invalid"):
        raise TargetRefused(f"local tests go only to an .invalid domain (RFC 2606), not {domain!r}")
    return domain


def check_remote_domain(domain: str, own_domains: tuple[str, ...] = ()) -> str:
    """The configured remote target: a plain domain that is not one of ours."""
    domain = domain.strip().lower().rstrip(".")
    if not domain:
        raise TargetRefused("no remote target: set [tests] remote_target in the config")
    if not _DOMAIN.match(domain):
        raise TargetRefused(f"remote_target {domain!r} is not a domain name")
    if domain in {d.lower() for d in own_domains if d}:
        raise TargetRefused(f"remote_target {domain!r} is this server's own domain")
    if domain.endswith(".invalid") or domain == SES_SIMULATOR:
        raise TargetRefused(f"remote_target {domain!r} is not a remote mail domain")
    return domain


def check_target(
    kind: str, address: str, *, remote_target: str = "", own_domains: tuple[str, ...] = ()
) -> str:
    """The address, normalised, when a test of `kind` may go there; TargetRefused if not."""
    local, domain = _split(address)
    if kind == "local":
        check_local_domain(domain)
    elif kind == "remote":
        allowed = check_remote_domain(remote_target, own_domains)
        if domain != allowed:
            raise TargetRefused(
                f"remote tests go only to the configured remote target {allowed}, not {domain}"
            )
    elif kind in ("ses", "complaint"):
        mailbox = "bounce" if kind == "ses" else "complaint"
        if domain != SES_SIMULATOR or local.split("+", 1)[0] != mailbox:
            raise TargetRefused(f"{kind} tests go only to {mailbox}@{SES_SIMULATOR}, not {address}")
    else:
        raise TargetRefused(f"unknown test kind {kind!r}")
    return f"{local}@{domain}"


def default_target(
    kind: str, token: str, *, local_domain: str = "dsnwatch-test.invalid", remote_target: str = ""
) -> str:
    """A fresh recipient for a test: nobody has it, so it must bounce."""
    if kind == "local":
        return f"nobody-{token}@{check_local_domain(local_domain)}"
    if kind == "remote":
        return f"dsnwatch-nonexistent-{token}@{check_remote_domain(remote_target)}"
    if kind == "ses":
        return f"bounce+{token}@{SES_SIMULATOR}"
    if kind == "complaint":
        return f"complaint+{token}@{SES_SIMULATOR}"
    raise TargetRefused(f"unknown test kind {kind!r}")
