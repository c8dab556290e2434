"""``voltflow user disable`` and ``enable``: a disabled person cannot log in or use an API key."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import make_settings
from voltflow.bootstrap import build
from voltflow.cli.main import main


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database", db, *args], catch_exceptions=False)
    return result.exit_code, result.output


def _can_log_in_and_use(db: str, key: str) -> tuple[bool, bool]:
    async def check() -> tuple[bool, bool]:
        platform = build(make_settings(db))
        try:
            user = await platform.accounts.authenticate("op", "op-password")
            actor = await platform.accounts.actor_for_api_key(key)
        finally:
            await platform.db.dispose()
        return user is not None, actor is not None

    return asyncio.run(check())


def test_a_disabled_user_can_neither_log_in_nor_use_a_key(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert invoke(db, "user", "add", "op", "--password", "op-password")[0] == 0
    code, key = invoke(db, "apikey", "create", "op")
    assert code == 0
    assert _can_log_in_and_use(db, key.strip()) == (True, True)

    code, out = invoke(db, "user", "disable", "op")
    assert (code, out.strip()) == (0, "user op disabled; their console sessions have ended")
    assert _can_log_in_and_use(db, key.strip()) == (False, False)

    code, out = invoke(db, "user", "enable", "op")
    assert (code, out.strip()) == (0, "user op enabled")
    assert _can_log_in_and_use(db, key.strip()) == (True, True)

    code, out = invoke(db, "user", "disable", "nobody")
    assert code == 1 and "no user nobody" in out and "Traceback" not in out
