"""The ASGI application."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from voltflow import __version__
from voltflow.bootstrap import Platform
from voltflow.web import api, console, limits, problems
from voltflow.web.api.cards import MAX_IMPORT_BYTES
from voltflow.web.auth import LoginRequired
from voltflow.web.language import LanguageMiddleware
from voltflow.web.limits import DEFAULT_LIMIT
from voltflow.web.proxy import SecureCookies, TrustedProxies

# A CSV import's file may be larger than any other body; the console's comes as a multipart form
# whose boundaries and headers add a little.
IMPORT_LIMIT = MAX_IMPORT_BYTES + 64 * 1024
BODY_LIMITS = {"/api/v1/cards/import": IMPORT_LIMIT, "/cards/import": IMPORT_LIMIT}


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="Voltflow",
        version=__version__,
        description="Charging stations over OCPP, sessions and remote commands.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.platform = platform
    settings = platform.settings
    # Added innermost first. The signed cookie holds the console session's token (checked
    # server-side on every request, see auth), the CSRF token and flash messages; HttpOnly and
    # SameSite=Lax, and Secure when the request came over TLS (SecureCookies, which needs the
    # scheme a trusted proxy reported: TrustedProxies); no body is read before BodyLimit let it.
    # The language of the request comes from the cookie's choice or Accept-Language.
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="voltflow_session",
        same_site="lax",
        max_age=12 * 3600,
    )
    app.add_middleware(SecureCookies, always=settings.secure_cookies)
    app.add_middleware(TrustedProxies, trusted=settings.trusted_proxies)
    # A job's file may be as large as the setting allows, and comes as a multipart form.
    uploads = {"/api/v1/jobs/{job_id}/attachments": settings.attachment_max_bytes + 64 * 1024}
    limits.install(app, default=DEFAULT_LIMIT, routes={**BODY_LIMITS, **uploads})
    problems.install(app)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse("/login", status_code=303)

    app.include_router(api.router)
    app.include_router(console.router)
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    return app
