"""The cheap header address reader gives what the standard parser gives."""

from __future__ import annotations

from email.utils import getaddresses, parseaddr

from hypothesis import given, settings
from hypothesis import strategies as st

from dsnwatch.dsn.addrlist import addresses, first_address, name_and_address

_PIECES = st.sampled_from(
    [
        "a",
        "b.c",
        "@",
        "example.org",
        " ",
        ",",
        "<",
        ">",
        "Name",
        "\t",
        "\n ",
        "x-y",
        "+",
        ".",
        '"',
        "(",
        ")",
        '"Mail, Daemon"',
        "(Mail System)",
    ]
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_PIECES, max_size=14).map("".join))
def test_same_addresses_as_the_standard_parser(value: str) -> None:
    assert addresses(value) == [a for _, a in getaddresses([value]) if a]
    assert first_address(value) == parseaddr(value)[1]
    assert name_and_address(value) == parseaddr(value)


def test_plain_and_named_addresses() -> None:
    value = "Box One <one@example.org>, two@example.net"
    assert addresses(value) == ["one@example.org", "two@example.net"]
    # Quotes and comments go to the full grammar.
    assert addresses('"Doe, J" <j@example.org> (work)') == ["j@example.org"]


def test_long_hostile_headers_stay_fast() -> None:
    import time

    for value in ("x" + " " * 20000 + "y", "a" * 20000, "x <a@b.example" + " " * 20000):
        start = time.perf_counter()
        name_and_address(value)
        addresses(value)
        assert time.perf_counter() - start < 0.5, value[:20]
