"""The ASGI application."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from voltflow import __version__
from voltflow.bootstrap import Platform
from voltflow.web import api, console, problems
from voltflow.web.auth import LoginRequired


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
    app.add_middleware(
        SessionMiddleware,
        secret_key=platform.settings.secret_key,
        session_cookie="voltflow_session",
        same_site="lax",
        https_only=platform.settings.secure_cookies,
        max_age=12 * 3600,
    )
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
