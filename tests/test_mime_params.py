"""Content-Type parameters are read as the standard class reads them."""

from __future__ import annotations

from email.message import Message

from hypothesis import given, settings
from hypothesis import strategies as st

from dsnwatch.dsn.mime import POLICY, Part

_PIECES = st.sampled_from(
    [
        "multipart/mixed",
        ";",
        " ",
        "boundary",
        "=",
        '"',
        "b1",
        "charset",
        "utf-8",
        "<",
        ">",
        "Boundary",
        "\t",
        "x;y",
        "report-type",
    ]
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join), st.sampled_from(["boundary", "charset"]))
def test_parameters_match_the_standard_class(value: str, name: str) -> None:
    ours, theirs = Part(policy=POLICY), Message(policy=POLICY)
    ours["Content-Type"] = value
    theirs["Content-Type"] = value
    assert ours.get_param(name) == theirs.get_param(name)
    assert ours.get_boundary() == theirs.get_boundary()
    assert ours.get_content_charset() == theirs.get_content_charset()


def test_a_changed_header_is_read_again() -> None:
    part = Part(policy=POLICY)
    part["Content-Type"] = 'multipart/mixed; boundary="one"'
    assert part.get_content_type() == "multipart/mixed"
    assert part.get_boundary() == "one"
    assert "content-type" in part
    del part["Content-Type"]
    assert part.get("Content-Type") is None
    assert "Content-Type" not in part
    part["Content-Type"] = 'text/plain; charset="latin-1"'
    assert part.get_content_type() == "text/plain"
    assert part.get_content_charset() == "latin-1"
    part.replace_header("Content-Type", "text/html")
    assert part.get_content_type() == "text/html"
    assert part.get_content_charset() is None
