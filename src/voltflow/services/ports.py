"""The small interfaces services depend on, so tests and deployments can swap what sits behind,
and the interfaces and types the adapters (OCPP, REST, console, CLI, bus) are given by them: an
adapter holds these and never imports the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

# What adapters read of what the platform answers: a station's admission, the answer a logged
# call got, and the writer no longer taking work (a request meanwhile is answered "try later").
from voltflow.domain.errors import WriterClosed as WriterClosed
from voltflow.domain.records import Admission as Admission
from voltflow.domain.records import Answer as Answer


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What the station answered to a remote command."""

    station_id: str
    action: str
    payload: dict[str, Any]


class CommandError(Exception):
    """A remote command got no answer we can pass on as a result."""

    kind = "error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details


class StationOffline(CommandError):
    kind = "offline"


class CommandTimeout(CommandError):
    kind = "timeout"


class CommandRejected(CommandError):
    """The station answered with a CALLERROR."""

    kind = "callerror"


class InvalidCommand(CommandError):
    """The payload does not match the action's schema: never sent."""

    kind = "invalid"


class StationLink(Protocol):
    """Carries a CALL to a station and brings back its answer, wherever its socket is held.

    In one process this is the OCPP server itself; with several gateway processes it is a
    message bus that reaches the process holding the station's socket.
    """

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> CommandResult: ...

    def is_connected(self, station_id: str) -> bool: ...


class FrameLog(Protocol):
    """The OCPP message log as the protocol adapter writes it: an exchange a row (a frame, and
    the answer it got), riding the station writer's group commit."""

    def record(
        self,
        station_id: str,
        at: datetime,
        direction: str,
        raw: str,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
        note: str | None = None,
        answer: Answer | None = None,
    ) -> None:
        """Written with the next commit; returns at once (the station's own messages: what
        they say is stored already, the log of the last moments before a power cut may go)."""
        ...

    async def record_now(
        self,
        station_id: str,
        at: datetime,
        direction: str,
        raw: str,
        message_type: int | None,
        message_id: str | None,
        action: str | None,
        note: str | None = None,
        answer: Answer | None = None,
    ) -> None:
        """Returns once committed (a remote command's exchange, read by its caller next)."""
        ...
