"""Tariff versions on both databases: a session is priced by the version in force when it
started; a tariff reads back exactly as it was added (OCPI JSON, Decimal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.domain.tariffs.sessions import DATA, energy, session
from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor, Membership, OrganisationKind, Role
from voltflow.domain.tariffs import TariffError, loads
from voltflow.services.access import Forbidden
from voltflow.services.tariffs import TariffServiceError

SIMPLE: dict[str, Any] = loads((DATA / "tariff_8_simple_025kwh.json").read_text())


def version_of(price: str, start: str | None = None, end: str | None = None) -> dict[str, Any]:
    document = {**SIMPLE, "elements": [dict(e) for e in SIMPLE["elements"]]}
    document["elements"][0] = {
        "price_components": [{"type": "ENERGY", "price": Decimal(price), "vat": Decimal(21),
                              "step_size": 1}]
    }  # fmt: skip
    if start is not None:
        document["start_date_time"] = start
    if end is not None:
        document["end_date_time"] = end
    return document


async def test_a_session_is_priced_by_the_version_in_force_when_it_started(
    platform: Platform,
) -> None:
    service = platform.tariffs
    first = await service.add(version_of("0.25", "2026-01-01T00:00:00Z"))
    second = await service.add(version_of("0.30", "2026-07-01T00:00:00Z"))
    assert (first.version, second.version) == (1, 2)

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    assert await service.in_force("16", at("2025-12-31T23:59:59")) is None
    v = await service.in_force("16", at("2026-06-30T23:59:59"))
    assert v is not None and v.version == 1
    v = await service.in_force("16", at("2026-07-01T00:00:00"))
    assert v is not None and v.version == 2

    # Started on the last evening of June, ended in July: June's price for all of it.
    periods, start, end = session(at("2026-06-30T21:30:00"), energy(120, "20"))
    priced = await service.price("16", periods, start, end, currency="EUR")
    assert priced.total_cost.excl_vat == Decimal("5.00")
    periods, start, end = session(at("2026-07-01T08:00:00"), energy(120, "20"))
    priced = await service.price("16", periods, start, end)
    assert priced.total_cost.excl_vat == Decimal("6.00")

    with pytest.raises(TariffError):
        await service.price("16", periods, start, end, currency="CHF")
    with pytest.raises(TariffServiceError):
        await service.price("16", periods, at("2020-01-01T00:00:00"), end)


async def test_a_version_that_ends_leaves_the_one_before_it(platform: Platform) -> None:
    service = platform.tariffs
    await service.add(version_of("0.25", "2026-01-01T00:00:00Z"))
    await service.add(version_of("0.99", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"))
    moment = datetime(2026, 3, 1, 12, tzinfo=UTC)
    found = await service.in_force("16", moment)
    assert found is not None and found.version == 2
    found = await service.in_force("16", moment + timedelta(days=1))
    assert found is not None and found.version == 1


async def test_a_version_without_start_is_in_force_from_when_it_was_added(
    platform: Platform,
) -> None:
    before = platform.clock.now()
    added = await platform.tariffs.add(version_of("0.25"))
    assert before <= added.valid_from <= platform.clock.now()
    assert await platform.tariffs.in_force("16", before - timedelta(seconds=1)) is None


async def test_show_list_and_export_give_back_what_was_added(platform: Platform) -> None:
    service = platform.tariffs
    complex_ = loads((DATA / "tariff_4_complex.json").read_text())
    await service.add(SIMPLE)
    await service.add(version_of("0.30"))
    await service.add(complex_)
    assert await service.export("14") == complex_
    assert await service.export("16", 1) == SIMPLE
    assert (await service.show("16")).version == 2
    assert [(v.tariff_id, v.version) for v in await service.latest()] == [("14", 1), ("16", 2)]
    assert [v.version for v in await service.versions("16")] == [1, 2]
    with pytest.raises(TariffServiceError, match="no tariff 99"):
        await service.show("99")
    with pytest.raises(TariffServiceError, match="has no version 3"):
        await service.show("16", 3)


async def test_a_bad_tariff_is_refused_and_nothing_is_stored(platform: Platform) -> None:
    bad = version_of("0.25")
    bad["elements"][0]["price_components"][0]["step_size"] = 0
    with pytest.raises(TariffError) as refused:
        await platform.tariffs.add(bad)
    assert refused.value.field == "elements[0].price_components[0].step_size"
    assert await platform.tariffs.latest() == []


async def test_only_operators_add_tariffs(platform: Platform) -> None:
    driver = Actor(7, "driver", (Membership(3, OrganisationKind.COMPANY, Role.DRIVER),))
    with pytest.raises(Forbidden):
        await platform.tariffs.add(SIMPLE, actor=driver)
