"""What a simulated station holds: its connectors and their transactions, and the state the
parts of :class:`SimulatedStation` share (connection, sessions, commands), set up in one place."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection

from voltflow.simulator._auth import LocalAuthorization
from voltflow.simulator._client import StationClient
from voltflow.simulator._common import SimulatorError, seeded, utc_now
from voltflow.simulator._config import Configuration, Fault, StationConfig
from voltflow.simulator._meter import Meter
from voltflow.simulator._outbox import Outbox

log = logging.getLogger("voltflow.simulator")

Followup = Callable[[], Coroutine[Any, Any, None]]


def station_url(base: str, station_id: str) -> str:
    """``ws://host:port/ocpp`` + station id → the station's endpoint."""
    return f"{base.rstrip('/')}/{quote(station_id, safe='')}"


def retrieve(fut: asyncio.Future[Any]) -> None:
    # Marks an exception as seen, so an abandoned future does not log "never retrieved".
    if not fut.cancelled():
        fut.exception()


@dataclass(eq=False)
class Transaction:
    """A charging session as the station sees it. ``transaction_id`` is the central system's,
    known once StartTransaction has been answered (later, if the session began offline)."""

    connector_id: int
    id_tag: str
    meter_start: int
    started_at: datetime
    remote: bool = False
    transaction_id: int | None = None
    id_tag_status: str | None = None
    meter_stop: int | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    _stop: asyncio.Future[str] = field(init=False, repr=False)
    _ended: asyncio.Future[None] = field(init=False, repr=False)
    _start_answer: asyncio.Future[int | None] = field(init=False, repr=False)
    _stop_answer: asyncio.Future[bool] = field(init=False, repr=False)
    _unplug: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop = loop.create_future()
        self._ended = loop.create_future()
        self._start_answer = loop.create_future()
        self._stop_answer = loop.create_future()

    @property
    def active(self) -> bool:
        """Charging, no stop asked for yet."""
        return not self._stop.done()

    @property
    def energy_wh(self) -> int | None:
        return None if self.meter_stop is None else self.meter_stop - self.meter_start

    async def wait_started(self, timeout: float | None = None) -> int:
        """The transaction id, once the central system has answered StartTransaction."""
        tid = await asyncio.wait_for(asyncio.shield(self._start_answer), timeout)
        if tid is None:
            raise SimulatorError("StartTransaction got no transaction id from the central system")
        return tid

    async def wait_stopped(self, timeout: float | None = None) -> None:
        """Until the central system has answered this session's StopTransaction."""
        delivered = await asyncio.wait_for(asyncio.shield(self._stop_answer), timeout)
        if not delivered:
            raise SimulatorError("StopTransaction was not delivered")

    def _request_stop(self, reason: str, *, unplug: bool = True) -> bool:
        if self._stop.done():
            return False
        self._unplug = unplug
        self._stop.set_result(reason)
        return True

    def _abandon(self) -> None:
        if not self._ended.done():
            self._ended.set_result(None)
        if not self._start_answer.done():
            self._start_answer.set_result(None)
        if not self._stop_answer.done():
            self._stop_answer.set_result(False)


class Signal:
    """Wakes every current waiter; waiters use ``asyncio.wait`` on :meth:`future`, never cancel."""

    def __init__(self) -> None:
        self._fut: asyncio.Future[None] | None = None

    def future(self) -> asyncio.Future[None]:
        if self._fut is None or self._fut.done():
            self._fut = asyncio.get_running_loop().create_future()
        return self._fut

    def fire(self) -> None:
        if self._fut is not None and not self._fut.done():
            self._fut.set_result(None)
        self._fut = None


class Connector:
    def __init__(self, connector_id: int, config: StationConfig, station_id: str) -> None:
        self.id = connector_id
        self.rng = seeded(config.seed, station_id, connector_id)
        start = config.meter_start_wh
        if start is None:
            start = self.rng.randint(100_000, 5_000_000)
        self.meter = Meter(float(start), time.monotonic())
        # A fault the station reports for it (Faulted) until what heals it comes.
        self.fault: Fault | None = (
            config.fault if connector_id in config.faulted_connectors else None
        )
        self.status = "Faulted" if self.fault is not None else "Available"
        self.status_at = utc_now()
        self.operative = True
        self.scheduled_operative: bool | None = None
        self.transaction: Transaction | None = None
        self.task: asyncio.Task[None] | None = None
        # A RemoteStartTransaction was accepted for it; the session starts after the answer.
        self.claimed = False


@dataclass(eq=False)
class Link:
    ws: ClientConnection
    client: StationClient
    reader: asyncio.Task[None]


class StationState:
    """The state of one station, and the bookkeeping every part of it uses."""

    def __init__(
        self,
        url: str,
        station_id: str,
        *,
        password: str | None = None,
        config: StationConfig | None = None,
    ) -> None:
        self.config = config = config or StationConfig()
        self.station_id = station_id
        self.url = station_url(url, station_id)
        self.password = password
        self.config_keys = Configuration(config, config.heartbeat_interval or 0, password)
        self.local_auth = LocalAuthorization(
            int(self.config_keys.number("LocalAuthListMaxLength")),
            int(self.config_keys.number("SendLocalListMaxLength")),
        )
        self.registration: str | None = None
        self.boot_count = 0
        self.firmware_version = config.firmware_version
        self.firmware_status = "Idle"
        self.diagnostics_status = "Idle"
        # How firmware updates fail (``download``, ``install``), if they do: may change as it runs.
        self.firmware_fails = config.firmware_fails
        self.last_error: str | None = None
        self._connectors = {
            i: Connector(i, config, station_id) for i in range(1, config.connectors + 1)
        }
        self._rng_net = seeded(config.seed, station_id, "network")
        self._heartbeat_s = float(config.heartbeat_interval or 0)
        self._outbox = Outbox(config.max_queue)
        self._link: Link | None = None
        self._ready = asyncio.Event()  # connected, boot accepted
        self._booted = asyncio.Event()  # accepted at least once since power-on
        self._closed = asyncio.Event()
        self._registered = False
        self._rebooting = False
        self._reboot_requested = False
        self._maintenance = False
        self._closing = False
        self._offline_until = 0.0
        # Cleared while the station is offline for good (``go_offline``), until ``come_back``.
        self._network_up = asyncio.Event()
        self._network_up.set()
        # The kind of the Reset that is rebooting the station (Soft, Hard); None: its own reboot.
        self._reset_kind: str | None = None
        self._pending_firmware: str | None = None
        self._firmware_task: asyncio.Task[Any] | None = None
        self._followups: list[Followup] | None = None
        self._heartbeat_changed = Signal()
        self._settings_changed = Signal()
        self._main: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: task failed", self.station_id, exc_info=task.exception())

    def _connector(self, connector_id: int) -> Connector:
        try:
            return self._connectors[connector_id]
        except KeyError:
            raise SimulatorError(
                f"{self.station_id} has connectors 1–{len(self._connectors)}, not {connector_id}"
            ) from None

    def _note_error(self, message: str) -> None:
        if message != self.last_error:
            log.warning("%s: %s", self.station_id, message)
        self.last_error = message
