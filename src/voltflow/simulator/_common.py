"""Small shared pieces: UTC time stamps, errors, the seeded randomness."""

from __future__ import annotations

import random
from datetime import UTC, datetime


class SimulatorError(Exception):
    """Something the simulated station cannot do as asked."""


class SessionRejected(SimulatorError):
    """A charging session could not start: connector busy or unavailable, or idTag refused."""


class Offline(SimulatorError):
    """The station has no accepted connection to the central system right now."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    """OCPP time: UTC, ISO 8601, milliseconds, ``Z``."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime | None:
    try:
        ts = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def seeded(seed: int, *parts: object) -> random.Random:
    """A generator of its own per station (and per connector): what one draws never depends on
    how the others interleave, so a seed replays the same plan."""
    return random.Random("/".join([str(seed), *(str(p) for p in parts)]))


def jittered(rng: random.Random, value: float, jitter: float) -> float:
    if value <= 0 or jitter <= 0:
        return max(value, 0.0)
    return value * rng.uniform(1 - jitter, 1 + jitter)
