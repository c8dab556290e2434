"""Fixtures of the web tests: the API as the operator calls it, in process."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from voltflow.bootstrap import Platform
from voltflow.web import create_app


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """The REST API with an operator's key (user ``op``)."""
    await platform.organisations.add_operator("op", "op-password")
    key = await platform.accounts.create_api_key("op")
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {key}"}
    ) as client:
        yield client


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@asynccontextmanager
async def console(
    app: FastAPI, username: str, password: str, language: str = "en"
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser's session in the console, logged in: the client and the CSRF token its forms
    carry."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 50123))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Accept-Language": language}
    ) as client:
        token = CSRF_INPUT.search((await client.get("/login")).text)
        assert token
        answer = await client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token.group(1)},
        )
        assert answer.status_code == 303, answer.text
        found = CSRF_INPUT.search((await client.get("/account")).text)
        assert found
        yield client, found.group(1)
