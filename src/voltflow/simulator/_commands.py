"""A simulated station's answers to the central system's calls, and what each sets in motion."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from urllib.parse import urlsplit

from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from voltflow.simulator._common import Offline, SessionRejected, jittered, parse_iso, utc_now
from voltflow.simulator._config import Heals
from voltflow.simulator._sessions import StationSessions
from voltflow.simulator._state import Connector, Followup, Transaction

log = logging.getLogger("voltflow.simulator")

FETCHABLE_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp", "file"})
RESET_REASONS = {"Soft": "SoftReset", "Hard": "HardReset"}


class StationCommands(StationSessions):
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
        self._reset_kind = kind
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

    async def _remote_start(self, conn: Connector, id_tag: str) -> None:
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
        if conn.fault is not None and conn.fault.heals is Heals.UNLOCK:
            self._then(functools.partial(self._heal, conn))
        return "Unlocked"

    async def _heal(self, conn: Connector) -> None:
        log.info("%s connector %d: fault healed", self.station_id, conn.id)
        conn.fault = None
        if conn.task is None:
            self._set_status(conn, "Available" if conn.operative else "Unavailable")

    def _cs_change_availability(self, connector_id: int, kind: str) -> str:
        operative = kind == "Operative"
        if connector_id == 0:
            targets = list(self._connectors.values())
        elif connector_id in self._connectors:
            targets = [self._connectors[connector_id]]
        else:
            return "Rejected"
        scheduled = False
        changed: list[Connector] = []
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

    async def _announce(self, connectors: list[Connector]) -> None:
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
                self._queue_connector(conn)

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
        if (
            urlsplit(location).scheme.lower() not in FETCHABLE_SCHEMES
            or self.firmware_fails == "download"
        ):
            self._queue_firmware_status("DownloadFailed")
            self._firmware_task = None
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
        if self.firmware_fails == "install":
            # The old firmware goes on running: no reboot, sessions may start again.
            self._maintenance = False
            self._firmware_task = None
            self._queue_firmware_status("InstallationFailed")
            return
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
