"""Every finished session gets its price lines when it closes: stations charge over OCPP, the
session-closed event reaches the pricing consumer, and the lines name the tariff version used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.factories import company, operator
from tests.factories import tariff_document as tariff
from tests.ocpp.support import add_station, eventually, ocpp_station, transaction
from voltflow.bootstrap import Platform
from voltflow.domain.access import Role
from voltflow.domain.session_prices import Basis, Party, PriceLine
from voltflow.domain.session_types import SessionType
from voltflow.services.access import Forbidden
from voltflow.services.corrections import CorrectionError
from voltflow.services.pricing import PricingError
from voltflow.services.stations import StationNotFound

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Brussels


async def charge(
    platform: Platform, ocpp_url: str, id_tag: str, wh: int, minutes: float, offset_min: float = 0
) -> int:
    async with ocpp_station(ocpp_url, "CP-1") as cp:
        return await transaction(cp, id_tag, T0 + timedelta(minutes=offset_min), minutes, wh)


async def lines_of(platform: Platform, session_id: int) -> tuple[PriceLine, ...]:
    async def priced() -> tuple[PriceLine, ...] | None:
        return (await platform.pricing.repo.current([session_id])).get(session_id)

    return await eventually(priced, timeout=10)


def table(lines: tuple[PriceLine, ...]) -> dict[Party, tuple[Basis, Decimal, Decimal]]:
    return {line.party: (line.basis, line.excl_vat, line.incl_vat) for line in lines}


async def test_a_public_session_is_priced_with_its_stations_tariff_and_host(
    platform: Platform, ocpp_url: str
) -> None:
    op = await operator(platform)
    await add_station(platform, "CP-1")
    await platform.tokens.add("04A2B3C4")
    await platform.organisations.add_operator("ann", "ann-password-1")
    await platform.tariffs.add(tariff("PUBLIC", "0.40", flat="0.50"), actor=op)
    await platform.tariffs.add(tariff("HOST-ANN", "0.25"), actor=op)
    await platform.pricing.set_station_prices(
        op, "CP-1", tariff_id="PUBLIC", host="ann", host_tariff_id="HOST-ANN"
    )

    session_id = await charge(platform, ocpp_url, "04A2B3C4", 10_000, 30)

    lines = await lines_of(platform, session_id)
    # 10 kWh × 0.40 + 0.50 = 4.50 excl., 5.445 → 5.45 incl.; the host 10 × 0.25 (+21 %).
    assert table(lines) == {
        Party.DRIVER: (Basis.PUBLIC_TARIFF, Decimal("4.50"), Decimal("5.45")),
        Party.HOST: (Basis.HOST_TARIFF, Decimal("2.50"), Decimal("3.03")),
        Party.EMSP: (Basis.MARGIN, Decimal("0.00"), Decimal("0.00")),
        Party.CPO: (Basis.MARGIN, Decimal("2.00"), Decimal("2.00")),
    }
    driver = lines[0]
    assert (driver.tariff_id, driver.tariff_version) == ("PUBLIC", 1)


async def test_a_new_tariff_version_prices_only_sessions_that_start_after_it(
    platform: Platform, ocpp_url: str
) -> None:
    op = await operator(platform)
    await add_station(platform, "CP-1")
    await platform.tokens.add("04A2B3C4")
    await platform.tariffs.add(tariff("PUBLIC", "0.40", start="2026-01-01T00:00:00Z"), actor=op)
    await platform.pricing.set_station_prices(op, "CP-1", tariff_id="PUBLIC")
    before = await charge(platform, ocpp_url, "04A2B3C4", 10_000, 30)
    # The new price holds from 12:00 UTC on; the first session started at 09:00.
    change = (T0 + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await platform.tariffs.add(tariff("PUBLIC", "0.50", start=change), actor=op)
    after = await charge(platform, ocpp_url, "04A2B3C4", 10_000, 30, offset_min=240)

    assert table(await lines_of(platform, before))[Party.DRIVER][1] == Decimal("4.00")
    later = await lines_of(platform, after)
    assert table(later)[Party.DRIVER][1] == Decimal("5.00")
    assert later[0].tariff_version == 2
    # Priced again (a tariff corrected, say): each keeps the version it started under.
    await platform.pricing.reprice_all(op)
    assert table(await lines_of(platform, before))[Party.DRIVER][1] == Decimal("4.00")
    history = await platform.pricing.repo.history(before)
    assert [revision for revision, _, _ in history] == [1, 2]


async def test_invalid_sessions_are_never_priced(platform: Platform, ocpp_url: str) -> None:
    op = await operator(platform)
    await add_station(platform, "CP-1")
    await platform.tokens.add("04A2B3C4")
    await platform.tariffs.add(tariff("PUBLIC", "0.40"), actor=op)
    await platform.pricing.set_station_prices(op, "CP-1", tariff_id="PUBLIC")

    short = await charge(platform, ocpp_url, "04A2B3C4", 500, 49 / 60)  # 49 seconds
    huge = await charge(platform, ocpp_url, "04A2B3C4", 351_000, 300, offset_min=60)
    refused = await charge(platform, ocpp_url, "UNKNOWN1", 5_000, 30, offset_min=400)

    for session_id in (short, huge, refused):
        session = await platform.sessions.get(session_id)
        assert session.session_type == SessionType.INVALID
        assert table(await lines_of(platform, session_id)) == {
            Party.DRIVER: (Basis.INVALID, Decimal(0), Decimal(0))
        }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tariff_id": "NOPE"}, "tariff_id"),
        ({"tariff_id": None, "host": "nobody"}, "host"),
        ({"tariff_id": None, "host_tariff_id": None, "host": None}, None),
    ],
)
async def test_prices_refuse_an_unknown_tariff_or_host_naming_the_field(
    platform: Platform, kwargs: dict[str, Any], field: str | None
) -> None:
    op = await operator(platform)
    await add_station(platform, "CP-1")
    if field is None:
        await platform.pricing.set_station_prices(op, "CP-1", **kwargs)
        return
    with pytest.raises(PricingError) as refused:
        await platform.pricing.set_station_prices(op, "CP-1", **kwargs)
    assert refused.value.field == field


async def test_an_operators_correction_retypes_and_reprices_keeping_the_history(
    platform: Platform, ocpp_url: str
) -> None:
    op = await operator(platform)
    await add_station(platform, "CP-1")
    await platform.tokens.add("04A2B3C4")
    await platform.tariffs.add(tariff("PUBLIC", "0.40"), actor=op)
    await platform.pricing.set_station_prices(op, "CP-1", tariff_id="PUBLIC")
    session_id = await charge(platform, ocpp_url, "04A2B3C4", 10_000, 30)
    assert table(await lines_of(platform, session_id))[Party.DRIVER][1] == Decimal("4.00")

    kind = await platform.corrections.correct(
        op, session_id, reason="meter replaced: the station under-read", meter_stop_wh=20_000
    )
    assert kind == "normal"

    async def repriced() -> bool:
        return len(await platform.pricing.repo.history(session_id)) == 2

    await eventually(repriced, timeout=10)
    assert table(await lines_of(platform, session_id))[Party.DRIVER][1] == Decimal("8.00")
    history = await platform.pricing.repo.history(session_id)
    assert [lines[0].excl_vat for _, _, lines in history] == [Decimal("4.00"), Decimal("8.00")]
    # Stopped after 30 s after all: too short to be valid, and never priced.
    kind = await platform.corrections.correct(
        op, session_id, reason="the stop time was wrong", stopped_at=T0 + timedelta(seconds=30)
    )
    assert kind == "invalid"

    async def third() -> bool:
        return len(await platform.pricing.repo.history(session_id)) == 3

    await eventually(third, timeout=10)
    assert table(await lines_of(platform, session_id)) == {
        Party.DRIVER: (Basis.INVALID, Decimal(0), Decimal(0))
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": " "}, "reason"),
        ({"reason": "x", "meter_stop_wh": -1}, "meter_stop_wh"),
        ({"reason": "x", "stopped_at": T0 - timedelta(minutes=1)}, "stopped_at"),
    ],
)
async def test_a_correction_that_makes_no_sense_is_refused_and_changes_nothing(
    platform: Platform, ocpp_url: str, changes: dict[str, Any], field: str
) -> None:
    op = await operator(platform)
    await add_station(platform, "CP-1")
    await platform.tokens.add("04A2B3C4")
    session_id = await charge(platform, ocpp_url, "04A2B3C4", 10_000, 30)
    with pytest.raises(CorrectionError) as refused:
        await platform.corrections.correct(op, session_id, **changes)
    assert refused.value.field == field
    session = await platform.sessions.get(session_id)
    assert (session.energy_wh, session.session_type) == (10_000, "normal")


@pytest.mark.parametrize("field", ["tariff_id", "host_tariff_id"])
async def test_a_tariff_in_another_currency_is_refused_and_changes_nothing(
    platform: Platform, field: str
) -> None:
    """Pricing would refuse every session such a tariff prices: it is refused when it is set,
    even when only an earlier version is in another currency."""
    op = await operator(platform)
    await add_station(platform, "CP-1")
    await platform.tariffs.add(tariff("PUBLIC", "0.40"), actor=op)
    await platform.tariffs.add({**tariff("MIXED", "0.40"), "currency": "USD"}, actor=op)
    await platform.tariffs.add(tariff("MIXED", "0.40", start="2026-02-01T00:00:00Z"), actor=op)
    await platform.pricing.set_station_prices(op, "CP-1", tariff_id="PUBLIC")
    with pytest.raises(PricingError) as refused:
        await platform.pricing.set_station_prices(
            op, "CP-1", **{"tariff_id": None, "host": "op", field: "MIXED"}
        )
    assert refused.value.field == field
    assert str(refused.value) == "tariff MIXED is in USD; prices here are in EUR"
    prices = await platform.pricing.station_prices(op, "CP-1")
    assert prices.tariff is not None and prices.tariff.tariff_id == "PUBLIC"
    assert prices.host is None
    # Nor is it offered.
    assert [v.tariff_id for v in await platform.pricing.tariff_choices(op)] == ["PUBLIC"]


async def test_a_stations_prices_name_the_version_a_session_starting_now_gets(
    platform: Platform,
) -> None:
    op = await operator(platform)
    await add_station(platform, "CP-1")
    await platform.tariffs.add(tariff("PUBLIC", "0.40", start="2020-01-01T00:00:00Z"), actor=op)
    await platform.tariffs.add(tariff("PUBLIC", "0.50", start="2099-01-01T00:00:00Z"), actor=op)
    await platform.tariffs.add(tariff("LATER", "0.30", start="2099-01-01T00:00:00Z"), actor=op)
    await platform.pricing.set_station_prices(
        op, "CP-1", tariff_id="PUBLIC", host="op", host_tariff_id="LATER"
    )

    prices = await platform.pricing.station_prices(op, "CP-1")
    assert prices.currency == "EUR" and prices.host == "op"
    assert prices.tariff is not None and prices.tariff.in_force
    assert prices.tariff.version is not None and prices.tariff.version.version == 1
    # Not in force yet: its latest version, said so.
    assert prices.host_tariff is not None and not prices.host_tariff.in_force
    assert prices.host_tariff.version is not None and prices.host_tariff.version.version == 1
    # Choices: each tariff once, by its latest version.
    choices = await platform.pricing.tariff_choices(op)
    assert [(v.tariff_id, v.version) for v in choices] == [("LATER", 1), ("PUBLIC", 2)]


async def test_who_reads_and_who_sets_a_stations_prices(platform: Platform) -> None:
    """The owner's fleet manager reads them; its host and other people of the owner are
    refused; another company's manager is told there is no such station, as for one that does
    not exist; only operators set them or see the choices."""
    op = await operator(platform)
    acme = await company(platform, op, "Acme", drivers=1)
    globex = await company(platform, op, "Globex", drivers=0)
    host = await platform.organisations.add_person(op, acme.id, "hank@acme", Role.HOST)
    hank = await platform.accounts.actor(host.user_id)
    assert hank is not None
    await add_station(platform, "CP-1")
    await platform.stations.set_owner(op, "CP-1", acme.id)
    await platform.tariffs.add(tariff("PUBLIC", "0.40"), actor=op)
    await platform.pricing.set_station_prices(op, "CP-1", tariff_id="PUBLIC")

    read = await platform.pricing.station_prices(acme.manager, "CP-1")
    assert read.tariff is not None and read.tariff.tariff_id == "PUBLIC"
    for refused in (hank, acme.drivers[0]):
        with pytest.raises(Forbidden):
            await platform.pricing.station_prices(refused, "CP-1")
    for station_id in ("CP-1", "CP-NONE"):
        with pytest.raises(StationNotFound):
            await platform.pricing.station_prices(globex.manager, station_id)
    with pytest.raises(Forbidden):
        await platform.pricing.set_station_prices(acme.manager, "CP-1", tariff_id=None)
    with pytest.raises(Forbidden):
        await platform.pricing.tariff_choices(acme.manager)
    after = await platform.pricing.station_prices(op, "CP-1")
    assert after.tariff is not None and after.tariff.tariff_id == "PUBLIC"
