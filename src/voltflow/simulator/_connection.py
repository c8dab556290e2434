"""A simulated station's link to the central system: connecting with reconnects, boot,
heartbeat, reboots, and the queue of messages it sends in turn."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from voltflow.simulator._client import StationClient
from voltflow.simulator._common import Offline, SimulatorError, iso, jittered, utc_now
from voltflow.simulator._meter import meter_value
from voltflow.simulator._outbox import Outgoing, fail, resolve
from voltflow.simulator._state import Connector, Link, StationState, Transaction, retrieve

if TYPE_CHECKING:
    from voltflow.simulator._station import SimulatedStation

log = logging.getLogger("voltflow.simulator")

SUBPROTOCOL = Subprotocol("ocpp1.6")
# Retried on CALLERROR up to TransactionMessageAttempts; everything else is dropped.
TRANSACTION_ACTIONS = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})


class StationConnection(StationState):
    """Connecting, boot, heartbeat, reconnects and reboots, and the queue of what the station
    sends. ``online`` and ``drain`` belong to :class:`SimulatedStation`'s API."""

    # -- connection --------------------------------------------------------------------------------
    @property
    def online(self) -> bool:
        """Connected and accepted by the central system."""
        return self._ready.is_set()

    async def drain(self, timeout: float | None = 10.0) -> None:
        """Wait until every queued message has been sent and answered."""
        await asyncio.wait_for(self._outbox.drained(), timeout)

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
            if not self._network_up.is_set():
                await self._network_up.wait()
                continue
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
        # The central system's calls go to the command handlers, a layer above this one.
        client = StationClient(cast("SimulatedStation", self), ws, self.config.response_timeout)
        reader = asyncio.create_task(self._read(client))
        self._link = link = Link(ws, client, reader)
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

    async def _boot(self, link: Link) -> None:
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
                self._queue_connector(conn)
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
        kind, self._reset_kind = self._reset_kind, None
        for conn in self._connectors.values():
            if conn.scheduled_operative is not None:
                conn.operative, conn.scheduled_operative = conn.scheduled_operative, None
            if conn.fault is not None and conn.fault.healed_by_reset(kind):
                log.info(
                    "%s connector %d: fault healed by a %s reset", self.station_id, conn.id, kind
                )
                conn.fault = None
            conn.status = "Available" if conn.operative else "Unavailable"
            if conn.fault is not None:
                conn.status = "Faulted"
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
        fut.add_done_callback(retrieve)
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
        self,
        connector_id: int,
        status: str,
        at: datetime,
        error_code: str = "NoError",
        vendor_error_code: str | None = None,
        info: str | None = None,
    ) -> None:
        self._enqueue(
            "StatusNotification",
            lambda: call.StatusNotification(
                connector_id=connector_id,
                error_code=error_code,
                status=status,
                timestamp=iso(at),
                vendor_error_code=vendor_error_code,
                info=info,
            ),
        )

    def _queue_connector(self, conn: Connector) -> None:
        """The connector's status as it stands, with its fault's codes when it is Faulted."""
        fault = conn.fault if conn.status == "Faulted" else None
        if fault is None:
            self._queue_status(conn.id, conn.status, conn.status_at)
            return
        self._queue_status(
            conn.id,
            conn.status,
            conn.status_at,
            fault.error_code,
            fault.vendor_error_code,
            fault.info,
        )

    def _set_status(self, conn: Connector, status: str) -> None:
        """A faulted connector stays Faulted, whatever its session or availability would make
        it."""
        if conn.fault is not None:
            status = "Faulted"
        conn.status, conn.status_at = status, utc_now()
        self._queue_connector(conn)

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
