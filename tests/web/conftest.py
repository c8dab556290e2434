"""Fixtures of the web tests: the API as the operator calls it, in process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

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
