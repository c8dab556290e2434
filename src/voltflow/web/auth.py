"""Who is calling: an API key (``Authorization: Bearer``) for the API, a console session for the
console. The console's cookie is signed and carries a random token; the session it names is
looked up server-side on every request (``console_sessions``), so that logging out, a password
change or disabling the person ends it at once, copies of the cookie included. CSRF tokens
protect the console's forms."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor

CSRF_FIELD = "csrf_token"
# The console session's token, in the signed cookie.
SESSION_TOKEN = "sid"


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(platform_of)]


async def api_user(
    platform: PlatformDep, authorization: Annotated[str | None, Header()] = None
) -> Actor:
    if authorization and authorization.lower().startswith("bearer "):
        actor = await platform.accounts.actor_for_api_key(authorization[7:].strip())
        if actor is not None:
            return actor
    raise HTTPException(
        401, "a valid API key is required (Authorization: Bearer …)", {"WWW-Authenticate": "Bearer"}
    )


ApiUser = Annotated[Actor, Depends(api_user)]


class LoginRequired(Exception):
    """Raised by console pages; answered with a redirect to the login page."""


def session_token(request: Request) -> str | None:
    token = request.session.get(SESSION_TOKEN)
    return token if isinstance(token, str) else None


async def console_actor(request: Request, platform: Platform) -> Actor | None:
    """The person whose console session the request carries, if it still holds; a cookie whose
    session ended (logged out, expired, password changed, person disabled) is emptied."""
    token = session_token(request)
    if token is None:
        return None
    actor = await platform.accounts.session_actor(token)
    if actor is None:
        request.session.clear()
    return actor


async def console_user(request: Request, platform: PlatformDep) -> Actor:
    actor = await console_actor(request, platform)
    if actor is None:
        raise LoginRequired()
    return actor


ConsoleUser = Annotated[Actor, Depends(console_user)]


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


async def check_csrf(request: Request) -> None:
    """Forms post the token as a field; htmx sends it as the ``X-CSRF-Token`` header."""
    expected = request.session.get(CSRF_FIELD)
    sent = request.headers.get("X-CSRF-Token")
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        raise HTTPException(403, "CSRF token missing or invalid: reload the page and try again")


CsrfChecked = Depends(check_csrf)
