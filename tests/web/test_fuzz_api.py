"""The REST API under generated requests: schemathesis reads the OpenAPI document and Hypothesis
makes requests from it, valid and invalid, sent to the application in-process as an operator, on
SQLite.

No answer may be a server error, and every answer keeps to what the document says: its status codes,
content types and body schemas. (Not checked: that every request the document calls invalid is
refused. Pydantic reads leniently on purpose, a number as a Unix time for a date-time for one.)

Hypothesis drives each test synchronously, while the platform needs its event loop for as long as it
runs: the platform lives on an event loop of its own thread, and each generated request is sent to
the application there through httpx.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Coroutine, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import requests
import schemathesis
from hypothesis import settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import factories
from tests.conftest import make_settings
from tests.jobs_support import png
from voltflow.bootstrap import build
from voltflow.domain.access import OrganisationKind
from voltflow.domain.contracts import ContractKind
from voltflow.domain.installations.attachments import AttachmentKind
from voltflow.domain.installations.jobs import JobKind, JobStep
from voltflow.services.lists import ListKind
from voltflow.web import create_app

T = TypeVar("T")
BASE_URL = "http://fuzz"
# Per operation, for the fuzzing phase (the coverage phase adds its own boundary cases). With 35
# operations the whole file takes a minute or two on two cores. Raise it locally to search harder.
MAX_EXAMPLES = 20

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"max-examples": MAX_EXAMPLES, "mode": "all"},
        "phases": {"stateful": {"enabled": False}},
    }
)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _document() -> dict[str, Any]:
    """The OpenAPI document of an application whose platform never starts: no database needed."""
    document: dict[str, Any] = create_app(build(make_settings("sqlite:///:memory:"))).openapi()
    return document


schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


class Live:
    """A started platform on its own event loop, and an httpx client to its application."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="fuzz-platform", daemon=True
        )
        self.thread.start()
        files = database_url.removeprefix("sqlite:///") + "-files"  # beside the database
        self.platform = build(make_settings(database_url, files=files))
        self.key = ""
        self.client: httpx.AsyncClient | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    async def start(self) -> None:
        p = self.platform
        await p.start()
        op = await factories.operator(p)
        self.key = await p.accounts.create_api_key(op.username)
        # Something for the generated identifiers to find: small integers name these.
        acme = await factories.company(p, op, "Acme", drivers=1)
        await p.stations.add("CP-1", "station-pass-0001", actor=op)
        await p.stations.set_owner(op, "CP-1", acme.id)
        await p.contracts.create(op, acme.id, ContractKind.EMSP, starts_on=date(2026, 1, 1))
        uids = await p.cards.import_csv(op, factories.stock_csv(3))
        await p.cards.distribute(op, uids, acme.id)
        group = await p.lists.create_group(op, acme.id, "Depot", ["CP-1"])
        made = await p.lists.create_list(
            op, acme.id, ListKind.WHITELIST, "Guests", group_id=group.id
        )
        await p.lists.add_cards(op, made.id, uids[:1])
        # A commissioning under way at CP-1, with a photo (job 1, file 1).
        sparks = await factories.company(p, op, "Sparks", kind=OrganisationKind.INSTALLER)
        job = await p.jobs.request(
            op,
            JobKind.COMMISSIONING,
            station_id="CP-1",
            installer_id=sparks.id,
            technician_id=sparks.manager.user_id,
        )
        tomorrow = p.clock.now() + timedelta(days=1)
        await p.jobs.step(op, job.job.id, JobStep.SCHEDULE, planned_at=tomorrow)
        await p.jobs.step(op, job.job.id, JobStep.START)
        await p.jobs.attach(op, job.job.id, AttachmentKind.PHOTO, png(), "station.png")
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(p)), base_url=BASE_URL
        )

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        await self.platform.stop()

    def send(self, case: schemathesis.Case) -> tuple[httpx.Response, dict[str, Any]]:
        """The case as schemathesis would send it with requests, sent with httpx instead."""
        kwargs = case.as_transport_kwargs(
            base_url=BASE_URL, headers={"Authorization": f"Bearer {self.key}"}
        )
        prepared = requests.Request(
            method=kwargs["method"],
            url=kwargs["url"],
            headers=kwargs.get("headers"),
            params=kwargs.get("params"),
            cookies=kwargs.get("cookies"),
            json=kwargs.get("json"),
            data=kwargs.get("data"),
            files=kwargs.get("files"),
        ).prepare()
        assert self.client is not None
        assert prepared.method is not None and prepared.url is not None
        try:
            response = self.run(
                self.client.request(
                    prepared.method,
                    prepared.url,
                    headers=dict(prepared.headers),
                    content=prepared.body,
                )
            )
        except Exception as exc:  # the application failed: a 500, with its traceback
            raise AssertionError(f"server error for: {case.as_curl_command()}") from exc
        return response, kwargs


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("fuzz") / "voltflow.db"
    shutil.copy(sqlite_template, path)
    live = Live(f"sqlite:///{path}")
    try:
        live.run(live.start())
        yield live
    finally:
        live.run(live.stop())
        live.loop.call_soon_threadsafe(live.loop.stop)
        live.thread.join(10)
        live.loop.close()


@schema.parametrize()
@settings(deadline=None)
def test_generated_requests_get_documented_answers(case: schemathesis.Case, live: Live) -> None:
    response, kwargs = live.send(case)
    case.validate_response(
        response, checks=CHECKS, headers=kwargs.get("headers"), transport_kwargs=kwargs
    )
