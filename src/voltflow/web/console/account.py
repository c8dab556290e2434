"""Logging in and out, and the person's own account: their console sessions (ending them all),
their password."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor
from voltflow.i18n import LANGUAGES, _, language, ngettext, supported, use
from voltflow.services.accounts import AccountError, LoginThrottled
from voltflow.web.auth import (
    SESSION_TOKEN,
    ConsoleUser,
    CsrfChecked,
    PlatformDep,
    console_actor,
    session_token,
)
from voltflow.web.console.common import FieldErrors, back, flash, redirect, render
from voltflow.web.language import SESSION_LANGUAGE, SESSION_TIMEZONE
from voltflow.web.lengths import NAME_MAX, PASSWORD_MAX

router = APIRouter(include_in_schema=False)


def client_address(request: Request) -> str | None:
    """The caller's address (a trusted proxy's X-Forwarded-For already applied)."""
    return request.client.host if request.client else None


def _wait(seconds: int) -> str:
    if seconds < 90:
        return ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": seconds}
    minutes = (seconds + 59) // 60
    return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}


def _keep_language(request: Request) -> dict[str, Any]:
    """What a new or emptied cookie keeps: the language the person reads the console in."""
    return {k: request.session[k] for k in (SESSION_LANGUAGE,) if k in request.session}


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
                "error": _("Too many failed attempts from your address: try again in %(wait)s.")
                % {"wait": _wait(exc.retry_after)},
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
            {"error": _("Wrong username or password."), "username": username},
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
    # The person's own language from now on; a first login keeps what the browser asked for
    # (or the header's choice), so that it is theirs the next time too.
    if user.language is None:
        await platform.accounts.set_preferences(user.id, language=language())
    request.session[SESSION_LANGUAGE] = user.language or language()
    if user.timezone:
        request.session[SESSION_TIMEZONE] = user.timezone
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
    kept = _keep_language(request)
    request.session.clear()
    request.session.update(kept)
    if ended_all:
        flash(request, _("Logged out everywhere: every session of yours has ended."))
    return RedirectResponse("/login", status_code=303)


async def _account_context(request: Request, platform: Platform, user: Actor) -> dict[str, Any]:
    return {
        "user": user,
        "person": await platform.accounts.get(user.user_id),
        "sessions": await platform.accounts.sessions_of(
            user.user_id, current=session_token(request)
        ),
        "password_errors": FieldErrors(),
        "preference_errors": FieldErrors(),
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
        errors["current_password"] = _("required")
    if new_password != confirm_password:
        errors["confirm_password"] = _("not the same as the new password")
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
            errors["current_password"] = _("too many wrong attempts: try again in %(wait)s") % {
                "wait": _wait(exc.retry_after)
            }
    if errors:
        context = await _account_context(request, platform, user)
        context["password_errors"] = errors
        response = render(request, "account.html", context, status_code=status)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response
    flash(request, _("Password changed. Your other sessions have ended."))
    return redirect("/account")


@router.post("/language", dependencies=[CsrfChecked])
async def switch_language(
    request: Request, platform: PlatformDep, lang: Annotated[str, Form(max_length=8)] = ""
) -> Response:
    """The header's switch: this browser's language, and the person's own when logged in."""
    chosen = supported(lang)
    if chosen is not None:
        request.session[SESSION_LANGUAGE] = chosen
        actor = await console_actor(request, platform)
        if actor is not None:
            await platform.accounts.set_preferences(actor.user_id, language=chosen)
    return redirect(back(request, "/"))


@router.post("/account/preferences", dependencies=[CsrfChecked])
async def preferences(
    request: Request,
    platform: PlatformDep,
    user: ConsoleUser,
    lang: Annotated[str, Form(max_length=8)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The person's language and time zone, kept in their profile."""
    errors = FieldErrors()
    if lang not in LANGUAGES:
        errors["lang"] = _("one of the languages offered")
    else:
        try:
            await platform.accounts.set_preferences(
                user.user_id, language=lang, timezone=timezone.strip() or None
            )
        except AccountError as exc:
            errors[exc.field or "timezone"] = str(exc).split(": ", 1)[-1]
    if errors:
        context = await _account_context(request, platform, user)
        context["preference_errors"] = errors
        return render(request, "account.html", context, status_code=422)
    request.session[SESSION_LANGUAGE] = lang
    if timezone.strip():
        request.session[SESSION_TIMEZONE] = timezone.strip()
    with use(lang):
        flash(request, _("Preferences saved."))
    return redirect("/account")
