"""The small interfaces services depend on, so tests and deployments can swap what sits behind,
and the interfaces and types the adapters (OCPP, REST, console, CLI, bus) are given by them: an
adapter holds these and never imports the store."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from voltflow.domain.commands import Command, CommandKind

# What adapters read of what the platform answers: a station's admission, the answer a logged
# call got, and the writer no longer taking work (a request meanwhile is answered "try later").
from voltflow.domain.errors import WriterClosed as WriterClosed
from voltflow.domain.events import Event
from voltflow.domain.mail import OutgoingMail
from voltflow.domain.records import Admission as Admission
from voltflow.domain.records import Answer as Answer
from voltflow.domain.records import LoggedFrame as LoggedFrame


class Changes(Protocol):
    """What a use case tells others once it commits."""

    def emit(self, event: Event) -> None: ...

    def after_commit(self, action: Callable[[], None]) -> None:
        """``action`` runs once the unit committed (not at all if it fails): what must see the
        change, like a push to the stations, starts then."""
        ...


class UnitOfWork(Protocol):
    """One use case, one transaction: ``async with uow() as changes:`` commits the block's
    reads, checks, writes, audit entries and emitted events together, or none of them."""

    def __call__(self) -> AbstractAsyncContextManager[Changes]: ...

    def current(self) -> Changes | None: ...


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


@dataclass(frozen=True, slots=True)
class KeyOffer:
    """A command that gives the station a new key (its HTTP Basic password): the key it carries,
    as given (checked before anything is sent)."""

    value: object


class ProtocolCatalogue(Protocol):
    """The commands a station's protocol version takes, in that version's own words: what an
    operator may send it, and how the platform's own commands read in it. Each OCPP version
    adapter has one; the services never name a version's actions themselves."""

    @property
    def version(self) -> str:
        """The version, as stored with a station (``"1.6"``)."""
        ...

    @property
    def remote_actions(self) -> Sequence[str]:
        """What the platform may send a station, in the order an operator is shown them."""
        ...

    @property
    def actions(self) -> frozenset[str]:
        """Every action of the version either side sends: what the message log can hold."""
        ...

    def action(self, name: str) -> str:
        """The remote action's own spelling for ``name``, whatever its case; ValueError,
        naming the known ones, for what the platform may not send."""
        ...

    def kind(self, action: str) -> CommandKind:
        """What a remote action does (``action`` as ``action()`` spells it)."""
        ...

    def default_payload(self, action: str) -> dict[str, Any] | None:
        """What the action sends when the operator gives no payload; None when it needs one."""
        ...

    def example_payload(self, action: str) -> dict[str, Any]:
        """A hint of what the action's payload holds, never sent as is."""
        ...

    def encode(self, command: Command) -> tuple[str, dict[str, Any]]:
        """The action and payload that carry ``command``; ValueError when this version cannot
        say it."""
        ...

    def key_change(self, key: str) -> tuple[str, dict[str, Any]]:
        """The action and payload that give the station ``key``."""
        ...

    def key_offer(self, action: str, payload: Mapping[str, Any]) -> KeyOffer | None:
        """The new key, when the command gives the station one; else None."""
        ...


class StationLink(Protocol):
    """Carries a CALL to a station and brings back its answer, wherever its socket is held.

    In one process this is the OCPP server itself; with several gateway processes it is a
    message bus that reaches the process holding the station's socket.
    """

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float
    ) -> CommandResult: ...

    def is_connected(self, station_id: str) -> bool: ...

    def catalogue(self, station_id: str) -> ProtocolCatalogue:
        """The commands of the protocol version the station speaks: the one its connection
        negotiated, or the platform's default for a station not connected here."""
        ...


class FrameLog(Protocol):
    """The OCPP message log as the protocol adapter writes it: an exchange a row (a frame, and
    the answer it got), riding the station writer's group commit."""

    def record(self, frame: LoggedFrame) -> None:
        """Written with the next commit; returns at once (the station's own messages: what
        they say is stored already, the log of the last moments before a power cut may go)."""
        ...

    async def record_now(self, frame: LoggedFrame) -> None:
        """Returns once committed (a remote command's exchange, read by its caller next)."""
        ...


class MailNotSent(Exception):
    """The server did not take the mail this time (unreachable, busy, a 4xx answer): it stays
    in the outbox and is tried again later."""


class MailRefused(MailNotSent):
    """The server refused the mail for good (a 5xx answer: no such recipient): never tried
    again."""


class Mailer(Protocol):
    """Hands a rendered mail to a mail server. Returns once the server took it; raises
    ``MailNotSent`` (try again) or ``MailRefused`` (do not)."""

    async def send(self, mail: OutgoingMail) -> None: ...


class BlobMissing(LookupError):
    """The store holds nothing under the key."""


class BlobStore(Protocol):
    """Where files (a job's photos, signatures and documents) are kept, by a key the platform
    makes: a folder on this machine, or S3-compatible object storage. Only the services hand
    files out, after checking who asks."""

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        """Stores ``data`` under ``key``; returns once it is durable."""
        ...

    async def get(self, key: str) -> bytes:
        """What is stored under ``key``; ``BlobMissing`` when nothing is."""
        ...

    async def delete(self, key: str) -> None:
        """Removes what is under ``key``, if anything."""
        ...
