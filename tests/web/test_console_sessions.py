"""Console sessions live on the server: logging out ends them for every copy of the cookie, "log
out everywhere" and a password change end the others, a disabled person's stop working; cookies
are HttpOnly, SameSite=Lax, and Secure behind a trusted TLS proxy. Failed logins are throttled per
address and per (account, address), never by locking the account. Real HTTP (httpx against the
ASGI app) on both databases; the clock is the platform's own, frozen and moved by hand."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from voltflow.bootstrap import Platform, build
from voltflow.web import create_app

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
COOKIE = "voltflow_session"
OPERATOR = ("op", "op-password")
HOME = "/stations"


class HandClock:
    """The platform's clock, moved by the test."""

    def __init__(self) -> None:
        self.at = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class Console:
    platform: Platform
    app: FastAPI
    clock: HandClock
    user_id: int


@pytest.fixture
async def console(database_url: str) -> AsyncIterator[Console]:
    clock = HandClock()
    platform = build(make_settings(database_url), clock=clock)
    await platform.start(ocpp=False)
    try:
        person = await platform.organisations.add_operator(*OPERATOR)
        yield Console(platform, create_app(platform), clock, person.user_id)
    finally:
        await platform.stop()


@asynccontextmanager
async def browser(
    app: FastAPI, address: str = "198.51.100.7", headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client at ``address``, with a cookie jar of its own."""
    transport = httpx.ASGITransport(app=app, client=(address, 50123))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=headers or {}
    ) as client:
        yield client


async def csrf(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path)
    found = CSRF_INPUT.search(page.text)
    assert found, page.text
    return found.group(1)


async def login(
    client: httpx.AsyncClient, username: str = OPERATOR[0], password: str = OPERATOR[1]
) -> httpx.Response:
    token = await csrf(client)
    return await client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


async def logged_in(client: httpx.AsyncClient) -> bool:
    page = await client.get(HOME)
    if page.status_code == 303:
        assert page.headers["location"] == "/login"
        return False
    assert page.status_code == 200, page.text
    return True


async def test_a_copied_cookie_is_refused_after_logout(console: Console) -> None:
    async with browser(console.app) as mine, browser(console.app, "203.0.113.66") as thief:
        assert (await login(mine)).status_code == 303
        thief.cookies.set(COOKIE, mine.cookies[COOKIE])
        assert await logged_in(thief)

        token = await csrf(mine, HOME)
        out = await mine.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/login"

        assert not await logged_in(mine)
        assert not await logged_in(thief)
        assert (await thief.get("/account")).status_code == 303
        # htmx asks too: told to go to the login page, not given the fragment.
        partial = await thief.get(HOME, headers={"HX-Request": "true"})
        assert partial.status_code == 401 and partial.headers["HX-Redirect"] == "/login"


async def test_log_out_everywhere_ends_every_session(console: Console) -> None:
    async with (
        browser(console.app) as laptop,
        browser(console.app, "192.0.2.20", {"User-Agent": "PhoneBrowser/1.0"}) as phone,
    ):
        assert (await login(laptop)).status_code == 303
        assert (await login(phone)).status_code == 303

        page = await laptop.get("/account")
        assert page.status_code == 200
        assert page.text.count("data-console-session=") == 2
        assert "PhoneBrowser/1.0" in page.text and "192.0.2.20" in page.text
        assert "this one" in page.text

        token = CSRF_INPUT.search(page.text)
        assert token
        out = await laptop.post(
            "/logout", data={"csrf_token": token.group(1), "everywhere": "true"}
        )
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert "Logged out everywhere" in (await laptop.get("/login")).text

        assert not await logged_in(phone)
        assert not await logged_in(laptop)
        assert await console.platform.accounts.sessions_of(console.user_id) == []


async def test_a_password_change_ends_the_other_sessions(console: Console) -> None:
    async with browser(console.app) as here, browser(console.app, "192.0.2.21") as elsewhere:
        assert (await login(here)).status_code == 303
        assert (await login(elsewhere)).status_code == 303

        token = await csrf(here, "/account")
        wrong = await here.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current_password": "not-it",
                "new_password": "a-new-password",
                "confirm_password": "a-new-password",
            },
        )
        assert wrong.status_code == 422
        assert "not the right one" in wrong.text
        assert await logged_in(elsewhere)

        changed = await here.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current_password": OPERATOR[1],
                "new_password": "a-new-password",
                "confirm_password": "a-new-password",
            },
        )
        assert changed.status_code == 303 and changed.headers["location"] == "/account"
        assert "Password changed" in (await here.get("/account")).text

        assert await logged_in(here)
        assert not await logged_in(elsewhere)
        assert (await login(elsewhere)).status_code == 401
        assert (await login(elsewhere, password="a-new-password")).status_code == 303


async def test_guessing_the_current_password_is_throttled(console: Console) -> None:
    async with browser(console.app, "203.0.113.5") as stolen, browser(console.app) as operator:
        assert (await login(stolen)).status_code == 303
        token = await csrf(stolen, "/account")
        guess = {
            "csrf_token": token,
            "current_password": "guess-guess",
            "new_password": "taken-over-1",
            "confirm_password": "taken-over-1",
        }
        for _ in range(6):
            assert (await stolen.post("/account/password", data=guess)).status_code == 422
        refused = await stolen.post("/account/password", data=guess)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "2"
        assert "too many wrong attempts" in refused.text
        assert (await login(operator)).status_code == 303


async def test_a_disabled_person_is_refused_everywhere(console: Console) -> None:
    key = await console.platform.accounts.create_api_key(OPERATOR[0])
    async with browser(console.app) as client:
        assert (await login(client)).status_code == 303
        assert await logged_in(client)

        await console.platform.accounts.disable(console.user_id)

        assert not await logged_in(client)
        assert (await login(client)).status_code == 401
        api = await client.get("/api/v1/stations", headers={"Authorization": f"Bearer {key}"})
        assert api.status_code == 401

        await console.platform.accounts.enable(console.user_id)
        assert (await login(client)).status_code == 303
        assert await logged_in(client)


async def test_a_session_ends_twelve_hours_after_login(console: Console) -> None:
    async with browser(console.app) as client:
        assert (await login(client)).status_code == 303
        console.clock.advance(11 * 3600)
        assert await logged_in(client)
        console.clock.advance(3600)
        assert not await logged_in(client)


async def test_a_login_replaces_the_session_the_cookie_had(console: Console) -> None:
    async with browser(console.app) as client, browser(console.app) as copy:
        assert (await login(client)).status_code == 303
        copy.cookies.set(COOKIE, client.cookies[COOKIE])
        # Logged in, the login page sends the person on; the form is posted again all the same.
        token = await csrf(client, "/account")
        again = await client.post(
            "/login", data={"username": OPERATOR[0], "password": OPERATOR[1], "csrf_token": token}
        )
        assert again.status_code == 303
        assert await logged_in(client)
        assert not await logged_in(copy)
        assert len(await console.platform.accounts.sessions_of(console.user_id)) == 1


def _cookie(response: httpx.Response) -> str:
    cookies = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
    assert len(cookies) == 1, cookies
    return cookies[0]


def _attributes(cookie: str) -> set[str]:
    return {p.split("=", 1)[0].strip().lower() for p in cookie.split(";")[1:]}


@pytest.mark.parametrize(
    ("address", "forwarded_proto", "secure"),
    [
        ("127.0.0.1", "https", True),  # the TLS proxy in front, trusted by default
        ("127.0.0.1", None, False),  # plain HTTP straight to the platform
        ("127.0.0.1", "http", False),
        ("203.0.113.9", "https", False),  # anyone else saying so is not believed
    ],
)
async def test_cookies_are_secure_when_a_trusted_proxy_says_tls(
    console: Console, address: str, forwarded_proto: str | None, secure: bool
) -> None:
    headers = {"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {}
    async with browser(console.app, address, headers) as client:
        cookie = _cookie(await client.get("/login"))
    attributes = _attributes(cookie)
    assert "httponly" in attributes
    assert "samesite=lax" in cookie.lower()
    assert ("secure" in attributes) is secure


async def test_trusted_proxies_are_a_setting(database_url: str) -> None:
    platform = build(make_settings(database_url, trusted_proxies=("10.0.0.0/8",)))
    app = create_app(platform)
    await platform.start(ocpp=False)
    try:
        await platform.organisations.add_operator(*OPERATOR)
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.77, 10.0.0.2"}
        async with browser(app, "10.20.30.40", forwarded) as proxied:
            assert "secure" in _attributes(_cookie(await proxied.get("/login")))
        async with browser(app, "127.0.0.1", forwarded) as local:
            assert "secure" not in _attributes(_cookie(await local.get("/login")))
        # The address of the session is the client's, past the proxies.
        async with browser(app, "10.20.30.40", {"X-Forwarded-For": "192.0.2.77, 10.0.0.2"}) as c:
            assert (await login(c)).status_code == 303
            assert "192.0.2.77" in (await c.get("/account")).text
    finally:
        await platform.stop()


async def test_secure_cookies_setting_marks_them_always(database_url: str) -> None:
    platform = build(make_settings(database_url, secure_cookies=True))
    await platform.start(ocpp=False)
    try:
        async with browser(create_app(platform), "203.0.113.9") as client:
            assert "secure" in _attributes(_cookie(await client.get("/login")))
    finally:
        await platform.stop()


# -- throttling -----------------------------------------------------------------------------------


async def test_failures_from_one_address_do_not_lock_the_account_elsewhere(
    console: Console,
) -> None:
    async with browser(console.app, "203.0.113.5") as attacker, browser(console.app) as operator:
        for _ in range(5):
            assert (await login(attacker, password="guess-guess")).status_code == 401
        assert (await login(operator)).status_code == 303
        assert await logged_in(operator)


async def test_repeated_failures_from_an_address_are_refused_for_a_growing_time(
    console: Console,
) -> None:
    async with browser(console.app, "203.0.113.5") as attacker, browser(console.app) as operator:
        for _ in range(6):
            assert (await login(attacker, password="guess-guess")).status_code == 401
        refused = await login(attacker, password="guess-guess")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "2"
        assert "Too many failed attempts from your address" in refused.text
        assert "try again in 2 seconds" in refused.text
        # Refused before the password is looked at: the right one too.
        assert (await login(attacker)).status_code == 429
        # Meanwhile, from elsewhere, nothing stands in the way.
        assert (await login(operator)).status_code == 303

        console.clock.advance(2)
        assert (await login(attacker, password="guess-guess")).status_code == 401
        again = await login(attacker, password="guess-guess")
        assert again.status_code == 429 and again.headers["Retry-After"] == "4"

        console.clock.advance(4)
        assert (await login(attacker)).status_code == 303


async def test_an_address_trying_many_accounts_is_refused_for_all(console: Console) -> None:
    async with browser(console.app, "203.0.113.5") as attacker, browser(console.app) as operator:
        for n in range(21):
            assert (await login(attacker, f"someone-{n}", "guess-guess")).status_code == 401
        refused = await login(attacker, "someone-else", "guess-guess")
        assert refused.status_code == 429
        assert (await login(attacker)).status_code == 429
        assert (await login(operator)).status_code == 303


async def test_a_throttled_address_behind_the_proxy_is_the_client_not_the_proxy(
    console: Console,
) -> None:
    def via_proxy(client: str) -> dict[str, str]:
        return {"X-Forwarded-For": client}

    async with (
        browser(console.app, "127.0.0.1", via_proxy("203.0.113.5")) as attacker,
        browser(console.app, "127.0.0.1", via_proxy("198.51.100.7")) as operator,
    ):
        for _ in range(6):
            assert (await login(attacker, password="guess-guess")).status_code == 401
        assert (await login(attacker, password="guess-guess")).status_code == 429
        assert (await login(operator)).status_code == 303


async def test_over_long_logins_are_refused_before_hashing_or_counting(console: Console) -> None:
    async with browser(console.app, "203.0.113.5") as client:
        for username, password in (("x" * 60_000, "guess-guess"), (OPERATOR[0], "p" * 60_000)):
            refused = await login(client, username, password)
            assert refused.status_code == 422
            assert "at most" in refused.text
        # Neither counted as a failure of this address: five real ones still go before a 429.
        for _ in range(5):
            assert (await login(client, password="guess-guess")).status_code == 401
        assert (await login(client)).status_code == 303
