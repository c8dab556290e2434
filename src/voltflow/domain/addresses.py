"""Where a request comes from: the client behind our own proxies, and the source a limit counts.

Shared by the web side (login throttling, the console's sessions) and the OCPP handshake
(its throttle and the trust it keeps per station): the same rule on both, so that a station
behind the TLS-terminating proxy of security profile 2 is told from its neighbours as a browser
is.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> list[Network]:
    """``127.0.0.1``, ``10.0.0.0/8``, ``::1``: a bad one is refused with its text."""
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"trusted proxy {value!r}: not an address or network") from exc
    return networks


def is_trusted(host: str | None, networks: Sequence[Network]) -> bool:
    if not host or not networks:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def forwarded_client(
    peer: str | None, forwarded_for: str | None, networks: Sequence[Network]
) -> str | None:
    """The client's address: the peer's, unless the peer is one of our proxies and says whom
    it forwards (``X-Forwarded-For``, its values joined by commas when repeated)."""
    if not forwarded_for or not is_trusted(peer, networks):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    # From the nearest hop outwards, past our own proxies: the first address they did not add
    # themselves is the client (what comes before it, the client could forge).
    for hop in reversed(hops):
        if not is_trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


def source_key(address: str | None) -> str:
    """What a limit counts an address as: an IPv4 address (also when written IPv4-mapped), or
    an IPv6 address's /64 (one subscriber gets a whole /64 and could otherwise change address at
    every attempt)."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
