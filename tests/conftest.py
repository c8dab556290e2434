"""Fixtures shared by the whole suite.

Integration and end-to-end tests run once per database: SQLite always, PostgreSQL when the server
at ``VOLTFLOW_TEST_POSTGRES_URL`` answers. In CI (``CI`` set) a missing PostgreSQL fails the run
instead of skipping it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from voltflow.bootstrap import Platform, build
from voltflow.config import Settings
from voltflow.store.database import create_database, normalize_url, upgrade
from voltflow.store.tables import metadata

POSTGRES_URL = os.environ.get(
    "VOLTFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = bool(os.environ.get("CI"))
PEPPOL_RULES = Settings.from_env().peppol_rules


def _postgres_problem() -> str | None:
    async def probe() -> None:
        db = create_database(POSTGRES_URL)
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text("select 1"))
        finally:
            await db.dispose()

    try:
        asyncio.run(asyncio.wait_for(probe(), 5))
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_URL} unreachable ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: migrating once keeps tests fast."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def make() -> None:
        db = create_database(f"sqlite:///{path}")
        await upgrade(db)
        await db.dispose()

    asyncio.run(make())
    return path


@pytest.fixture(scope="session")
def postgres_ready() -> Iterator[str]:
    """A database of this test run's own (``vf_test_<pid>``), so that runs never share tables."""
    problem = _postgres_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"{problem}: PostgreSQL tests are mandatory in CI")
        pytest.skip(f"{problem}; set VOLTFLOW_TEST_POSTGRES_URL to run the PostgreSQL tests")
    name = f"vf_test_{os.getpid()}"
    url = (
        make_url(normalize_url(POSTGRES_URL))
        .set(database=name)
        .render_as_string(hide_password=False)
    )

    async def admin(statements: list[str]) -> None:
        db = create_database(POSTGRES_URL)
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await conn.execute(text(statement))
        await db.dispose()

    async def leftovers() -> list[str]:
        db = create_database(POSTGRES_URL)
        async with db.engine.connect() as conn:
            names = (
                await conn.execute(
                    text("SELECT datname FROM pg_database WHERE datname LIKE 'vf_test_%'")
                )
            ).scalars()
            found = [n for n in names if not _pid_alive(int(n.rsplit("_", 1)[1]))]
        await db.dispose()
        return found

    async def create() -> None:
        stale = await leftovers()
        await admin([f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in [*stale, name]])
        await admin([f'CREATE DATABASE "{name}"'])
        db = create_database(url)
        await upgrade(db)
        await db.dispose()

    asyncio.run(create())
    yield url
    asyncio.run(admin([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)']))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "voltflow.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_ready")

    async def truncate() -> None:
        db = create_database(url)
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await db.dispose()

    asyncio.run(truncate())
    yield url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    settings = Settings(
        database_url=database_url,
        ocpp_host="127.0.0.1",
        ocpp_port=0,
        http_port=0,
        # Tests outlive no power cut; NORMAL keeps WAL commits cheap while staying crash-safe.
        sqlite_synchronous="NORMAL",
        command_timeout=5,
        secret_key="test-secret",
        # Files tests upload go to a folder of this run, never into the checkout.
        files=str(Path(tempfile.gettempdir()) / f"voltflow-test-files-{os.getpid()}"),
        # E-invoices are checked against the rules the documents' tests use, where they are.
        peppol_rules=PEPPOL_RULES,
    )
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


@pytest.fixture
async def platform(database_url: str, tmp_path: Path) -> AsyncIterator[Platform]:
    p = build(make_settings(database_url, files=str(tmp_path / "files")))
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


@pytest.fixture
def ocpp_url(platform: Platform) -> str:
    return f"ws://127.0.0.1:{platform.ocpp.port}/ocpp"


NATS_URL = os.environ.get("VOLTFLOW_TEST_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture(scope="session")
def nats_ready() -> str:
    """NATS is mandatory in CI; elsewhere its tests skip with the reason."""
    import nats

    async def probe() -> None:
        nc = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0)
        await nc.close()

    try:
        asyncio.run(asyncio.wait_for(probe(), 5))
    except Exception as exc:
        problem = f"NATS at {NATS_URL} unreachable ({type(exc).__name__}: {exc})"
        if IN_CI:
            pytest.fail(f"{problem}: NATS tests are mandatory in CI")
        pytest.skip(f"{problem}; set VOLTFLOW_TEST_NATS_URL to run the NATS tests")
    return NATS_URL
