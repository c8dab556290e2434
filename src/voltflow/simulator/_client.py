"""The OCPP side of a simulated station: the ``ocpp`` package's charge point over one WebSocket
connection. It turns the central system's calls into calls on :class:`SimulatedStation` and their
answers into OCPP payloads; the station keeps all state, and a new client is made per connection."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ocpp.routing import on as _ocpp_on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import ClientConnection

if TYPE_CHECKING:
    from voltflow.simulator._station import SimulatedStation

log = logging.getLogger("voltflow.simulator.ocpp")

F = TypeVar("F", bound=Callable[..., Any])


def on(action: str) -> Callable[[F], F]:
    """``ocpp.routing.on``, typed."""
    return cast(Callable[[F], F], _ocpp_on(action))


class StationClient(ChargePoint):  # type: ignore[misc]
    def __init__(
        self, station: SimulatedStation, ws: ClientConnection, response_timeout: float
    ) -> None:
        super().__init__(station.station_id, ws, response_timeout=response_timeout, logger=log)
        self.station = station

    async def route_message(self, raw_msg: str) -> None:
        """Route one frame. What a command sets in motion (a reboot, a triggered message, a session)
        starts only once its answer has left: the follow-ups are held until then."""
        self.station._followups_open()
        try:
            await super().route_message(raw_msg)
        except BaseException:
            self.station._followups_discard()
            raise
        self.station._followups_release()

    # -- Core -------------------------------------------------------------------------------
    @on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> Any:
        return call_result.Reset(status=self.station._cs_reset(type))

    @on(Action.remote_start_transaction)
    def on_remote_start_transaction(
        self, id_tag: str, connector_id: int | None = None, **_: Any
    ) -> Any:
        return call_result.RemoteStartTransaction(
            status=self.station._cs_remote_start(id_tag, connector_id)
        )

    @on(Action.remote_stop_transaction)
    def on_remote_stop_transaction(self, transaction_id: int, **_: Any) -> Any:
        return call_result.RemoteStopTransaction(
            status=self.station._cs_remote_stop(transaction_id)
        )

    @on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id: int, **_: Any) -> Any:
        return call_result.UnlockConnector(status=self.station._cs_unlock(connector_id))

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:
        return call_result.ChangeAvailability(
            status=self.station._cs_change_availability(connector_id, type)
        )

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        known, unknown = self.station.config_keys.lookup(key)
        return call_result.GetConfiguration(
            configuration_key=known or None, unknown_key=unknown or None
        )

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        return call_result.ChangeConfiguration(
            status=self.station._cs_change_configuration(key, value)
        )

    @on(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> Any:
        self.station.local_auth.clear_cache()
        return call_result.ClearCache(status="Accepted")

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> Any:
        return call_result.DataTransfer(status="UnknownVendorId")

    # -- RemoteTrigger ----------------------------------------------------------------------------
    @on(Action.trigger_message)
    def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> Any:
        return call_result.TriggerMessage(
            status=self.station._cs_trigger(requested_message, connector_id)
        )

    # -- FirmwareManagement -------------------------------------------------------------------
    @on(Action.update_firmware)
    def on_update_firmware(self, location: str, retrieve_date: str, **_: Any) -> Any:
        self.station._cs_update_firmware(location, retrieve_date)
        return call_result.UpdateFirmware()

    @on(Action.get_diagnostics)
    def on_get_diagnostics(self, location: str, **_: Any) -> Any:
        return call_result.GetDiagnostics(file_name=self.station._cs_get_diagnostics(location))

    # -- LocalAuthListManagement ---------------------------------------------------------------
    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> Any:
        return call_result.GetLocalListVersion(list_version=self.station.local_list_version)

    @on(Action.send_local_list)
    def on_send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Any:
        if not self.station.config_keys.flag("LocalAuthListEnabled"):
            return call_result.SendLocalList(status="NotSupported")
        status = self.station.local_auth.update(
            list_version, update_type, local_authorization_list or []
        )
        return call_result.SendLocalList(status=status.value)
