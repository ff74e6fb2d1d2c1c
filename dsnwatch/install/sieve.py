"""The Sieve rule that copies every delivery and feedback report to the central mailbox.

It belongs in the global `sieve_before` script: `sieve_after` runs only while the
implicit keep is still in effect, so a user's `fileinto` or `discard` would skip it.
"""

from __future__ import annotations

import re

from dsnwatch.install.blocks import BlockError, decode, encode, remove_block, upsert_block

# Conservative: the address is pasted into a Sieve string and a Postfix parameter.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$"
)

MARKER_HEADER = "X-DSN-Monitor-Copy"


def check_address(address: str) -> str:
    """The address if it is a plain mailbox address; otherwise a one-line error."""
    if not _ADDRESS.fullmatch(address):
        raise ValueError(
            f'{address!r} is not a mailbox address; set mailbox = "dsn-monitor@your.domain"'
        )
    return address


def render_rule(mailbox: str, postfix_marker: bool = False) -> str:
    """The managed block's body for `mailbox`.

    `postfix_marker` skips messages Postfix already copied itself (full-copy mode marks
    them with X-DSN-Monitor-Copy), so each report lands once.
    """
    mailbox = check_address(mailbox)
    guards = [f'envelope :is "to" "{mailbox}"']
    if postfix_marker:
        guards.append(f'exists "{MARKER_HEADER}"')
    guards.append('exists "X-Sieve-Redirected-From"')
    guard_lines = ",\n".join(f"    {g}" for g in guards)
    # No `stop`: the guards wrap the rule instead, so the operator's own rules below
    # still run for the monitor's mail. No `keep`: `:copy` keeps the implicit keep.
    return (
        "# Copy delivery reports (RFC 3464) and feedback reports (RFC 5965) to the\n"
        "# central mailbox, whatever later rules do with the message.\n"
        'require ["envelope", "mime", "copy"];\n'
        "if not anyof (\n"
        f"{guard_lines}\n"
        ") {\n"
        "  if anyof (\n"
        '      header :mime :param "report-type" "Content-Type"\n'
        '          ["delivery-status", "feedback-report"],\n'
        "      allof (\n"
        '          envelope :is "from" "",\n'
        '          address :localpart :is "from" ["mailer-daemon", "postmaster"]\n'
        "      )\n"
        "  ) {\n"
        f'    redirect :copy "{mailbox}";\n'
        "  }\n"
        "}\n"
    )


def _skip_string(text: str, pos: int) -> int:
    pos += 1
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == '"':
            return pos + 1
        pos += 1
    raise BlockError("an unterminated string in the Sieve requires; fix the script first")


def insertion_point(text: str) -> int:
    """Where the block goes: right after the script's leading `require` commands.

    Sieve allows `require` only before every other command, so the block (which has its
    own `require`) cannot go first when the operator's script starts with one, and it
    must come before the operator's rules, which may `stop`.
    """
    pos, after_require, n = 0, 0, len(text)
    while pos < n:
        ch = text[pos]
        if ch.isspace():
            pos += 1
        elif ch == "#":
            eol = text.find("\n", pos)
            pos = n if eol < 0 else eol + 1
        elif text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            if close < 0:
                raise BlockError("an unterminated /* comment in the Sieve script; fix it first")
            pos = close + 2
        elif re.match(r"require\b", text[pos:]):
            pos += len("require")
            while pos < n and text[pos] != ";":
                pos = _skip_string(text, pos) if text[pos] == '"' else pos + 1
            if pos >= n:
                raise BlockError("a require without ';' in the Sieve script; fix it first")
            pos += 1
            after_require = pos
        else:
            break
    if after_require == 0:
        return 0
    eol = text.find("\n", after_require)
    rest = text[after_require : n if eol < 0 else eol]
    if rest.strip() and not rest.strip().startswith("#"):
        raise BlockError(
            "the Sieve script has a rule on the same line as its last require; "
            "move the rule to its own line"
        )
    return n if eol < 0 else eol + 1


def install_rule(current: bytes | None, mailbox: str, postfix_marker: bool = False) -> bytes:
    """The script with the managed rule block added or brought up to date."""
    text = decode(current)
    body = render_rule(mailbox, postfix_marker)
    return encode(upsert_block(text, body, at=insertion_point(text)))


def uninstall_rule(current: bytes | None) -> bytes | None:
    """The script without the managed block (None stays None)."""
    if current is None:
        return None
    return encode(remove_block(decode(current)))


_REDIRECT_THEN_KEEP = re.compile(r"\bredirect\b[^;]*;\s*(?:#[^\n]*\n\s*)*keep\s*;", re.IGNORECASE)


def blueprint_problems(before: str, after: str, mailbox: str) -> list[str]:
    """The blueprint's broken Sieve steps found in the global scripts, one line each."""
    problems = []
    if mailbox and mailbox.lower() in after.lower() and re.search(r"\bredirect\b", after):
        problems.append(
            "a DSN redirect is in sieve_after, which never runs once a user rule files or "
            "discards the message; remove it there (dsnwatch install puts it in sieve_before)"
        )
    for name, text in (("sieve_before", before), ("sieve_after", after)):
        if _REDIRECT_THEN_KEEP.search(text):
            problems.append(
                f"{name} has `redirect` followed by `keep`; use `redirect :copy` without `keep` "
                "(keep defeats later discard and duplicate rules)"
            )
    return problems
