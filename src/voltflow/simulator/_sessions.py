"""A simulated station's charging sessions: authorize, start, meter values while charging,
stop, and the sessions it starts by itself."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from voltflow.simulator._common import Offline, SessionRejected, iso, jittered, utc_now
from voltflow.simulator._connection import StationConnection
from voltflow.simulator._meter import meter_value
from voltflow.simulator._state import Connector, Transaction, retrieve

log = logging.getLogger("voltflow.simulator")


class StationSessions(StationConnection):
    """Charging sessions. ``meter_interval`` belongs to :class:`SimulatedStation`'s API."""

    # -- sessions ----------------------------------------------------------------------------------
    @property
    def meter_interval(self) -> float:
        return self.config_keys.number("MeterValueSampleInterval")

    def _may_start(self, conn: Connector, *, claimed: bool = False) -> bool:
        return (
            not (self._closing or self._rebooting or self._maintenance)
            and conn.operative
            and conn.fault is None
            and conn.task is None
            and (claimed or not conn.claimed)
        )

    async def _begin_session(
        self,
        conn: Connector,
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
        started.add_done_callback(retrieve)
        conn.claimed = False
        conn.task = self._spawn(self._run_session(conn, id_tag, duration, remote, started))
        await asyncio.wait({started})
        if started.cancelled():
            raise SessionRejected(f"{self.station_id} connector {conn.id}: session cancelled")
        return started.result()

    async def _run_session(
        self,
        conn: Connector,
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

    def _settle(self, conn: Connector) -> None:
        """After a session: Available, or Unavailable if a change of availability waited."""
        if conn.scheduled_operative is not None:
            conn.operative, conn.scheduled_operative = conn.scheduled_operative, None
        status = "Available" if conn.operative else "Unavailable"
        if conn.fault is not None:
            status = "Faulted"
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

    def _session_power(self, conn: Connector) -> float:
        return jittered(conn.rng, self.config.power_kw * 1000, self.config.jitter)

    def _fluctuate(self, conn: Connector, base: float) -> float:
        return jittered(conn.rng, base, self.config.jitter / 5)

    async def _charge(self, conn: Connector, tx: Transaction, duration: float | None) -> str:
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

    def _finish(self, conn: Connector, tx: Transaction, reason: str) -> None:
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

    async def _auto_sessions(self, conn: Connector) -> None:
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
