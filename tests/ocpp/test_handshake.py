"""Who may open an OCPP connection: the subprotocol, a known station, its Basic credentials; and
auto-registration, where an unknown station waits as Pending until an operator claims it."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedOK, InvalidStatus
from websockets.typing import Subprotocol

from tests.conftest import make_settings
from tests.ocpp.support import (
    OCPP16,
    PASSWORD,
    RawStation,
    add_station,
    basic,
    eventually,
    open_socket,
    raw_station,
)
from voltflow.bootstrap import Platform, build
from voltflow.domain.stations import Registration
from voltflow.ocpp.throttle import HandshakeThrottle
from voltflow.services.stations import StationError

TS = "2025-03-01T12:00:00Z"
BOOT = {"chargePointVendor": "Acme", "chargePointModel": "Wallbox"}


async def refused(connecting: Any) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as info:
        async with connecting:
            pass
    return info.value


REFUSALS = [
    pytest.param([], None, 400, id="no-subprotocol"),
    pytest.param([Subprotocol("ocpp2.0.1")], None, 400, id="other-ocpp-version"),
    pytest.param([OCPP16], {}, 401, id="no-credentials"),
    pytest.param([OCPP16], basic("CP-1", "wrong-password-123"), 401, id="wrong-password"),
    pytest.param([OCPP16], basic("CP-2", PASSWORD), 401, id="other-stations-name"),
    pytest.param([OCPP16], {"Authorization": "Basic !!!"}, 401, id="not-base64"),
    pytest.param([OCPP16], {"Authorization": f"Bearer {PASSWORD}"}, 401, id="not-basic"),
]


async def test_refusals(platform: Platform, ocpp_url: str) -> None:
    """One platform for the whole table: a refusal changes nothing the next case could see
    (but the failures it counts, which are forgotten between cases here)."""
    await add_station(platform, "CP-1")
    await add_station(platform, "CP-2")
    for case in REFUSALS:
        platform.ocpp.throttle = HandshakeThrottle()
        subprotocols, headers, status = case.values
        error = await refused(
            open_socket(ocpp_url, "CP-1", subprotocols=subprotocols, headers=headers)
        )
        assert error.response.status_code == status, case.id
        if status == 401:
            assert error.response.headers["WWW-Authenticate"].startswith("Basic"), case.id
        assert not platform.ocpp.is_connected("CP-1"), case.id
        assert not (await platform.stations.get("CP-1")).online, case.id
    # And the right key still opens the door.
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.heartbeat()


async def test_unknown_station_is_refused(platform: Platform, ocpp_url: str) -> None:
    error = await refused(open_socket(ocpp_url, "CP-404"))
    assert error.response.status_code == 404
    with pytest.raises(LookupError):
        await platform.stations.get("CP-404")


async def test_other_paths_are_not_found(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    base = ocpp_url.removesuffix("/ocpp")
    for path in ["/", "/CP-1", "/ocpp", "/ocpp/", "/ocpp/a/b", "/ocpp/" + "x" * 65]:
        error = await refused(
            connect(base + path, subprotocols=[OCPP16], additional_headers=basic("CP-1", PASSWORD))
        )
        assert error.response.status_code == 404, path


async def test_a_rejected_station_is_forbidden(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    await platform.stations.update("CP-1", registration=Registration.REJECTED)
    error = await refused(open_socket(ocpp_url, "CP-1"))
    assert error.response.status_code == 403


async def test_a_known_station_with_its_key_is_accepted(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with open_socket(ocpp_url, "CP-1") as ws:
        assert ws.subprotocol == "ocpp1.6"
        await RawStation(ws, "CP-1").heartbeat()
        assert platform.ocpp.is_connected("CP-1")
        assert (await platform.stations.get("CP-1")).online

    async def offline() -> bool:
        return not (await platform.stations.get("CP-1")).online

    await eventually(offline)
    assert not platform.ocpp.is_connected("CP-1")


async def test_the_subprotocol_may_be_one_of_several(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    offered = [Subprotocol("ocpp2.0.1"), OCPP16]
    async with open_socket(ocpp_url, "CP-1", subprotocols=offered) as ws:
        assert ws.subprotocol == "ocpp1.6"


async def test_a_station_without_a_key_needs_no_credentials(
    platform: Platform, ocpp_url: str
) -> None:
    await platform.stations.add("CP-OPEN")
    async with raw_station(ocpp_url, "CP-OPEN", password=None) as st:
        await st.heartbeat()


async def test_station_ids_are_url_decoded(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with open_socket(ocpp_url, "CP%2D1", headers=basic("CP-1", PASSWORD)) as ws:
        await RawStation(ws, "CP-1").heartbeat()
        assert platform.ocpp.is_connected("CP-1")


async def test_a_station_id_with_a_colon_is_refused_at_registration(platform: Platform) -> None:
    # HTTP Basic cannot carry ":" in the user name, so OCPP 1.6 security profiles forbid it.
    with pytest.raises(StationError, match="station id"):
        await platform.stations.add("CP:1", PASSWORD)


async def test_a_reconnect_replaces_the_old_connection(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as old:
        await old.heartbeat()
        async with raw_station(ocpp_url, "CP-1") as new:
            await new.heartbeat()
            with pytest.raises(ConnectionClosedOK):
                await old.ws.recv()
            assert old.ws.close_code == 1000
            await new.heartbeat()
            assert platform.ocpp.is_connected("CP-1")
            # The old socket going away does not take the new one offline.
            assert (await platform.stations.get("CP-1")).online


class PresenceLog:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    async def station_connected(self, station_id: str) -> None:
        self.events.append(("connected", station_id))

    async def station_disconnected(self, station_id: str) -> None:
        self.events.append(("disconnected", station_id))


async def test_a_station_that_hangs_up_with_calls_in_flight_ends_offline(
    platform: Platform, ocpp_url: str
) -> None:
    """Its calls are still handled after the socket is gone (and mark it seen): the offline
    mark, and the presence listeners' disconnect, come after them."""
    await add_station(platform, "CP-1")
    presence = PresenceLog()
    platform.ocpp.presence.append(presence)
    async with raw_station(ocpp_url, "CP-1") as station:
        for _ in range(3):
            await station.send_call("Heartbeat", {})

    async def both_told() -> bool:
        return len(presence.events) == 2

    await eventually(both_told)
    assert presence.events == [("connected", "CP-1"), ("disconnected", "CP-1")]
    await platform.ocpp.stop()  # waits for what the connection left to do
    record = await platform.stations.get("CP-1")
    assert record is not None and not record.online
    assert record.last_seen_at is not None


# -- auto-registration -----------------------------------------------------------------------


@pytest.fixture
async def auto_platform(database_url: str) -> AsyncIterator[Platform]:
    p = build(make_settings(database_url, auto_register=True))
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


@pytest.fixture
def auto_url(auto_platform: Platform) -> str:
    return f"ws://127.0.0.1:{auto_platform.ocpp.port}/ocpp"


async def test_an_unknown_station_waits_pending_until_claimed(
    auto_platform: Platform, auto_url: str
) -> None:
    platform = auto_platform
    async with raw_station(auto_url, "NEW-1") as st:
        record = await platform.stations.get("NEW-1")
        assert record.registration is Registration.PENDING

        boot = await st.result("BootNotification", BOOT)
        assert boot["status"] == "Pending"
        assert boot["interval"] == platform.events.pending_retry_interval
        assert (await platform.stations.get("NEW-1")).vendor == "Acme"  # what it said is kept

        for action, payload in [
            (
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
            ),
            ("Authorize", {"idTag": "04A2"}),
            (
                "StartTransaction",
                {"connectorId": 1, "idTag": "04A2", "meterStart": 0, "timestamp": TS},
            ),
            (
                "MeterValues",
                {
                    "connectorId": 1,
                    "meterValue": [{"timestamp": TS, "sampledValue": [{"value": "1"}]}],
                },
            ),
            ("DataTransfer", {"vendorId": "com.acme"}),
            ("FirmwareStatusNotification", {"status": "Idle"}),
        ]:
            answer = await st.call(action, payload)
            assert answer[:3] == [4, answer[1], "SecurityError"], (action, answer)
        assert await platform.stations.connectors("NEW-1") == []
        assert (await platform.sessions.search(station_id="NEW-1")).total == 0

        # Asking again changes nothing while nobody has claimed it.
        assert (await st.result("BootNotification", BOOT))["status"] == "Pending"

        await platform.stations.claim("NEW-1")
        boot = await st.result("BootNotification", BOOT)
        assert boot["status"] == "Accepted"
        assert boot["interval"] == platform.settings.heartbeat_interval
        await st.result(
            "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
        )
    [connector] = await platform.stations.connectors("NEW-1")
    assert connector["status"] == "Available"


async def test_the_key_presented_first_becomes_the_stations_key(
    auto_platform: Platform, auto_url: str
) -> None:
    async with raw_station(auto_url, "NEW-1", password="first-key-0123456789") as st:
        assert (await st.result("BootNotification", BOOT))["status"] == "Pending"
    error = await refused(open_socket(auto_url, "NEW-1", password="another-key-0123456789"))
    assert error.response.status_code == 401
    async with raw_station(auto_url, "NEW-1", password="first-key-0123456789") as st:
        assert (await st.result("BootNotification", BOOT))["status"] == "Pending"


async def test_a_claimed_station_is_accepted_on_its_next_connection(
    auto_platform: Platform, auto_url: str
) -> None:
    async with raw_station(auto_url, "NEW-1") as st:
        await st.result("BootNotification", BOOT)
    await auto_platform.stations.claim("NEW-1")
    async with raw_station(auto_url, "NEW-1") as st:
        assert (await st.result("BootNotification", BOOT))["status"] == "Accepted"


async def test_without_auto_registration_unknown_stations_are_not_created(
    platform: Platform, ocpp_url: str
) -> None:
    assert not platform.settings.auto_register
    await refused(open_socket(ocpp_url, "NEW-1"))
    assert (await platform.stations.search()).total == 0


@pytest.mark.parametrize("path_id", ["bad%20id", "CP%3A1", "x" * 65])
async def test_auto_registration_keeps_the_station_id_rules(
    auto_platform: Platform, auto_url: str, path_id: str
) -> None:
    error = await refused(open_socket(auto_url, path_id))
    assert error.response.status_code == 404
    assert (await auto_platform.stations.search()).total == 0
