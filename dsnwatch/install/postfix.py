"""The Postfix settings dsnwatch adds, as a managed block of `main.cf` lines.

On mailcow the block goes into `extra.cf` (merged into main.cf at container start);
on a plain host into `main.cf` itself. Postfix lets the last definition of a
parameter win, so a block at the end overrides without touching the operator's lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dsnwatch.config import PostfixMode
from dsnwatch.install.blocks import decode, encode, remove_block, upsert_block
from dsnwatch.install.sieve import MARKER_HEADER, check_address

DEFAULT_NOTIFY_CLASSES = "resource, software"
BCC_MAP = "dsnwatch_bcc.regexp"
MARK_MAP = "dsnwatch_mark.regexp"
# bounce(8) keeps its logs in a queue directory named after its master.cf service, so the
# services must keep the names bounce, defer and trace: our block redefines them at the end
# of master.cf, where Postfix takes the last entry of a service ("duplicate master.cf entry
# ... using the last entry"), and the operator's own lines stay as they are.
DSN_SERVICES = ("bounce", "defer", "trace")
DSN_CLEANUP = "dsnwatch-cleanup"


def parse_settings(text: str) -> dict[str, str]:
    """`name = value` pairs of a main.cf-style text, continuation lines joined, last wins."""
    settings: dict[str, str] = {}
    name: str | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and name is not None:
            settings[name] = f"{settings[name]} {line.strip()}".strip()
            continue
        match = re.match(r"^([A-Za-z0-9_]+)\s*=\s*(.*)$", line)
        name = match.group(1) if match else None
        if match:
            settings[match.group(1)] = match.group(2).strip()
    return settings


def split_list(value: str) -> list[str]:
    """A Postfix list value (commas and/or spaces) as items."""
    return [item for item in re.split(r"[\s,]+", value) if item]


def merge_classes(base: str, ours: Iterable[str]) -> str:
    """The operator's notify_classes plus ours, in order, without duplicates."""
    merged: list[str] = []
    for item in [*split_list(base), *ours]:
        if item.lower() not in (m.lower() for m in merged):
            merged.append(item)
    return ", ".join(merged)


def operator_notify_classes(*texts: str) -> str:
    """The notify_classes the operator set (our block left out), or Postfix's default."""
    value = DEFAULT_NOTIFY_CLASSES
    for text in texts:
        found = parse_settings(remove_block(text)).get("notify_classes")
        if found is not None:
            value = found
    return value


def render_settings(
    mailbox: str,
    classes: Iterable[str],
    base_classes: str,
    mode: PostfixMode = "notify",
) -> str:
    """The managed block's body of main.cf settings."""
    mailbox = check_address(mailbox)
    classes = list(classes)
    lines: list[str] = []
    if mode == "notify" and classes:
        lines.append("# Postmaster copies of the bounces Postfix writes go to the central mailbox.")
        lines.append(f"notify_classes = {merge_classes(base_classes, classes)}")
        for name in classes:
            lines.append(f"{name}_notice_recipient = {mailbox}")
    # full-copy needs no main.cf setting: its master.cf block does the work.
    return "\n".join(lines) + "\n" if lines else ""


def render_master(config_dir: str) -> str:
    """The master.cf block for full-copy mode: bounce(8) services and their cleanup."""
    opts = f"-o cleanup_service_name={DSN_CLEANUP} -o internal_mail_filter_classes=bounce"
    lines = [
        "# Every message bounce(8) writes passes a cleanup that BCCs the central mailbox.",
        *(f"{name} unix - - n - 0 bounce {opts}" for name in DSN_SERVICES),
    ]
    # mime_header_checks, not header_checks: Content-Type in the primary header is a
    # MIME header to cleanup and is never matched by header_checks.
    lines.append(
        f"{DSN_CLEANUP} unix n - n - 0 cleanup"
        f" -o header_checks=regexp:{config_dir}/{MARK_MAP}"
        f" -o mime_header_checks=regexp:{config_dir}/{BCC_MAP}"
        " -o nested_header_checks= -o body_checks= -o non_smtpd_milters="
    )
    return "\n".join(lines) + "\n"


def render_bcc_map(mailbox: str) -> bytes:
    """The regexp table that BCCs every multipart/report bounce(8) writes."""
    return (
        f"/^Content-Type:[[:space:]]*multipart\\/report/\tBCC {check_address(mailbox)}\n".encode()
    )


def render_mark_map() -> bytes:
    """The regexp table that marks Postfix's own copy, so Sieve does not copy it again."""
    return f"/^Auto-Submitted:/\tPREPEND {MARKER_HEADER}: postfix\n".encode()


def full_copy_active(master_entries: str) -> bool:
    """Whether `postconf -M bounce/unix` output ends with our bounce service.

    postconf lists every definition; the master daemon uses the last one.
    """
    lines = [line for line in master_entries.splitlines() if line.strip()]
    return bool(lines) and f"cleanup_service_name={DSN_CLEANUP}" in lines[-1]


def install_settings(current: bytes | None, body: str) -> bytes:
    """The settings file with the managed block set to `body` (removed when empty)."""
    text = decode(current)
    if not body:
        return encode(remove_block(text))
    return encode(upsert_block(text, body))


def sender_bcc_null_problem(sender_bcc_maps: str, lookup: str | None) -> str | None:
    """The blueprint's `<>` sender_bcc_maps key, explained, when it is configured."""
    if sender_bcc_maps.strip() and lookup:
        return (
            f"sender_bcc_maps maps <> to {lookup.strip()}, but Postfix never looks up the null "
            "sender there and adds no automatic BCC to bounces it writes; remove the <> line "
            "(dsnwatch install uses notify_classes or a bounce cleanup instead)"
        )
    return None
