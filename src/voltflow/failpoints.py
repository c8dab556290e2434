"""Named places in the code where a fault can be made to happen, so that tests can show what a
crash or an error at exactly that place does (a process killed between a commit and the
publication of its events, an audit entry that cannot be written after the change it records).

Set from the environment for a whole process, ``VOLTFLOW_FAILPOINTS="outbox.before_publish=pause"``
(several separated by ``;``), or in-process with :func:`enable`. Actions: ``error`` raises
:class:`InjectedFault`; ``pause`` blocks the task that reaches the place for good (the process
goes on, as a stuck peer would leave it). With nothing set, a failpoint costs a dict lookup.
"""

from __future__ import annotations

import asyncio
import logging
import os

log = logging.getLogger(__name__)

ACTIONS = ("error", "pause")


class InjectedFault(RuntimeError):
    pass


def _parse(spec: str) -> dict[str, str]:
    active: dict[str, str] = {}
    for part in spec.split(";"):
        if not part.strip():
            continue
        name, _, action = part.partition("=")
        action = action.strip() or "error"
        if action not in ACTIONS:
            raise ValueError(f"failpoint {name.strip()!r}: action must be one of {ACTIONS}")
        active[name.strip()] = action
    return active


_active: dict[str, str] = _parse(os.environ.get("VOLTFLOW_FAILPOINTS", ""))


def enable(name: str, action: str = "error") -> None:
    _active.update(_parse(f"{name}={action}"))


def disable(name: str | None = None) -> None:
    """Clears ``name``, or every failpoint."""
    if name is None:
        _active.clear()
    else:
        _active.pop(name, None)


async def reach(name: str) -> None:
    action = _active.get(name)
    if action is None:
        return
    log.warning("failpoint %s: %s", name, action)
    if action == "pause":
        await asyncio.Event().wait()
    raise InjectedFault(name)


def reach_now(name: str) -> None:
    """For code that cannot wait (the writer's thread): only ``error`` applies."""
    if _active.get(name) == "error":
        raise InjectedFault(name)
