"""What every command shares: running async work, errors as messages, opening the platform.

Every command reports problems as a message and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import resource
from collections.abc import Awaitable, Callable, Coroutine
from typing import IO, Any, ParamSpec, TypeVar

import click

from voltflow.bootstrap import Platform, build
from voltflow.config import Settings
from voltflow.i18n import _, language

P = ParamSpec("P")
R = TypeVar("R")


class Failure(click.ClickException):
    """A message and exit status 1, its "Error:" in the command's language: click shows it once
    the command (and its language) has ended, so the line is worded when the error is raised."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.line = _("Error: %(message)s") % {"message": message}

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.line, file=file, err=file is None)


def fail(message: str) -> click.ClickException:
    return Failure(message)


def run_async(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """Run an async command, turning the errors people can fix into messages."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return asyncio.run(fn(*args, **kwargs))
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except (OSError, ValueError, LookupError) as exc:
            raise fail(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, SQLAlchemyError):
                error = f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"
                raise fail(_("database error: %(error)s") % {"error": error}) from exc
            raise

    return wrapper


def settings_of(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


async def _open(settings: Settings, *, migrate: bool = True) -> Platform:
    from voltflow.bootstrap import upgrade

    platform = build(settings)
    if migrate:
        await upgrade(platform.db)
    await platform.start(ocpp=False)
    return platform


async def with_platform(settings: Settings, work: Callable[[Platform], Awaitable[R]]) -> R:
    platform = await _open(settings)
    try:
        return await work(platform)
    finally:
        await platform.stop()


def raise_file_limit() -> None:
    """Each station holds a socket: let the process use every descriptor it is allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def api_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--api-key", envvar="VOLTFLOW_API_KEY", default=None, help="Or set VOLTFLOW_API_KEY."
    )(fn)
    return click.option(
        "--api-url", envvar="VOLTFLOW_API_URL", default="http://127.0.0.1:8000", show_default=True
    )(fn)


def api_post(api_url: str, api_key: str, path: str, timeout: float = 40) -> dict[str, Any]:
    """POST to the running server's API; its problem details become the message."""
    import httpx

    try:
        response = httpx.post(
            f"{api_url.rstrip('/')}/api/v1{path}",
            # The server's refusals in the language of this command's messages.
            headers={"Authorization": f"Bearer {api_key}", "Accept-Language": language()},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise fail(
            _("cannot reach the server at %(url)s: %(error)s") % {"url": api_url, "error": exc}
        ) from exc
    data = response.json() if response.headers.get("content-type", "").endswith("json") else {}
    if response.status_code != 200:
        raise fail(data.get("detail") or data.get("title") or f"HTTP {response.status_code}")
    result: dict[str, Any] = data
    return result
