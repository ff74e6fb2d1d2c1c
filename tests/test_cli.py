"""The command line: start-up cost, `parse` output contract, exit codes."""

from __future__ import annotations

import json
import mailbox
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, fixture_bytes
from typer.testing import CliRunner

from dsnwatch import __version__
from dsnwatch.cli import app

runner = CliRunner()
CONTRACT = {
    "recipient",
    "status",
    "reply_code",
    "reason",
    "hard_bounce",
    "action",
    "diagnostic_code",
    "remote_mta",
    "reporting_mta",
    "feedback_type",
}


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"dsnwatch {__version__}"


def test_help_lists_parse() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "parse" in result.output


def test_start_up_imports_nothing_heavy() -> None:
    code = (
        "import sys, dsnwatch.cli;"
        "heavy = [m for m in ('textual', 'docker', 'imapclient', 'boto3', 'rich.table',"
        " 'dsnwatch.dsn.reader') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_parse_json_keeps_the_key_contract() -> None:
    path = FIXTURES / "postfix-userunknown.eml"
    result = runner.invoke(app, ["parse", str(path), "--json"])
    assert result.exit_code == 0
    [line] = result.output.splitlines()
    obj = json.loads(line)
    assert obj["source"] == str(path)
    assert obj["kind"] == "delivery-status"
    assert obj["reporter"] == "Postfix"
    [entry] = obj["reports"]
    assert set(entry) >= CONTRACT
    assert entry["status"] == "5.1.1"
    assert entry["reply_code"] == "550"
    assert entry["reason"] == "userunknown"
    assert entry["hard_bounce"] is True
    assert entry["feedback_type"] is None


def test_parse_reads_folders_recursively_and_goes_on_after_errors(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.eml").write_bytes(fixture_bytes("qmail-freetext.eml"))
    (tmp_path / "b.eml").write_bytes(fixture_bytes("arf-abuse.eml"))
    result = runner.invoke(app, ["parse", str(tmp_path), str(tmp_path / "missing"), "--json"])
    assert result.exit_code == 1
    objs = [json.loads(line) for line in result.output.splitlines()]
    kinds = {Path(o["source"]).name: o["kind"] for o in objs}
    assert kinds == {"b.eml": "complaint", "a.eml": "delivery-status", "missing": "error"}
    error = next(o for o in objs if o["kind"] == "error")
    assert "\n" not in error["error"] and "missing" in error["error"]


def test_parse_reads_maildir_and_mbox(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(fixture_bytes("postfix-userunknown.eml"))
    box.add_folder("Bounces").add(fixture_bytes("qmail-freetext.eml"))
    mbox = mailbox.mbox(tmp_path / "box.mbox")
    mbox.add(fixture_bytes("arf-abuse.eml"))
    mbox.add(fixture_bytes("plain-mail.eml"))
    mbox.flush()
    result = runner.invoke(
        app, ["parse", str(tmp_path / "Maildir"), str(tmp_path / "box.mbox"), "--json"]
    )
    assert result.exit_code == 0, result.output
    kinds = sorted(json.loads(line)["kind"] for line in result.output.splitlines())
    assert kinds == ["complaint", "delivery-status", "delivery-status", "not-a-report"]


def test_parse_reads_standard_input() -> None:
    result = runner.invoke(app, ["parse", "-", "--json"], input=fixture_bytes("qmail-freetext.eml"))
    assert result.exit_code == 0
    obj = json.loads(result.output)
    assert obj["source"] == "-"
    assert obj["reports"][0]["recipient"] == "gone@example.net"


def test_parse_table_shows_hostile_text_literally() -> None:
    data = fixture_bytes("hostile-subject.eml").replace(
        b"victim@example.net\n", b"[bold]victim[/bold]@example.net\n"
    )
    result = runner.invoke(app, ["parse", "-"], input=data)
    assert result.exit_code == 0
    assert "\x1b" not in result.output
    assert "5.1.1" in result.output


def test_parse_table_strips_escape_sequences_from_sources(tmp_path: Path) -> None:
    path = tmp_path / "evil\x1b]52;c;aGk=\x07.eml"
    path.write_bytes(fixture_bytes("qmail-freetext.eml"))
    result = runner.invoke(app, ["parse", str(path)])
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\x07" not in result.output


def test_an_eml_file_and_a_maildir_message_are_one_message_despite_from_lines(
    tmp_path: Path,
) -> None:
    """A bounce quoting its original after a blank line, with an unescaped `From ` line
    (as a mailer writes it), is one message: only an mbox file is split there."""
    bounce = fixture_bytes("qmail-freetext.eml").rstrip(b"\n")
    quoted = b"\n\nFrom alice@example.org  Sat Oct  4 08:00:07 2025\nSubject: hi\n\nbody\n"
    data = b"From MAILER-DAEMON  Sat Oct  4 08:00:09 2025\n" + bounce + quoted
    (tmp_path / "bounce.eml").write_bytes(data)
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(bounce + quoted)
    (tmp_path / "box.mbox").write_bytes(data)
    result = runner.invoke(app, ["parse", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    by_source = {row["source"].removeprefix(str(tmp_path) + "/"): row for row in rows}
    in_maildir = [source for source in by_source if source.startswith("Maildir/new/")]
    assert len(rows) == 4 and len(in_maildir) == 1, sorted(by_source)
    assert {"bounce.eml", "box.mbox:1", "box.mbox:2"} <= set(by_source)
    assert by_source["bounce.eml"]["reports"][0]["recipient"] == "gone@example.net"
    assert by_source[in_maildir[0]]["reports"][0]["recipient"] == "gone@example.net"
    assert by_source["box.mbox:2"]["kind"] == "not-a-report"  # an mbox is still split


def test_parse_drops_the_envelope_line_whatever_ends_it(tmp_path: Path) -> None:
    """A file that starts with an mbox `From ` line is read after that line, with LF,
    CRLF and lone-CR line endings alike (a CR-only file has no LF at all), and from
    standard input too; each gives what the reader gives the message itself."""
    bounce = fixture_bytes("qmail-freetext.eml")
    envelope = b"From MAILER-DAEMON  Sat Oct  4 08:00:09 2025\n"
    for name, end in (("lf", b"\n"), ("crlf", b"\r\n"), ("cr", b"\r")):
        body = bounce.replace(b"\n", end)
        (tmp_path / f"{name}.eml").write_bytes(envelope.replace(b"\n", end) + body)
    result = runner.invoke(app, ["parse", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert row["kind"] == "delivery-status", row["source"]
        assert [r["recipient"] for r in row["reports"]] == ["gone@example.net"], row["source"]
    piped = runner.invoke(
        app,
        ["parse", "-", "--json"],
        input=envelope.replace(b"\n", b"\r") + bounce.replace(b"\n", b"\r"),
    )
    assert json.loads(piped.output)["reports"][0]["recipient"] == "gone@example.net"


def test_without_envelope_cuts_at_the_first_line_end() -> None:
    from dsnwatch.dsn.sources import without_envelope

    assert without_envelope(b"From x\nA: 1\r\n") == b"A: 1\r\n"
    assert without_envelope(b"From x\r\nA: 1\r\n") == b"A: 1\r\n"
    assert without_envelope(b"From x\rA: 1\r") == b"A: 1\r"
    assert without_envelope(b"From x\nA: 1\rB") == b"A: 1\rB"  # LF first: an LF file
    assert without_envelope(b"From x") == b""
    assert without_envelope(b"From x\r") == b""
