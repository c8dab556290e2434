"""Whom a request comes from behind our proxies, as the web side and the OCPP handshake see it."""

import re

import pytest

from voltflow.domain.addresses import forwarded_client, parse_networks, source_key

PROXIES = parse_networks(["127.0.0.1", "10.0.0.0/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("127.0.0.1", None, "127.0.0.1"),
        # What the client wrote itself is left of the address our proxy added: not believed.
        ("127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        # Past our own proxies, from the nearest hop outwards.
        ("127.0.0.1", "203.0.113.7, 10.1.2.3", "203.0.113.7"),
        ("127.0.0.1", "10.1.2.3, 10.4.5.6", "10.1.2.3"),
        # A peer that is not one of our proxies is the client, whatever it forwards.
        ("192.0.2.5", "203.0.113.7", "192.0.2.5"),
        (None, "203.0.113.7", None),
    ],
)
def test_the_client_is_the_right_most_address_not_of_our_proxies(
    peer: str | None, forwarded_for: str | None, client: str | None
) -> None:
    assert forwarded_client(peer, forwarded_for, PROXIES) == client


def test_a_bad_proxy_setting_is_refused_with_its_text() -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33'")):
        parse_networks(["10.0.0.0/33"])


def test_a_scoped_ipv6_address_counts_as_its_64() -> None:
    assert source_key("fe80::1%eth0") == "fe80::/64"
