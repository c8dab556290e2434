"""The data of the console's charts: what a page puts in its JSON data island for
``static/charts.js`` to draw."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor
from voltflow.i18n import _, pgettext

DAYS = 30


def daily_activity(days: list[tuple[date, int, int]], today: date) -> dict[str, Any] | None:
    """The last ``DAYS`` days to ``today``, each with its energy (kWh) and sessions, zero on the
    days without (the totals hold only days with sessions); None when none had any."""
    if not any(n or wh for _day, n, wh in days):
        return None
    by_day = {day: (n, wh) for day, n, wh in days}
    first = today - timedelta(days=DAYS - 1)
    span = [first + timedelta(days=i) for i in range(DAYS)]
    return {
        "x": [d.isoformat() for d in span],
        "series": [
            {
                "label": _("Energy (kWh)"),
                "kind": "bars",
                "unit": "kWh",
                "decimals": 1,
                "values": [by_day.get(d, (0, 0))[1] / 1000 for d in span],
            },
            {
                "label": pgettext("charging", "Sessions"),
                "kind": "line",
                "decimals": 0,
                "values": [by_day.get(d, (0, 0))[0] for d in span],
            },
        ],
    }


async def station_activity(
    platform: Platform, actor: Actor, station_id: str
) -> dict[str, Any] | None:
    """The station's energy and sessions a day over the last ``DAYS`` days. The days are the
    platform's (its time zone): the totals are kept by them."""
    today = platform.clock.now().astimezone(ZoneInfo(platform.settings.timezone)).date()
    return daily_activity(await platform.activity.station_days(actor, station_id, days=DAYS), today)
