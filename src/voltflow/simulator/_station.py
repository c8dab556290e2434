"""One simulated OCPP 1.6J charge point: connection with reconnects, boot, heartbeat, charging
sessions with meter values, and answers to every remote command the platform sends.

It is built in layers, one module each, each using only those before it: ``_state`` (what
it holds), ``_connection`` (socket, boot, heartbeat, reconnects, the outgoing queue),
``_sessions`` (charging), ``_commands`` (answers to the central system) and this one, the
public API."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from voltflow.simulator._commands import StationCommands
from voltflow.simulator._common import SimulatorError
from voltflow.simulator._config import Fault
from voltflow.simulator._state import Transaction

log = logging.getLogger("voltflow.simulator")


class SimulatedStation(StationCommands):
    """A simulated charge point. ``url`` is the platform's OCPP base (``ws://host:9000/ocpp``);
    the station connects to ``{url}/{station_id}`` with subprotocol ``ocpp1.6``.

    :meth:`connect` starts it and waits until the central system has accepted its boot; :meth:`run`
    starts it and returns once :meth:`close` has been called. With ``config.auto_sessions`` it
    charges by itself; :meth:`start_session` and :meth:`stop_session` drive sessions on demand.
    """

    # == public API ===============================================================================
    @property
    def heartbeat_interval(self) -> float:
        return self._heartbeat_s

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

    async def disconnect(self, *, offline_for: float = 0.0) -> None:
        """Drop the connection as a network failure would, and stay offline ``offline_for``
        seconds before reconnecting. Sessions go on; their messages wait in the queue."""
        self._offline_until = asyncio.get_running_loop().time() + offline_for
        link = self._link
        if link is None:
            return
        link.ws.transport.abort()
        await asyncio.wait({link.reader})

    async def go_offline(self) -> None:
        """Lose the network for good: the connection drops as in a network failure, and the
        station does not try again until :meth:`come_back`. Sessions go on; their messages
        wait in the queue."""
        self._network_up.clear()
        link = self._link
        if link is None:
            return
        link.ws.transport.abort()
        await asyncio.wait({link.reader})

    def come_back(self) -> None:
        """The network is back: the station reconnects (and sends what it queued meanwhile)."""
        self._network_up.set()

    def fault(self, connector_id: int = 1, fault: Fault | None = None) -> None:
        """The connector fails: a session on it stops, and it reports Faulted with ``fault``'s
        codes (by default the configuration's) until what heals it comes, or :meth:`recover`."""
        conn = self._connector(connector_id)
        conn.fault = fault or self.config.fault
        tx = conn.transaction
        if tx is not None and tx.active:
            tx._request_stop("Other")
        self._set_status(conn, "Faulted")

    def recover(self, connector_id: int = 1) -> None:
        """The connector works again, as if repaired on site: it reports Available (or
        Unavailable, when made inoperative)."""
        conn = self._connector(connector_id)
        if conn.fault is None:
            return
        conn.fault = None
        if conn.task is None:
            self._set_status(conn, "Available" if conn.operative else "Unavailable")

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
        if self.config.offline_after is not None:
            self._spawn(self._drop_after(self.config.offline_after))
        if self.config.auto_sessions:
            self._workers = [
                asyncio.create_task(self._auto_sessions(c), name=f"{self.station_id}/{c.id}")
                for c in self._connectors.values()
            ]

    async def _drop_after(self, seconds: float) -> None:
        await self._ready.wait()
        await asyncio.sleep(seconds)
        log.info("%s: offline for good", self.station_id)
        await self.go_offline()
