"""`make screenshots`: the console's screens from the real console on the lab, as SVG.

Run to a temporary folder (SHOTS=...), so docs/images/ stays as committed; each
image must be an SVG of the screen it is named after.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from docs_commands import ROOT

from dsnwatch.lab import Lab
from dsnwatch.tui.screenshots import SHOTS

pytestmark = pytest.mark.lab

# Words each screen shows whatever the lab holds (Textual writes spaces as &#160;).
EXPECTED = {
    "console-main.svg": ["Logs", "Reports", "pipeline", "ok", "Quit"],
    "console-detail.svg": ["Report", "Fields", "recipient", "reason", "diagnostic_code"],
    "console-doctor.svg": ["Doctor", "OK", "sieve", "imap"],
    "console-tests.svg": ["Test bounces", "Local", "Remote", "Complaint"],
    "console-install.svg": ["Nothing", "change"],
    "console-help.svg": ["Install", "Doctor", "Resync"],
}


def _text(svg: Path) -> str:
    root = ET.parse(svg).getroot()  # well-formed XML, or this raises
    assert root.tag.endswith("svg")
    return " ".join("".join(node.itertext()) for node in root.iter() if node.tag.endswith("text"))


@pytest.mark.timeout(400)
def test_make_screenshots_writes_every_screen(lab: Lab, tmp_path: Path) -> None:
    out = tmp_path / "images"
    env = {**os.environ, "DSNWATCH_STORE": str(tmp_path / "store.sqlite")}
    done = subprocess.run(
        ["make", "screenshots", f"SHOTS={out}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=380,
    )
    failed = [line for line in done.stdout.splitlines() if "FAIL" in line]
    last = (done.stderr.strip().splitlines() or [""])[-1]  # the error itself, first
    assert done.returncode == 0, "\n".join([last, *failed]) + "\n" + done.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == sorted(name for name, _ in SHOTS)
    assert set(EXPECTED) == {name for name, _ in SHOTS}
    for name, words in EXPECTED.items():
        text = _text(out / name).replace("\xa0", " ")
        missing = [w for w in words if w not in text]
        assert not missing, f"{name} lacks {missing}"
