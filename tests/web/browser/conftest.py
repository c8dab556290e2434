"""Browser tests of the operator console: Debian's Chromium driven by Playwright (async API).

Chromium missing skips these tests, except in CI (``CI`` set) where they are mandatory and fail.
Never ``playwright install``: the browser is the system's.

One Chromium serves the whole session (starting Playwright's driver and the browser costs seconds);
each test gets its own platform, a real uvicorn server on a free port, and a fresh browser context.
All of it runs in the session's event loop: the test modules here say so in their ``pytestmark``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from tests.conftest import make_settings
from voltflow.bootstrap import Platform, build

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, ViewportSize

IN_CI = bool(os.environ.get("CI"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
OPERATOR = ("op", "op-password")
# The console polls every 5 s; a change must show within one poll and some slack.
LIVE_TIMEOUT_MS = 10_000
EXPECT_TIMEOUT_MS = 7_500


def _chromium() -> str | None:
    """Debian's Chromium; ``$VOLTFLOW_CHROMIUM`` names another build (or none, to see the skip)."""
    wanted = os.environ.get("VOLTFLOW_CHROMIUM")
    if wanted is not None:
        return wanted if os.access(wanted, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="session", autouse=True)
def chromium_path() -> str:
    """Autouse: a missing browser skips (or, in CI, fails) before anything else starts."""
    path = _chromium()
    problem = None
    if path is None:
        problem = (
            "Chromium not found (/usr/bin/chromium, `chromium` on PATH, $VOLTFLOW_CHROMIUM):"
            " `apt-get install chromium` to run the browser tests"
        )
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError as exc:
            problem = f"Playwright for Python is not installed ({exc}): install the dev extra"
    if problem is not None:
        if IN_CI:
            pytest.fail(f"{problem}; they are mandatory in CI")
        pytest.skip(problem)
    assert path is not None
    return path


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright, expect

    # A loaded CI machine is slow to render: the default 5 s of expect() is tight there.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def platform(database_url: str) -> AsyncIterator[Platform]:
    """The suite's ``platform``, built in the session loop the browser tests run in."""
    p = build(make_settings(database_url))
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def console(platform: Platform) -> AsyncIterator[str]:
    """A real uvicorn serving the console on a free port, with an operator; yields the base URL."""
    import uvicorn

    from voltflow.web import create_app

    await platform.organisations.add_operator(*OPERATOR)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(platform),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


@dataclass
class Console:
    """The console under test: its URL, the platform behind it and a browser page on it."""

    url: str
    platform: Platform
    page: Page

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.platform.ocpp.port}/ocpp"

    async def login(self, username: str = OPERATOR[0], password: str = OPERATOR[1]) -> None:
        await self.page.goto(f"{self.url}/login")
        await self.page.get_by_label("Username").fill(username)
        await self.page.get_by_label("Password").fill(password)
        await self.page.get_by_role("button", name="Log in").click()


@contextlib.asynccontextmanager
async def _page(
    browser: Browser, base_url: str, viewport: ViewportSize, *, phone: bool = False
) -> AsyncIterator[Page]:
    ctx = await browser.new_context(
        base_url=base_url,
        viewport=viewport,
        is_mobile=phone,
        has_touch=phone,
    )
    ctx.set_default_timeout(LIVE_TIMEOUT_MS)
    errors: list[str] = []
    try:
        page = await ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        await ctx.close()


@pytest_asyncio.fixture(loop_scope="session")
async def ui(browser: Browser, console: str, platform: Platform) -> AsyncIterator[Console]:
    """A desktop-sized page on the console, not logged in yet."""
    async with _page(browser, console, DESKTOP) as page:
        yield Console(console, platform, page)


@pytest_asyncio.fixture(loop_scope="session")
async def phone(browser: Browser, console: str, platform: Platform) -> AsyncIterator[Console]:
    """A phone-sized page (touch, mobile viewport) on the console, not logged in yet."""
    async with _page(browser, console, PHONE, phone=True) as page:
        yield Console(console, platform, page)


@dataclass
class Screenshots:
    """Where screenshots go: ``$VOLTFLOW_SCREENSHOTS`` when set (and then the phone's too, to
    look at them), else a temp dir."""

    dir: Path
    all: bool


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    wanted = os.environ.get("VOLTFLOW_SCREENSHOTS")
    path = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return Screenshots(path, bool(wanted))
