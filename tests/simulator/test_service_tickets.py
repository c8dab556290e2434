"""First-line service end to end, over OCPP with simulated stations that misbehave: a faulted
connector opens a ticket, the platform tries its remote remedies in order, and the ticket closes
when the station recovers; one that stays faulted keeps its ticket for the installer. A failed
firmware update and a station gone for good get theirs too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import make_settings
from voltflow.bootstrap import Platform, build
from voltflow.domain.access import PLATFORM
from voltflow.domain.monitoring import (
    Remedy,
    RemedyOutcome,
    Rule,
    Ticket,
    TicketDetail,
    TicketFilter,
    TicketState,
)
from voltflow.domain.paging import PageRequest
from voltflow.simulator import Fault, Heals

from .support import StationFactory, eventually

# Each remedy is given this long to clear the condition: long enough for a simulated station to
# reboot, reconnect and report its connectors (a few tenths of a second, a second or two on a
# machine under load), short for a test.
REMEDY_WAIT = 3.0


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    p = build(
        make_settings(
            database_url,
            ticket_remedy_wait_seconds=REMEDY_WAIT,
            ticket_offline_minutes=0.01,
            command_timeout=15,
        )
    )
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


async def _tickets(platform: Platform, station_id: str, *, every: bool = False) -> list[Ticket]:
    states = frozenset(TicketState) if every else frozenset()
    page = await platform.tickets.search(
        PLATFORM, TicketFilter(states=states, station_id=station_id), PageRequest()
    )
    return page.items


async def _detail(platform: Platform, station_id: str) -> TicketDetail | None:
    found = await _tickets(platform, station_id, every=True)
    if not found:
        return None
    return await platform.tickets.get(PLATFORM, found[-1].id)


def _remedies(detail: TicketDetail) -> list[tuple[Remedy, RemedyOutcome, bool | None]]:
    return [(r.remedy, r.outcome, r.cleared) for r in detail.remedies]


@pytest.mark.parametrize(
    ("heals", "tried"),
    [
        # Healed by the first remedy, a soft reset.
        (Heals.RESET, [Remedy.SOFT_RESET]),
        # The soft reset does not do it, the hard reset does.
        (Heals.HARD_RESET, [Remedy.SOFT_RESET, Remedy.HARD_RESET]),
        # Neither reset: unlocking the connector does.
        (Heals.UNLOCK, [Remedy.SOFT_RESET, Remedy.HARD_RESET, Remedy.UNLOCK_CONNECTOR]),
    ],
)
async def test_a_faulted_connector_is_remedied_from_afar_and_its_ticket_closes(
    platform: Platform, make_station: StationFactory, heals: Heals, tried: list[Remedy]
) -> None:
    fault = Fault("GroundFailure", "E-42", heals=heals)
    await make_station("SIM-TK", faulted_connectors=(1,), fault=fault)

    async def closed() -> TicketDetail | None:
        detail = await _detail(platform, "SIM-TK")
        return detail if detail and detail.ticket.state is TicketState.CLOSED else None

    detail = await eventually(closed, timeout=(len(tried) + 1) * REMEDY_WAIT + 30)
    ticket = detail.ticket
    assert (ticket.rule, ticket.evse_id) == (Rule.CONNECTOR_FAULTED, 1)
    assert (ticket.error_code, ticket.vendor_error_code) == ("GroundFailure", "E-42")
    assert ticket.close_reason is not None and ticket.close_reason.value == "cleared"
    assert (ticket.cleared_by, ticket.closed_by) == ("status:Available", None)
    assert ticket.dispatched_at is None  # never needed people
    expected = [(r, RemedyOutcome.ACCEPTED, False) for r in tried]
    expected[-1] = (tried[-1], RemedyOutcome.ACCEPTED, True)
    assert _remedies(detail) == expected
    # Each reset that did not heal it rebooted the station into Faulted again: occurrences,
    # not tickets.
    assert len(await _tickets(platform, "SIM-TK", every=True)) == 1
    resets = sum(1 for r in tried if r is not Remedy.UNLOCK_CONNECTOR)
    assert ticket.occurrences == 1 + resets - (1 if heals is not Heals.UNLOCK else 0)


async def test_a_connector_that_stays_faulted_goes_to_the_installer(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station(
        "SIM-STUCK", connectors=2, faulted_connectors=(2,), fault=Fault("OtherError", "X-9")
    )

    async def dispatched() -> TicketDetail | None:
        detail = await _detail(platform, "SIM-STUCK")
        return detail if detail and detail.ticket.state is TicketState.OPEN else None

    detail = await eventually(dispatched, timeout=4 * REMEDY_WAIT + 30)
    assert detail.ticket.evse_id == 2
    assert detail.ticket.dispatched_at is not None
    assert _remedies(detail) == [
        (Remedy.SOFT_RESET, RemedyOutcome.ACCEPTED, False),
        (Remedy.HARD_RESET, RemedyOutcome.ACCEPTED, False),
        (Remedy.UNLOCK_CONNECTOR, RemedyOutcome.ACCEPTED, False),
    ]
    assert detail.ticket.occurrences >= 3  # the first report, and one after each reset
    assert len(await _tickets(platform, "SIM-STUCK", every=True)) == 1

    # The installer repairs it on site: the station reports it Available, the ticket closes.
    station.recover(2)

    async def closed() -> TicketDetail | None:
        found = await _detail(platform, "SIM-STUCK")
        return found if found and found.ticket.state is TicketState.CLOSED else None

    done = await eventually(closed, timeout=15)
    assert done.ticket.cleared_by == "status:Available"


async def test_a_failed_firmware_update_opens_a_ticket(
    platform: Platform, make_station: StationFactory
) -> None:
    await make_station("SIM-FWT", firmware_fails="install")
    await platform.commands.send(
        "SIM-FWT",
        "UpdateFirmware",
        {"location": "https://fw.example/sim-2.0.0.bin", "retrieveDate": "2020-01-01T00:00:00Z"},
    )

    async def opened() -> list[Ticket]:
        return await _tickets(platform, "SIM-FWT")

    (ticket,) = await eventually(opened, timeout=15)
    assert (ticket.rule, ticket.status, ticket.state) == (
        Rule.FIRMWARE_FAILED,
        "InstallationFailed",
        TicketState.OPEN,
    )


async def test_a_station_gone_for_good_gets_a_ticket_and_its_return_closes_it(
    platform: Platform, make_station: StationFactory
) -> None:
    station = await make_station("SIM-GONE")
    platform.monitoring.up_since = None  # watching long enough to tell
    await station.go_offline()

    async def offline_ticket() -> list[Ticket]:
        await platform.monitoring.sweep()
        return await _tickets(platform, "SIM-GONE")

    (ticket,) = await eventually(offline_ticket, timeout=15)
    assert (ticket.rule, ticket.state) == (Rule.STATION_OFFLINE, TicketState.OPEN)
    station.come_back()

    async def cleared() -> bool:
        return not await _tickets(platform, "SIM-GONE")

    await eventually(cleared, timeout=15)
