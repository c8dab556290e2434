"""One simulated OCPP 1.6J charge point: connection with reconnects, boot, heartbeat, charging
sessions with meter values, and answers to every remote command the platform sends."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from voltflow.simulator._auth import LocalAuthorization
from voltflow.simulator._client import StationClient
from voltflow.simulator._common import (
    Offline,
    SessionRejected,
    SimulatorError,
    iso,
    jittered,
    parse_iso,
    seeded,
    utc_now,
)
from voltflow.simulator._config import Configuration, StationConfig
from voltflow.simulator._meter import Meter, meter_value
from voltflow.simulator._outbox import Outbox, Outgoing, fail, resolve

log = logging.getLogger("voltflow.simulator")

SUBPROTOCOL = Subprotocol("ocpp1.6")
# Retried on CALLERROR up to TransactionMessageAttempts; everything else is dropped.
TRANSACTION_ACTIONS = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})
FETCHABLE_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp", "file"})
RESET_REASONS = {"Soft": "SoftReset", "Hard": "HardReset"}

Followup = Callable[[], Coroutine[Any, Any, None]]


def station_url(base: str, station_id: str) -> str:
    """``ws://host:port/ocpp`` + station id → the station's endpoint."""
    return f"{base.rstrip('/')}/{quote(station_id, safe='')}"


def _retrieve(fut: asyncio.Future[Any]) -> None:
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


class _Signal:
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


class _Connector:
    def __init__(self, connector_id: int, config: StationConfig, station_id: str) -> None:
        self.id = connector_id
        self.rng = seeded(config.seed, station_id, connector_id)
        start = config.meter_start_wh
        if start is None:
            start = self.rng.randint(100_000, 5_000_000)
        self.meter = Meter(float(start), time.monotonic())
        self.status = "Available"
        self.status_at = utc_now()
        self.operative = True
        self.scheduled_operative: bool | None = None
        self.transaction: Transaction | None = None
        self.task: asyncio.Task[None] | None = None
        # A RemoteStartTransaction was accepted for it; the session starts after the answer.
        self.claimed = False


@dataclass(eq=False)
class _Link:
    ws: ClientConnection
    client: StationClient
    reader: asyncio.Task[None]


class SimulatedStation:
    """A simulated charge point. ``url`` is the platform's OCPP base (``ws://host:9000/ocpp``);
    the station connects to ``{url}/{station_id}`` with subprotocol ``ocpp1.6``.

    :meth:`connect` starts it and waits until the central system has accepted its boot; :meth:`run`
    starts it and returns once :meth:`close` has been called. With ``config.auto_sessions`` it
    charges by itself; :meth:`start_session` and :meth:`stop_session` drive sessions on demand.
    """

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
        self.last_error: str | None = None
        self._connectors = {
            i: _Connector(i, config, station_id) for i in range(1, config.connectors + 1)
        }
        self._rng_net = seeded(config.seed, station_id, "network")
        self._heartbeat_s = float(config.heartbeat_interval or 0)
        self._outbox = Outbox(config.max_queue)
        self._link: _Link | None = None
        self._ready = asyncio.Event()  # connected, boot accepted
        self._booted = asyncio.Event()  # accepted at least once since power-on
        self._closed = asyncio.Event()
        self._registered = False
        self._rebooting = False
        self._reboot_requested = False
        self._maintenance = False
        self._closing = False
        self._offline_until = 0.0
        self._pending_firmware: str | None = None
        self._firmware_task: asyncio.Task[Any] | None = None
        self._followups: list[Followup] | None = None
        self._heartbeat_changed = _Signal()
        self._settings_changed = _Signal()
        self._main: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    # == public API ===============================================================================
    @property
    def online(self) -> bool:
        """Connected and accepted by the central system."""
        return self._ready.is_set()

    @property
    def heartbeat_interval(self) -> float:
        return self._heartbeat_s

    @property
    def meter_interval(self) -> float:
        return self.config_keys.number("MeterValueSampleInterval")

    @property
    def connector_ids(self) -> list[int]:
        return list(self._connectors)

    @property
    def pending_messages(self) -> int:
        """Messages waiting to be sent (or answered)."""
        return len(self._outbox)

    @property
    def local_list_version(self) -> int:
        return self.local_auth.version if self.local_auth.entries else 0

    @property
    def configuration(self) -> dict[str, str]:
        """The readable configuration keys and their values."""
        return self.config_keys.snapshot()

    def connector_status(self, connector_id: int = 1) -> str:
        return self._connector(connector_id).status

    def is_operative(self, connector_id: int = 1) -> bool:
        return self._connector(connector_id).operative

    def transaction(self, connector_id: int = 1) -> Transaction | None:
        return self._connector(connector_id).transaction

    async def connect(self, timeout: float | None = 10.0) -> None:
        """Start the station (once) and wait until it is online with its boot accepted. On
        ``TimeoutError`` it goes on trying in the background (``last_error`` says why it is not
        online yet) until :meth:`close`."""
        self._launch()
        await self.wait_online(timeout)

    async def run(self) -> None:
        """Start the station (once) and return when :meth:`close` has finished."""
        self._launch()
        await self._closed.wait()

    async def wait_online(self, timeout: float | None = 10.0) -> None:
        if self._ready.is_set():
            return
        if self._main is None:
            raise SimulatorError("station not started: call connect() or run()")
        ready = asyncio.ensure_future(self._ready.wait())
        try:
            await asyncio.wait(
                {ready, self._main}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ready.cancel()
        if self._ready.is_set():
            return
        if self._main.done():
            raise SimulatorError(f"{self.station_id}: station stopped")
        why = self.last_error or f"registration {self.registration}"
        raise TimeoutError(f"{self.station_id} not online after {timeout} s ({why})")

    async def close(
        self, *, stop_sessions: bool = True, reason: str = "Other", timeout: float = 5.0
    ) -> None:
        """Shut down. With ``stop_sessions`` running sessions end first (StopTransaction with
        ``reason``) and queued messages get up to ``timeout`` seconds to reach the central
        system."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        try:
            for worker in self._workers:
                worker.cancel()
            if stop_sessions and self._main is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_all(reason, unplug=False), timeout)
                if self._registered:  # connected once: the queue may still get through
                    with contextlib.suppress(TimeoutError):
                        await self.drain(timeout)
            tasks = [t for t in (self._main, self._sender, *self._workers, *self._tasks) if t]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._closed.set()

    async def drain(self, timeout: float | None = 10.0) -> None:
        """Wait until every queued message has been sent and answered."""
        await asyncio.wait_for(self._outbox.drained(), timeout)

    async def disconnect(self, *, offline_for: float = 0.0) -> None:
        """Drop the connection as a network failure would, and stay offline ``offline_for``
        seconds before reconnecting. Sessions go on; their messages wait in the queue."""
        self._offline_until = asyncio.get_running_loop().time() + offline_for
        link = self._link
        if link is None:
            return
        link.ws.transport.abort()
        await asyncio.wait({link.reader})

    async def start_session(
        self, connector_id: int = 1, id_tag: str | None = None, *, duration: float | None = None
    ) -> Transaction:
        """Plug in and start charging: Preparing, Authorize, StartTransaction, Charging. Returns
        once the transaction has begun (``await tx.wait_started()`` for its id). ``duration``
        None charges until :meth:`stop_session` or a remote stop. Raises
        :class:`SessionRejected` if the connector is busy or unavailable, or the idTag refused."""
        conn = self._connector(connector_id)
        return await self._begin_session(conn, id_tag or self.config.id_tag, duration, False)

    async def stop_session(self, connector_id: int = 1, reason: str = "Local") -> Transaction:
        """Stop the connector's transaction; returns once StopTransaction is queued (``await
        tx.wait_stopped()`` for the central system's answer)."""
        tx = self._connector(connector_id).transaction
        if tx is None:
            raise SimulatorError(f"no transaction on connector {connector_id}")
        tx._request_stop(reason)
        await asyncio.shield(tx._ended)
        return tx

    # == lifecycle ===============================================================================
    def _launch(self) -> None:
        if self._closing:
            raise SimulatorError(f"{self.station_id}: station closed")
        if self._main is not None:
            return
        self._main = asyncio.create_task(self._connection_loop(), name=f"{self.station_id} link")
        self._sender = asyncio.create_task(self._send_loop(), name=f"{self.station_id} sender")
        if self.config.auto_sessions:
            self._workers = [
                asyncio.create_task(self._auto_sessions(c), name=f"{self.station_id}/{c.id}")
                for c in self._connectors.values()
            ]

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: task failed", self.station_id, exc_info=task.exception())

    def _connector(self, connector_id: int) -> _Connector:
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

    # -- connection --------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        if not self.password:
            return {}
        token = base64.b64encode(f"{self.station_id}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def _connection_loop(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self.config.reconnect_min
        while True:
            if self._reboot_requested:
                await self._reboot()
            wait = self._offline_until - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            try:
                ws = await connect(
                    self.url,
                    subprotocols=[SUBPROTOCOL],
                    additional_headers=self._headers(),
                    open_timeout=self.config.connect_timeout,
                    ping_interval=self.config_keys.number("WebSocketPingInterval") or None,
                    compression=None,
                    user_agent_header=f"{self.config.vendor}-{self.config.model}",
                )
            except Exception as exc:
                self._note_error(f"cannot connect to {self.url}: {exc}")
                await asyncio.sleep(jittered(self._rng_net, backoff, 0.25))
                backoff = min(backoff * 2, self.config.reconnect_max)
                continue
            backoff = self.config.reconnect_min
            try:
                await self._serve(ws)
            except Exception:
                log.exception("%s: connection failed", self.station_id)
            finally:
                with contextlib.suppress(Exception):
                    await ws.close()
            if not self._reboot_requested:
                log.info("%s: connection lost", self.station_id)
                await asyncio.sleep(jittered(self._rng_net, self.config.reconnect_min, 0.25))

    async def _serve(self, ws: ClientConnection) -> None:
        client = StationClient(self, ws, self.config.response_timeout)
        reader = asyncio.create_task(self._read(client))
        self._link = link = _Link(ws, client, reader)
        heartbeat: asyncio.Task[None] | None = None
        try:
            if not self._registered or self.config.boot_on_reconnect:
                await self._boot(link)
            log.info("%s: online", self.station_id)
            self.last_error = None
            self._ready.set()
            heartbeat = asyncio.create_task(self._heartbeat_loop())
            await asyncio.wait({reader})
        except Offline:
            pass
        finally:
            self._link = None
            self._ready.clear()
            for item in self._outbox.purge(lambda i: not i.queued):
                fail(item, Offline(f"{self.station_id}: connection lost"))
            for task in (heartbeat, reader):
                if task is not None:
                    task.cancel()
            await asyncio.gather(*(t for t in (heartbeat, reader) if t), return_exceptions=True)

    @staticmethod
    async def _read(client: StationClient) -> None:
        with contextlib.suppress(ConnectionClosed):
            await client.start()

    async def _call(self, payload: Any, unique_id: str | None = None) -> Any:
        """One CALL over the current connection; :class:`Offline` if it drops meanwhile."""
        link = self._link
        if link is None:
            raise Offline(f"{self.station_id} is offline")
        task = asyncio.ensure_future(link.client.call(payload, suppress=False, unique_id=unique_id))
        try:
            await asyncio.wait({task, link.reader}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
        if task.cancelled():
            raise Offline(f"{self.station_id}: connection lost")
        exc = task.exception()
        if isinstance(exc, ConnectionClosed):
            raise Offline(f"{self.station_id}: connection lost") from exc
        return task.result()

    async def _boot(self, link: _Link) -> None:
        """BootNotification until Accepted, waiting the interval the central system gives while
        it answers Pending or Rejected."""
        while True:
            try:
                answer = await self._call(self._boot_payload())
            except (TimeoutError, OCPPError) as exc:
                self._note_error(f"BootNotification failed: {exc!r}")
                retry = self.config.reconnect_max
            else:
                self.registration = str(answer.status)
                if self.registration == "Accepted":
                    self._on_accepted(float(answer.interval))
                    return
                retry = float(answer.interval) if answer.interval > 0 else 10.0
                log.info(
                    "%s: registration %s, boot again in %g s",
                    self.station_id,
                    self.registration,
                    retry,
                )
            done, _ = await asyncio.wait({link.reader}, timeout=retry)
            if done:
                raise Offline(f"{self.station_id}: connection lost during boot")

    def _boot_payload(self) -> Any:
        serial = self.config.serial_number or f"SIM-{self.station_id}"[:25]
        return call.BootNotification(
            charge_point_model=self.config.model,
            charge_point_vendor=self.config.vendor,
            charge_point_serial_number=serial[:25],
            firmware_version=self.firmware_version,
            meter_type="Simulated meter",
            meter_serial_number=f"M-{serial}"[:25],
        )

    def _on_accepted(self, interval: float) -> None:
        self.boot_count += 1
        if self.config.heartbeat_interval is None:
            self._set_heartbeat(interval)
        if not self._registered:
            self._registered = True
            for conn in self._connectors.values():
                self._queue_status(conn.id, conn.status, conn.status_at)
        self._booted.set()

    def _set_heartbeat(self, seconds: float) -> None:
        self._heartbeat_s = seconds
        self.config_keys.set("HeartbeatInterval", f"{seconds:g}")
        self._heartbeat_changed.fire()

    async def _heartbeat_loop(self) -> None:
        while True:
            changed = self._heartbeat_changed.future()
            interval = self._heartbeat_s
            done, _ = await asyncio.wait({changed}, timeout=interval if interval > 0 else None)
            if done:
                continue
            try:
                await self._request(call.Heartbeat(), "Heartbeat")
            except (Offline, TimeoutError, OCPPError):
                pass
            except Exception:
                log.exception("%s: Heartbeat failed", self.station_id)

    def _request_reboot(self) -> None:
        self._rebooting = True
        self._reboot_requested = True
        link = self._link
        if link is not None:
            self._spawn(link.ws.close(reason="reboot"))

    async def _reboot(self) -> None:
        log.info("%s: rebooting", self.station_id)
        self._reboot_requested = False
        self._registered = False
        self.registration = None
        self._booted.clear()
        # Statuses from before the reboot are stale: the boot reports the connectors afresh.
        for item in self._outbox.purge(lambda i: i.action == "StatusNotification"):
            fail(item, Offline("rebooted"))
        if self._firmware_task is not None:
            self._firmware_task.cancel()
            self._firmware_task = None
        if self.config.reboot_seconds:
            await asyncio.sleep(self.config.reboot_seconds)
        if self._pending_firmware:
            self.firmware_version, self._pending_firmware = self._pending_firmware, None
        self.firmware_status = self.diagnostics_status = "Idle"
        now = utc_now()
        for conn in self._connectors.values():
            if conn.scheduled_operative is not None:
                conn.operative, conn.scheduled_operative = conn.scheduled_operative, None
            conn.status = "Available" if conn.operative else "Unavailable"
            conn.status_at = now
            conn.meter.set_power(0, time.monotonic())
        self._rebooting = self._maintenance = False

    # -- sending -----------------------------------------------------------------------------------
    def _enqueue(
        self,
        action: str,
        build: Callable[[], Any | None],
        *,
        on_result: Callable[[Any], None] | None = None,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        self._outbox.push(Outgoing(action, build, True, on_result, on_drop))

    async def _request(self, payload: Any, action: str) -> Any:
        """Send in turn with the queued messages and wait for the answer; never kept for later:
        :class:`Offline` when there is no connection."""
        if not self.online:
            raise Offline(f"{self.station_id} is offline")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_retrieve)
        item = Outgoing(action, lambda: payload, False, future=fut)
        self._outbox.push(item)
        try:
            return await fut
        finally:
            if not fut.done() or fut.cancelled():
                self._outbox.remove(item)

    async def _send_loop(self) -> None:
        outbox = self._outbox
        while True:
            item = await outbox.head()
            await self._ready.wait()
            if not outbox.items or outbox.items[0] is not item:
                continue  # purged while we waited
            if item.payload is None:
                try:
                    item.payload = item.build()
                except Exception as exc:
                    log.exception("%s: %s could not be built", self.station_id, item.action)
                    outbox.remove(item)
                    fail(item, exc)
                    continue
                if item.payload is None:
                    outbox.remove(item)
                    fail(item, SimulatorError(f"{item.action}: nothing left to send"))
                    continue
            try:
                result = await self._call(item.payload, item.unique_id)
            except Offline:
                continue
            except (TimeoutError, OCPPError) as exc:
                item.attempts += 1
                attempts = max(int(self.config_keys.number("TransactionMessageAttempts")), 1)
                if item.action in TRANSACTION_ACTIONS and item.attempts < attempts:
                    log.warning(
                        "%s: %s attempt %d failed (%r), retrying",
                        self.station_id,
                        item.action,
                        item.attempts,
                        exc,
                    )
                    if isinstance(exc, OCPPError):
                        retry = self.config_keys.number("TransactionMessageRetryInterval")
                        await asyncio.sleep(retry * item.attempts)
                    continue
                log.warning("%s: %s dropped: %r", self.station_id, item.action, exc)
                outbox.remove(item)
                fail(item, exc)
                continue
            except Exception as exc:
                # Our own payload failed the schema: a bug, but no reason to stop sending.
                log.exception("%s: %s could not be sent", self.station_id, item.action)
                outbox.remove(item)
                fail(item, exc)
                continue
            outbox.remove(item)
            if item.on_result is not None:
                try:
                    item.on_result(result)
                except Exception:
                    log.exception("%s: handling the %s answer", self.station_id, item.action)
            resolve(item, result)

    def _queue_status(
        self, connector_id: int, status: str, at: datetime, error_code: str = "NoError"
    ) -> None:
        self._enqueue(
            "StatusNotification",
            lambda: call.StatusNotification(
                connector_id=connector_id, error_code=error_code, status=status, timestamp=iso(at)
            ),
        )

    def _set_status(self, conn: _Connector, status: str) -> None:
        conn.status, conn.status_at = status, utc_now()
        self._queue_status(conn.id, status, conn.status_at)

    def _queue_meter_values(
        self,
        connector_id: int,
        tx: Transaction | None,
        energy_wh: float,
        power_w: float,
        context: str,
    ) -> None:
        value = meter_value(
            utc_now(),
            self.config_keys.measurands("MeterValuesSampledData"),
            energy_wh,
            power_w,
            context,
        )

        def build() -> Any | None:
            if tx is not None and tx.transaction_id is None:
                return None  # its StartTransaction was refused: the readings belong to nothing
            return call.MeterValues(
                connector_id=connector_id,
                meter_value=[value],
                transaction_id=tx.transaction_id if tx is not None else None,
            )

        self._enqueue("MeterValues", build)

    def _queue_firmware_status(self, status: str) -> None:
        self.firmware_status = status
        self._enqueue("FirmwareStatusNotification", lambda: call.FirmwareStatusNotification(status))

    def _queue_diagnostics_status(self, status: str) -> None:
        self.diagnostics_status = status
        self._enqueue(
            "DiagnosticsStatusNotification", lambda: call.DiagnosticsStatusNotification(status)
        )

    # -- sessions ----------------------------------------------------------------------------------
    def _may_start(self, conn: _Connector, *, claimed: bool = False) -> bool:
        return (
            not (self._closing or self._rebooting or self._maintenance)
            and conn.operative
            and conn.task is None
            and (claimed or not conn.claimed)
        )

    async def _begin_session(
        self,
        conn: _Connector,
        id_tag: str,
        duration: float | None,
        remote: bool,
        *,
        claimed: bool = False,
    ) -> Transaction:
        if not self._may_start(conn, claimed=claimed):
            raise SessionRejected(
                f"{self.station_id} connector {conn.id} cannot start a session now "
                f"({conn.status}{'' if conn.operative else ', inoperative'})"
            )
        started: asyncio.Future[Transaction] = asyncio.get_running_loop().create_future()
        started.add_done_callback(_retrieve)
        conn.claimed = False
        conn.task = self._spawn(self._run_session(conn, id_tag, duration, remote, started))
        await asyncio.wait({started})
        if started.cancelled():
            raise SessionRejected(f"{self.station_id} connector {conn.id}: session cancelled")
        return started.result()

    async def _run_session(
        self,
        conn: _Connector,
        id_tag: str,
        duration: float | None,
        remote: bool,
        started: asyncio.Future[Transaction],
    ) -> None:
        tx: Transaction | None = None
        try:
            self._set_status(conn, "Preparing")
            status = await self._authorize(id_tag, remote)
            if status != "Accepted":
                raise SessionRejected(f"idTag {id_tag}: {status}")
            if self._rebooting or self._closing:
                raise SessionRejected(f"{self.station_id} is shutting down")
            conn.meter.advance(time.monotonic())
            tx = Transaction(conn.id, id_tag, conn.meter.reading, utc_now(), remote=remote)
            conn.transaction = tx
            self._queue_start(tx)
            self._set_status(conn, "Charging")
            started.set_result(tx)
            reason = await self._charge(conn, tx, duration)
            self._finish(conn, tx, reason)
            if tx._unplug and not self._rebooting and self.config.unplug_seconds:
                await asyncio.sleep(self.config.unplug_seconds)
        except SessionRejected as exc:
            log.info("%s connector %d: %s", self.station_id, conn.id, exc)
            if not started.done():
                started.set_exception(exc)
        finally:
            if tx is not None and not tx._ended.done():
                tx._abandon()  # cut short: no StopTransaction will come
            if not started.done():
                started.cancel()
            conn.transaction = None
            conn.task = None
            conn.meter.set_power(0, time.monotonic())
            if not self._rebooting:
                self._settle(conn)

    def _settle(self, conn: _Connector) -> None:
        """After a session: Available, or Unavailable if a change of availability waited."""
        if conn.scheduled_operative is not None:
            conn.operative, conn.scheduled_operative = conn.scheduled_operative, None
        status = "Available" if conn.operative else "Unavailable"
        if conn.status != status:
            self._set_status(conn, status)

    async def _authorize(self, id_tag: str, remote: bool) -> str:
        keys = self.config_keys
        if remote and not keys.flag("AuthorizeRemoteTxRequests"):
            return "Accepted"
        local = self.local_auth.status(
            id_tag,
            use_list=keys.flag("LocalAuthListEnabled"),
            use_cache=keys.flag("AuthorizationCacheEnabled"),
        )
        if self.online:
            if local == "Accepted" and keys.flag("LocalPreAuthorize"):
                return local
            try:
                answer = await self._request(call.Authorize(id_tag=id_tag), "Authorize")
            except (Offline, TimeoutError):
                pass  # decide as offline
            except OCPPError:
                return "Invalid"
            else:
                info = answer.id_tag_info
                if keys.flag("AuthorizationCacheEnabled"):
                    self.local_auth.remember(id_tag, info)
                return str(info["status"])
        if keys.flag("LocalAuthorizeOffline") and local is not None:
            return local
        if local is None and keys.flag("AllowOfflineTxForUnknownId"):
            return "Accepted"
        raise SessionRejected(f"offline, and idTag {id_tag} is not known locally")

    def _queue_start(self, tx: Transaction) -> None:
        def on_result(answer: Any) -> None:
            info = answer.id_tag_info or {}
            tx.transaction_id = int(answer.transaction_id)
            tx.id_tag_status = str(info.get("status"))
            if self.config_keys.flag("AuthorizationCacheEnabled"):
                self.local_auth.remember(tx.id_tag, info)
            if not tx._start_answer.done():
                tx._start_answer.set_result(tx.transaction_id)
            if tx.id_tag_status != "Accepted" and self.config_keys.flag(
                "StopTransactionOnInvalidId"
            ):
                tx._request_stop("DeAuthorized")

        def on_drop() -> None:
            if not tx._start_answer.done():
                tx._start_answer.set_result(None)

        self._enqueue(
            "StartTransaction",
            lambda: call.StartTransaction(
                connector_id=tx.connector_id,
                id_tag=tx.id_tag,
                meter_start=tx.meter_start,
                timestamp=iso(tx.started_at),
            ),
            on_result=on_result,
            on_drop=on_drop,
        )

    def _session_power(self, conn: _Connector) -> float:
        return jittered(conn.rng, self.config.power_kw * 1000, self.config.jitter)

    def _fluctuate(self, conn: _Connector, base: float) -> float:
        return jittered(conn.rng, base, self.config.jitter / 5)

    async def _charge(self, conn: _Connector, tx: Transaction, duration: float | None) -> str:
        """Draw power and send periodic meter values until the session is stopped or its time is
        up; returns the stop reason."""
        loop = asyncio.get_running_loop()
        deadline = None if duration is None else loop.time() + duration
        base = self._session_power(conn)
        conn.meter.set_power(self._fluctuate(conn, base), time.monotonic())
        last_sample = loop.time()
        while tx.active:
            interval = self.meter_interval
            next_sample = last_sample + interval if interval > 0 else None
            ends = [t for t in (deadline, next_sample) if t is not None]
            timeout = max(min(ends) - loop.time(), 0) if ends else None
            wake: list[asyncio.Future[Any]] = [tx._stop, self._settings_changed.future()]
            await asyncio.wait(wake, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            now = loop.time()
            if not tx.active:
                break
            if deadline is not None and now >= deadline:
                tx._request_stop("Local")
                break
            if next_sample is not None and now >= next_sample:
                conn.meter.advance(time.monotonic())
                self._queue_meter_values(
                    conn.id, tx, conn.meter.register_wh, conn.meter.power_w, "Sample.Periodic"
                )
                conn.meter.set_power(self._fluctuate(conn, base), time.monotonic())
                last_sample = now
        conn.meter.set_power(0, time.monotonic())
        return tx._stop.result()

    def _finish(self, conn: _Connector, tx: Transaction, reason: str) -> None:
        tx.meter_stop = conn.meter.reading
        tx.stopped_at = utc_now()
        tx.stop_reason = reason
        measurands = self.config_keys.measurands("StopTxnSampledData")
        data = (
            [
                meter_value(tx.started_at, measurands, tx.meter_start, 0, "Transaction.Begin"),
                meter_value(tx.stopped_at, measurands, tx.meter_stop, 0, "Transaction.End"),
            ]
            if measurands
            else None
        )
        stopped_at = tx.stopped_at
        meter_stop = tx.meter_stop

        def build() -> Any | None:
            if tx.transaction_id is None:
                return None  # never started at the central system: nothing to stop
            return call.StopTransaction(
                meter_stop=meter_stop,
                timestamp=iso(stopped_at),
                transaction_id=tx.transaction_id,
                reason=reason,
                id_tag=tx.id_tag if reason == "Local" else None,
                transaction_data=data,
            )

        def on_result(answer: Any) -> None:
            if not tx._stop_answer.done():
                tx._stop_answer.set_result(True)

        def on_drop() -> None:
            if not tx._stop_answer.done():
                tx._stop_answer.set_result(False)

        self._enqueue("StopTransaction", build, on_result=on_result, on_drop=on_drop)
        if not tx._ended.done():
            tx._ended.set_result(None)
        if tx._unplug and not self._rebooting:
            self._set_status(conn, "Finishing")
        log.info(
            "%s connector %d: session stopped (%s), %d Wh",
            self.station_id,
            conn.id,
            reason,
            meter_stop - tx.meter_start,
        )

    async def _stop_all(self, reason: str, *, unplug: bool) -> None:
        tasks: list[asyncio.Task[None]] = []
        for conn in self._connectors.values():
            if conn.transaction is not None:
                conn.transaction._request_stop(reason, unplug=unplug)
            if conn.task is not None:
                tasks.append(conn.task)
        if tasks:
            await asyncio.wait(tasks)

    async def _auto_sessions(self, conn: _Connector) -> None:
        cfg = self.config
        first = True
        while True:
            await self._booted.wait()
            if first:
                idle = conn.rng.uniform(0, cfg.idle_seconds)
            else:
                idle = jittered(conn.rng, cfg.idle_seconds, cfg.jitter)
            first = False
            await asyncio.sleep(idle)
            await self._booted.wait()
            if conn.task is not None:
                await asyncio.wait({conn.task})
                continue
            if not self._may_start(conn):
                await asyncio.sleep(max(cfg.idle_seconds, 1.0))
                continue
            duration = jittered(conn.rng, cfg.session_seconds, cfg.jitter) or None
            try:
                await self._begin_session(conn, cfg.id_tag, duration, False)
            except SessionRejected:
                await asyncio.sleep(max(cfg.idle_seconds, 1.0))
                continue
            if conn.task is not None:
                await asyncio.wait({conn.task})

    # == commands from the central system ========================================================
    # Called by StationClient while it answers. They decide the answer at once; what follows
    # (messages, sessions, reboots) is queued with _then and starts after the answer has left.
    def _followups_open(self) -> None:
        self._followups = []

    def _followups_discard(self) -> None:
        self._followups = None

    def _followups_release(self) -> None:
        followups, self._followups = self._followups or [], None
        for followup in followups:
            self._spawn(followup())

    def _then(self, followup: Followup) -> None:
        if self._followups is None:
            self._spawn(followup())
        else:
            self._followups.append(followup)

    def _cs_reset(self, kind: str) -> str:
        if self._rebooting or self._closing:
            return "Rejected"
        self._rebooting = True
        self._then(lambda: self._reset(kind))
        return "Accepted"

    async def _reset(self, kind: str) -> None:
        log.info("%s: %s reset", self.station_id, kind)
        await self._stop_all(RESET_REASONS.get(kind, "Reboot"), unplug=False)
        if kind == "Soft":  # a soft reset lets the stops reach the central system first
            with contextlib.suppress(TimeoutError):
                await self.drain(self.config.response_timeout)
        self._request_reboot()

    def _cs_remote_start(self, id_tag: str, connector_id: int | None) -> str:
        if connector_id is not None:
            conn = self._connectors.get(connector_id)
            if conn is None or not self._may_start(conn):
                return "Rejected"
        else:
            conn = next((c for c in self._connectors.values() if self._may_start(c)), None)
            if conn is None:
                return "Rejected"
        conn.claimed = True
        target = conn
        self._then(lambda: self._remote_start(target, id_tag))
        return "Accepted"

    async def _remote_start(self, conn: _Connector, id_tag: str) -> None:
        duration = jittered(conn.rng, self.config.session_seconds, self.config.jitter) or None
        try:
            await self._begin_session(conn, id_tag, duration, True, claimed=True)
        except SessionRejected as exc:
            log.info("%s: remote start failed: %s", self.station_id, exc)
        finally:
            conn.claimed = False

    def _cs_remote_stop(self, transaction_id: int) -> str:
        for conn in self._connectors.values():
            tx = conn.transaction
            if tx is not None and tx.active and tx.transaction_id == transaction_id:
                self._then(functools.partial(self._stop_later, tx, "Remote"))
                return "Accepted"
        return "Rejected"

    async def _stop_later(self, tx: Transaction, reason: str) -> None:
        tx._request_stop(reason)

    def _cs_unlock(self, connector_id: int) -> str:
        conn = self._connectors.get(connector_id)
        if conn is None:
            return "NotSupported"
        tx = conn.transaction
        if tx is not None and tx.active:
            self._then(functools.partial(self._stop_later, tx, "UnlockCommand"))
        return "Unlocked"

    def _cs_change_availability(self, connector_id: int, kind: str) -> str:
        operative = kind == "Operative"
        if connector_id == 0:
            targets = list(self._connectors.values())
        elif connector_id in self._connectors:
            targets = [self._connectors[connector_id]]
        else:
            return "Rejected"
        scheduled = False
        changed: list[_Connector] = []
        for conn in targets:
            if conn.operative == operative:
                conn.scheduled_operative = None
            elif conn.task is not None or conn.claimed:
                conn.scheduled_operative = operative  # after the session
                scheduled = True
            else:
                conn.operative = operative
                changed.append(conn)
        if changed:
            self._then(lambda: self._announce(changed))
        return "Scheduled" if scheduled else "Accepted"

    async def _announce(self, connectors: list[_Connector]) -> None:
        for conn in connectors:
            if conn.task is None:
                self._set_status(conn, "Available" if conn.operative else "Unavailable")

    def _cs_change_configuration(self, key: str, value: str) -> str:
        status, name = self.config_keys.change(key, value)
        if name == "HeartbeatInterval":
            self._set_heartbeat(float(self.config_keys.get(name)))
        elif name == "MeterValueSampleInterval":
            self._settings_changed.fire()
        elif name == "AuthorizationKey":
            self.password = self.config_keys.get(name)  # used from the next connection on
        return status.value

    def _cs_trigger(self, message: str, connector_id: int | None) -> str:
        if connector_id is not None and connector_id != 0 and connector_id not in self._connectors:
            return "Rejected"
        followups: dict[str, Followup] = {
            "BootNotification": self._triggered_boot,
            "Heartbeat": self._triggered_heartbeat,
            "StatusNotification": lambda: self._report_statuses(connector_id),
            "MeterValues": lambda: self._report_meter_values(connector_id),
            "DiagnosticsStatusNotification": self._report_diagnostics_status,
            "FirmwareStatusNotification": self._report_firmware_status,
        }
        followup = followups.get(message)
        if followup is None:
            return "NotImplemented"
        self._then(followup)
        return "Accepted"

    async def _triggered_boot(self) -> None:
        try:
            answer = await self._call(self._boot_payload())
        except (Offline, TimeoutError, OCPPError) as exc:
            log.info("%s: triggered BootNotification failed: %r", self.station_id, exc)
            return
        self.registration = str(answer.status)
        if self.registration == "Accepted" and self.config.heartbeat_interval is None:
            self._set_heartbeat(float(answer.interval))

    async def _triggered_heartbeat(self) -> None:
        with contextlib.suppress(Offline, TimeoutError, OCPPError):
            await self._request(call.Heartbeat(), "Heartbeat")

    async def _report_statuses(self, connector_id: int | None) -> None:
        if connector_id == 0:
            operative = any(c.operative for c in self._connectors.values())
            self._queue_status(0, "Available" if operative else "Unavailable", utc_now())
            return
        for conn in self._connectors.values():
            if connector_id is None or conn.id == connector_id:
                self._queue_status(conn.id, conn.status, conn.status_at)

    async def _report_meter_values(self, connector_id: int | None) -> None:
        mono = time.monotonic()
        for conn in self._connectors.values():
            conn.meter.advance(mono)
        if connector_id == 0:  # the station's main meter: all connectors together
            energy = sum(c.meter.register_wh for c in self._connectors.values())
            power = sum(c.meter.power_w for c in self._connectors.values())
            self._queue_meter_values(0, None, energy, power, "Trigger")
            return
        for conn in self._connectors.values():
            if connector_id is None or conn.id == connector_id:
                self._queue_meter_values(
                    conn.id, conn.transaction, conn.meter.register_wh, conn.meter.power_w, "Trigger"
                )

    async def _report_diagnostics_status(self) -> None:
        self._queue_diagnostics_status(self.diagnostics_status)

    async def _report_firmware_status(self) -> None:
        self._queue_firmware_status(self.firmware_status)

    def _cs_update_firmware(self, location: str, retrieve_date: str) -> None:
        if self._firmware_task is not None and not self._firmware_task.done():
            self._firmware_task.cancel()
        self._then(lambda: self._update_firmware(location, retrieve_date))

    async def _update_firmware(self, location: str, retrieve_date: str) -> None:
        self._firmware_task = asyncio.current_task()
        step = self.config.firmware_step_seconds
        at = parse_iso(retrieve_date)
        if at is not None:
            delay = (at - utc_now()).total_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
        self._queue_firmware_status("Downloading")
        await asyncio.sleep(step)
        if urlsplit(location).scheme.lower() not in FETCHABLE_SCHEMES:
            self._queue_firmware_status("DownloadFailed")
            return
        self._queue_firmware_status("Downloaded")
        # Install only once the running sessions are over, and start no new ones meanwhile.
        self._maintenance = True
        try:
            while tasks := [c.task for c in self._connectors.values() if c.task is not None]:
                await asyncio.wait(tasks)
        except asyncio.CancelledError:
            self._maintenance = False
            raise
        self._queue_firmware_status("Installing")
        await asyncio.sleep(step)
        self._pending_firmware = next_version(location, self.firmware_version)
        self._queue_firmware_status("Installed")
        with contextlib.suppress(TimeoutError):
            await self.drain(self.config.response_timeout)
        self._firmware_task = None
        self._request_reboot()

    def _cs_get_diagnostics(self, location: str) -> str:
        stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
        name = f"diagnostics-{self.station_id}-{stamp}.zip"[:255]
        self._then(lambda: self._upload_diagnostics(location))
        return name

    async def _upload_diagnostics(self, location: str) -> None:
        self._queue_diagnostics_status("Uploading")
        await asyncio.sleep(self.config.diagnostics_seconds)
        ok = urlsplit(location).scheme.lower() in FETCHABLE_SCHEMES
        self._queue_diagnostics_status("Uploaded" if ok else "UploadFailed")


def next_version(location: str, current: str) -> str:
    """The version a firmware file brings: the version number in its file name if there is one,
    else the current version with its last number raised by one."""
    name = urlsplit(location).path.rsplit("/", 1)[-1]
    found = re.search(r"\d+(?:\.\d+)+", name)
    if found:
        return found.group()[:50]
    last = list(re.finditer(r"\d+", current))
    if not last:
        return f"{current}.1"[:50]
    m = last[-1]
    return f"{current[: m.start()]}{int(m.group()) + 1}{current[m.end() :]}"[:50]
