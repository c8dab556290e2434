"""Request bodies over a size limit are refused before anything reads, parses or authenticates
them: from their Content-Length at once, or, sent in chunks, as soon as the running count passes
the limit. A pure ASGI middleware, so that it sits in front of the whole application.

Without it an unauthenticated body of any size is read whole and parsed before the API key is
even looked at, and the process's memory grows with it (docs/reliability.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voltflow.web.problems import respond

MiB = 1024 * 1024
DEFAULT_LIMIT = 1 * MiB


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a chunked body passes the limit. An HTTPException: FastAPI
    passes those on from its body parsing unchanged (any other error there becomes a 400), and
    the application's handler answers it as problem details."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit), headers={"Connection": "close"})
        self.limit = limit


def _detail(limit: int) -> str:
    size = f"{limit // MiB} MiB" if limit % MiB == 0 else f"{limit // 1024} KiB"
    return f"the request body is larger than {size}, the most this address accepts"


class BodyLimit:
    """``default``: the most any request body may carry, in bytes; ``routes``: other limits by
    path (whatever the method), e.g. for file imports; ``{name}`` in a path stands for one
    segment (``/api/v1/jobs/{job_id}/attachments``)."""

    def __init__(
        self, app: ASGIApp, *, default: int = DEFAULT_LIMIT, routes: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default = default
        self.routes = {p: n for p, n in (routes or {}).items() if "{" not in p}
        self.patterns = [
            (re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(p)) + "$"), n)
            for p, n in (routes or {}).items()
            if "{" in p
        ]

    def limit_for(self, path: str) -> int:
        exact = self.routes.get(path)
        if exact is not None:
            return exact
        return next((n for pattern, n in self.patterns if pattern.match(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # Raised where nothing turned it into an answer (outside a route's body parsing).
            if started:
                raise
            await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        await too_large(Request(scope), limit)(scope, receive, send)


def too_large(request: Request, limit: int) -> Response:
    response = respond(request, 413, "Request body too large", _detail(limit))
    # What the client still sends is never read: the connection cannot carry another request.
    response.headers["Connection"] = "close"
    return response


def install(app: FastAPI, *, default: int = DEFAULT_LIMIT, routes: Mapping[str, int]) -> None:
    """The limits, and the answer when a route's body parsing meets one."""

    async def _too_large(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BodyTooLarge)
        return too_large(request, exc.limit)

    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_middleware(BodyLimit, default=default, routes=routes)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
