"""The language of each request: the console's from the person's choice (kept in the signed
session cookie once they log in or pick one in the header), else the browser's
``Accept-Language``; the API's from ``Accept-Language`` alone. English when nothing we speak is
asked for."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from voltflow.i18n import negotiate, supported, use

# In the console's session cookie: the person's language and time zone.
SESSION_LANGUAGE = "lang"
SESSION_TIMEZONE = "tz"


def request_language(scope: Scope) -> str | None:
    path: str = scope.get("path", "")
    if not path.startswith("/api/"):
        session = scope.get("session")
        if isinstance(session, dict):
            chosen = supported(session.get(SESSION_LANGUAGE))
            if chosen is not None:
                return chosen
    return negotiate(Headers(scope=scope).get("accept-language"))


class LanguageMiddleware:
    """Inside the session middleware: it reads the cookie the session middleware decoded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with use(request_language(scope)):
            await self.app(scope, receive, send)
