"""Who may open an OCPP connection: the subprotocol, a known station, its Basic credentials; and
auto-registration, where an unknown station waits as Pending until an operator claims it."""

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from typing import Any

import orjson
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
    log_rows,
    open_socket,
    raw_station,
)
from voltflow.bootstrap import Platform, build
from voltflow.domain.paging import PageRequest
from voltflow.domain.queries import SessionFilter, StationFilter
from voltflow.domain.station_keys import KeyChange, verify_station_password
from voltflow.domain.stations import Registration
from voltflow.ocpp.throttle import HandshakeThrottle
from voltflow.services.commands import KeyChangeBusy, KeyRotated
from voltflow.services.ports import CommandRejected, CommandTimeout, InvalidCommand, StationOffline
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
        assert (
            await platform.sessions.search(SessionFilter(station_id="NEW-1"), PageRequest())
        ).total == 0

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
    assert connector.status == "Available"


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
    assert (await platform.stations.search(StationFilter(), PageRequest())).total == 0


@pytest.mark.parametrize("path_id", ["bad%20id", "CP%3A1", "x" * 65])
async def test_auto_registration_keeps_the_station_id_rules(
    auto_platform: Platform, auto_url: str, path_id: str
) -> None:
    error = await refused(open_socket(auto_url, path_id))
    assert error.response.status_code == 404
    assert (await auto_platform.stations.search(StationFilter(), PageRequest())).total == 0


# -- station keys: their rules, and how fast they can be guessed ---------------------------------


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("a" * 15, id="15-characters"),
        pytest.param("a" * 41, id="41-characters"),
        pytest.param("twelve-chars", id="the-old-8-character-minimum"),
        pytest.param("sixteen chars ok", id="a-space"),
        pytest.param("clé-de-station-0001", id="not-ascii"),
    ],
)
async def test_a_key_outside_the_ocpp_bounds_is_refused(platform: Platform, key: str) -> None:
    with pytest.raises(StationError, match="16–40 characters") as info:
        await platform.stations.add("CP-1", key)
    assert info.value.field == "password"
    with pytest.raises(LookupError):
        await platform.stations.get("CP-1")
    await platform.stations.add("CP-2", "k" * 16)
    with pytest.raises(StationError, match="16–40 characters"):
        await platform.stations.update("CP-2", password=key)


async def test_keys_at_the_bounds_and_generated_ones_are_accepted(
    platform: Platform, ocpp_url: str
) -> None:
    await platform.stations.add("CP-16", "k" * 16)
    await platform.stations.add("CP-40", "*-_=:+|@.A1" + "k" * 29)
    new = await platform.stations.add("CP-GEN", generate_password=True)
    assert new.password is not None and len(new.password) == 40
    int(new.password, 16)  # hexadecimal: the same key to either reading of AuthorizationKey
    async with raw_station(ocpp_url, "CP-GEN", password=new.password) as st:
        await st.heartbeat()


class FakeClock:
    """The throttle's clock, moved by hand: the tests count what is admitted, never wait."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def from_address(ocpp_url: str, station_id: str, address: str, password: str) -> Any:
    """A handshake as ``station_id`` from another loopback address (all of 127/8 is local)."""
    return connect(
        f"{ocpp_url}/{station_id}",
        subprotocols=[OCPP16],
        additional_headers=basic(station_id, password),
        open_timeout=5,
        close_timeout=1,
        local_addr=(address, 0),
    )


async def status_of(connecting: Any) -> int:
    try:
        async with connecting:
            return 101
    except InvalidStatus as error:
        return int(error.response.status_code)


@pytest.fixture
def clock(platform: Platform) -> FakeClock:
    fake = FakeClock()
    platform.ocpp.throttle = HandshakeThrottle(clock=fake)
    return fake


async def test_repeated_bad_handshakes_are_slowed(
    platform: Platform, ocpp_url: str, clock: FakeClock
) -> None:
    """A guesser on one address trying every 100 ms for a minute gets a handful of its keys
    looked at; the rest are refused before that, with the time to wait."""
    await add_station(platform, "CP-1")
    statuses: list[int] = []
    for _ in range(600):
        statuses.append(await status_of(open_socket(ocpp_url, "CP-1", password="g" * 20)))
        clock.now += 0.1
    verified = statuses.count(401)
    assert statuses.count(429) == 600 - verified
    # Three free, then at most one a second (the station id), then fewer and fewer (the source).
    assert 3 <= verified <= 12, verified
    assert statuses[:3] == [401, 401, 401]
    error = await refused(open_socket(ocpp_url, "CP-1", password="g" * 20))
    assert error.response.status_code == 429
    assert int(error.response.headers["Retry-After"]) >= 1
    assert not (await platform.stations.get("CP-1")).online


async def test_a_guesser_on_many_addresses_meets_the_station_ids_limit(
    platform: Platform, ocpp_url: str, clock: FakeClock
) -> None:
    await add_station(platform, "CP-1")
    statuses = [
        await status_of(from_address(ocpp_url, "CP-1", f"127.0.0.{n}", "g" * 20))
        for n in range(2, 42)
    ]
    assert statuses.count(401) == 3 and statuses.count(429) == 37, statuses
    clock.now += 1.0  # the station id's wait is short: one more guess a second
    statuses = [
        await status_of(from_address(ocpp_url, "CP-1", f"127.0.0.{n}", "g" * 20))
        for n in range(42, 52)
    ]
    assert statuses.count(401) == 1, statuses


async def test_a_station_is_not_locked_out_by_another_sources_failures(
    platform: Platform, ocpp_url: str, clock: FakeClock
) -> None:
    await add_station(platform, "CP-1")
    async with from_address(ocpp_url, "CP-1", "127.0.0.1", PASSWORD):
        pass  # the station, connected once: its address is known to hold its key
    attacks = [
        await status_of(from_address(ocpp_url, "CP-1", "127.0.0.2", "g" * 20)) for _ in range(50)
    ]
    assert attacks.count(401) <= 3 and attacks[-1] == 429
    # The station reconnects at once, from its address, while its id is under attack.
    assert await status_of(from_address(ocpp_url, "CP-1", "127.0.0.1", PASSWORD)) == 101
    # From a new address (a new mobile lease) it waits the id's short limit, not the attacker's.
    assert await status_of(from_address(ocpp_url, "CP-1", "127.0.0.3", PASSWORD)) == 429
    clock.now += 1.0
    assert await status_of(from_address(ocpp_url, "CP-1", "127.0.0.3", PASSWORD)) == 101
    # A source that held the key and then fails on the id loses its standing there.
    assert await status_of(from_address(ocpp_url, "CP-1", "127.0.0.1", "g" * 20)) == 401


async def test_a_clean_address_is_never_slowed(
    platform: Platform, ocpp_url: str, clock: FakeClock
) -> None:
    """A connect storm through one address (a proxy, a NAT) with the right keys goes through."""
    for n in range(30):
        await platform.stations.add(f"CP-{n}", PASSWORD)
    opened = await asyncio.gather(*(status_of(open_socket(ocpp_url, f"CP-{n}")) for n in range(30)))
    assert opened == [101] * 30


async def trusted_source_of(platform: Platform, station_id: str) -> str | None:
    admitted = await platform.events.admission(station_id)
    assert admitted is not None
    return admitted.trusted_source


async def test_a_station_is_not_locked_out_after_a_restart_while_its_id_is_attacked(
    platform: Platform, ocpp_url: str, database_url: str
) -> None:
    """The source a station connected from with its key is kept with the station: a restarted
    platform, which remembers no handshake, still lets the station in from there while a
    guesser on ever new addresses keeps its id's limit hot."""
    await add_station(platform, "CP-1")
    async with from_address(ocpp_url, "CP-1", "127.0.0.1", PASSWORD):
        pass

    async def stored() -> bool:
        return await trusted_source_of(platform, "CP-1") == "127.0.0.1"

    await eventually(stored)
    await platform.stop()
    restarted = build(make_settings(database_url))
    await restarted.start()
    try:
        clock = FakeClock()
        restarted.ocpp.throttle = HandshakeThrottle(clock=clock)
        url = f"ws://127.0.0.1:{restarted.ocpp.port}/ocpp"
        attacks = [
            await status_of(from_address(url, "CP-1", f"127.0.0.{n}", "g" * 20))
            for n in range(2, 30)
        ]
        assert attacks.count(401) == 3 and attacks[-1] == 429, attacks
        assert await status_of(from_address(url, "CP-1", "127.0.0.1", PASSWORD)) == 101
        # Anyone else with the key waits the id's limit (a new lease, a new address).
        assert await status_of(from_address(url, "CP-1", "127.0.0.30", PASSWORD)) == 429
        # The trusted source that fails on the id loses its standing there.
        assert await status_of(from_address(url, "CP-1", "127.0.0.1", "g" * 20)) == 401
        assert await status_of(from_address(url, "CP-1", "127.0.0.1", PASSWORD)) == 429
    finally:
        await restarted.stop()


def via_proxy(ocpp_url: str, station_id: str, forwarded_for: str, password: str) -> Any:
    return open_socket(
        ocpp_url,
        station_id,
        headers={**basic(station_id, password), "X-Forwarded-For": forwarded_for},
    )


@pytest.fixture
async def behind_proxy(database_url: str) -> AsyncIterator[Platform]:
    p = build(make_settings(database_url, trusted_proxies=("127.0.0.1",)))
    await p.start()
    p.ocpp.throttle = HandshakeThrottle(clock=FakeClock())
    try:
        yield p
    finally:
        await p.stop()


async def test_behind_a_trusted_proxy_each_station_is_its_forwarded_address(
    behind_proxy: Platform,
) -> None:
    """Security profile 2 with TLS ended at a proxy: every station's peer is the proxy. Its
    X-Forwarded-For names the station (the right-most address not of our proxies), and that is
    what the handshake throttles and trusts; from any other peer the header means nothing."""
    platform = behind_proxy
    url = f"ws://127.0.0.1:{platform.ocpp.port}/ocpp"
    for n in range(3):
        await add_station(platform, f"CP-{n}")
    # A guesser behind the proxy (what it puts in the header itself is ignored: left of it).
    guesses = [
        await status_of(via_proxy(url, f"CP-X{n}", "198.51.100.1, 203.0.113.7", "g" * 20))
        for n in range(20)
    ]
    assert guesses.count(404) <= 6 and guesses[-1] == 429, guesses
    # Stations behind the same proxy are not slowed by it.
    assert await status_of(via_proxy(url, "CP-0", "203.0.113.8", PASSWORD)) == 101
    assert await status_of(via_proxy(url, "CP-1", "203.0.113.9, 127.0.0.1", PASSWORD)) == 101

    async def stored() -> bool:
        return await trusted_source_of(platform, "CP-1") == "203.0.113.9"

    await eventually(stored)
    # The guesser stays slowed, whichever station it names.
    assert await status_of(via_proxy(url, "CP-2", "203.0.113.7", PASSWORD)) == 429
    # A peer that is not one of our proxies is itself the source, whatever it forwards.
    refused = [
        await status_of(
            from_address_with(url, f"CP-Y{n}", "127.0.0.2", {"X-Forwarded-For": f"192.0.2.{n}"})
        )
        for n in range(20)
    ]
    assert refused[-1] == 429, refused


def from_address_with(ocpp_url: str, station_id: str, address: str, headers: dict[str, str]) -> Any:
    return connect(
        f"{ocpp_url}/{station_id}",
        subprotocols=[OCPP16],
        additional_headers={**basic(station_id, "g" * 20), **headers},
        open_timeout=5,
        close_timeout=1,
        local_addr=(address, 0),
    )


# -- a key change is a handover ------------------------------------------------------------------


async def change_configuration(station: RawStation) -> list[Any]:
    frame = await station.recv()
    assert frame[0] == 2 and frame[2] == "ChangeConfiguration", frame
    return frame


async def key_of(platform: Platform, station_id: str) -> Any:
    return await platform.stations.get(station_id)


async def test_an_accepted_key_change_is_a_handover(platform: Platform, ocpp_url: str) -> None:
    """OCTT TC_073: the station takes its new key and reconnects with it; the old one stays
    valid until then, and only until then."""
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        rotation = asyncio.create_task(platform.commands.rotate_key("CP-1"))
        frame = await change_configuration(st)
        assert frame[3]["key"] == "AuthorizationKey"
        new_key = frame[3]["value"]
        record = await key_of(platform, "CP-1")
        assert record.key_change is KeyChange.OFFERED  # stored before it was sent
        await st.answer(frame, {"status": "Accepted"})
        rotated = await rotation
    assert rotated.key == new_key and rotated.result.payload == {"status": "Accepted"}
    assert (await key_of(platform, "CP-1")).key_change is KeyChange.ACCEPTED
    # The message log, which fleet managers read, does not keep the key in clear.
    logged = await log_rows(platform, "CP-1", action="ChangeConfiguration")
    assert [r["direction"] for r in logged] == ["out", "in"]
    assert "AuthorizationKey" in logged[0]["payload"]
    assert all(new_key not in r["payload"] for r in logged)

    # Before the station reconnects with its new key, both keys open the door.
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.heartbeat()
    assert (await key_of(platform, "CP-1")).key_change is KeyChange.ACCEPTED
    async with raw_station(ocpp_url, "CP-1", password=new_key) as st:
        await st.heartbeat()
    # Connected with the new key: it is the only one now.
    record = await key_of(platform, "CP-1")
    assert record.key_change is None and record.pending_password_hash is None
    assert verify_station_password(new_key, record.password_hash)
    error = await refused(open_socket(ocpp_url, "CP-1"))
    assert error.response.status_code == 401
    async with raw_station(ocpp_url, "CP-1", password=new_key) as st:
        await st.heartbeat()


async def test_the_remote_command_api_hands_the_key_over_too(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    new_key = "operator-chosen-key-0001"
    async with raw_station(ocpp_url, "CP-1") as st:
        sending = asyncio.create_task(
            platform.commands.send(
                "CP-1", "changeconfiguration", {"key": "authorizationkey", "value": new_key}
            )
        )
        frame = await change_configuration(st)
        await st.answer(frame, {"status": "Accepted"})
        assert (await sending).payload == {"status": "Accepted"}
    async with raw_station(ocpp_url, "CP-1", password=new_key) as st:
        await st.heartbeat()
    assert (await refused(open_socket(ocpp_url, "CP-1"))).response.status_code == 401


async def test_a_station_that_reads_the_key_as_hexadecimal_gets_in(
    platform: Platform, ocpp_url: str
) -> None:
    """The 1.6 security whitepaper's reading: the key's hexadecimal digits stand for the octets
    the station sends as its password."""
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        rotation = asyncio.create_task(platform.commands.rotate_key("CP-1"))
        frame = await change_configuration(st)
        await st.answer(frame, {"status": "Accepted"})
        key = (await rotation).key
    octets = bytes.fromhex(key)
    token = base64.b64encode(b"CP-1:" + octets).decode()
    async with open_socket(ocpp_url, "CP-1", headers={"Authorization": f"Basic {token}"}) as ws:
        await RawStation(ws, "CP-1").heartbeat()
    assert (await key_of(platform, "CP-1")).key_change is None


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"status": "Rejected"}, id="Rejected"),
        pytest.param({"status": "NotSupported"}, id="NotSupported"),
        pytest.param(None, id="CALLERROR"),
    ],
)
async def test_a_refused_key_change_keeps_the_old_key(
    platform: Platform, ocpp_url: str, answer: dict[str, str] | None
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        rotation = asyncio.create_task(platform.commands.rotate_key("CP-1"))
        frame = await change_configuration(st)
        new_key = frame[3]["value"]
        if answer is None:
            await st.send_raw(orjson.dumps([4, frame[1], "NotImplemented", "no", {}]).decode())
            with pytest.raises(CommandRejected):
                await rotation
        else:
            await st.answer(frame, answer)
            assert (await rotation).result.payload == answer
    record = await key_of(platform, "CP-1")
    assert record.key_change is None and record.pending_password_hash is None
    assert (await refused(open_socket(ocpp_url, "CP-1", password=new_key))).response.status_code
    async with raw_station(ocpp_url, "CP-1") as st:
        await st.heartbeat()


async def test_a_key_accepted_after_the_timeout_still_opens_the_door(
    platform: Platform, ocpp_url: str
) -> None:
    """The station applied the key but answered too late: the platform cannot tell, so the new
    key stays valid beside the old one until the station connects with it."""
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        with pytest.raises(CommandTimeout):
            await platform.commands.rotate_key("CP-1", timeout=0.2)
        frame = await change_configuration(st)
        new_key = frame[3]["value"]
        await st.answer(frame, {"status": "Accepted"})  # after the timeout
        await st.heartbeat()
    assert (await key_of(platform, "CP-1")).key_change is KeyChange.OFFERED
    async with raw_station(ocpp_url, "CP-1") as st:  # the old key, until the new one is used
        await st.heartbeat()
    async with raw_station(ocpp_url, "CP-1", password=new_key) as st:
        await st.heartbeat()
    record = await key_of(platform, "CP-1")
    assert record.key_change is None and verify_station_password(new_key, record.password_hash)
    assert (await refused(open_socket(ocpp_url, "CP-1"))).response.status_code == 401


async def test_a_refused_change_puts_back_the_unanswered_key_it_replaced(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        with pytest.raises(CommandTimeout):
            await platform.commands.rotate_key("CP-1", timeout=0.2)
        unanswered = (await change_configuration(st))[3]["value"]
        rotation = asyncio.create_task(platform.commands.rotate_key("CP-1"))
        await st.answer(await change_configuration(st), {"status": "Rejected"})
        assert (await rotation).result.payload == {"status": "Rejected"}
    assert (await key_of(platform, "CP-1")).key_change is KeyChange.OFFERED
    async with raw_station(ocpp_url, "CP-1", password=unanswered) as st:
        await st.heartbeat()
    assert (await key_of(platform, "CP-1")).key_change is None


async def test_two_key_changes_at_once_send_one(platform: Platform, ocpp_url: str) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        rotations = [
            asyncio.create_task(platform.commands.rotate_key("CP-1", timeout=5)) for _ in "ab"
        ]
        frame = await change_configuration(st)
        await st.answer(frame, {"status": "Accepted"})
        answers = await asyncio.gather(*rotations, return_exceptions=True)
        await st.heartbeat()  # the other change was never sent
    refusals = [a for a in answers if isinstance(a, KeyChangeBusy)]
    rotated = [a for a in answers if isinstance(a, KeyRotated)]
    assert len(refusals) == 1 and len(rotated) == 1, answers
    assert rotated[0].key == frame[3]["value"]
    async with raw_station(ocpp_url, "CP-1", password=rotated[0].key) as st:
        await st.heartbeat()


async def test_an_offer_never_overwrites_another_key_change(platform: Platform) -> None:
    """What guards two processes that read the station at once: each offer names what it
    expects to find."""
    await add_station(platform, "CP-1")
    stations = platform.stations.repo
    assert await stations.offer_key("CP-1", "first")
    assert not await stations.offer_key("CP-1", "second")
    assert not await stations.offer_key("CP-1", "second", replacing="other")
    assert await stations.offer_key("CP-1", "second", replacing="first")
    assert await stations.key_accepted("CP-1", "second")
    assert not await stations.offer_key("CP-1", "third", replacing="second")
    assert (await key_of(platform, "CP-1")).pending_password_hash == "second"


async def test_a_key_is_changed_only_online_and_only_to_a_valid_key(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    with pytest.raises(StationOffline, match="not connected"):
        await platform.commands.rotate_key("CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        with pytest.raises(InvalidCommand, match="16–40 characters"):
            await platform.commands.send(
                "CP-1", "ChangeConfiguration", {"key": "AuthorizationKey", "value": "short"}
            )
        await st.heartbeat()  # nothing was sent
    assert (await key_of(platform, "CP-1")).pending_password_hash is None


async def test_no_second_key_change_before_the_station_used_the_first(
    platform: Platform, ocpp_url: str
) -> None:
    await add_station(platform, "CP-1")
    async with raw_station(ocpp_url, "CP-1") as st:
        rotation = asyncio.create_task(platform.commands.rotate_key("CP-1"))
        await st.answer(await change_configuration(st), {"status": "Accepted"})
        first = (await rotation).key
        with pytest.raises(InvalidCommand, match="has not connected with it yet"):
            await platform.commands.rotate_key("CP-1")
        await st.heartbeat()
    async with raw_station(ocpp_url, "CP-1", password=first) as st:
        await st.heartbeat()


# -- claiming a station that came without a key ----------------------------------------------------


async def test_claiming_a_keyless_station_hands_it_a_key(
    auto_platform: Platform, auto_url: str
) -> None:
    platform = auto_platform
    async with raw_station(auto_url, "NEW-1", password=None) as st:
        assert (await st.result("BootNotification", BOOT))["status"] == "Pending"
        assert not (await key_of(platform, "NEW-1")).has_key
        claiming = asyncio.create_task(platform.stations.claim("NEW-1"))
        frame = await change_configuration(st)
        assert frame[3]["key"] == "AuthorizationKey"
        await st.answer(frame, {"status": "Accepted"})
        claimed = await claiming
    assert claimed.key == frame[3]["value"]
    assert claimed.record.registration is Registration.ACCEPTED
    assert not claimed.record.has_key and claimed.record.key_change is KeyChange.ACCEPTED
    # Until it connects with its key it is let in as it came, and shows as keyless.
    async with raw_station(auto_url, "NEW-1", password=None) as st:
        assert (await st.result("BootNotification", BOOT))["status"] == "Accepted"
    async with raw_station(auto_url, "NEW-1", password=claimed.key) as st:
        await st.heartbeat()
    assert (await key_of(platform, "NEW-1")).has_key
    error = await refused(open_socket(auto_url, "NEW-1", password=None))
    assert error.response.status_code == 401


async def test_claiming_an_offline_keyless_station_keeps_its_key_for_the_installer(
    auto_platform: Platform, auto_url: str
) -> None:
    platform = auto_platform
    async with raw_station(auto_url, "NEW-1", password=None) as st:
        await st.result("BootNotification", BOOT)
    claimed = await platform.stations.claim("NEW-1")
    assert claimed.key is not None and claimed.delivery is not None
    assert "not sent" in claimed.delivery
    async with raw_station(auto_url, "NEW-1", password=None) as st:
        await st.heartbeat()
    async with raw_station(auto_url, "NEW-1", password=claimed.key) as st:
        await st.heartbeat()
    assert (await refused(open_socket(auto_url, "NEW-1", password=None))).response.status_code


async def test_a_station_that_came_with_a_key_keeps_it_when_claimed(
    auto_platform: Platform, auto_url: str
) -> None:
    async with raw_station(auto_url, "NEW-1") as st:
        await st.result("BootNotification", BOOT)
    claimed = await auto_platform.stations.claim("NEW-1")
    assert claimed.key is None and claimed.record.has_key


async def test_a_weak_key_is_not_kept_at_auto_registration(
    auto_platform: Platform, auto_url: str
) -> None:
    async with raw_station(auto_url, "NEW-1", password="weak-key") as st:
        await st.result("BootNotification", BOOT)
    record = await key_of(auto_platform, "NEW-1")
    assert not record.has_key  # keyless, shown as such, and given a key when claimed


# -- the database unreachable ------------------------------------------------------------------


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.name.startswith("voltflow.ocpp") and r.exc_info
    ]


async def test_a_handshake_the_database_cannot_decide_answers_503(
    platform: Platform, ocpp_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await add_station(platform, "CP-1")
    await platform.writer.stop()  # the keys can no longer be read
    for _ in range(3):
        error = await refused(open_socket(ocpp_url, "CP-1"))
        assert error.response.status_code == 503
        assert int(error.response.headers["Retry-After"]) > 0
    assert no_tracebacks(caplog) == []
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "503" in r.getMessage()]
    assert len(warnings) == 3


async def test_a_handshake_with_postgresql_down_answers_503(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = build(make_settings(f"postgresql://postgres@127.0.0.1:{port}/none"))
    await p.writer.start()
    await p.ocpp.start()
    try:
        url = f"ws://127.0.0.1:{p.ocpp.port}/ocpp"
        error = await refused(open_socket(url, "CP-1"))
        assert error.response.status_code == 503
        assert error.response.headers["Retry-After"]
    finally:
        await p.ocpp.stop()
        await p.writer.stop()
        await p.db.dispose()
    assert no_tracebacks(caplog) == []
