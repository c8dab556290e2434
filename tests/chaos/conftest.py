"""The fault tests' PostgreSQL cluster. Each module here is marked ``chaos``: it breaks a real
server process (or its database) under a real load. They run with the rest of the suite;
``pytest -m "not chaos"`` leaves them out."""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Iterator
from typing import NoReturn

import pytest

from tests.chaos.support import ThrowawayPostgres
from tests.conftest import IN_CI


def _unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{reason}: the PostgreSQL chaos tests are mandatory in CI")
    pytest.skip(reason)


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL 15+ cluster of this test's own (``initdb``), running on a free port."""
    if shutil.which("initdb") is None:
        _unavailable("initdb is not on PATH: no PostgreSQL cluster of our own to stop")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no postgres user to run initdb as")
    cluster = ThrowawayPostgres()
    try:
        try:
            cluster.init()
            cluster.start()
        except Exception as exc:
            _unavailable(f"could not start a PostgreSQL cluster with initdb: {exc}")
        yield cluster
    finally:
        cluster.destroy()
