"""The data of the console's charts: what a page puts in its JSON data island for
``static/charts.js`` to draw."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from voltflow.bootstrap import Platform
from voltflow.domain.access import Actor
from voltflow.domain.activity import View, months_back
from voltflow.i18n import _, pgettext

DAYS = 30
MONTHS = 12


def _series(span: list[date], by_day: dict[date, tuple[int, int]]) -> list[dict[str, Any]]:
    return [
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
    ]


def daily_activity(days: list[tuple[date, int, int]], today: date) -> dict[str, Any] | None:
    """The last ``DAYS`` days to ``today``, each with its energy (kWh) and sessions, zero on the
    days without (the totals hold only days with sessions); None when none had any."""
    if not any(n or wh for _day, n, wh in days):
        return None
    by_day = {day: (n, wh) for day, n, wh in days}
    first = today - timedelta(days=DAYS - 1)
    span = [first + timedelta(days=i) for i in range(DAYS)]
    return {"x": [d.isoformat() for d in span], "series": _series(span, by_day)}


def monthly_activity(months: list[tuple[date, int, int]], today: date) -> dict[str, Any] | None:
    """The last ``MONTHS`` months to ``today``'s, each under its first day, zero for the months
    without; None when none had any."""
    if not any(n or wh for _month, n, wh in months):
        return None
    by_month = {month: (n, wh) for month, n, wh in months}
    first = months_back(today, MONTHS)
    span = [months_back(first, 1 - i) for i in range(MONTHS)]  # 1 - i: i months on
    return {
        "x": [m.isoformat() for m in span],
        "period": "month",
        "series": _series(span, by_month),
    }


def _today(platform: Platform) -> date:
    # The days are the platform's (its time zone): the totals are kept by them.
    return platform.clock.now().astimezone(ZoneInfo(platform.settings.timezone)).date()


async def view_activity(
    platform: Platform,
    actor: Actor,
    view: View,
    organisation_id: int | None = None,
    driver_id: int | None = None,
) -> dict[str, dict[str, Any] | None]:
    """The charts of an activity view: ``days`` (the last ``DAYS``) and ``months`` (the last
    ``MONTHS``) of the owner's stations (charge points), of the company's cards or one person's
    among them (mobility), or of the person's own cards (mine: per month only)."""
    today = _today(platform)
    activity = platform.activity
    if view is View.MINE:
        return {
            "days": None,
            "months": monthly_activity(await activity.my_months(actor, MONTHS), today),
        }
    if view is View.CHARGE_POINTS:
        days = await activity.owner_days(actor, organisation_id, DAYS)
        months = await activity.owner_months(actor, organisation_id, MONTHS)
    else:
        days = await activity.company_days(actor, organisation_id, driver_id, DAYS)
        months = await activity.company_months(actor, organisation_id, driver_id, MONTHS)
    return {"days": daily_activity(days, today), "months": monthly_activity(months, today)}


async def station_activity(
    platform: Platform, actor: Actor, station_id: str
) -> dict[str, Any] | None:
    """The station's energy and sessions a day over the last ``DAYS`` days. The days are the
    platform's (its time zone): the totals are kept by them."""
    today = platform.clock.now().astimezone(ZoneInfo(platform.settings.timezone)).date()
    return daily_activity(await platform.activity.station_days(actor, station_id, days=DAYS), today)
