"""`lab reset` empties the mailboxes (runs last: it clears what other tests left)."""

from __future__ import annotations

import pytest

from dsnwatch.lab import Lab
from lab.lab_helpers import imap_login, new_token, send, wait_for_messages

pytestmark = pytest.mark.lab


def test_reset_empties_every_mailbox(lab: Lab) -> None:
    token = new_token()
    send(lab, lab.settings.address("bob"), token)
    wait_for_messages(lab, "bob", token)

    lab.reset()

    for user in ("bob", "alice"):
        client = imap_login(lab, user)
        try:
            assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
        finally:
            client.logout()
