"""Sessions under linear tariffs priced by the database, set-based, store exactly the lines the
engine's path stores, to the character on SQLite: the same sessions priced by both paths, one
revision after the other, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, text

from voltflow.bootstrap import Platform
from voltflow.domain.session_prices import Basis, Party
from voltflow.domain.tariffs import parse_tariff
from voltflow.services.pricing import PeriodsForPricing, SessionPricing, reprice_all
from voltflow.store.tables import (
    authorization_list_cards,
    authorization_lists,
    cards,
    charging_sessions,
    organisations,
    session_charging_periods,
    station_group_members,
    station_groups,
    stations,
    tariffs,
)

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
# Around the step edges of 1 and 1000 Wh, and the cent's half.
ENERGIES = [0, 1, 2, 11, 499, 500, 999, 1000, 1001, 1499, 1500, 1999, 2000, 2001, 12_345]
ENERGIES += [22_222, 33_333, 40_000, 77_777, 123_456, 350_001]


class Clock:
    def __init__(self) -> None:
        self.at = T0 + timedelta(days=30)

    def now(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


def tariff(
    tariff_id: str,
    energy: tuple[str, str | None, int] | None,
    flat: tuple[str, str | None] | None = None,
    *,
    start: str = "2026-01-01T00:00:00Z",
    restricted: bool = False,
) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    if energy is not None:
        price, vat, step = energy
        components.append({"type": "ENERGY", "price": Decimal(price), "step_size": step})
        if vat is not None:
            components[-1]["vat"] = Decimal(vat)
    if flat is not None:
        components.append({"type": "FLAT", "price": Decimal(flat[0]), "step_size": 1})
        if flat[1] is not None:
            components[-1]["vat"] = Decimal(flat[1])
    elements: list[dict[str, Any]] = [{"price_components": components}]
    if restricted:  # dearer in the evening: the engine's to price
        elements.insert(
            0,
            {
                "price_components": [
                    {"type": "ENERGY", "price": Decimal("0.70"), "vat": Decimal(21), "step_size": 1}
                ],
                "restrictions": {"start_time": "18:00", "end_time": "22:00"},
            },
        )
    return {
        "country_code": "BE",
        "party_id": "VFL",
        "id": tariff_id,
        "currency": "EUR",
        "start_date_time": start,
        "elements": elements,
        "last_updated": "2026-01-01T00:00:00Z",
    }


TARIFFS = [
    tariff("PUB21", ("0.45", "21", 1), ("0.50", "21")),
    tariff("PUB6", ("0.3333", "6", 1000), ("0.99", "6")),
    tariff("DISC", ("0.2999", "21", 1)),
    tariff("DISC-K", ("0.1", "21", 1000), ("0.25", None)),
    tariff("HOST", ("0.25", None, 1)),
    tariff("HOST-K", ("0.2345", "6", 1000)),
    tariff("HOST-BIG", ("0.60", "21", 1)),
    tariff("FLAT-ONLY", None, ("1.005", "21")),
    tariff("EVENING", ("0.35", "21", 1), restricted=True),
    tariff("VERSIONED", ("0.40", "21", 1)),
    tariff("VERSIONED", ("0.55", "6", 1000), ("0.15", "6"), start="2026-03-12T00:00:00Z"),
]
# Station: (public tariff, host tariff).
STATIONS = {
    "CP-A": ("PUB21", "HOST"),
    "CP-B": ("PUB6", None),
    "CP-C": ("PUB21", "HOST-BIG"),
    "CP-D": ("EVENING", "HOST"),
    "CP-E": (None, "HOST"),
    "CP-F": ("VERSIONED", "HOST-K"),
    "CP-G": ("FLAT-ONLY", "HOST-K"),
    "CP-H": ("PUB6", "EVENING"),
    "CP-I": ("UNKNOWN", None),
}
CARDS = ["CARD-1", "DISC-1", "DISC-2"]


async def fill(platform: Platform) -> list[int]:
    """The stations, tariffs, discount lists and sessions above; the sessions' ids."""
    for document in TARIFFS:
        await platform.pricing.pricing.tariffs.add(parse_tariff(document), T0)
    rows: list[dict[str, Any]] = []
    async with platform.db.writing() as conn:
        for station_id, (public, host) in STATIONS.items():
            await conn.execute(
                insert(stations).values(
                    id=station_id, created_at=T0, tariff_id=public, host_tariff_id=host
                )
            )
        await conn.execute(
            insert(organisations).values(id=1, name="Operator", kind="operator", created_at=T0)
        )
        for uid in CARDS:
            await conn.execute(
                insert(cards).values(uid=uid, state="active", created_at=T0, updated_at=T0)
            )
        await conn.execute(
            insert(station_groups).values(id=1, organisation_id=1, name="West", created_at=T0)
        )
        await conn.execute(
            insert(station_group_members),
            [{"group_id": 1, "station_id": "CP-B"}, {"group_id": 1, "station_id": "CP-F"}],
        )
        lists = [
            {"id": 1, "station_id": "CP-A", "group_id": None, "tariff_ref": "DISC"},
            {"id": 2, "station_id": None, "group_id": 1, "tariff_ref": "DISC-K"},
            {"id": 3, "station_id": "CP-C", "group_id": None, "tariff_ref": "EVENING"},
            {"id": 4, "station_id": "CP-G", "group_id": None, "tariff_ref": "GONE"},
        ]
        for values in lists:
            await conn.execute(
                insert(authorization_lists).values(
                    organisation_id=1,
                    kind="discount",
                    name=f"L{values['id']}",
                    created_at=T0,
                    **values,
                )
            )
        await conn.execute(
            insert(authorization_list_cards),
            [
                {"list_id": list_id, "card_uid": uid, "added_at": T0}
                for list_id, uid in ((1, "DISC-1"), (2, "DISC-1"), (3, "DISC-2"), (4, "DISC-2"))
            ],
        )
        n = 0
        kinds = ["normal"] * 6 + ["whitelist", "invalid", "split_billing"]
        for station_id in STATIONS:
            for uid in CARDS:
                for energy in ENERGIES:
                    n += 1
                    # Before and after VERSIONED's second version, and now and then at night.
                    started = T0 + timedelta(hours=5 * n)
                    rows.append(
                        {
                            "id": n,
                            "station_id": station_id,
                            "evse_id": 1,
                            "connector_id": 1,
                            "id_tag": uid,
                            "auth_status": "Accepted",
                            "started_at": started,
                            "meter_start_wh": 0,
                            "stopped_at": started + timedelta(minutes=45),
                            "meter_stop_wh": energy,
                            "energy_wh": energy,
                            "stop_reason": "Local",
                            "session_type": kinds[n % len(kinds)],
                            "type_reason": "test",
                            "created_at": started,
                        }
                    )
        await conn.execute(insert(charging_sessions), rows)
    return [int(row["id"]) for row in rows]


async def store_periods(platform: Platform, session_ids: list[int]) -> None:
    """Charging periods for most sessions: two, the energy shared unevenly, some with a period
    the meter went backwards in; a few with a fraction of a Wh (the engine's), none for some."""
    periods: list[dict[str, Any]] = []
    for session_id in session_ids:
        if session_id % 11 == 0:
            continue  # the engine's path computes them
        started = T0 + timedelta(hours=5 * session_id)
        energy = ENERGIES[(session_id - 1) % len(ENERGIES)]
        first = energy // 3
        second = Decimal(energy - first) / 1000
        if session_id % 7 == 0:
            second += Decimal("0.0005")
        back = Decimal(-2) / 1000 if session_id % 5 == 0 else None
        for position, (offset, kwh) in enumerate(
            ((0, Decimal(first) / 1000), (10, back), (20, second))
        ):
            periods.append(
                {
                    "session_id": session_id,
                    "position": position,
                    "started_at": started + timedelta(minutes=offset),
                    "energy_kwh": kwh,
                    "time_hours": Decimal(10) / 60,
                }
            )
    async with platform.db.writing() as conn:
        await conn.execute(insert(session_charging_periods), periods)


async def stored(platform: Platform) -> dict[tuple[int, int], list[tuple[Any, ...]]]:
    """Every session's lines by revision, as the database holds them (text on SQLite), in
    order: (session, revision) → lines."""
    async with platform.db.reading() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT session_id, revision, session_type, party, basis, currency,"
                    " excl_vat, incl_vat, tariff_id, tariff_version, rate"
                    " FROM session_price_lines ORDER BY session_id, id"
                )
            )
        ).all()
    found: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
    for row in rows:
        found.setdefault((int(row[0]), int(row[1])), []).append(tuple(row[2:]))
    return found


async def current_revisions(platform: Platform) -> set[tuple[int, int]]:
    async with platform.db.reading() as conn:
        rows = await conn.execute(
            text('SELECT DISTINCT session_id, revision FROM session_price_lines WHERE "current"')
        )
        return {(int(a), int(b)) for a, b in rows}


@pytest.mark.parametrize("with_periods", [False, True], ids=["meter", "periods"])
async def test_set_based_lines_equal_the_engines_to_the_character(
    platform: Platform, with_periods: bool
) -> None:
    session_ids = await fill(platform)
    if with_periods:
        await store_periods(platform, session_ids)
    repo = platform.pricing.repo
    pricing = SessionPricing(
        repo,
        platform.pricing.pricing.tariffs,
        Clock(),
        emsp_margin_per_kwh=Decimal("0.035"),
        periods=PeriodsForPricing(platform.charging_periods) if with_periods else None,
    )
    run = pricing.linear_run()
    assert run is not None and run.with_periods is with_periods

    # The database first, then the engine, then the database again: revisions 1, 2 and 3.
    every = await pricing.linear_spans()
    assert every is not None
    priced, rest = await repo.price_linear(every, run, pricing.clock.now())
    by_engine = await pricing.price_each(await repo.to_price(session_ids))
    assert await reprice_all(pricing) == len(session_ids)

    lines_of = await stored(platform)
    for session_id in session_ids:
        if session_id in rest:  # the engine's, then set-based when linear: 1 and 2
            assert lines_of[session_id, 1] == lines_of[session_id, 2], session_id
            assert (session_id, 3) not in lines_of
        else:  # set-based, the engine's, set-based again: 1, 2 and 3
            assert lines_of[session_id, 1] == lines_of[session_id, 2], session_id
            assert lines_of[session_id, 1] == lines_of[session_id, 3], session_id
    assert priced == len(session_ids) - len(rest) and len(rest) < len(session_ids) / 2
    assert await current_revisions(platform) == {
        (session_id, 3 if session_id not in set(rest) else 2)
        for session_id in session_ids
        if session_id in by_engine
    }

    # Every kind of line was among those the database priced, and the engine left its own.
    lines = await repo.current([i for i in session_ids if i not in set(rest)])
    seen = {(line.party, line.basis) for found in lines.values() for line in found}
    assert seen >= {
        (Party.DRIVER, Basis.PUBLIC_TARIFF),
        (Party.DRIVER, Basis.DISCOUNT_LIST),
        (Party.DRIVER, Basis.NO_TARIFF),
        (Party.DRIVER, Basis.WHITELIST),
        (Party.DRIVER, Basis.INVALID),
        (Party.HOST, Basis.HOST_TARIFF),
        (Party.EMSP, Basis.MARGIN),
        (Party.CPO, Basis.MARGIN),
    }
    assert any(line.excl_vat < 0 for found in lines.values() for line in found)
    left = await repo.to_price(rest)
    assert {s.session_type for s in left} >= {"split_billing"}
    assert {s.station_tariff_id for s in left if s.session_type == "normal"} >= {"EVENING"}


async def test_a_large_batch_of_the_consumer_is_priced_set_based(platform: Platform) -> None:
    session_ids = await fill(platform)
    pricing = platform.pricing.pricing
    sessions = await pricing.repo.to_price(session_ids)
    assert len(sessions) >= 200
    one_by_one = await pricing.price_each(sessions)
    together = await pricing.price_sessions(sessions)
    assert together == one_by_one
    lines_of = await stored(platform)
    assert all(lines_of[i, 1] == lines_of[i, 2] for i in session_ids)


async def test_a_groups_discount_list_holds_only_at_the_groups_stations(
    platform: Platform,
) -> None:
    session_ids = await fill(platform)
    sessions = await platform.pricing.repo.to_price(session_ids)
    discounts = {(s.station_id, s.id_tag): s.discount_tariff_id for s in sessions}
    assert discounts["CP-A", "DISC-1"] == "DISC"  # its station's list comes first
    assert discounts["CP-B", "DISC-1"] == discounts["CP-F", "DISC-1"] == "DISC-K"  # the group
    assert discounts["CP-C", "DISC-1"] is None  # not in the group
    assert discounts["CP-C", "DISC-2"] == "EVENING"
    assert discounts["CP-A", "CARD-1"] is None


async def test_a_tariff_that_cannot_be_read_leaves_every_session_to_the_engine(
    platform: Platform,
) -> None:
    session_ids = await fill(platform)
    async with platform.db.writing() as conn:
        await conn.execute(
            insert(tariffs).values(
                tariff_id="BROKEN",
                version=1,
                country_code="BE",
                party_id="VFL",
                currency="EUR",
                valid_from=T0,
                document="{not json",
                created_at=T0,
            )
        )
    pricing = platform.pricing.pricing
    assert await pricing.linear_spans() is None
    assert await reprice_all(pricing) == len(session_ids)
    lines = await pricing.repo.current(session_ids)
    assert len(lines) == len(session_ids)
