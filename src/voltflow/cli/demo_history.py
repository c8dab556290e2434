"""The demo's prices and a few weeks of history: tariffs on its stations, a host, a discount list,
a split-billing licence at an employee's home, and sessions of every type that the stations
report as an offline backlog over OCPP, so that the views and charts have something to show.

The history goes through the platform like any station's traffic: frames over a WebSocket, the
group commit, the session events, typing, charging periods and prices."""

from __future__ import annotations

import base64
import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import websockets
from websockets.typing import Subprotocol

from voltflow.bootstrap import Platform
from voltflow.domain.access import PLATFORM
from voltflow.domain.licences import FixedRate
from voltflow.services.lists import ListKind

DAYS = 28


def _tariff(tariff_id: str, per_kwh: str, *, vat: int | None, flat: str | None = None) -> Any:
    components: list[dict[str, Any]] = [
        {"type": "ENERGY", "price": Decimal(per_kwh), "step_size": 1}
    ]
    if flat is not None:
        components.append({"type": "FLAT", "price": Decimal(flat), "step_size": 1})
    if vat is not None:
        for component in components:
            component["vat"] = Decimal(vat)
    return {
        "country_code": "BE",
        "party_id": "VFL",
        "id": tariff_id,
        "currency": "EUR",
        "start_date_time": "2025-01-01T00:00:00Z",
        "elements": [{"price_components": components}],
        "last_updated": "2025-01-01T00:00:00Z",
    }


@dataclass(frozen=True)
class Charge:
    station_id: str
    uid: str
    started_at: datetime
    minutes: float
    wh: int


async def seed_prices(
    platform: Platform,
    org_id: int,
    stations: Sequence[str],
    uids: Sequence[str],
    host: str,
    now: datetime,
) -> None:
    """``stations``: the company's car park (whitelist), its public station at the front door,
    hosted by ``host`` (with a discount list for the third card), and an employee's home
    (licence on the first card)."""
    car_park, public, home = stations
    for document in (
        _tariff("DEMO-PUBLIC", "0.45", vat=21, flat="0.50"),
        _tariff("DEMO-DISCOUNT", "0.35", vat=21),
        _tariff("DEMO-HOST", "0.25", vat=None),
    ):
        await platform.tariffs.add(document, actor=PLATFORM)
    for station_id in (car_park, public):
        await platform.pricing.set_station_prices(
            PLATFORM,
            station_id,
            tariff_id="DEMO-PUBLIC",
            host=host if station_id == public else None,
            host_tariff_id="DEMO-HOST" if station_id == public else None,
        )
    await platform.stations.set_owner(PLATFORM, public, org_id)
    await platform.stations.set_owner(PLATFORM, home, org_id)
    discount = await platform.lists.create_list(
        PLATFORM,
        org_id,
        ListKind.DISCOUNT,
        "Staff discount",
        station_id=public,
        tariff_ref="DEMO-DISCOUNT",
    )
    await platform.lists.add_cards(PLATFORM, discount.id, [uids[2]])
    await platform.licences.add(
        PLATFORM,
        home,
        [uids[0]],
        FixedRate(Decimal("0.6654")),
        valid_from=now - timedelta(days=DAYS + 7),
    )


def history_plan(
    stations: Sequence[str], uids: Sequence[str], public_token: str, now: datetime
) -> list[Charge]:
    """Sessions over the last weeks: evenings at home (split billing), days at the car park
    (whitelist), public charging (normal, some at the discount), and a few invalid ones."""
    car_park, public, home = stations
    rng = random.Random(2026)
    plan = []
    first_day = (now - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(DAYS):
        midnight = first_day + timedelta(days=day)
        workday = midnight.weekday() < 5
        if workday:
            plan.append(Charge(car_park, uids[1], midnight + timedelta(hours=7.5), 240, 22_000))
        plan.append(
            Charge(home, uids[0], midnight + timedelta(hours=18 + rng.random()), 150, 7_334)
        )
        for n in range(rng.randint(1, 3)):
            uid = uids[2] if n == 0 and rng.random() < 0.4 else public_token
            start = midnight + timedelta(hours=9 + 3 * n + rng.random())
            plan.append(Charge(public, uid, start, rng.randint(20, 90), rng.randint(3_000, 30_000)))
        if day % 9 == 4:  # unplugged at once: too short to be valid
            plan.append(Charge(public, public_token, midnight + timedelta(hours=20), 0.8, 40))
    return sorted(plan, key=lambda c: (c.station_id, c.started_at))


async def report_history(ocpp_url: str, password: str, plan: Sequence[Charge]) -> int:
    """Each station reports its part of the plan as a backlog: start, a meter value, stop."""
    ids = itertools.count(1)
    done = 0
    for station_id, charges in itertools.groupby(plan, key=lambda c: c.station_id):
        auth = base64.b64encode(f"{station_id}:{password}".encode()).decode()
        async with websockets.connect(
            f"{ocpp_url}/{station_id}",
            subprotocols=[Subprotocol("ocpp1.6")],
            additional_headers={"Authorization": f"Basic {auth}"},
        ) as ws:

            async def call(action: str, payload: dict[str, Any], ws: Any = ws) -> dict[str, Any]:
                message_id = f"h{next(ids)}"
                await ws.send(json.dumps([2, message_id, action, payload]))
                answer: dict[str, Any] = json.loads(await ws.recv())[2]
                return answer

            meter = 1_000_000
            for charge in charges:
                start = charge.started_at
                stop = start + timedelta(minutes=charge.minutes)
                started = await call(
                    "StartTransaction",
                    {
                        "connectorId": 1,
                        "idTag": charge.uid,
                        "meterStart": meter,
                        "timestamp": _iso(start),
                    },
                )
                transaction_id = started["transactionId"]
                await call(
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "transactionId": transaction_id,
                        "meterValue": [
                            {
                                "timestamp": _iso(start + (stop - start) / 2),
                                "sampledValue": [
                                    {
                                        "value": str(meter + charge.wh // 2),
                                        "measurand": "Energy.Active.Import.Register",
                                        "unit": "Wh",
                                    }
                                ],
                            }
                        ],
                    },
                )
                meter += charge.wh
                await call(
                    "StopTransaction",
                    {
                        "transactionId": transaction_id,
                        "meterStop": meter,
                        "timestamp": _iso(stop),
                        "reason": "EVDisconnected",
                    },
                )
                done += 1
    return done


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
