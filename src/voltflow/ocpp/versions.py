"""The OCPP versions the server speaks, by the WebSocket subprotocol that selects each.

A station offers the subprotocols it speaks in its handshake; the first of these, in this
order, that it offers is the one its connection speaks. Serving another version is one more
package beside ``v16`` and one more line here."""

from __future__ import annotations

from collections.abc import Iterable

from voltflow.ocpp import v16
from voltflow.ocpp.protocol import OcppVersion

VERSIONS: dict[str, OcppVersion] = {
    v16.VERSION.subprotocol: v16.VERSION,
}

# What a station not connected here, or a connection made without a handshake, is spoken to in.
DEFAULT = v16.VERSION


def negotiate(offered: Iterable[str]) -> OcppVersion | None:
    """The version for a handshake that offered these subprotocols; None when it offered none
    that is served. Picks as the WebSocket layer picks the subprotocol it answers with: the
    first served one that was offered."""
    wanted = {p.strip() for p in offered}
    return next((v for p, v in VERSIONS.items() if p in wanted), None)


def remote_action(name: str) -> str:
    """The remote action's own spelling in any served version, whatever the case of ``name``;
    ValueError naming the known ones when no version has it."""
    errors = []
    for version in VERSIONS.values():
        try:
            return version.catalogue.action(name)
        except ValueError as exc:
            errors.append(str(exc))
    raise ValueError("; ".join(errors))
