"""Who is really calling, and over what, behind a TLS-terminating proxy; cookies to match.

Pure ASGI middlewares. :class:`TrustedProxies` believes ``X-Forwarded-For`` and
``X-Forwarded-Proto`` only from the proxies it is given, and rewrites the request's client and
scheme with them, so that everything after it (login throttling by address, the console's list
of sessions, Secure cookies) sees the client, not the proxy. :class:`SecureCookies` marks the
cookies of a response ``Secure`` when its request came over TLS (or always, when told to).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voltflow.domain.addresses import forwarded_client, is_trusted, parse_networks


class TrustedProxies:
    def __init__(self, app: ASGIApp, trusted: Iterable[str]) -> None:
        self.app = app
        self.networks = parse_networks(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.networks:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        if not client or not is_trusted(client[0], self.networks):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        scope = dict(scope)
        proto = headers.get(b"x-forwarded-proto")
        if proto:
            # The proxy nearest to us appends last: its word is the one to take.
            last = proto.decode("latin-1").split(",")[-1].strip().lower()
            if last in ("http", "https"):
                secure = last == "https"
                if scope["type"] == "websocket":
                    scope["scheme"] = "wss" if secure else "ws"
                else:
                    scope["scheme"] = last
        forwarded_for = headers.get(b"x-forwarded-for")
        if forwarded_for:
            host = forwarded_client(client[0], forwarded_for.decode("latin-1"), self.networks)
            if host is not None and host != client[0]:
                scope["client"] = (host, 0)
        await self.app(scope, receive, send)


class SecureCookies:
    def __init__(self, app: ASGIApp, *, always: bool = False) -> None:
        self.app = app
        self.always = always

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (self.always or scope.get("scheme") == "https"):
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"set-cookie" and b"secure" not in _attributes(value):
                        value = value + b"; Secure"
                    headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_secure)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name; a repeated header's values joined by commas."""
    found: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", []):
        key = name.lower()
        found[key] = found[key] + b"," + value if key in found else value
    return found


def _attributes(cookie: bytes) -> set[bytes]:
    """A Set-Cookie value's attribute names (``secure``, ``httponly``, ...), lower-case."""
    return {part.split(b"=", 1)[0].strip().lower() for part in cookie.split(b";")[1:]}
