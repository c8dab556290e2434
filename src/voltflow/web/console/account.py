"""Logging in and out, and the person's own account: their console sessions (ending them all),
their password."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor
from voltflow.services.accounts import AccountError, LoginThrottled
from voltflow.web.auth import (
    SESSION_TOKEN,
    ConsoleUser,
    CsrfChecked,
    PlatformDep,
    console_actor,
    session_token,
)
from voltflow.web.console.common import FieldErrors, flash, redirect, render
from voltflow.web.lengths import NAME_MAX, PASSWORD_MAX

router = APIRouter(include_in_schema=False)


def client_address(request: Request) -> str | None:
    """The caller's address (a trusted proxy's X-Forwarded-For already applied)."""
    return request.client.host if request.client else None


def _wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


@router.get("/login", response_model=None)
async def login_page(request: Request, platform: PlatformDep) -> Response:
    if await console_actor(request, platform) is not None:
        return RedirectResponse("/stations", status_code=303)
    return render(request, "login.html", {"error": None})


@router.post("/login", dependencies=[CsrfChecked])
async def login(
    request: Request,
    platform: PlatformDep,
    username: Annotated[str, Form(max_length=NAME_MAX)],
    password: Annotated[str, Form(max_length=PASSWORD_MAX)],
) -> Response:
    address = client_address(request)
    try:
        user = await platform.accounts.authenticate(username, password, source=address)
    except LoginThrottled as exc:
        response = render(
            request,
            "login.html",
            {
                "error": "Too many failed attempts from your address: "
                f"try again in {_wait(exc.retry_after)}.",
                "username": username,
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if user is None:
        return render(
            request,
            "login.html",
            {"error": "Wrong username or password.", "username": username},
            status_code=401,
        )
    previous = session_token(request)
    if previous is not None:
        await platform.accounts.end_session(previous)
    # A new cookie altogether (new token, new CSRF token): nothing set before the login carries
    # over into it.
    request.session.clear()
    request.session[SESSION_TOKEN] = await platform.accounts.start_session(
        user, user_agent=request.headers.get("user-agent"), address=address
    )
    return RedirectResponse("/stations", status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
async def logout(
    request: Request, platform: PlatformDep, everywhere: Annotated[bool, Form()] = False
) -> Response:
    """Ends this session, or with ``everywhere`` every session of the person's (other browsers,
    other devices, a copied cookie)."""
    token = session_token(request)
    ended_all = False
    if token is not None:
        if everywhere:
            actor = await platform.accounts.session_actor(token)
            if actor is not None:
                await platform.accounts.end_all_sessions(actor.user_id)
                ended_all = True
        await platform.accounts.end_session(token)
    request.session.clear()
    if ended_all:
        flash(request, "Logged out everywhere: every session of yours has ended.")
    return RedirectResponse("/login", status_code=303)


async def _account_context(request: Request, platform: Platform, user: Actor) -> dict[str, Any]:
    return {
        "user": user,
        "person": await platform.accounts.get(user.user_id),
        "sessions": await platform.accounts.sessions_of(
            user.user_id, current=session_token(request)
        ),
        "password_errors": FieldErrors(),
    }


@router.get("/account")
async def account(request: Request, platform: PlatformDep, user: ConsoleUser) -> Response:
    return render(request, "account.html", await _account_context(request, platform, user))


@router.post("/account/password", dependencies=[CsrfChecked])
async def change_password(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    current_password: Annotated[str, Form(max_length=PASSWORD_MAX)] = "",
    new_password: Annotated[str, Form(max_length=PASSWORD_MAX)] = "",
    confirm_password: Annotated[str, Form(max_length=PASSWORD_MAX)] = "",
) -> Response:
    """A new password; the person's other sessions end, this one goes on."""
    errors = FieldErrors()
    status, retry_after = 422, None
    if not current_password:
        errors["current_password"] = "required"
    if new_password != confirm_password:
        errors["confirm_password"] = "not the same as the new password"
    if not errors:
        try:
            await platform.accounts.change_password(
                user.user_id,
                current_password,
                new_password,
                keep_session=session_token(request),
                source=client_address(request),
            )
        except AccountError as exc:
            errors[exc.field or "new_password"] = str(exc).split(": ", 1)[-1]
        except LoginThrottled as exc:
            status, retry_after = 429, exc.retry_after
            errors["current_password"] = (
                f"too many wrong attempts: try again in {_wait(exc.retry_after)}"
            )
    if errors:
        context = await _account_context(request, platform, user)
        context["password_errors"] = errors
        response = render(request, "account.html", context, status_code=status)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response
    flash(request, "Password changed. Your other sessions have ended.")
    return redirect("/account")
